"""A TRL GRPO run on CPU in one call: the lab, the tests and the benchmarks build their trainers here.

`cpu_grpo_config` holds the settings every CPU run needs (full fp32, no vLLM, no gradient checkpointing, no
loggers, no checkpoints, no progress bar of TRL's own) and small sizes by default; `cpu_grpo_trainer` puts a model,
its tokenizer, a dataset and reward functions around that config. trl is imported when a function here is called.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from permix_plugins._optional import require

if TYPE_CHECKING:
    from datasets import Dataset
    from transformers import PreTrainedModel, PreTrainedTokenizerBase, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

__all__ = ["CPU_SETTINGS", "cpu_grpo_config", "cpu_grpo_trainer"]

# GRPOConfig fields whose TRL defaults assume a GPU or a logged, checkpointed run (TRL turns on bf16 and gradient
# checkpointing by default); any of them can still be overridden by name.
CPU_SETTINGS: dict[str, Any] = {
    "use_cpu": True,
    "bf16": False,
    "use_vllm": False,
    "gradient_checkpointing": False,
    "report_to": "none",
    "save_strategy": "no",
    "disable_tqdm": True,
}


def cpu_grpo_config(
    output_dir: str | Path,
    *,
    max_steps: int = 2,
    per_device_train_batch_size: int = 4,
    num_generations: int = 2,
    max_completion_length: int = 8,
    learning_rate: float = 1e-3,
    logging_steps: int = 1,
    seed: int = 0,
    **overrides: Any,
) -> GRPOConfig:
    """A `GRPOConfig` for CPU: `CPU_SETTINGS`, the sizes given, then `overrides` (any other GRPOConfig field).

    The default sizes are a smoke run of a tiny model: 2 steps of 4 completions, 2 per prompt, 8 tokens each.

    Example:
        >>> config = cpu_grpo_config("runs/tiny", max_steps=3, temperature=0.7)
        >>> config.use_cpu, config.bf16, config.report_to, config.max_steps, config.temperature
        (True, False, [], 3, 0.7)
    """
    trl = require("trl", extra="trl")
    settings = {
        **CPU_SETTINGS,
        "output_dir": str(output_dir),
        "max_steps": max_steps,
        "per_device_train_batch_size": per_device_train_batch_size,
        "num_generations": num_generations,
        "max_completion_length": max_completion_length,
        "learning_rate": learning_rate,
        "logging_steps": logging_steps,
        "seed": seed,
    }
    return trl.GRPOConfig(**{**settings, **overrides})


def cpu_grpo_trainer(
    model: PreTrainedModel | str,
    tokenizer: PreTrainedTokenizerBase | None,
    train_dataset: Dataset,
    reward_funcs: Sequence[Callable[..., Any]],
    *,
    output_dir: str | Path,
    callbacks: Sequence[TrainerCallback] = (),
    lora_rank: int | None = None,
    **config: Any,
) -> GRPOTrainer:
    """A `GRPOTrainer` on CPU; `config` goes to `cpu_grpo_config`.

    `model` is a model object or a checkpoint path; with a path, `tokenizer` may be None and TRL loads the
    checkpoint's own. With `lora_rank`, LoRA adapters of that rank (alpha twice the rank) on every linear layer
    are trained instead of the whole model.
    """
    trl = require("trl", extra="trl")
    peft_config = None
    if lora_rank is not None:
        peft = require("peft", extra="trl")
        peft_config = peft.LoraConfig(
            r=lora_rank, lora_alpha=2 * lora_rank, target_modules="all-linear", task_type="CAUSAL_LM"
        )
    return trl.GRPOTrainer(
        model=model,
        reward_funcs=list(reward_funcs),
        train_dataset=train_dataset,
        args=cpu_grpo_config(output_dir, **config),
        processing_class=tokenizer,
        callbacks=list(callbacks),
        peft_config=peft_config,
    )
