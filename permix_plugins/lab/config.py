"""The lab's settings: one pydantic model, four presets (tiny or real start model, full or CI-sized).

The tiny preset builds a model from scratch and warms it up on the built-in problems; the real preset starts from
an instruct checkpoint (a named model such as ``smollm2-135m-instruct``, a local directory or a Hub id) and trains
LoRA adapters. Its budget was picked by measurement on SmolLM2-135M-Instruct (2 CPU cores): at level 0 with a
one-line "final number only" instruction the start model answers about a third of the problems, so GRPO groups
have reward variance; 24 new tokens hold such an answer, and one GRPO step of 4 prompts x 8 completions takes
about 30 s, so the whole run fits in half an hour (docs/real-model-lab).
"""

from __future__ import annotations

from typing import Any

from annotated_types import Ge
from pydantic import Field, ValidationError, model_validator
from pydantic.fields import FieldInfo

from permix_plugins.errors import ConfigError
from permix_plugins.mix_config import MixConfig
from permix_plugins.settings import Settings, describe_errors

__all__ = ["REAL_MODEL_INSTRUCTION", "LabConfig", "lab_config"]

REAL_MODEL_INSTRUCTION = "Reply with only the final number."


def _permix_share() -> Any:
    """`MixConfig.persona_prob` (default, upper limit) for the PerMix run, which needs personas: above 0, where
    MixConfig allows 0 (the RLVR run is the lab's other arm)."""
    share = FieldInfo.merge_field_infos(
        MixConfig.model_fields["persona_prob"], Field(gt=0, description="persona share of the PerMix run")
    )
    share.metadata = [limit for limit in share.metadata if not isinstance(limit, Ge)]  # gt=0 replaces ge=0
    return share


class LabConfig(Settings):
    """Every knob of one lab run; the defaults are the tiny from-scratch lab of the README."""

    out_dir: str = Field("permix-demo", description="output directory")
    seed: int = Field(0, description="seed of the problems, the warm start, the GRPO sampling and the mixing")
    model: str | None = Field(
        None,
        description="start model (named, directory or Hub id), trained with LoRA; None: a tiny model from scratch",
    )
    levels: tuple[int, ...] = Field((0,), description="difficulty levels of the synthetic problems")
    train_problems: int = Field(4000, ge=1)
    test_problems: int = Field(200, ge=1, description="held-out problems in every evaluation")
    hidden_size: int = Field(64, ge=8, description="tiny model only")
    num_layers: int = Field(2, ge=1, description="tiny model only")
    num_heads: int = Field(4, ge=1, description="tiny model only")
    sft_steps: int = Field(
        1500, ge=0, description="supervised warm-up steps (tiny model only; at least 1 there)"
    )
    sft_batch_size: int = Field(64, ge=1)
    sft_lr: float = Field(3e-3, gt=0)
    grpo_steps: int = Field(200, ge=1, description="GRPO steps of each run")
    grpo_batch_size: int = Field(64, ge=1, description="completions per GRPO step")
    num_generations: int = Field(8, ge=2)
    grpo_lr: float = Field(3e-4, gt=0)
    temperature: float = Field(1.0, gt=0, description="GRPO sampling temperature (evaluation is greedy)")
    lora_rank: int | None = Field(
        None, ge=1, description="LoRA rank on all linear layers; None: full fine-tuning"
    )
    persona_prob: float = _permix_share()
    train_pool: str = "train"
    eval_pool: str = "eval"
    eval_personas: int | None = Field(
        None, ge=1, description="held-out personas drawn from eval_pool; None: all"
    )
    lottery_pool: str = "lottery"
    warmup_pool: str = Field(
        "styled", description="styled personas the warm-up teaches (with the lab's plain personas)"
    )
    warmup_persona_prob: float = Field(
        0.6, ge=0, le=1, description="share of warm-up demonstrations with a persona"
    )
    weak_personas: tuple[str, ...] = Field(
        ("ships-parrot", "ranch-hand", "town-crier", "whispering-librarian", "bedtime-storyteller", "judge"),
        description="warm-up personas whose demonstrations are worse (the start model's persona lottery)",
    )
    weak_error_rate: float = Field(
        0.6, ge=0, le=1, description="share of a weak persona's demonstrations that are wrong"
    )
    reply: str = Field(
        "It is \\boxed{{answer}}.",
        description="the plain demonstration reply, {answer} replaced; a styled persona's is written in its style",
    )
    instruction: str | None = Field(None, description="format instruction in every prompt")
    max_new_tokens: int = Field(12, ge=1)
    eval_batch_size: int = Field(128, ge=1)
    n_bootstrap: int = Field(1000, ge=10)

    @model_validator(mode="after")
    def _consistent(self) -> LabConfig:
        if self.grpo_batch_size % self.num_generations:
            raise ValueError(
                f"grpo_batch_size ({self.grpo_batch_size}) must be a multiple of num_generations "
                f"({self.num_generations}): GRPO scores whole groups"
            )
        if self.model is None and self.sft_steps < 1:
            raise ValueError("sft_steps must be at least 1 for a model built from scratch")
        return self

    @property
    def from_scratch(self) -> bool:
        return self.model is None


# Overrides of the defaults: the CI-sized tiny lab, and the real-model lab at full and CI size.
_QUICK = {
    "train_problems": 300,
    "test_problems": 6,
    "hidden_size": 32,
    "sft_steps": 60,
    "sft_batch_size": 32,
    "grpo_steps": 2,
    "grpo_batch_size": 16,
    "num_generations": 4,
    "n_bootstrap": 100,
}
_REAL = {
    "train_problems": 2000,
    "test_problems": 48,
    "sft_steps": 0,
    "grpo_steps": 20,
    "grpo_batch_size": 32,
    "num_generations": 8,
    "grpo_lr": 1e-4,
    "temperature": 0.7,
    "lora_rank": 16,
    "eval_personas": 12,
    "instruction": REAL_MODEL_INSTRUCTION,
    "max_new_tokens": 24,
    "eval_batch_size": 16,
}
_REAL_QUICK = {
    **_REAL,
    "train_problems": 50,
    "test_problems": 3,
    "grpo_steps": 1,
    "grpo_batch_size": 4,
    "num_generations": 2,
    "eval_personas": 2,
    "max_new_tokens": 12,
    "n_bootstrap": 100,
}


def lab_config(*, model: str | None = None, quick: bool = False, **overrides: Any) -> LabConfig:
    """The preset for `model` (None: the tiny lab), CI-sized with `quick`, with `overrides` (None values skipped).

    Example:
        >>> lab_config(quick=True).grpo_steps, lab_config(model="smollm2-135m-instruct").lora_rank
        (2, 16)
        >>> lab_config(grpo_batch_size=10, num_generations=4)
        Traceback (most recent call last):
        ...
        permix_plugins.errors.ConfigError: invalid lab settings: grpo_batch_size (10) must be a multiple of ...
    """
    preset = (_REAL_QUICK if quick else _REAL) if model is not None else (_QUICK if quick else {})
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return LabConfig(**{**preset, "model": model, **given})
    except ValidationError as exc:
        raise ConfigError(f"invalid lab settings: {describe_errors(exc, model=LabConfig)}") from None
