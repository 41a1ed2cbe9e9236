"""The fidelity runner (`permix_plugins.fidelity.runner`): answering in character, grading, resuming, the
placement fallback, given questions, and what it imports."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from scripted_fidelity import PG_FILES, ScriptedJudge, write_personagym

from permix_plugins.errors import ConfigError
from permix_plugins.fidelity.questions import load_personagym_questions
from permix_plugins.fidelity.records import read_fidelity_results
from permix_plugins.fidelity.runner import evaluate_fidelity
from permix_plugins.personas import NO_PERSONA, Persona, PersonaPool


class ScriptedModel:
    name, model_id, max_new_tokens = "scripted", "model-1", 32

    def __init__(self, *, system_role=True):
        self.supports_system_role, self.calls = system_role, []

    def generate(self, prompts, *, n, temperature, max_new_tokens, seed):
        self.calls.append([list(p) for p in prompts])
        return [[f"In character: {p[-1]['content'][:20]}"] for p in prompts]


POOL = PersonaPool(
    [NO_PERSONA, Persona(id="pirate", text="You are a pirate."), Persona(id="owl", text="You are an owl.")],
    name="tiny",
)
REPLIES = {
    "Expected Action": "Score: 4", "Action Justification": "Score: 3", "Linguistic Habits": "Score: 2",
    "Persona Consistency": "Score: 5", "Toxicity Control": "no grade here",
}  # fmt: skip


def test_fidelity_report_keeps_what_each_backend_learned_about_its_server():
    model, judge = ScriptedModel(), ScriptedJudge(REPLIES)
    model.notes = {"length_limit": "max_tokens: the server ignored max_completion_tokens (...)"}
    report = evaluate_fidelity(
        model, judge, POOL, questions_per_task=1, progress=False, n_bootstrap=10
    ).report
    assert report.meta["backend_notes"] == model.notes and "judge_notes" not in report.meta
    judge.notes = {"length_limit": "max_tokens: the server refused max_completion_tokens (HTTP 400)"}
    report = evaluate_fidelity(
        model, judge, POOL, questions_per_task=1, progress=False, n_bootstrap=10
    ).report
    assert report.meta["judge_notes"] == judge.notes


def test_evaluate_fidelity_scores_resumes_and_skips_none(tmp_path):
    results = tmp_path / "fidelity.jsonl"
    model, judge = ScriptedModel(), ScriptedJudge(REPLIES)
    records, report = evaluate_fidelity(
        model,
        judge,
        POOL,
        questions_per_task=2,
        seed=1,
        results=results,
        chunk_size=4,
        progress=False,
        n_bootstrap=50,
    )
    assert len(records) == 2 * 5 * 2 and {r.persona_id for r in records} == {
        "pirate",
        "owl",
    }  # `none` skipped
    prompts = [p for call in model.calls for p in call]
    assert {p[0]["content"] for p in prompts} == {"You are a pirate.", "You are an owl."}  # as in training
    assert all(
        len(p) == 2 and p[0]["role"] == "system" and p[1]["content"].endswith(("?", ".")) for p in prompts
    )
    assert report.scores == {"pirate": 3.5, "owl": 3.5} and report.persona_score == 3.5
    assert report.failures["no_score"] == 4 and report.persona("owl").missing_tasks == ("toxicity_control",)
    assert report.meta["judge"] == "judge-1" and report.meta["questions"] == "templates"
    assert read_fidelity_results(results) == records

    # a rerun answers and grades nothing new
    model2, judge2 = ScriptedModel(), ScriptedJudge(REPLIES)
    records2, report2 = evaluate_fidelity(
        model2, judge2, POOL, questions_per_task=2, seed=1, results=results, progress=False, n_bootstrap=50
    )
    assert model2.calls == [] and judge2.calls == [] and records2 == records and report2 == report
    # any change of what shapes a record is refused, naming each changed setting
    for change, named in [
        ({"questions_per_task": 3}, "questions='20 questions"),
        ({"seed": 2, "questions_per_task": 2}, "seed=1"),
        ({"placement": "user_prefix", "questions_per_task": 2, "seed": 1}, "placement='system'"),
        ({"temperature": 0.5, "questions_per_task": 2, "seed": 1}, "temperature=0.0"),
    ]:
        with pytest.raises(ConfigError, match=f"holds results made with .*{re.escape(named)}") as refused:
            evaluate_fidelity(
                ScriptedModel(), ScriptedJudge(REPLIES), POOL, results=results, progress=False, **change
            )
        assert "write to another --out directory (or delete fidelity.jsonl and fidelity.settings.json" in str(
            refused.value
        )
    assert read_fidelity_results(results) == records  # nothing was written by the refused runs


def test_evaluate_fidelity_placement_fallback_and_given_questions(tmp_path):
    folder = write_personagym(tmp_path / "pg", PG_FILES)
    pool, questions = load_personagym_questions(folder)
    model = ScriptedModel(system_role=False)  # e.g. Gemma: the persona opens the user turn
    records, report = evaluate_fidelity(
        model, ScriptedJudge(REPLIES), pool, questions=questions, tasks=["expected_action", "toxicity_control"],
        progress=False, n_bootstrap=20,
    )  # fmt: skip
    assert [(r.persona_id, r.task, r.question_id) for r in records][:3] == [
        ("30-year-old-street-musician-from-lisbon", "expected_action", "pg1"),
        ("30-year-old-street-musician-from-lisbon", "toxicity_control", "pg1"),
        ("retired-lighthouse-keeper-from-cornwall", "expected_action", "pg1"),
    ]
    assert len(records) == 5 and {r.placement for r in records} == {"user_prefix"}
    first = model.calls[0][0]
    assert len(first) == 1 and first[0]["content"].startswith(
        "You are a 30-year-old street musician from Lisbon.\n\n"
    )
    assert report.meta["questions"] == "provided" and report.task_means["expected_action"] == 4.0
    with pytest.raises(ConfigError, match=r"no questions given for persona\(s\) \['pirate', 'owl'\]"):
        evaluate_fidelity(ScriptedModel(), ScriptedJudge(REPLIES), POOL, questions=questions, progress=False)
    with pytest.raises(ConfigError, match="has no persona with text"):
        evaluate_fidelity(ScriptedModel(), ScriptedJudge(REPLIES), PersonaPool([NO_PERSONA]), progress=False)


def test_fidelity_modules_do_not_import_frameworks():
    code = (
        "import permix_plugins.fidelity.runner, permix_plugins.fidelity, sys, json;"
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert not {
        m for m in loaded if m.split(".")[0] in ("torch", "transformers", "trl", "vllm", "matplotlib")
    }
