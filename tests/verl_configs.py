"""verl configs for the verl adapter's tests: verl's own trainer config composed with overrides, a data config
that names the on-line mixing dataset, and a dataset built from it as the trainer builds one.

Import it after ``pytest.importorskip("verl")``.
"""

from __future__ import annotations

import os
from pathlib import Path

import permix_plugins.adapters.verl as adapter
from omegaconf import DictConfig, OmegaConf
from verl.utils.dataset.rl_dataset import get_dataset_class


def compose_verl(overrides: list[str]) -> DictConfig:
    """verl's own `ppo_trainer` config with `overrides`, as `python -m verl.trainer.main_ppo` composes it."""
    import verl.trainer.config
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=os.path.dirname(verl.trainer.config.__file__), version_base=None):
        return compose(config_name="ppo_trainer", overrides=overrides)


def data_config(files: dict[str, Path], tmp: Path, permix: dict | None = None, **extra) -> DictConfig:
    config = {
        "train_files": str(files["train"]),
        "val_files": str(files["test"]),
        "prompt_key": "prompt",
        "max_prompt_length": 1024,
        "filter_overlong_prompts": True,
        "filter_overlong_prompts_workers": 1,
        "truncation": "error",
        "cache_dir": str(tmp),
        "custom_cls": {"path": adapter.DATASET_PATH, "name": adapter.DATASET_NAME},
        **extra,
    }
    if permix is not None:
        config["permix"] = permix
    return OmegaConf.create(config)


def build(config: DictConfig, tokenizer, role: str = "train"):
    cls = get_dataset_class(config)
    return cls(data_files=config[f"{role}_files"], tokenizer=tokenizer, config=config)
