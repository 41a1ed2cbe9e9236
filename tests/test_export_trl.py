"""`permix export trl` / `export_trl`: the file is the PersonaMixDataset that `load_dataset` reads back, its printed
flags point TRL's own `trl grpo` at it, and `trl grpo` trains on it with permix's reward seeing the persona columns."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import import_module
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from permix_plugins.adapters.trl import REWARD_FUNC, export_trl

from permix_plugins import ConfigError, PersonaMixDataset, load_problems
from permix_plugins.cli import main
from permix_plugins.math import accuracy_reward

MIXING = ["--personas", "styled", "--persona-prob", "0.75", "--seed", "3", "--placement", "user_prefix"]


def _export(capsys, out: Path, *flags: str) -> tuple[int, list[str], str]:
    """Run the command: its exit code, the flags it prints, and its last line on stderr."""
    code = main(["export", "trl", "--problems", "synthetic", "--limit", "12", *flags, "--out", str(out)])
    captured = capsys.readouterr()
    return code, captured.out.split(), captured.err.splitlines()[-1]  # the last line: after the progress bars


def test_the_reward_path_is_the_one_trl_imports():
    module, name = REWARD_FUNC.rsplit(".", 1)  # as trl/scripts/grpo.py (TRL 1.16, lines 100-105) loads it
    assert getattr(import_module(module), name) is accuracy_reward


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_the_file_is_the_mixed_dataset_load_dataset_reads(tmp_path, capsys, suffix):
    from datasets import load_dataset

    code, flags, err = _export(capsys, tmp_path / "data" / f"train{suffix}", *MIXING)
    assert code == 0, err
    directory = str((tmp_path / "data").resolve())
    assert flags == [
        "--dataset_name",
        directory,
        "--dataset_train_split",
        "train",
        "--reward_funcs",
        REWARD_FUNC,
    ]
    expected = PersonaMixDataset(
        load_problems("synthetic", split="train", limit=12),
        "styled",
        persona_prob=0.75,
        seed=3,
        placement="user_prefix",
    )
    rows = load_dataset(directory)["train"]  # what trl/scripts/grpo.py:132 and :143 load
    assert rows.to_list() == expected.to_list()
    assert {"prompt", "answer", "persona_id", "persona_style"} <= set(rows.column_names)
    assert {m["role"] for prompt in rows["prompt"] for m in prompt} == {"user"}  # user_prefix: no system turn
    with_persona = sum(p != "none" for p in expected["persona_id"])
    assert 0 < with_persona < 12
    assert f"# wrote 12 rows to {tmp_path / 'data' / f'train{suffix}'} ({with_persona} with a persona" in err


def test_the_split_is_the_one_load_dataset_gives_the_file(tmp_path, capsys):
    """A train and an eval file may share a directory: they are two splits of one `load_dataset`."""
    _, train_flags, _ = _export(capsys, tmp_path / "train.jsonl")
    code, eval_flags, err = _export(capsys, tmp_path / "eval.jsonl", "--split", "test")
    assert code == 0, err
    assert train_flags[3] == "train" and eval_flags[3] == "test"
    assert "split 'test' of" in err


def test_refuses_a_directory_load_dataset_would_mix_into_the_file(tmp_path, capsys):
    other = tmp_path / "mine.jsonl"
    other.write_text('{"prompt": "hi", "answer": "1"}\n')
    code, flags, err = _export(capsys, tmp_path / "permix.jsonl")
    assert (code, flags) == (2, [])
    assert err.startswith(
        f"permix export trl: error: load_dataset('{tmp_path}') would read {other} into split "
    )
    assert not (tmp_path / "permix.jsonl").exists() and other.exists()


def test_refuses_a_file_load_dataset_cannot_read(tmp_path, capsys):
    code, _, err = _export(capsys, tmp_path / "train.csv")
    assert code == 2
    assert err == (
        "permix export trl: error: load_dataset picks its reader from the file extension; name the output "
        f"'*.jsonl' or '*.parquet' (got '{tmp_path / 'train.csv'}')"
    )
    with pytest.raises(ConfigError, match=r"would not read \.hidden\.jsonl"):
        export_trl(tmp_path / "hidden" / ".hidden.jsonl", load_problems("synthetic", limit=2))


def _trl() -> list[str]:
    """The `trl` console script, run by this interpreter (the entry point pip installs as `trl`)."""
    (script,) = entry_points(group="console_scripts", name="trl")
    module, function = script.value.split(":")
    return [sys.executable, "-c", f"import sys; from {module} import {function}; sys.exit({function}())"]


@pytest.mark.slow
def test_trl_grpo_trains_on_the_export_with_the_persona_columns(tmp_path, capsys, tiny_model_dir):
    pytest.importorskip("trl")
    code, flags, err = _export(capsys, tmp_path / "data" / "train.jsonl", "--personas", "styled",
                               "--persona-prob", "1")  # fmt: skip
    assert code == 0, err
    out = subprocess.run(  # the test reads the return code
        [
            *_trl(), "grpo", *flags, "--model_name_or_path", str(tiny_model_dir), "--output_dir",
            str(tmp_path / "out"), "--max_steps", "2", "--per_device_train_batch_size", "4",
            "--num_generations", "2", "--max_completion_length", "8", "--use_cpu", "--bf16", "false",
            "--gradient_checkpointing", "false", "--report_to", "none", "--logging_steps", "1",
            "--save_strategy", "steps", "--save_steps", "2", "--seed", "0",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    state = json.loads((tmp_path / "out" / "checkpoint-2" / "trainer_state.json").read_text())
    steps = [record for record in state["log_history"] if "loss" in record]
    assert [record["step"] for record in steps] == [1, 2]
    exported = set(
        PersonaMixDataset(load_problems("synthetic", limit=12), "styled", persona_prob=1)["persona_id"]
    )
    for record in steps:
        assert "rewards/accuracy_reward/mean" in record
        # persona_id reached the reward: one accuracy per persona of the step's prompts, all from the file
        personas = {
            key.split("/")[1] for key in record if key.startswith("persona/") and key.endswith("/accuracy")
        }
        assert personas and personas <= exported and "none" not in personas
        # and so did persona_style: every styled persona of the step has its style share
        assert all(f"persona/{persona}/style" in record for persona in personas)
    assert (tmp_path / "out" / "model.safetensors").is_file()  # trl grpo saves the trained model
