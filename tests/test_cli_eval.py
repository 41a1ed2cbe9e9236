"""`permix eval` and `permix report` end to end: a tiny local model, and a real local OpenAI server."""

from __future__ import annotations

import json
import math

import pytest
from fake_openai_server import FakeOpenAIServer
from permix_cli import run

from permix_plugins.evaluation import read_results
from permix_plugins.problems import load_problems
from permix_plugins.stability import StabilityReport

LOTTERY = 7


@pytest.mark.slow
def test_eval_transformers_end_to_end_resume_and_report(tiny_model_dir, tmp_path, capsys):
    out = tmp_path / "eval"
    argv = ["eval", "--model", str(tiny_model_dir), "--problems", "synthetic", "--limit", "3",
            "--personas", "lottery", "--samples", "2", "--temperature", "0.7", "--max-new-tokens", "6",
            "--batch-size", "8", "--bootstrap", "50", "--out", str(out), "--no-progress"]  # fmt: skip
    code, stdout, _ = run(capsys, *argv)
    assert code == 0 and "| PSS (mean − std) |" in stdout
    results = out / "results.jsonl"
    records = read_results(results)
    assert len(records) == 3 * LOTTERY * 2 and len({r.key for r in records}) == 42
    assert {r.backend for r in records} == {"transformers"} and {r.temperature for r in records} == {0.7}
    report = StabilityReport.read(out / "report.json")
    assert report.n_items + report.n_bad_gold == 3 and len(report.personas) == LOTTERY
    assert report.meta["problems"] == "synthetic" and report.meta["samples"] == 2
    assert (out / "report.md").read_text().startswith("## Persona stability")
    assert (out / "stability.png").stat().st_size > 5000

    before = results.read_bytes()
    assert run(capsys, *argv)[0] == 0
    assert results.read_bytes() == before  # nothing left to do

    lines = before.decode().splitlines(keepends=True)
    results.write_text("".join(lines[:30]) + lines[30][:40])  # interrupted mid-line
    assert run(capsys, *argv)[0] == 0
    again = read_results(results)
    assert len(again) == 42 and len({r.key for r in again}) == 42 and results.read_text().endswith("\n")

    code, stdout, _ = run(
        capsys, "report", str(results), "--out", str(tmp_path / "rerendered"), "--bootstrap", "50"
    )
    assert code == 0 and "| PSS (mean − std) |" in stdout
    rerendered = StabilityReport.read(tmp_path / "rerendered" / "report.json")
    assert rerendered.item_ids == report.item_ids and rerendered.persona_ids == report.persona_ids

    code, stdout, _ = run(
        capsys, "report", str(results), "--compare", str(out / "report.json"), "--bootstrap", "50"
    )
    assert code == 0 and "| PSS |" in stdout and "| 1.000 |" in stdout  # p = 1 only if Δ is 0 throughout


