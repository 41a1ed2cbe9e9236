"""The RL arms: GRPO from the start model with one budget, differing only in the personas mixed into the prompts.

=========  ===============================================================================================
arm        training prompts
=========  ===============================================================================================
rlvr       no persona (``persona_prob=0``): plain RLVR through the same pipeline
permix     a persona of `train_pool` (`train_personas`) with probability `persona_prob`: PerMix-RLVR
control    the same, the personas' text shuffled (`PersonaPool.shuffled`, characters or words): what mixing any
           text of the same length and inventory does, without a persona's meaning
=========  ===============================================================================================

The reward is correctness only (`permix_plugins.math.accuracy_reward`). A trained arm is saved (all weights, or the
LoRA adapters) with a ``lab-arm.json`` marker; a rerun loads it instead of training it again.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from permix_plugins.lab.config import LabConfig
from permix_plugins.mixing import PersonaMixDataset
from permix_plugins.personas import NO_PERSONA_ID, PersonaPool

__all__ = ["TrainedArm", "train_arm", "training_pool"]

_MARKER = "lab-arm.json"


@dataclass
class TrainedArm:
    """A trained arm: the model, the training personas its prompts showed, and the training time."""

    model: Any
    personas_seen: list[str]
    seconds: float


def training_pool(config: LabConfig, arm: str) -> PersonaPool:
    """The personas `arm` mixes in: `train_pool` (restricted to `train_personas`), shuffled for the control."""
    pool = PersonaPool.load(config.train_pool)
    if config.train_personas is not None:
        pool = PersonaPool(
            [pool[i] for i in config.train_personas], name=f"{pool.name}-{len(config.train_personas)}"
        )
    return pool.shuffled(unit=config.control_unit, seed=config.seed) if arm == "control" else pool


def train_arm(
    config: LabConfig,
    arm: str,
    start: Any,
    tokenizer: Any,
    train: Any,
    where: Path,
    log: Callable[[str], None],
) -> TrainedArm:
    """`arm` trained from a copy of `start` (or loaded from `where` when a run saved it there)."""
    marker = where / _MARKER
    if marker.is_file():
        saved = json.loads(marker.read_text())
        log(f"      {arm}: loaded from {where}")
        return TrainedArm(_load(config, start, where), saved["personas_seen"], saved["seconds"])
    began = time.monotonic()
    mixes = arm != "rlvr"
    trainer = _trainer(config, arm, copy.deepcopy(start), tokenizer, train, where, log, mixes)
    trainer.train()
    model = trainer.model.eval()
    seen = sorted(
        {
            key.split("/")[1]
            for entry in trainer.state.log_history
            for key in entry
            if key.startswith("persona/")
        }
        - {NO_PERSONA_ID}
    )
    seconds = time.monotonic() - began
    model.save_pretrained(where)
    marker.write_text(json.dumps({"arm": arm, "personas_seen": seen, "seconds": seconds}, indent=2) + "\n")
    return TrainedArm(model, seen, seconds)


def _load(config: LabConfig, start: Any, where: Path) -> Any:
    if config.lora_rank is None:
        from transformers import AutoModelForCausalLM

        return AutoModelForCausalLM.from_pretrained(where).eval()
    from peft import PeftModel

    return PeftModel.from_pretrained(copy.deepcopy(start), where).eval()


def _trainer(
    config: LabConfig,
    arm: str,
    model: Any,
    tokenizer: Any,
    train: Any,
    where: Path,
    log: Callable,
    mixes: bool,
) -> Any:
    from tqdm.auto import tqdm
    from transformers import PrinterCallback, TrainerCallback

    from permix_plugins.cpu_grpo import cpu_grpo_trainer
    from permix_plugins.math import accuracy_reward

    dataset = PersonaMixDataset(
        train,
        training_pool(config, arm),
        persona_prob=config.persona_prob if mixes else 0.0,
        seed=config.seed,
        instruction=config.instruction,
    )
    every = max(1, config.grpo_steps // 5)

    class Progress(TrainerCallback):
        """A bar with an ETA, and the mean reward every `every` steps (instead of TRL's raw log dicts)."""

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.bar = tqdm(total=config.grpo_steps, desc=f"GRPO {arm}", unit="step", leave=False)

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.bar.update(1)

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
            if logs and "reward" in logs and state.global_step % every == 0:
                log(f"      step {state.global_step:>4}/{config.grpo_steps}  reward {logs['reward']:.3f}")

        def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.bar.close()

    trainer = cpu_grpo_trainer(
        model,
        tokenizer,
        dataset,
        [accuracy_reward],
        output_dir=where.parent.parent / "grpo" / arm,
        callbacks=[Progress()],  # its bar replaces TRL's (cpu_grpo_config disables that)
        lora_rank=config.lora_rank,
        max_steps=config.grpo_steps,
        per_device_train_batch_size=config.grpo_batch_size,
        num_generations=config.num_generations,
        max_completion_length=config.max_new_tokens,
        learning_rate=config.grpo_lr,
        temperature=config.temperature,
        logging_steps=1,  # every step's per-persona metrics: the training personas seen
        seed=config.seed,
    )
    trainer.remove_callback(PrinterCallback)  # Progress reports instead of raw log dicts
    return trainer
