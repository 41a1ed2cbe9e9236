"""The one GRPO setup for CPU runs: its settings reach TRL's config as given, overrides win, the trainer is built
around the model, tokenizer, data, rewards and callbacks it was handed."""

from __future__ import annotations

import pytest

pytest.importorskip("trl")

from tiny_models import build_tiny_model
from transformers import TrainerCallback

from permix_plugins import PersonaMixDataset, PersonaPool, load_problems
from permix_plugins.cpu_grpo import CPU_SETTINGS, cpu_grpo_config, cpu_grpo_trainer
from permix_plugins.math import accuracy_reward


def test_config_runs_on_cpu_in_fp32_without_loggers_or_checkpoints(tmp_path):
    config = cpu_grpo_config(tmp_path)
    assert config.use_cpu and config.device.type == "cpu" and config.output_dir == str(tmp_path)
    assert not (config.bf16 or config.use_vllm or config.gradient_checkpointing)  # TRL turns bf16 and GC on
    assert (config.report_to, config.save_strategy, config.disable_tqdm) == ([], "no", True)
    expected = {
        "max_steps": 2,
        "per_device_train_batch_size": 4,
        "num_generations": 2,
        "max_completion_length": 8,
        "learning_rate": 1e-3,
        "logging_steps": 1,
        "seed": 0,
    }
    assert {name: getattr(config, name) for name in expected} == expected


def test_sizes_and_any_other_field_can_be_overridden(tmp_path):
    config = cpu_grpo_config(
        tmp_path, max_steps=5, num_generations=4, seed=3, temperature=0.7, report_to="tensorboard"
    )
    assert (config.max_steps, config.num_generations, config.seed) == (5, 4, 3)
    assert (config.temperature, config.report_to) == (0.7, ["tensorboard"])
    assert config.use_cpu and not config.bf16  # the CPU settings not overridden stay
    with pytest.raises(TypeError, match="no_such_field"):
        cpu_grpo_config(tmp_path, no_such_field=1)


def test_every_cpu_setting_is_a_grpo_config_field():
    from dataclasses import fields

    from trl import GRPOConfig

    assert set(CPU_SETTINGS) <= {f.name for f in fields(GRPOConfig)}


def test_trainer_holds_what_it_was_given(tmp_path, tiny_tokenizer):
    class Marker(TrainerCallback):
        pass

    train = PersonaMixDataset(load_problems("synthetic", limit=8, levels=[0]), PersonaPool.builtin("train"))
    model = build_tiny_model(tiny_tokenizer)
    trainer = cpu_grpo_trainer(
        model,
        tiny_tokenizer,
        train,
        [accuracy_reward],
        output_dir=tmp_path,
        callbacks=[Marker()],
        max_steps=3,
    )
    assert trainer.model is model and trainer.processing_class is tiny_tokenizer
    assert trainer.reward_funcs == [accuracy_reward] and len(trainer.train_dataset) == 8
    assert trainer.args.max_steps == 3 and trainer.args.use_cpu
    assert any(isinstance(c, Marker) for c in trainer.callback_handler.callbacks)


def test_lora_rank_trains_adapters_of_that_rank(tmp_path, tiny_tokenizer):
    pytest.importorskip("peft")
    train = PersonaMixDataset(load_problems("synthetic", limit=8, levels=[0]), PersonaPool.builtin("train"))
    model = build_tiny_model(tiny_tokenizer)
    trainer = cpu_grpo_trainer(
        model, tiny_tokenizer, train, [accuracy_reward], output_dir=tmp_path, lora_rank=4
    )
    lora = trainer.model.peft_config["default"]
    assert (lora.r, lora.lora_alpha) == (4, 8)
    trainable = {name for name, p in trainer.model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in name for name in trainable)
