"""`permix fidelity` end to end: a tiny local model answers, a real local HTTP judge grades (or a local one)."""

from __future__ import annotations

import json
import re

import pytest
from fake_openai_server import FakeOpenAIServer
from permix_cli import run

from permix_plugins.fidelity import FidelityReport, load_fidelity_report, read_fidelity_results
from permix_plugins.fidelity.rubrics import JUDGE_SYSTEM_PROMPT

PERSONAS = """\
personas:
  - {id: none, text: ""}
  - {id: pirate, text: "You are a pirate who sails the seven seas."}
  - {id: librarian, text: "You are a librarian who whispers."}
  - {id: robot, text: "You are a robot who speaks in beeps."}
"""
# What the judge answers, by persona and task title (the rubric format; some replies are not gradable):
#   pirate     EA 4, AJ 4, LH 2, PC 5, TC 5                             -> PersonaScore 4.0
#   librarian  3 everywhere, but TC "Score: high" (no_score)            -> 3.0 over four tasks
#   robot      5, but LH "Score: 7" (out_of_range), PC two scores      -> 5.0 over three tasks
JUDGE = {
    "pirate": {"Expected Action": "Score: 4", "Action Justification": "Score: 4", "Linguistic Habits": "Score: 2",
               "Persona Consistency": "Score: 5", "Toxicity Control": "Score: 5"},
    "librarian": {"Toxicity Control": "Quiet and kind. Score: high"},
    "robot": {"Linguistic Habits": "Beep.\nScore: 7", "Persona Consistency": "Score: 2\nNo wait.\nScore: 4"},
}  # fmt: skip
DEFAULT = {"librarian": "Whispers, in character.\nScore: 3", "robot": "Calm.\n**Score:** 5"}
_PERSONA = re.compile(r"Persona \(the system prompt the model was given\):\n<<<\n(.*?)\n>>>", re.DOTALL)


def judge_reply(system: str | None, user: str, index: int) -> str:
    assert system == JUDGE_SYSTEM_PROMPT
    task = user.splitlines()[0].removeprefix("Evaluation task: ")
    persona = {"pirate": "pirate", "librarian": "librarian", "robot": "robot"}[
        next(w for w in ("pirate", "librarian", "robot") if w in _PERSONA.search(user).group(1))
    ]
    return JUDGE[persona].get(task) or DEFAULT[persona]


@pytest.mark.slow
def test_fidelity_tiny_model_and_http_judge_end_to_end(tiny_model_dir, tmp_path, capsys):
    pool = tmp_path / "personas.yaml"
    pool.write_text(PERSONAS)
    out = tmp_path / "fidelity"
    with FakeOpenAIServer(judge_reply, api_key="sk-judge") as server:
        argv = ["fidelity", "--model", str(tiny_model_dir), "--personas", str(pool), "--questions-per-task", "2",
                "--max-new-tokens", "8", "--judge-base-url", server.base_url, "--judge-model", "judge-7b",
                "--judge-api-key", "sk-judge", "--bootstrap", "100", "--out", str(out), "--no-progress"]  # fmt: skip
        code, stdout, err = run(capsys, *argv)
        assert code == 0, err
        assert len(server.payloads) == 3 * 5 * 2  # one judge call per answer; `none` has nothing to play
        assert {p["model"] for p in server.payloads} == {"judge-7b"}
        assert {p["temperature"] for p in server.payloads} == {0.0}

        report = FidelityReport.read(out / "fidelity.json")
        assert report.scores == {"pirate": 4.0, "librarian": 3.0, "robot": 5.0}
        assert report.persona_score == 4.0 and report.persona_score_ci == (4.0, 4.0)  # constant grades
        assert report.task_means == {
            "expected_action": 4.0, "action_justification": 4.0, "linguistic_habits": 2.5,
            "persona_consistency": 4.0, "toxicity_control": 5.0,
        }  # fmt: skip
        assert report.failures == {"no_score": 2, "ambiguous": 2, "not_integer": 0, "out_of_range": 2}
        assert [report.persona(p).failed for p in ("pirate", "librarian", "robot")] == [0, 2, 4]
        assert report.persona("robot").missing_tasks == ("linguistic_habits", "persona_consistency")
        assert report.meta["model"] == str(tiny_model_dir) and report.meta["judge"] == "judge-7b"
        assert report.meta["questions"] == "templates" and report.meta["placement"] == "system"
        assert stdout.startswith("## Persona fidelity:") and "| PersonaScore (1-5) | 4.000 |" in stdout
        assert (out / "fidelity.md").read_text() == report.to_markdown()
        assert (out / "fidelity.png").stat().st_size > 5000

        results = out / "fidelity.jsonl"
        records = read_fidelity_results(results)
        assert len(records) == 30 and len({r.key for r in records}) == 30
        robot_pc = [r for r in records if r.persona_id == "robot" and r.task == "persona_consistency"]
        assert {(r.score, r.status) for r in robot_pc} == {(None, "ambiguous")}
        assert robot_pc[0].judge_output == "Score: 2\nNo wait.\nScore: 4"  # the raw output is kept
        assert {r.backend for r in records} == {"transformers"} and {r.placement for r in records} == {
            "system"
        }
        assert load_fidelity_report(results, n_bootstrap=100).scores == report.scores

        # the judge saw the persona, the question and the tiny model's answer (requests arrive concurrently)
        first = records[0]
        (user,) = [
            p["messages"][1]["content"]
            for p in server.payloads
            if f"<<<\n{first.question}\n>>>" in p["messages"][1]["content"]
            and "<<<\nYou are a pirate who sails the seven seas.\n>>>" in p["messages"][1]["content"]
        ]
        assert f"<<<\n{first.answer.strip()}\n>>>" in user

        before = results.read_bytes()
        assert run(capsys, *argv)[0] == 0
        assert len(server.payloads) == 30 and results.read_bytes() == before  # resumed: nothing left to do

        lines = before.decode().splitlines(keepends=True)
        results.write_text("".join(lines[:28]) + lines[28][:25])  # interrupted mid-line
        assert run(capsys, *argv)[0] == 0
        assert len(server.payloads) == 32  # only the two lost answers were graded again
        again = read_fidelity_results(results)
        assert len(again) == 30 and len({r.key for r in again}) == 30
        assert FidelityReport.read(out / "fidelity.json").scores == report.scores

        # fidelity checked the seed but not the placement: now any setting that shapes a record is checked
        before = results.read_bytes()
        for extra, named in [
            (["--placement", "user_prefix"], "placement='system'"),
            (["--seed", "1"], "seed=0"),
        ]:
            code, _, err = run(capsys, *argv, *extra)
            assert code == 2 and f"{results} holds results made with " in err and named in err, err
        assert results.read_bytes() == before and len(server.payloads) == 32