def test_eval_openai_end_to_end_with_exact_numbers(tmp_path, capsys):
    problems = load_problems("synthetic", split="test", limit=4)
    index = {row["problem"]: (i, row["answer"]) for i, row in enumerate(problems)}

    def answer(persona, user, sample):
        i, gold = index[user.split("\n\n")[0]]
        if persona and "kindergartener" in persona:
            return f"I think it is \\boxed{{{gold if i % 2 == 0 else '-1'}}}"  # right on items 0 and 2 only
        if persona and "carpenter" in persona:
            return "Let me measure twice and never say."  # no answer at all
        return f"So the answer is \\boxed{{{gold}}}."

    with FakeOpenAIServer(answer, api_key="sk-local") as server:
        code, _stdout, err = run(
            capsys, "eval", "--backend", "openai", "--model", "served", "--base-url", server.base_url,
            "--api-key", "sk-local", "--limit", "4", "--bootstrap", "200", "--out", str(tmp_path),
            "--no-progress",
        )  # fmt: skip
    assert code == 0, err
    report = StabilityReport.read(tmp_path / "report.json")
    acc = report.accuracy
    assert acc["kindergartener"] == 0.5 and acc["carpenter"] == 0.0 and acc["none"] == 1.0
    assert sorted(acc.values()) == [0.0, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0]
    assert report.persona("carpenter").no_answer_rate == 1.0
    mean = 5.5 / 7  # = 11/14
    std = math.sqrt(26) / 14  # sqrt(((3/14)^2 * 5 + (4/14)^2 + (11/14)^2) / 7)
    assert report.mean == pytest.approx(mean) and report.std == pytest.approx(std)
    assert report.pss == pytest.approx(mean - std)
    assert report.gap_to_none == -1.0 and report.unanimity == 0.0
    # items 0, 2: one zero among 7 cells; items 1, 3: two zeros. k=2: (1 + (1 - 1/21)) / 2
    assert report.best_of_k == pytest.approx((11 / 14, 41 / 42, 1, 1, 1, 1, 1))
    assert len(server.payloads) == 4 * LOTTERY and {p["model"] for p in server.payloads} == {"served"}
    assert {r.backend for r in read_results(tmp_path / "results.jsonl")} == {"openai"}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--samples", "0"], "invalid option --samples"),
        (["--temperature", "-1"], "invalid option --temperature"),
        (["--problems", "nope"], "unknown problem source 'nope'"),
        (["--personas", "nope"], "persona pool 'nope' is neither a built-in pool"),
        (["--backend", "openai"], "needs the server's base URL: pass --base-url"),
    ],
)
def test_eval_option_errors_name_the_flag(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    code, _, err = run(capsys, "eval", "--model", "m", "--out", str(tmp_path), "--limit", "1", *argv)
    assert code == 2 and message in err and err.startswith("permix eval: error:")


def test_eval_rerun_with_other_settings_is_refused_before_generating(tmp_path, capsys):
    """A rerun into the same --out with another placement (or seed, ...) used to append a second prompt format."""
    with FakeOpenAIServer(lambda persona, user, sample: "\\boxed{0}") as server:
        argv = ["eval", "--backend", "openai", "--model", "served", "--base-url", server.base_url, "--limit", "2",
                "--bootstrap", "20", "--out", str(tmp_path), "--no-progress"]  # fmt: skip
        assert run(capsys, *argv)[0] == 0
        results = tmp_path / "results.jsonl"
        before, requests = results.read_bytes(), len(server.payloads)
        for extra, named in [
            (["--placement", "user_prefix"], "placement='system'"),
            (["--seed", "3"], "seed=0"),
            (["--instruction", ""], "instruction='Please reason"),
            (["--samples", "2", "--temperature", "0.5"], "samples=1, temperature=0.0"),
        ]:
            code, _, err = run(capsys, *argv, *extra)
            assert code == 2 and f"{results} holds results made with {named}" in err, err
            assert "write to another --out directory" in err
        assert results.read_bytes() == before and len(server.payloads) == requests
        assert run(capsys, *argv)[0] == 0  # the same settings still resume


def test_options_for_another_backend_are_errors(tmp_path, capsys):
    argv = [
        "eval",
        "--model",
        "m",
        "--backend",
        "openai",
        "--base-url",
        "http://127.0.0.1:9/v1",
        "--out",
        str(tmp_path),
    ]
    code, _, err = run(capsys, *argv, "--batch-size", "8")
    assert (
        code == 2 and "option --batch-size does not apply to --backend openai (it is for transformers)" in err
    )
    code, _, err = run(
        capsys, "eval", "--model", "m", "--out", str(tmp_path), "--timeout", "5", "--limit", "1"
    )
    assert code == 2 and "option --timeout does not apply to --backend transformers (it is for openai)" in err


def test_every_command_is_its_settings_model():
    """Each subcommand's flags are its settings model's fields, with the model's defaults in the help."""
    from permix_plugins.cli import COMMANDS, build_parser
    from permix_plugins.evaluation.backends.registry import backend_options
    from permix_plugins.evaluation.runner import EvalConfig

    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    for cmd in COMMANDS:
        sub = (
            commands[cmd.group]._subparsers._group_actions[0].choices[cmd.name]
            if cmd.group
            else commands[cmd.name]
        )
        dests = {a.dest for a in sub._actions if a.dest != "help"}
        assert dests == {info.alias or name for name, info in cmd.settings.model_fields.items()}, cmd.name
    help_text = " ".join(commands["eval"].format_help().split())
    assert (
        f"tokens per answer at most (default {EvalConfig.model_fields['max_new_tokens'].default})"
        in help_text
    )
    assert f"(transformers; default {backend_options('transformers')['batch_size']})" in help_text
    assert "--no-progress turn off the progress bar" in help_text


def test_report_errors(tmp_path, capsys):
    code, _, err = run(capsys, "report", str(tmp_path / "missing.jsonl"))
    assert code == 2 and "is not a file" in err
    empty = tmp_path / "results.jsonl"
    empty.write_text("")
    assert "holds no evaluation records" in run(capsys, "report", str(empty))[2]
    bad = tmp_path / "report.json"
    bad.write_text(json.dumps({"pss": 1}))
    assert "not a valid stability report" in run(capsys, "report", str(bad))[2]
