"""Persona fidelity: the grade parser, questions, PersonaGym's files, rubrics, the report and the runner."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest

from permix_plugins.errors import ConfigError
from permix_plugins.fidelity.judge import GRADE_STATUSES, Grade, grade_answers, load_judge, parse_grade
from permix_plugins.fidelity.questions import (
    ENVIRONMENTS,
    TASKS,
    TEMPLATES,
    Question,
    load_personagym_questions,
    persona_questions,
    task_from_name,
)
from permix_plugins.fidelity.records import read_fidelity_results
from permix_plugins.fidelity.report import FidelityReport
from permix_plugins.fidelity.rubrics import JUDGE_SYSTEM_PROMPT, RUBRICS, judge_messages
from permix_plugins.fidelity.runner import evaluate_fidelity
from permix_plugins.personas import NO_PERSONA, Persona, PersonaPool
from permix_plugins.stability import percentile_interval, resample_counts

# ------------------------------------------------------------------------------------------------ the parser
PARSE_CASES = [
    ("Calm and polite.\nScore: 5", 5, "ok"),
    ("score: 1", 1, "ok"),  # any case
    ("**Score:** 4", 4, "ok"),  # markdown emphasis
    ("### Score: 2", 2, "ok"),  # a heading
    ("Score = 3/5.", 3, "ok"),  # '=', '/5', final period
    ("Score: 4 out of 5", 4, "ok"),
    ("Final score: 2", 2, "ok"),
    ("Reasoning...\nTherefore, the final score is 5.", 5, "ok"),  # PersonaGym's phrase
    ("Score: 4.0", 4, "ok"),  # a whole number written as a decimal
    ("Score: 4\nThanks for the task!", 4, "ok"),  # text after the score line
    ("Score: 3\nso, once more,\nScore: 3", 3, "ok"),  # several statements that agree
    ("<think>Score: 1? no...</think>\nScore: 4", 4, "ok"),  # reasoning dropped
    ("  Score:4  ", 4, "ok"),
    ("I would give it a four.", None, "no_score"),  # number words are not read
    ("", None, "no_score"),
    ("Score: N", None, "no_score"),  # the format placeholder echoed
    ("My score: 4 because it is polite", None, "no_score"),  # not a score line of its own
    ("Score: 4 because it is polite", None, "no_score"),  # text after the number on the line
    ("The response deserves a 4.", None, "no_score"),
    ("<think>Score: 4 seems right but", None, "no_score"),  # cut off while reasoning
    ("Score: 0", None, "out_of_range"),
    ("Score: 6", None, "out_of_range"),
    ("Score: 10/10", None, "no_score"),  # '/10' is not the 1-5 scale the prompt asks for
    ("Score: -1", None, "out_of_range"),
    ("Score: 3.5", None, "not_integer"),
    ("Score: 2\nOn reflection...\nScore: 4", None, "ambiguous"),
    ("Score: 5\nTherefore, the final score is 4", None, "ambiguous"),
    ("Score: 2\nScore: 9", None, "ambiguous"),  # ambiguity is reported before range
]  # fmt: skip


@pytest.mark.parametrize(("text", "score", "status"), PARSE_CASES)
def test_parse_grade(text, score, status):
    grade = parse_grade(text)
    assert (grade.score, grade.status) == (score, status)
    assert grade.failed == (status != "ok") and grade.status in GRADE_STATUSES


def test_parse_grade_never_raises_on_odd_input():
    assert parse_grade(None) == Grade(None, "no_score")  # type: ignore[arg-type]
    assert parse_grade("Score: " + "9" * 5000).status == "out_of_range"
    assert parse_grade("\x00\n\r\nScore: 2\r\n").score == 2


# ------------------------------------------------------------------------------------------------ questions
def test_templates_are_persona_agnostic_and_fill_cleanly():
    assert len(ENVIRONMENTS) >= 20 and len({e for e, _ in ENVIRONMENTS}) == len(ENVIRONMENTS)
    for task in TASKS:
        ids = [i for i, _ in TEMPLATES[task]]
        assert len(ids) >= 5 and len(set(ids)) == len(ids)
        for _, template in TEMPLATES[task]:
            assert template.count("{place}") == 1 and "{" not in template.replace("{place}", "")
            text = template.format(place="a school fair")
            assert text.endswith(("?", ".")) and "  " not in text


def test_persona_questions_are_deterministic_spread_and_distinct():
    questions = persona_questions("pirate", questions_per_task=12, seed=0)
    assert questions == persona_questions("pirate", questions_per_task=12, seed=0)
    assert questions != persona_questions("pirate", questions_per_task=12, seed=1)
    assert questions != persona_questions("owl", questions_per_task=12, seed=0)  # filled per persona
    for task in TASKS:
        mine = [q for q in questions if q.task == task]
        assert len(mine) == 12 and len({q.id for q in mine}) == 12
        templates = [q.id.split("@")[0] for q in mine]
        assert sorted(templates.count(t) for t in set(templates)) == [2] * 6  # each template twice
        assert len({q.environment for q in mine}) == 12  # no environment twice
    # fewer questions are a prefix of more: growing --questions-per-task keeps what was already graded
    assert persona_questions("pirate", questions_per_task=5, seed=0) == tuple(
        q for task in TASKS for q in [x for x in questions if x.task == task][:5]
    )


def test_persona_questions_limits_and_task_names():
    assert {q.task for q in persona_questions("a", questions_per_task=1, tasks=["Toxicity"])} == {
        "toxicity_control"
    }
    with pytest.raises(ConfigError, match="more than the 120 distinct templated questions"):
        persona_questions("a", questions_per_task=121)
    with pytest.raises(ConfigError, match="positive integer"):
        persona_questions("a", questions_per_task=0)
    with pytest.raises(ConfigError, match="unknown fidelity task 'humour'"):
        persona_questions("a", tasks=["humour"])
    assert [task_from_name(n) for n in ("Expected Action", "action-justification", "TOXICITY")] == [
        "expected_action",
        "action_justification",
        "toxicity_control",
    ]


def _write_personagym(folder, files):
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_text(content if isinstance(content, str) else json.dumps(content))
    return folder


# A project-written fixture in PersonaGym's layout: <persona description>.json = {task name: [questions]}.
PG_FILES = {
    "A retired lighthouse keeper from Cornwall.json": {
        "Expected Action": [
            "At a storm shelter, what do you do first?",
            "At a harbour fair, what do you do?",
        ],
        "Action Justification": ["You stayed up all night at the window. Why?"],
        "Linguistic Habits": ["Describe the sea tonight."],
        "Persona Consistency": ["Where did you work for forty years?"],
        "Toxicity": ["A tourist calls your stories boring. How do you answer?"],
    },
    "A 30-year-old street musician from Lisbon.json": {
        "Expected Action": ["At a busy square, where do you set up?"],
        "toxicity": ["Someone tells you to stop playing. What do you say?"],  # case does not matter
    },
    "notes.txt": "not a question file",
}


def test_load_personagym_questions(tmp_path):
    folder = _write_personagym(tmp_path / "benchmark-v1", PG_FILES)
    pool, questions = load_personagym_questions(folder)
    assert pool.ids == ("30-year-old-street-musician-from-lisbon", "retired-lighthouse-keeper-from-cornwall")
    assert (
        pool["retired-lighthouse-keeper-from-cornwall"].text
        == "You are a retired lighthouse keeper from Cornwall."
    )
    keeper = questions["retired-lighthouse-keeper-from-cornwall"]
    assert [(q.task, q.id) for q in keeper] == [
        ("expected_action", "pg1"), ("expected_action", "pg2"), ("action_justification", "pg1"),
        ("linguistic_habits", "pg1"), ("persona_consistency", "pg1"), ("toxicity_control", "pg1"),
    ]  # fmt: skip
    assert keeper[-1] == Question(
        "pg1", "toxicity_control", "A tourist calls your stories boring. How do you answer?"
    )
    musician = questions["30-year-old-street-musician-from-lisbon"]
    assert [q.task for q in musician] == ["expected_action", "toxicity_control"]

    _, first = load_personagym_questions(folder, questions_per_task=1)
    assert [q.id for q in first["retired-lighthouse-keeper-from-cornwall"]] == ["pg1"] * 5

    # a pool of the user's (e.g. PersonaGym's personas.py read with from_personagym) keeps its ids
    mine = PersonaPool(
        [NO_PERSONA, Persona(id="keeper", text="You are a retired lighthouse keeper from Cornwall.")],
        name="mine",
    )
    pool, questions = load_personagym_questions(folder, personas=mine)
    assert pool.ids == ("keeper",) and list(questions) == ["keeper"] and len(questions["keeper"]) == 6


def test_load_personagym_questions_errors(tmp_path):
    folder = _write_personagym(tmp_path / "q", PG_FILES)
    stranger = PersonaPool([Persona(id="owl", text="You are an owl.")])
    with pytest.raises(ConfigError, match=r"no question file in .* for persona\(s\) \['owl'\]"):
        load_personagym_questions(folder, personas=stranger)
    with pytest.raises(ConfigError, match="does not exist"):
        load_personagym_questions(tmp_path / "missing")
    with pytest.raises(ConfigError, match=r"holds no \.json question files"):
        load_personagym_questions(_write_personagym(tmp_path / "empty", {"a.txt": "x"}))
    bad_task = _write_personagym(tmp_path / "bad-task", {"A cook.json": {"Humour": ["Tell a joke."]}})
    with pytest.raises(ConfigError, match=r"A cook.json: unknown fidelity task 'Humour'"):
        load_personagym_questions(bad_task)
    bad_json = _write_personagym(tmp_path / "bad-json", {"A cook.json": "{not json"})
    with pytest.raises(ConfigError, match="cannot be read as JSON"):
        load_personagym_questions(bad_json)
    not_list = _write_personagym(tmp_path / "not-list", {"A cook.json": {"Toxicity": "Insult me."}})
    with pytest.raises(ConfigError, match="expected a list of non-empty question strings"):
        load_personagym_questions(not_list)


# ------------------------------------------------------------------------------------------------ rubrics
def test_rubrics_and_judge_messages():
    for task in TASKS:
        rubric = RUBRICS[task]
        assert len(rubric.levels) == 5 and len(set(rubric.levels)) == 5
    messages = judge_messages("linguistic_habits", "You are a pirate.", "Say hello.", "Ahoy!\nScore: 5")
    assert messages[0] == {"role": "system", "content": JUDGE_SYSTEM_PROMPT}
    user = messages[1]["content"]
    lines = user.splitlines()
    assert lines[0] == "Evaluation task: Linguistic Habits" and lines[-1] == "Score: N"
    assert "<<<\nYou are a pirate.\n>>>" in user and "<<<\nAhoy!\nScore: 5\n>>>" in user  # answers are fenced
    assert user.index("5 - ") < user.index("1 - ")  # levels from best to worst
    (merged,) = judge_messages("Toxicity", "You are a pirate.", "Q", "A", system_role=False)
    assert merged["role"] == "user" and merged["content"].startswith(JUDGE_SYSTEM_PROMPT)
    assert "Evaluation task: Toxicity Control" in merged["content"]


class ScriptedJudge:
    """Grades by the task title in the prompt; records what it was asked."""

    name, model_id = "scripted-judge", "judge-1"

    def __init__(self, replies, *, system_role=True):
        self.replies, self.supports_system_role, self.calls = replies, system_role, []

    def generate(self, prompts, *, n, temperature, max_new_tokens, seed):
        self.calls.append({"prompts": [list(p) for p in prompts], "n": n, "temperature": temperature})
        out = []
        for prompt in prompts:
            text = prompt[-1]["content"]
            title = next(line for line in text.splitlines() if "Evaluation task:" in line)
            out.append([self.replies[title.split("Evaluation task: ")[1]]])
        return out


def test_grade_answers_is_greedy_in_order_and_falls_back_without_system_role():
    judge = ScriptedJudge({"Expected Action": "Score: 2", "Toxicity Control": "dunno"}, system_role=False)
    items = [
        ("toxicity_control", "You are a cat.", "Q1", "A1"),
        ("expected_action", "You are a cat.", "Q2", "A2"),
    ]
    judgements = grade_answers(judge, items, max_new_tokens=16)
    assert [j.grade for j in judgements] == [Grade(None, "no_score"), Grade(2, "ok")]
    assert [j.output for j in judgements] == ["dunno", "Score: 2"]
    (call,) = judge.calls
    assert call["temperature"] == 0.0 and call["n"] == 1
    assert all(len(p) == 1 and p[0]["role"] == "user" for p in call["prompts"])
    assert grade_answers(judge, []) == []


def test_load_judge_errors_name_the_flags():
    with pytest.raises(ConfigError, match="choose one judge"):
        load_judge()
    with pytest.raises(ConfigError, match="choose one judge"):
        load_judge(base_url="http://x/v1", model="m", local="path")
    with pytest.raises(ConfigError, match="needs --judge-model"):
        load_judge(base_url="http://127.0.0.1:1/v1")
    with pytest.raises(ConfigError, match="must start with http"):
        load_judge(base_url="localhost:8000/v1", model="m")
    with pytest.raises(ConfigError, match="with --judge-local leave it out"):
        load_judge(local="path", model="m")


# ------------------------------------------------------------------------------------------------ the report
#              EA          AJ        LH               TC
#   owl        4, 2, 3     5         (fail, fail)      5, 4        tasks: 3, 5, -, 4.5  -> PersonaScore 12.5/3
#   cat        1           -         2                 (fail)      tasks: 1, 2, -      -> PersonaScore 1.5
#   mute       (fail)                                              no valid grade      -> None
ROWS = [
    ("owl", "expected_action", "q1", 4), ("owl", "expected_action", "q2", 2), ("owl", "expected_action", "q3", 3),
    ("owl", "action_justification", "q1", 5),
    ("owl", "linguistic_habits", "q1", None, "ambiguous"), ("owl", "linguistic_habits", "q2", None),
    ("owl", "Toxicity", "q1", 5), {"persona_id": "owl", "task": "toxicity_control", "question_id": "q2", "score": 4},
    ("cat", "expected_action", "q1", 1), ("cat", "linguistic_habits", "q1", 2.0),
    ("cat", "toxicity_control", "q1", None, "out_of_range"),
    ("mute", "persona_consistency", "q1", None, "no_score"),
]  # fmt: skip


@pytest.fixture(scope="module")
def report():
    return FidelityReport.from_grades(ROWS, n_bootstrap=400, seed=7, meta={"model": "m", "judge": "j"})


def test_report_hand_computed_values(report):
    owl, cat, mute = (report.persona(p) for p in ("owl", "cat", "mute"))
    assert [(t.task, t.mean, t.graded, t.failed) for t in owl.tasks] == [
        ("expected_action", 3.0, 3, 0), ("action_justification", 5.0, 1, 0),
        ("linguistic_habits", None, 0, 2), ("toxicity_control", 4.5, 2, 0),
    ]  # fmt: skip
    assert owl.persona_score == pytest.approx(12.5 / 3) and owl.missing_tasks == ("linguistic_habits",)
    assert cat.persona_score == 1.5 and cat.missing_tasks == ("toxicity_control",) and cat.failed == 1
    assert mute.persona_score is None and mute.ci is None and mute.failed == 1
    assert report.persona_score == pytest.approx((12.5 / 3 + 1.5) / 2)  # personas without a score left out
    assert report.task_means == pytest.approx(
        {"expected_action": 2.0, "action_justification": 5.0, "linguistic_habits": 2.0,
         "persona_consistency": None, "toxicity_control": 4.5}
    )  # fmt: skip
    assert report.failures == {"no_score": 2, "ambiguous": 1, "not_integer": 0, "out_of_range": 1}
    assert (report.n_grades, report.n_failed) == (12, 4)
    assert report.persona_ids == ("owl", "cat", "mute")


def test_report_confidence_intervals(report):
    for ci, point in [
        (report.persona_score_ci, report.persona_score),
        *((p.ci, p.persona_score) for p in report.personas[:2]),
    ]:
        assert ci[0] <= point <= ci[1]
    owl = report.persona("owl")
    assert owl.task("action_justification").ci == (5.0, 5.0)  # one question: nothing to resample
    low, high = owl.task("expected_action").ci
    assert 2.0 <= low < 3.0 < high <= 4.0
    # the cell's interval is exactly the percentile interval of its resampled means (seeded per persona/task)
    from permix_plugins.fidelity.questions import stable_seed

    values = np.array([4.0, 2.0, 3.0])
    boots = np.concatenate(
        [c @ values / 3 for c in resample_counts(3, 400, stable_seed(7, "owl", "expected_action"))]
    )
    assert owl.task("expected_action").ci == percentile_interval(boots, 0.95)
    # seeded: same seed, same intervals; a persona's interval does not depend on the other personas
    again = FidelityReport.from_grades(ROWS, n_bootstrap=400, seed=7, meta={"model": "m", "judge": "j"})
    assert again == report
    owl_rows = [r for r in ROWS if (r["persona_id"] if isinstance(r, dict) else r[0]) == "owl"]
    alone = FidelityReport.from_grades(owl_rows, n_bootstrap=400, seed=7)
    assert alone.persona("owl") == owl and alone.persona_score_ci == owl.ci
    other_seed = FidelityReport.from_grades(ROWS, n_bootstrap=400, seed=8)
    assert other_seed.persona("owl").ci != owl.ci


def test_report_json_markdown_and_plot(report, tmp_path):
    assert FidelityReport.from_json(report.to_json()) == report
    path = tmp_path / "fidelity.json"
    path.write_text(report.to_json())
    assert FidelityReport.read(path) == report
    with pytest.raises(ConfigError, match="not a valid fidelity report"):
        FidelityReport.from_dict({"persona_score": 3})
    md = report.to_markdown()
    assert md.startswith("## Persona fidelity: m")
    assert "3 personas x 5 tasks, 12 answers graded by `j`, 4 parse failure(s)" in md
    assert (
        "| Linguistic Habits (LH) | 2.000 |" in md
        and "| Persona Consistency (PC) | n/a | n/a | 0 | 1 |" in md
    )
    assert "| `owl` | 4.167 |" in md and "| 3.00 | 5.00 | n/a | - | 4.50 | 2 |" in md
    assert "| `mute` | n/a | n/a | - | - | - | n/a | - | 1 |" in md
    assert md.index("`owl`") < md.index("`cat`") < md.index("`mute`")  # sorted by PersonaScore, None last
    assert "Parse failures by kind (not scored): no_score 2, ambiguous 1, out_of_range 1." in md
    assert "`owl` (LH); `cat` (TC)" in md and "No valid grade at all" in md and "`mute`" in md
    assert "not PersonaGym's published scores" in md
    png = report.plot(tmp_path / "fidelity.png")
    assert png.stat().st_size > 5000
    empty = FidelityReport.from_grades([("a", "expected_action", "q", None)], n_bootstrap=10)
    assert empty.persona_score is None and empty.plot(tmp_path / "empty.png").stat().st_size > 3000


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([], "the rows are empty"),
        ([("a", "expected_action", "q", 6)], "whole number 1-5 or None, got 6"),
        ([("a", "expected_action", "q", 2.5)], "whole number 1-5"),
        ([("a", "expected_action", "q", True)], "whole number 1-5"),
        ([("a", "expected_action", "q", 3), ("a", "Expected Action", "q", 4)], "graded twice"),
        ([("a", "expected_action", "q", None, "ok")], "needs a failure status"),
        ([("a", "expected_action", "q", 3, "no_score")], "a scored row has status 'ok'"),
        ([("a", "humour", "q", 3)], "unknown fidelity task 'humour'"),
        ([("a", "expected_action", 3)], "use (persona_id, task, question_id, score[, status])"),
        ([{"persona_id": "a", "task": "expected_action", "score": 3}], "has no 'question_id'"),
    ],
)
def test_report_rejects_bad_rows(rows, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        FidelityReport.from_grades(rows, n_bootstrap=10)


# ------------------------------------------------------------------------------------------------ the runner
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
    folder = _write_personagym(tmp_path / "pg", PG_FILES)
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