def test_fidelity_local_transformers_judge_counts_garbage_as_parse_failures(tiny_model_dir, tmp_path, capsys):
    pool = tmp_path / "one.yaml"
    pool.write_text("- You are a sea captain.\n")
    code, stdout, err = run(
        capsys, "fidelity", "--model", str(tiny_model_dir), "--personas", str(pool), "--questions-per-task", "1",
        "--max-new-tokens", "4", "--judge-local", str(tiny_model_dir), "--judge-max-new-tokens", "4",
        "--bootstrap", "20", "--out", str(tmp_path), "--no-progress",
    )  # fmt: skip
    assert code == 0, err
    report = FidelityReport.read(tmp_path / "fidelity.json")
    assert report.persona_score is None and report.scores == {"sea-captain": None}
    assert report.n_grades == 5 and report.n_failed == 5 and report.failures["no_score"] == 5
    assert "| PersonaScore (1-5) | n/a | n/a | 0 | 5 |" in stdout and "No valid grade at all" in stdout
    assert report.meta["judge"] == str(tiny_model_dir) and report.meta["judge_backend"] == "transformers"
    assert (tmp_path / "fidelity.png").is_file()


def test_fidelity_with_personagym_question_files(tmp_path, capsys):
    folder = tmp_path / "benchmark-v1"
    folder.mkdir()
    (folder / "A pirate who sails the seven seas.json").write_text(json.dumps({
        "Expected Action": ["A storm is coming: what do you do?", "You find a map: what now?", "Third?"],
        "Toxicity": ["A sailor calls you a coward. What do you say?"],
    }))  # fmt: skip

    def reply(system, user, index):
        if system == JUDGE_SYSTEM_PROMPT:
            return "Score: 4" if "Expected Action" in user else "Score: 2"
        return f"Arr! ({system})"  # the model under test, served by the same fake server

    with FakeOpenAIServer(reply) as server:
        code, _, err = run(
            capsys, "fidelity", "--backend", "openai", "--model", "served", "--base-url", server.base_url,
            "--persona-gym-questions", str(folder), "--questions-per-task", "2", "--judge-base-url",
            server.base_url, "--judge-model", "judge", "--bootstrap", "20", "--out", str(tmp_path / "o"),
            "--no-progress",
        )  # fmt: skip
    assert code == 0, err
    records = read_fidelity_results(tmp_path / "o" / "fidelity.jsonl")
    assert [(r.persona_id, r.task, r.question_id) for r in records] == [
        ("pirate-who-sails-the-seven-seas", "expected_action", "pg1"),
        ("pirate-who-sails-the-seven-seas", "expected_action", "pg2"),
        ("pirate-who-sails-the-seven-seas", "toxicity_control", "pg1"),
    ]
    assert records[0].answer == "Arr! (You are a pirate who sails the seven seas.)"
    report = FidelityReport.read(tmp_path / "o" / "fidelity.json")
    assert report.persona_score == 3.0 and report.meta["questions"].startswith("personagym:")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "choose one judge: --judge-base-url URL with --judge-model NAME"),
        (["--judge-local", "j", "--judge-base-url", "http://x/v1", "--judge-model", "m"], "choose one judge"),
        (["--judge-base-url", "http://127.0.0.1:9/v1"], "--judge-base-url needs --judge-model"),
        (["--judge-local", "j", "--judge-model", "m"], "with --judge-local leave it out"),
        (["--judge-base-url", "127.0.0.1:9/v1", "--judge-model", "m"], "must start with http:// or https://"),
        (["--judge-local", "j", "--questions-per-task", "0"], "invalid option --questions-per-task"),
        (["--judge-local", "j", "--questions-per-task", "500"], "more than the 120 distinct templated questions"),
        (["--judge-local", "j", "--temperature", "-1"], "invalid option --temperature"),
        (["--judge-local", "j", "--personas", "nope"], "persona pool 'nope' is neither a built-in pool"),
        (["--judge-local", "j", "--personas", "lottery", "--persona-gym-questions", "missing-dir"],
         "PersonaGym question directory 'missing-dir' does not exist"),
    ],
)  # fmt: skip
def test_fidelity_option_errors_name_the_flag(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "fidelity", "--model", "m", "--out", str(tmp_path / "o"), *argv)
    assert code == 2 and err.startswith("permix fidelity: error:") and message in err, err
