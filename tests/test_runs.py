"""What every evaluation run shares (`permix_plugins.evaluation.runs`): results files of earlier versions resume."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fake_openai_server import FakeOpenAIServer

from permix_plugins.cli import main
from permix_plugins.fidelity.rubrics import JUDGE_SYSTEM_PROMPT
from permix_plugins.problems import load_problems

OLD = Path(__file__).parent / "data" / "results-0.1.0"  # written by 0.1.0; ORIGIN.md says how


def solve(persona: str | None, user: str, index: int) -> str:
    """The served model of the eval fixture (as in ORIGIN.md)."""
    gold = {row["problem"]: row["answer"] for row in load_problems("synthetic", split="test", limit=3)}
    if persona and "kindergartener" in persona and index == 1:
        return "Ten? No idea."
    return f"So the answer is \\boxed{{{gold[user.split(chr(10) * 2)[0]]}}}."


def play(system: str | None, user: str, index: int) -> str:
    """The served model and judge of the fidelity fixture (as in ORIGIN.md)."""
    if system == JUDGE_SYSTEM_PROMPT:
        return f"Fine.\nScore: {1 + len(user) % 5}"
    return f"In character ({len(system or '')} characters of persona): yes."


def eval_argv(url: str, out: Path) -> list[str]:
    return ["eval", "--backend", "openai", "--model", "served", "--base-url", url, "--limit", "3", "--samples",
            "2", "--temperature", "0.5", "--seed", "3", "--bootstrap", "20", "--out", str(out), "--no-progress"]  # fmt: skip


def fidelity_argv(url: str, out: Path) -> list[str]:
    return ["fidelity", "--backend", "openai", "--model", "served", "--base-url", url, "--personas", "lottery",
            "--questions-per-task", "1", "--judge-base-url", url, "--judge-model", "judge", "--temperature",
            "0.3", "--seed", "2", "--bootstrap", "20", "--out", str(out), "--no-progress"]  # fmt: skip


RUNS = [
    pytest.param("eval", "results", solve, eval_argv, id="eval"),
    pytest.param("fidelity", "fidelity", play, fidelity_argv, id="fidelity"),
]


@pytest.mark.parametrize(("run", "stem", "serve", "argv"), RUNS)
def test_results_of_0_1_0_resume_without_generating(run, stem, serve, argv, tmp_path, capsys):
    out = tmp_path / run
    shutil.copytree(OLD / run, out)
    with FakeOpenAIServer(serve) as server:
        code = main(argv(server.base_url, out))
    assert code == 0, capsys.readouterr().err
    assert server.payloads == []  # every record was resumed: the settings compare equal
    for name in (f"{stem}.jsonl", f"{stem}.settings.json"):
        assert (out / name).read_bytes() == (OLD / run / name).read_bytes()


@pytest.mark.parametrize(("run", "stem", "serve", "argv"), RUNS)
def test_the_same_run_writes_the_bytes_0_1_0_wrote(run, stem, serve, argv, tmp_path, capsys):
    """The settings saved beside the results, their key order and every record field are unchanged."""
    with FakeOpenAIServer(serve) as server:
        code = main(argv(server.base_url, tmp_path))
    assert code == 0, capsys.readouterr().err
    for name in (f"{stem}.jsonl", f"{stem}.settings.json"):
        assert (tmp_path / name).read_bytes() == (OLD / run / name).read_bytes(), name
