"""Fidelity questions (`permix_plugins.fidelity.questions`): the templates, the questions per persona, and
PersonaGym's question files."""

from __future__ import annotations

import pytest
from scripted_fidelity import PG_FILES, write_personagym

from permix_plugins.errors import ConfigError
from permix_plugins.fidelity.questions import (
    ENVIRONMENTS,
    TASKS,
    TEMPLATES,
    Question,
    load_personagym_questions,
    persona_questions,
    task_from_name,
)
from permix_plugins.personas import NO_PERSONA, Persona, PersonaPool


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


def test_load_personagym_questions(tmp_path):
    folder = write_personagym(tmp_path / "benchmark-v1", PG_FILES)
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
    folder = write_personagym(tmp_path / "q", PG_FILES)
    stranger = PersonaPool([Persona(id="owl", text="You are an owl.")])
    with pytest.raises(ConfigError, match=r"no question file in .* for persona\(s\) \['owl'\]"):
        load_personagym_questions(folder, personas=stranger)
    with pytest.raises(ConfigError, match="does not exist"):
        load_personagym_questions(tmp_path / "missing")
    with pytest.raises(ConfigError, match=r"holds no \.json question files"):
        load_personagym_questions(write_personagym(tmp_path / "empty", {"a.txt": "x"}))
    bad_task = write_personagym(tmp_path / "bad-task", {"A cook.json": {"Humour": ["Tell a joke."]}})
    with pytest.raises(ConfigError, match=r"A cook.json: unknown fidelity task 'Humour'"):
        load_personagym_questions(bad_task)
    bad_json = write_personagym(tmp_path / "bad-json", {"A cook.json": "{not json"})
    with pytest.raises(ConfigError, match="cannot be read as JSON"):
        load_personagym_questions(bad_json)
    not_list = write_personagym(tmp_path / "not-list", {"A cook.json": {"Toxicity": "Insult me."}})
    with pytest.raises(ConfigError, match="expected a list of non-empty question strings"):
        load_personagym_questions(not_list)
