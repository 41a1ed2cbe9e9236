"""The OpenRLHF commands (`permix export openrlhf`, `permix openrlhf-reward-path`) and the example script that
calls them, checked by OpenRLHF's own parser and argument checks."""

from __future__ import annotations

import argparse
import ast
import datetime
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from openrlhf_setup import OPENRLHF, needs_openrlhf
from permix_plugins.adapters.openrlhf import reward_file

from permix_plugins.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "examples" / "openrlhf" / "train_grpo_permix.sh"


def test_cli_export_and_reward_path(tmp_path, capsys):
    out = tmp_path / "data" / "train.jsonl"
    argv = ["export", "openrlhf", "--problems", "synthetic", "--limit", "5", "--persona-prob", "1", "--out"]
    assert main([*argv, str(out)]) == 0
    stdout, stderr = capsys.readouterr()
    assert "wrote 5 rows" in stderr
    flags = "--data.input_key input --data.label_key label --data.apply_chat_template"
    assert stdout.strip() == f"--data.prompt_dataset {out} {flags}"
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 5
    assert all(r["input"][0]["role"] == "system" and r["datasource"] != "none" for r in rows)

    assert main(["openrlhf-reward-path"]) == 0
    assert capsys.readouterr().out.strip() == str(reward_file())

    assert main([*argv, str(out), "--persona-prob", "2"]) == 2
    assert (
        "invalid option --persona-prob: Input should be less than or equal to 1 (got 2.0)"
        in capsys.readouterr().err
    )


def openrlhf_cli(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run the `__main__` block of openrlhf/cli/train_ppo_ray.py (its parser and checks), `train` stubbed."""
    path = OPENRLHF / "cli" / "train_ppo_ray.py"
    tree = ast.parse(path.read_text())
    (block,) = [n for n in tree.body if isinstance(n, ast.If) and "__main__" in ast.unparse(n.test)]
    captured: list[Any] = []
    namespace = {"argparse": argparse, "os": os, "datetime": datetime.datetime, "train": captured.append}
    monkeypatch.setattr(sys, "argv", ["train_ppo_ray", *argv])
    exec(  # runs code of the file under test
        compile(ast.Module(body=block.body, type_ignores=[]), str(path), "exec"),
        namespace,
    )
    (args,) = captured
    return args


@needs_openrlhf
def test_example_script_is_a_valid_openrlhf_grpo_command(tmp_path, monkeypatch):
    path = f"{Path(sys.executable).parent}:{os.environ['PATH']}"  # `permix` of this environment
    env = {**os.environ, "PERMIX_PRINT_ARGS": "1", "PATH": path}
    printed = subprocess.run(["bash", str(SCRIPT), "--logger.wandb.project", "permix"], env=env, cwd=tmp_path,
                             check=True, capture_output=True, text=True).stdout  # fmt: skip
    sections: dict[str, list[str]] = {}
    for line in printed.splitlines():
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
        else:
            current.append(line)

    args = openrlhf_cli(sections["train"], monkeypatch)
    assert args.algo.advantage.estimator == "group_norm" and args.rollout.n_samples_per_prompt > 1
    assert args.reward.remote_url == [str(reward_file())] and args.vllm.num_engines >= 1
    data = args.data
    assert (data.input_key, data.label_key, data.apply_chat_template) == ("input", "label", True)
    assert args.ckpt.best_metric_key == "eval_none_pass1" and args.logger.wandb.project == "permix"
    # colocated engines must cover the actor's GPUs exactly (OpenRLHF checks it in train())
    actor_gpus = args.actor.num_nodes * args.actor.num_gpus_per_node
    assert args.vllm.num_engines * args.vllm.tensor_parallel_size == actor_gpus

    train_export = build_parser().parse_args(sections["export-train"])
    eval_export = build_parser().parse_args(sections["export-eval"])
    assert (train_export.out, eval_export.out) == (args.data.prompt_dataset, args.eval.dataset)
    assert Path(args.data.prompt_dataset).is_absolute() and Path(args.eval.dataset).is_absolute()
    assert (train_export.target, train_export.problems, train_export.split) == ("openrlhf", "gsm8k", "train")
    assert (eval_export.split, eval_export.personas, eval_export.every_persona) == ("test", "eval", True)
