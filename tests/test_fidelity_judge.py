"""The judge (`permix_plugins.fidelity.judge`): reading a grade from its reply, grading answers, choosing a judge."""

from __future__ import annotations

import pytest
from scripted_fidelity import ScriptedJudge

from permix_plugins.errors import ConfigError
from permix_plugins.fidelity.judge import GRADE_STATUSES, Grade, grade_answers, load_judge, parse_grade

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
