"""The lab's settings: one pydantic model, four presets (tiny or real start model, full or CI-sized).

The tiny preset builds a model from scratch and warms it up on the built-in problems, with system prompts, styles
and a persona lottery of its own (`permix_plugins.lab.warmup`); the real preset starts from an instruct checkpoint
(a named model such as ``smollm2-135m-instruct``, a local directory or a Hub id), teaches it the styled personas'
habits with a short LoRA warm-up, and trains LoRA adapters in the RL arms. The real preset is a design planned
before it ran (docs/real-model-lab): a fixed test set shared by every seed and arm, eight held-out personas chosen in
advance, a training shape of 8 prompts x 4 completions so that more distinct prompts carry personas, and 24 training
personas, few enough that every one is seen.
"""

from __future__ import annotations

from typing import Any, Literal

from annotated_types import Ge
from pydantic import Field, ValidationError, model_validator
from pydantic.fields import FieldInfo

from permix_plugins.errors import ConfigError
from permix_plugins.mix_config import MixConfig
from permix_plugins.settings import Settings, describe_errors

__all__ = ["ARMS", "REAL_MODEL_INSTRUCTION", "LabConfig", "lab_config"]

ARMS = ("rlvr", "permix", "control")
"""The RL arms, each trained from the same start model with the same budget: plain RLVR (no persona), PerMix-RLVR
(personas of `train_pool`) and the control (the same personas with their text shuffled: `PersonaPool.shuffled`)."""

REAL_MODEL_INSTRUCTION = "Answer with the final number."


def _permix_share() -> Any:
    """`MixConfig.persona_prob` (default, upper limit) for the PerMix run, which needs personas: above 0, where
    MixConfig allows 0 (the RLVR run is the lab's other arm)."""
    share = FieldInfo.merge_field_infos(
        MixConfig.model_fields["persona_prob"],
        Field(gt=0, description="persona share of the PerMix and control runs"),
    )
    share.metadata = [limit for limit in share.metadata if not isinstance(limit, Ge)]  # gt=0 replaces ge=0
    return share


class LabConfig(Settings):
    """Every knob of one lab run; the defaults are the tiny from-scratch lab of the README."""

    out_dir: str = Field("permix-demo", description="output directory")
    seed: int = Field(
        0,
        description="seed of the training problems, the GRPO sampling, the mixing and (unless shared_start) the "
        "warm-up",
    )
    model: str | None = Field(
        None,
        description="start model (named, directory or Hub id), trained with LoRA; None: a tiny model from scratch",
    )
    levels: tuple[int, ...] = Field((0,), description="difficulty levels of the synthetic problems")
    train_problems: int = Field(4000, ge=1)
    test_problems: int = Field(200, ge=1, description="held-out problems in every evaluation")
    test_seed: int = Field(
        0, description="seed of the test problems: one fixed test set for every seed and arm (not `seed`)"
    )
    hidden_size: int = Field(64, ge=8, description="tiny model only")
    num_layers: int = Field(2, ge=1, description="tiny model only")
    num_heads: int = Field(4, ge=1, description="tiny model only")
    sft_steps: int = Field(
        1500,
        ge=0,
        description="supervised warm-up steps (at least 1 for the tiny model; 0 keeps a real model as it is)",
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
    train_personas: tuple[str, ...] | None = Field(
        None, description="the ids of train_pool the RL arms mix in, chosen in advance; None: all"
    )
    control: Literal["shuffled", "none"] = Field(
        "shuffled",
        description="the control arm: PerMix with the training personas' text shuffled (same lengths and "
        "inventory, no meaning), or none",
    )
    control_unit: Literal["chars", "words"] = Field(
        "chars", description="what the control shuffles: characters (tiny model) or words (real model)"
    )
    eval_pool: str = "eval"
    eval_personas: tuple[str, ...] | None = Field(
        None, description="the held-out ids of eval_pool, chosen in advance (the primary PSS); None: all"
    )
    styled_pools: tuple[str, ...] = Field(
        ("styled", "styled_eval"), description="pools whose expressivity every model is measured on"
    )
    styled_problems: int | None = Field(
        None, ge=1, description="the first N test problems the styled pools are measured on; None: all"
    )
    lottery_pool: str = "lottery"
    shared_start: bool = Field(
        False,
        description="several seeds share one start model (its warm-up and evaluations, with `warmup_seed`); "
        "otherwise each seed warms its own up",
    )
    warmup_seed: int = Field(0, description="seed of a shared start model's warm-up")
    start_dir: str | None = Field(
        None, description="where the start model and its evaluations are kept; None: <out_dir>/start"
    )
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
    max_new_tokens: int = Field(32, ge=1, description="answer budget of GRPO and the evaluations")
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

    @property
    def arms(self) -> tuple[str, ...]:
        """The RL arms this run trains (`ARMS`, without the control when ``control="none"``)."""
        return ARMS if self.control != "none" else ARMS[:2]

    @property
    def start_seed(self) -> int:
        """The seed of the start model's warm-up: `warmup_seed` when seeds share it, else `seed`."""
        return self.warmup_seed if self.shared_start else self.seed


# Overrides of the defaults: the CI-sized tiny lab, and the real-model lab at full and CI size.
_QUICK = {
    "train_problems": 300,
    "test_problems": 4,
    "eval_personas": ("topologist", "plumber"),
    "hidden_size": 32,
    "sft_steps": 40,
    "sft_batch_size": 16,
    "grpo_steps": 2,
    "grpo_batch_size": 8,
    "num_generations": 4,
    "max_new_tokens": 24,
    "n_bootstrap": 100,
}
_REAL = {
    "train_problems": 2000,
    "test_problems": 200,
    "sft_steps": 120,
    "sft_batch_size": 8,
    "sft_lr": 2e-4,
    "grpo_steps": 24,
    "grpo_batch_size": 32,
    "num_generations": 4,
    "grpo_lr": 1e-4,
    "temperature": 0.7,
    "lora_rank": 16,
    "train_personas": (
        "probability-theorist", "calculus-lecturer", "accountant", "theoretical-physicist", "computer-scientist",
        "economist", "philosopher", "er-nurse", "head-chef", "farmer", "electrician", "librarian", "dinosaur-fan",
        "curious-ten-year-old", "teen-gamer", "retired-sailor", "ancient-wizard", "detective", "dragon",
        "superhero", "stand-up-comedian", "sports-commentator", "conspiracy-theorist", "procrastinator",
    ),
    "control_unit": "words",
    "eval_personas": (
        "cryptographer", "geologist", "plumber", "restless-six-year-old", "great-grandfather", "time-traveller",
        "radio-dj", "gloomy-pessimist",
    ),
    "styled_pools": ("styled_eval",),
    "styled_problems": 100,
    "shared_start": True,
    "weak_personas": (),
    "reply": "The answer is {answer}.",
    "instruction": REAL_MODEL_INSTRUCTION,
    "max_new_tokens": 24,
    "eval_batch_size": 16,
}  # fmt: skip
_REAL_QUICK = {
    **_REAL,
    "train_problems": 50,
    "test_problems": 3,
    "sft_steps": 2,
    "sft_batch_size": 2,
    "grpo_steps": 1,
    "grpo_batch_size": 4,
    "num_generations": 2,
    "train_personas": ("probability-theorist", "dragon"),
    "eval_personas": ("cryptographer", "plumber"),
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
