"""The start model every RL arm trains from, made once and kept on disk (`start_dir`) for reruns and other seeds.

- **Tiny** (``model=None``): a character-level model built from scratch and warmed up on `warmup.demonstrations`
  (all weights).
- **Real** (``model=...``): the instruct checkpoint, taught the styled personas' habits by a short LoRA warm-up on
  the same kind of demonstrations, the adapters merged into the weights. Without warm-up steps the checkpoint is
  the start model as it is. The checkpoint without the warm-up is also kept as the floor of expressivity.

A start model is saved with a ``lab-start.json`` marker naming the settings that made it; a later run with the same
settings loads it instead of training it again, one with other settings refuses to overwrite it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from permix_plugins.errors import ConfigError
from permix_plugins.lab.config import LabConfig
from permix_plugins.lab.warmup import demonstrations, fit, warmup_pool
from permix_plugins.personas import PersonaPool

__all__ = ["StartModel", "start_model"]

_MARKER = "lab-start.json"
# The settings a start model depends on: a saved one is reused only if all of them match.
_START_FIELDS = (
    "model", "levels", "train_problems", "hidden_size", "num_layers", "num_heads", "sft_steps", "sft_batch_size",
    "sft_lr", "lora_rank", "warmup_pool", "warmup_persona_prob", "weak_personas", "weak_error_rate", "reply",
    "instruction",
)  # fmt: skip


@dataclass
class StartModel:
    """The start model, its tokenizer, a one-line description, and the instruct checkpoint before any warm-up
    (`floor`: real models with warm-up steps only)."""

    model: Any
    tokenizer: Any
    description: str
    floor: Any = None


def start_model(config: LabConfig, where: Path, train: Any, log: Callable[[str], None]) -> StartModel:
    """The start model of `config`: loaded from `where` if a run with the same settings saved it there, else made
    (warm-up on `train`'s problems, seeded with `config.start_seed`) and saved there."""
    settings = {name: getattr(config, name) for name in _START_FIELDS} | {"seed": config.start_seed}
    settings = json.loads(json.dumps(settings))  # tuples as lists, as the marker stores them
    marker = where / _MARKER
    saved = json.loads(marker.read_text()) if marker.is_file() else None
    if saved is not None and saved["settings"] != settings:
        changed = sorted(k for k in settings if saved["settings"].get(k) != settings[k])
        raise ConfigError(
            f"{where} holds a start model made with other settings ({', '.join(changed)}); use another out_dir "
            "(or start_dir), or delete it to make a new one"
        )
    if config.from_scratch:
        return _tiny(config, where, train, saved, settings, log)
    return _real(config, where, train, saved, settings, log)


def _tiny(
    config: LabConfig, where: Path, train: Any, saved: Any, settings: dict, log: Callable
) -> StartModel:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from permix_plugins.tinylm import build_model, build_tokenizer

    if saved is not None:
        log(f"      loaded from {where}")
        model = AutoModelForCausalLM.from_pretrained(where / "model").eval()
        return StartModel(model, AutoTokenizer.from_pretrained(where / "model"), saved["description"])
    torch.manual_seed(config.start_seed)
    tokenizer = build_tokenizer()
    model = build_model(
        tokenizer,
        hidden_size=config.hidden_size,
        num_layers=config.num_layers,
        num_heads=config.num_heads,
        seed=config.start_seed,
    )
    params = sum(p.numel() for p in model.parameters())
    n_demos = _warm_up(
        model,
        tokenizer,
        train,
        config,
        log,
        f"warm-up: {params:,}-parameter model, {config.sft_steps} supervised",
    )
    description = (
        f"a {params:,}-parameter model built from scratch and warmed up for {config.sft_steps} supervised steps "
        f"on {n_demos} demonstrations ({_warmup_text(config)})"
    )
    _save(model, tokenizer, where, settings, description)
    return StartModel(model, tokenizer, description)


def _real(
    config: LabConfig, where: Path, train: Any, saved: Any, settings: dict, log: Callable
) -> StartModel:
    import copy

    from permix_plugins.evaluation import TransformersBackend

    loaded = TransformersBackend.from_pretrained(config.model, device="cpu", dtype="float32")
    floor, tokenizer = loaded.model.eval(), loaded.tokenizer
    params = sum(p.numel() for p in floor.parameters())
    if config.sft_steps == 0:
        description = f"{config.model} ({params:,} parameters) as it is"
        log(f"      {description}")
        return StartModel(floor, tokenizer, description)
    if saved is not None:
        from transformers import AutoModelForCausalLM

        log(f"      loaded from {where}")
        model = AutoModelForCausalLM.from_pretrained(where / "model", dtype="float32").eval()
        return StartModel(model, tokenizer, saved["description"], floor)
    from peft import LoraConfig, get_peft_model

    rank = config.lora_rank or 16
    adapters = LoraConfig(r=rank, lora_alpha=2 * rank, target_modules="all-linear", task_type="CAUSAL_LM")
    model = get_peft_model(copy.deepcopy(floor), adapters)
    _warm_up(
        model,
        tokenizer,
        train,
        config,
        log,
        f"style warm-up: {config.model}, LoRA rank {rank}, {config.sft_steps}",
    )
    model = model.merge_and_unload().eval()
    description = (
        f"{config.model} ({params:,} parameters) after a LoRA style warm-up (rank {rank}, {config.sft_steps} "
        f"steps of {config.sft_batch_size} demonstrations, merged; {_warmup_text(config)})"
    )
    _save(model, tokenizer, where, settings, description)
    return StartModel(model, tokenizer, description, floor)


def _warm_up(model: Any, tokenizer: Any, train: Any, config: LabConfig, log: Callable, what: str) -> int:
    """Fit `model` on the warm-up demonstrations of `train`'s problems; the number of demonstrations."""
    demos = demonstrations(train, warmup_pool(config), config)
    log(f"      {what} steps on {len(demos)} demonstrations")
    loss = fit(model, tokenizer, demos, steps=config.sft_steps, batch_size=config.sft_batch_size,
               lr=config.sft_lr, seed=config.start_seed)  # fmt: skip
    log(f"      final loss {loss:.3f}")
    return len(demos)


def _warmup_text(config: LabConfig) -> str:
    pool = PersonaPool.load(config.warmup_pool)
    weak = f", {len(config.weak_personas)} of them weak" if config.weak_personas else ""
    return (
        f"{config.warmup_persona_prob:.0%} with a persona of `{config.warmup_pool}` ({len(pool)} styled) or the "
        f"lab's plain personas{weak}"
    )


def _save(model: Any, tokenizer: Any, where: Path, settings: dict, description: str) -> None:
    model.save_pretrained(where / "model")
    tokenizer.save_pretrained(where / "model")
    (where / _MARKER).write_text(
        json.dumps({"settings": settings, "description": description}, indent=2) + "\n"
    )
