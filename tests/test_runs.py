"""What every evaluation run shares (`permix_plugins.evaluation.runs`): one settings object per run gives the
settings saved beside its results, every record's shared fields and the report's metadata, and results files
written by earlier versions resume."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fake_openai_server import FakeOpenAIServer

from permix_plugins.cli import main
from permix_plugins.evaluation import OpenAIBackend, evaluate, read_results
from permix_plugins.evaluation.runner import EvalConfig, EvalItem, EvalRunSettings
from permix_plugins.fidelity import FidelityReport, build_questions, evaluate_fidelity, read_fidelity_results
from permix_plugins.fidelity.questions import TASKS
from permix_plugins.fidelity.rubrics import JUDGE_SYSTEM_PROMPT
from permix_plugins.fidelity.runner import FidelityConfig, FidelityRunSettings
from permix_plugins.personas import PersonaPool
from permix_plugins.problems import load_problems
from permix_plugins.stability import StabilityReport

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


# ------------------------------------------------------------------------------------------------ one object
def saved_settings(run: str, stem: str) -> dict:
    return json.loads((OLD / run / f"{stem}.settings.json").read_text())["settings"]


def eval_settings() -> EvalRunSettings:
    """The settings of the eval fixture's run, built as `run_eval` builds them."""
    config = EvalConfig(model="served", backend="openai", base_url="http://127.0.0.1:9/v1", limit=3, samples=2,
                        temperature=0.5, seed=3, out="unused")  # fmt: skip
    problems = load_problems("synthetic", split="test", limit=3)
    return EvalRunSettings.from_config(
        config,
        pool=PersonaPool.builtin("lottery"),
        items=tuple(EvalItem(row["id"], row["problem"], row["answer"]) for row in problems),
        samples=config.samples,
        instruction=config.instruction,
    )


def fidelity_settings() -> FidelityRunSettings:
    """The settings of the fidelity fixture's run, built as `run_fidelity` builds them."""
    config = FidelityConfig(model="served", backend="openai", base_url="http://127.0.0.1:9/v1", personas="lottery",
                            questions_per_task=1, judge_base_url="http://127.0.0.1:9/v1", judge_model="judge",
                            temperature=0.3, seed=2, out="unused")  # fmt: skip
    pool = PersonaPool.builtin("lottery").without("none")
    return FidelityRunSettings.from_config(
        config,
        pool=pool,
        judge="judge",
        judge_backend="openai",
        judge_max_new_tokens=config.judge_max_new_tokens,
        plan=build_questions(pool, questions_per_task=1, seed=2),
        tasks=TASKS,
        source="templates",
        questions_per_task=1,
    )


def test_the_settings_object_gives_what_0_1_0_saved_and_every_record_carries():
    for settings, run, stem, read in [
        (eval_settings(), "eval", "results", read_results),
        (fidelity_settings(), "fidelity", "fidelity", read_fidelity_results),
    ]:
        assert settings.saved() == saved_settings(run, stem)
        assert list(settings.saved()) == list(saved_settings(run, stem))  # the order a refusal names them in
        records = read(OLD / run / f"{stem}.jsonl")
        for record in records:
            shared = settings.record_fields("none" if record.persona_id == "none" else "system")
            assert {key: getattr(record, key) for key in shared} == shared
    assert {r.placement for r in read_results(OLD / "eval" / "results.jsonl")} == {"system", "none"}


def test_the_report_meta_is_the_settings_objects(tmp_path, capsys):
    """The same keys and values as 0.1.0 wrote (eval adds what `run_eval` knows beyond the settings)."""
    with FakeOpenAIServer(solve) as server:
        assert main(eval_argv(server.base_url, tmp_path / "eval")) == 0, capsys.readouterr().err
    meta = StabilityReport.read(tmp_path / "eval" / "report.json").meta
    assert meta == {
        **eval_settings().report_meta("system"),
        "problems": "synthetic",
        "split": "test",
        "limit": 3,
    }
    assert meta == {"model": "served", "backend": "openai", "personas": "lottery", "samples": 2, "temperature": 0.5,
                    "max_new_tokens": 1024, "seed": 3, "placement": "system", "problems": "synthetic",
                    "split": "test", "limit": 3}  # fmt: skip
    with FakeOpenAIServer(play) as server:
        assert main(fidelity_argv(server.base_url, tmp_path / "fidelity")) == 0, capsys.readouterr().err
    meta = FidelityReport.read(tmp_path / "fidelity" / "fidelity.json").meta
    assert meta == fidelity_settings().report_meta("system")
    assert meta == {"model": "served", "backend": "openai", "judge": "judge", "judge_backend": "openai",
                    "personas": "lottery", "tasks": list(TASKS), "questions": "templates", "questions_per_task": 1,
                    "temperature": 0.3, "max_new_tokens": 512, "judge_max_new_tokens": 512, "seed": 2,
                    "placement": "system"}  # fmt: skip


def test_in_process_runs_resume_what_the_commands_wrote(tmp_path):
    """`evaluate` and `evaluate_fidelity` build the same settings from a backend as the commands from options."""
    shutil.copytree(OLD, tmp_path, dirs_exist_ok=True)
    problems = load_problems("synthetic", split="test", limit=3)
    with FakeOpenAIServer(solve) as server:
        records, _ = evaluate(OpenAIBackend("served", base_url=server.base_url), problems, "lottery", samples=2,
                              temperature=0.5, seed=3, results=tmp_path / "eval" / "results.jsonl", progress=False,
                              n_bootstrap=10)  # fmt: skip
    assert server.payloads == [] and records == read_results(OLD / "eval" / "results.jsonl")
    with FakeOpenAIServer(play) as server:
        model, judge = (OpenAIBackend(name, base_url=server.base_url) for name in ("served", "judge"))
        graded, _ = evaluate_fidelity(model, judge, "lottery", questions_per_task=1, seed=2, temperature=0.3,
                                      max_new_tokens=512, results=tmp_path / "fidelity" / "fidelity.jsonl",
                                      progress=False, n_bootstrap=10)  # fmt: skip
    assert server.payloads == [] and graded == read_fidelity_results(OLD / "fidelity" / "fidelity.jsonl")
