"""TRL's real GRPOTrainer, a few steps on a tiny local model: persona mixing, rewards, telemetry, stability callback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("trl")

from datasets import Dataset
from permix_plugins.adapters import trl as adapter
from permix_plugins.adapters.trl import PersonaStabilityCallback, _refuse_sharded_models, stability_metrics
from tiny_models import build_tiny_model
from trl import GRPOTrainer

from permix_plugins import PersonaMixDataset, PersonaPool, load_problems
from permix_plugins.cpu_grpo import cpu_grpo_trainer
from permix_plugins.errors import ConfigError
from permix_plugins.math import accuracy_reward, accuracy_reward_async, style_reward
from permix_plugins.prompting import DEFAULT_INSTRUCTION

PROBLEMS = load_problems("synthetic", limit=16, seed=0, levels=[1])
HELD_OUT = load_problems("synthetic", split="test", limit=3, seed=0, levels=[1])
LOTTERY = PersonaPool.builtin("lottery")


def _trainer(tmp_path, dataset, tokenizer, rewards=(accuracy_reward,), **overrides) -> GRPOTrainer:
    model = build_tiny_model(tokenizer)
    return cpu_grpo_trainer(model, tokenizer, dataset, rewards, output_dir=tmp_path, **overrides)


def _persona_keys(history: list[dict]) -> set[str]:
    return {key for entry in history for key in entry if key.startswith("persona/")}


@pytest.mark.slow
@pytest.mark.parametrize("reward", [accuracy_reward, accuracy_reward_async], ids=["sync", "async"])
def test_grpo_trains_on_a_persona_mixed_dataset_and_logs_per_persona_metrics(
    tmp_path, tiny_tokenizer, reward
):
    train = PersonaMixDataset(PROBLEMS, PersonaPool.builtin("train"), persona_prob=0.5, seed=0)
    trainer = _trainer(tmp_path, train, tiny_tokenizer, rewards=[reward])
    trainer.train()
    history = trainer.state.log_history
    name = reward.__name__
    assert any(f"rewards/{name}/mean" in entry for entry in history)
    keys = _persona_keys(history)
    seen = {k.split("/")[1] for k in keys}
    assert seen and seen <= set(train["persona_id"])
    assert all(k.endswith(("/accuracy", "/no_answer")) for k in keys)
    for entry in history:
        for key in keys & set(entry):
            assert 0.0 <= entry[key] <= 1.0


@pytest.mark.slow
def test_grpo_logs_style_beside_accuracy_and_trains_on_the_style_reward(tmp_path, tiny_tokenizer):
    styled = PersonaPool.builtin("styled")
    train = PersonaMixDataset(PROBLEMS, styled, persona_prob=1.0, seed=0)
    trainer = _trainer(tmp_path, train, tiny_tokenizer, rewards=[accuracy_reward, style_reward])
    trainer.train()
    history = trainer.state.log_history
    assert any("rewards/style_reward/mean" in entry for entry in history)
    steps = [entry for entry in history if any(k.startswith("persona/") for k in entry)]
    assert steps
    for entry in steps:  # style is logged in the same record as accuracy, for the styled personas of the step
        accuracy = {k.split("/")[1] for k in entry if k.endswith("/accuracy")}
        style = {k.split("/")[1] for k in entry if k.endswith("/style")}
        assert style and style == accuracy and style <= set(styled.ids)
        assert all(0.0 <= entry[f"persona/{p}/style"] <= 1.0 for p in style)


@pytest.mark.slow
def test_persona_prob_zero_is_the_plain_pipeline(tmp_path, tiny_tokenizer):
    """Same prompts, same seed: a PersonaMixDataset without personas trains exactly like a plain dataset."""
    plain = Dataset.from_dict(
        {
            "prompt": [
                [{"role": "user", "content": f"{p}\n\n{DEFAULT_INSTRUCTION}"}] for p in PROBLEMS["problem"]
            ],
            "answer": PROBLEMS["answer"],
        }
    )
    mixed = PersonaMixDataset(PROBLEMS, PersonaPool.builtin("train"), persona_prob=0.0)
    assert mixed["prompt"] == plain["prompt"]

    def run(dataset, sub):
        trainer = _trainer(tmp_path / sub, dataset, tiny_tokenizer)
        trainer.train()
        keep = ("reward", "completions/mean_length", "num_tokens", "entropy", "loss")
        return [{k: e[k] for k in keep if k in e} for e in trainer.state.log_history if "reward" in e]

    assert run(plain, "plain") == run(mixed, "mixed")


@pytest.mark.slow
def test_completions_table_carries_the_persona(tmp_path, tiny_tokenizer):
    import pandas as pd

    train = PersonaMixDataset(PROBLEMS, LOTTERY, persona_prob=1.0, seed=1)
    trainer = _trainer(tmp_path, train, tiny_tokenizer, max_steps=1, log_completions=True)
    trainer.train()
    (table,) = (tmp_path / "completions").glob("*.parquet")
    frame = pd.read_parquet(table)
    assert set(frame["persona_id"]) <= set(LOTTERY.ids) and len(frame) == 4
    assert {"extracted_answer", "verdict"} <= set(frame.columns)


@pytest.mark.slow
def test_stability_callback_logs_pss_before_during_and_after_training(tmp_path, tiny_tokenizer):
    train = PersonaMixDataset(PROBLEMS, PersonaPool.builtin("train"), persona_prob=0.5)
    trainer = _trainer(tmp_path, train, tiny_tokenizer, max_steps=3)
    callback = PersonaStabilityCallback(
        HELD_OUT,
        LOTTERY,
        trainer=trainer,
        every_n_steps=2,
        max_new_tokens=8,
        n_bootstrap=20,
        output_dir=tmp_path / "stability",
    )
    trainer.add_callback(callback)
    trainer.train()

    assert [step for step, _ in callback.reports] == [0, 2, 3]  # before, every 2 steps, and the last step
    logged = {e["step"]: e for e in trainer.state.log_history if "permix/pss" in e}
    assert sorted(logged) == [0, 2, 3]
    for step, report in callback.reports:
        expected = stability_metrics(report)
        assert {k: logged[step][k] for k in expected} == pytest.approx(expected)
        assert set(report.persona_ids) == set(LOTTERY.ids) and report.n_items == 3
        saved = json.loads((tmp_path / "stability" / f"stability-step{step}.json").read_text())
        assert saved["pss"] == pytest.approx(report.pss)
    assert trainer.model.training  # the evaluation gave the model back in training mode


@pytest.mark.slow
def test_stability_callback_without_trainer_still_records(tmp_path, tiny_tokenizer):
    train = PersonaMixDataset(PROBLEMS, PersonaPool.builtin("train"), persona_prob=0.5)
    trainer = _trainer(tmp_path, train, tiny_tokenizer, max_steps=1)
    trainer.add_callback(
        PersonaStabilityCallback(HELD_OUT, LOTTERY, every_n_steps=0, max_new_tokens=4, n_bootstrap=10)
    )
    trainer.train()
    assert [e["step"] for e in trainer.state.log_history if "permix/pss" in e] == [0, 1]


def test_callback_refuses_sharded_models_and_bad_period():
    with pytest.raises(ConfigError, match="ZeRO-3 or FSDP"):
        _refuse_sharded_models(SimpleNamespace(fsdp="full_shard"), None)
    with pytest.raises(ConfigError, match="every_n_steps must be 0"):
        PersonaStabilityCallback(HELD_OUT, LOTTERY, every_n_steps=-1)


def test_the_adapter_imports_transformers_only_for_the_callback():
    code = (
        "import sys, pickle\n"
        "import permix_plugins.adapters.trl as adapter\n"
        "print('transformers' in sys.modules)\n"
        "from permix_plugins.adapters.trl import PersonaStabilityCallback\n"
        "import transformers\n"
        "print(issubclass(PersonaStabilityCallback, transformers.TrainerCallback),"
        " adapter.PersonaStabilityCallback is PersonaStabilityCallback,"
        " pickle.loads(pickle.dumps(PersonaStabilityCallback)) is PersonaStabilityCallback)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.split() == ["False", "True", "True", "True"]


def test_the_callback_is_a_trainer_callback_named_for_its_module():
    import transformers

    callback = PersonaStabilityCallback(HELD_OUT, LOTTERY, every_n_steps=0)
    assert isinstance(callback, transformers.TrainerCallback)
    cls = type(callback)
    assert (cls.__module__, cls.__qualname__) == ("permix_plugins.adapters.trl", "PersonaStabilityCallback")
    assert cls.__doc__.startswith("Evaluate persona stability on held-out problems")
    with pytest.raises(AttributeError, match="has no attribute 'PersonaCallback'"):
        adapter.PersonaCallback  # noqa: B018


def test_callback_refuses_every_sharding_the_trainer_knows(tmp_path, tiny_tokenizer):
    """The decision on a real GRPOTrainer's own objects.

    A sharded accelerate state cannot be built on CPU: accelerate 1.16.0 records an FSDP plugin only for
    multi-accelerator device types (state.py:947-977), and DeepSpeed needs the deepspeed package. So the test sets
    the attributes those paths set: `is_fsdp_enabled` (transformers 5.10.4 trainer.py:830) and the DeepSpeedPlugin
    that TrainingArguments builds (training_args.py:1645-1650), each a real object.
    """
    from accelerate.utils import DeepSpeedPlugin, DistributedType
    from transformers import TrainingArguments

    trainer = _trainer(tmp_path, PersonaMixDataset(PROBLEMS, LOTTERY), tiny_tokenizer)
    _refuse_sharded_models(trainer.args, trainer)  # one process, whole model: allowed

    # `accelerate launch --config_file fsdp1.yaml` leaves args.fsdp empty; only the Trainer's flag tells.
    assert not trainer.args.fsdp
    trainer.is_fsdp_enabled = True
    with pytest.raises(ConfigError, match="ZeRO-3 or FSDP"):
        _refuse_sharded_models(trainer.args, trainer)
    trainer.is_fsdp_enabled = False

    trainer.args.deepspeed_plugin = DeepSpeedPlugin(zero_stage=2)  # optimizer states sharded, weights whole
    _refuse_sharded_models(trainer.args, trainer)
    trainer.args.deepspeed_plugin = DeepSpeedPlugin(zero_stage=3)
    with pytest.raises(ConfigError, match="ZeRO-3 or FSDP"):
        _refuse_sharded_models(trainer.args, trainer)

    # Without trainer=: FSDP from the arguments, or from the accelerate state the arguments share.
    fsdp_args = TrainingArguments(tmp_path, use_cpu=True, report_to="none", fsdp="full_shard")
    with pytest.raises(ConfigError, match="ZeRO-3 or FSDP"):
        _refuse_sharded_models(fsdp_args, None)
    launched = SimpleNamespace(
        fsdp=None, distributed_state=SimpleNamespace(distributed_type=DistributedType.FSDP)
    )
    with pytest.raises(ConfigError, match="ZeRO-3 or FSDP"):
        _refuse_sharded_models(launched, None)


@pytest.mark.slow
def test_stability_callback_under_two_processes(tmp_path):
    """DDP on CPU (gloo): the main process generates, the other waits, both finish every step together."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    script = Path(__file__).with_name("distributed_grpo.py")
    out = subprocess.run(  # the test reads the return code
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            "2",
            "--master_addr",
            "127.0.0.1",
            "--master_port",
            str(port),
            str(script),
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    main, other = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert main["world_size"] == other["world_size"] == 2
    assert main["evaluated_steps"] == main["logged_steps"] == [0, 1, 2]
    assert other["evaluated_steps"] == [] and other["global_step"] == main["global_step"] == 2


def test_stability_metrics_join_the_steps_record_and_reach_the_loggers(tmp_path, tiny_tokenizer, monkeypatch):
    """One record per logged step, `permix/*` next to that step's rewards; TensorBoard (a callback that runs before
    ours) gets every metric once per step, under transformers' ``train/`` prefix."""
    event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    monkeypatch.setenv("TENSORBOARD_LOGGING_DIR", str(tmp_path / "tb"))
    train = PersonaMixDataset(PROBLEMS, LOTTERY, persona_prob=1.0, seed=1)
    trainer = _trainer(tmp_path, train, tiny_tokenizer, max_steps=4, report_to="tensorboard")
    callback = PersonaStabilityCallback(HELD_OUT, LOTTERY, trainer=trainer, every_n_steps=2, max_new_tokens=4)
    trainer.add_callback(callback)
    trainer.train()

    history = [e for e in trainer.state.log_history if "train_runtime" not in e]  # not the end-of-run summary
    assert [e["step"] for e in history] == [0, 1, 2, 3, 4]  # before training, then one record per step
    by_step = {e["step"]: e for e in history}
    for step, report in callback.reports:
        assert by_step[step]["permix/pss"] == pytest.approx(report.pss)
    assert [step for step, _ in callback.reports] == [0, 2, 4]
    assert all("rewards/accuracy_reward/mean" in by_step[step] for step in (2, 4))
    assert "permix/pss" not in by_step[3]

    (events,) = {path.parent for path in (tmp_path / "tb").rglob("events.out.tfevents.*")}
    scalars = event_accumulator.EventAccumulator(str(events), size_guidance={"scalars": 0}).Reload()
    steps = {tag: [e.step for e in scalars.Scalars(tag)] for tag in scalars.Tags()["scalars"]}
    assert steps["train/permix/pss"] == [0, 2, 4]
    assert steps["train/rewards/accuracy_reward/mean"] == [1, 2, 3, 4]
    assert any(tag.startswith("train/persona/") for tag in steps)
