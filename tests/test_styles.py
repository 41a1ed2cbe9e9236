"""Checkable persona styles: each check, the case rule, the reply after </think>, persona files, built-in pools."""

from __future__ import annotations

import pytest

from permix_plugins.errors import PersonaFileError
from permix_plugins.personas import Persona, PersonaPool
from permix_plugins.styles import CHECKS, Style, style_holds


@pytest.mark.parametrize(
    ("style", "reply", "holds"),
    [
        ({"starts_with": "Arr!"}, "Arr! Seven plus five makes twelve.", True),
        ({"starts_with": "Arr!"}, "  **ARR!** it be 12", True),  # case, outer space and emphasis ignored
        ({"starts_with": "Arr!"}, "Well, arr! 12", False),
        ({"starts_with": ["Arr!", "Ahoy"]}, "Ahoy there: 12", True),
        ({"ends_with": "Yeehaw!"}, "That makes 12. Yeehaw!\n", True),
        ({"ends_with": "Yeehaw!"}, "Yeehaw! That makes 12.", False),
        ({"contains_any": ["indeed", "quite"]}, "It is INDEED 12.", True),
        ({"contains_any": "indeed"}, "It is 12.", False),
        ({"number_words": True}, "Seven plus five makes twelve.", True),
        ({"number_words": True}, "Seven plus five makes 12.", False),  # a digit
        ({"number_words": True}, "I cannot say.", False),  # no number at all is not numbers-as-words
        ({"uppercase": True}, "THE ANSWER IS \\boxed{12}!", True),  # LaTeX command names are skipped
        ({"uppercase": True}, "THE ANSWER IS 12, matey", False),
        ({"uppercase": True}, "12", False),  # no letters: nothing was shouted
        ({"lowercase": True}, "the answer is \\boxed{12}", True),
        ({"lowercase": True}, "The answer is 12", False),
        ({"max_words": 3}, "It is twelve.", True),
        ({"max_words": 3}, "It is surely twelve.", False),
        ({"starts_with": "Arr!", "uppercase": True}, "ARR! TWELVE!", True),
        ({"starts_with": "Arr!", "uppercase": True}, "Arr! twelve!", False),  # every check must hold
    ],
)
def test_each_check(style, reply, holds):
    assert Style.model_validate(style).holds(reply) is holds


def test_failed_names_the_checks_in_order():
    style = Style(lowercase=True, starts_with="arr", max_words=2)
    assert style.checks == ("starts_with", "lowercase", "max_words")
    assert style.failed("Arr Matey, twelve it be") == ["lowercase", "max_words"]
    assert style.failed("arr twelve") == []


def test_only_the_reply_after_thinking_counts():
    style = Style(starts_with="Arr!")
    assert style.holds("<think>Let me add 7 and 5.</think>Arr! Twelve.")
    assert not style.holds("<think>Arr! I think</think>Twelve.")
    assert style.failed("<think>Arr! never closed") == ["starts_with"]  # no reply at all
    assert not Style(number_words=True).holds(
        "<think>7 + 5 = 12</think>"
    )  # an empty reply has no number word


def test_style_holds_is_none_without_a_style():
    assert style_holds(None, "Arr!") is None
    assert style_holds(Style(starts_with="Arr!"), "Arr!") is True
    assert style_holds(Style(starts_with="Arr!"), None) is False


def test_a_style_round_trips_through_a_plain_mapping():
    style = Style(ends_with=["Yeehaw!", "Yee-haw!"], uppercase=True, max_words=9)
    assert style.to_dict() == {"ends_with": ["Yeehaw!", "Yee-haw!"], "uppercase": True, "max_words": 9}
    assert Style.model_validate(style.to_dict()) == style


def test_a_persona_file_with_styles_loads_and_writes_back(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(
        "- {id: pirate, text: \"You are a pirate; begin with 'Arr!'.\", style: {starts_with: 'Arr!'}}\n"
        "- You are a plain accountant.\n"
    )
    pool = PersonaPool.from_file(path)
    assert pool.styled == ("pirate",)
    assert pool["pirate"].style == Style(starts_with="Arr!")
    assert pool["plain-accountant"].style is None
    assert pool.to_records()[0]["style"] == {"starts_with": ["Arr!"]}
    assert "style" not in pool.to_records()[1]  # unstyled personas are written as before
    again = tmp_path / "again.json"
    again.write_text(__import__("json").dumps(pool.to_records()))
    assert PersonaPool.from_file(again) == pool


def test_a_bad_style_is_one_error_naming_file_entry_and_field(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "- {id: a, text: 'You are A.', style: {starts_with: 'Arr!', shout: true}}\n"
        "- {id: b, text: 'You are B.', style: {max_words: 0}}\n"
        "- {id: c, text: 'You are C.', style: {uppercase: 'very'}}\n"
        "- {id: d, text: 'You are D.', style: {ends_with: []}}\n"
        "- {id: e, text: 'You are E.', style: loud}\n"
        "- {id: f, text: 'You are F.', style: {}}\n"
        "- {id: g, text: 'You are G.', style: {uppercase: true, lowercase: true}}\n"
    )
    with pytest.raises(PersonaFileError) as caught:
        PersonaPool.from_file(path)
    lines = str(caught.value).splitlines()
    assert lines[0] == f"invalid persona file '{path}' (7 problems):"
    checks = ", ".join(CHECKS)
    assert lines[1:8] == [
        f"  - entry [0], field 'style.shout': unknown check; accepted checks: {checks}",
        "  - entry [1], field 'style.max_words': must be an integer >= 1 (got 0)",
        "  - entry [2], field 'style.uppercase': must be true or false (got 'very')",
        "  - entry [3], field 'style.ends_with': must be a non-blank string or a non-empty list of non-blank "
        "strings (got [])",
        "  - entry [4], field 'style': must be a mapping of checks, e.g. {starts_with: 'Arr!'} (got 'loud')",
        f"  - entry [5], field 'style': a style needs at least one check; accepted checks: {checks}",
        "  - entry [6], field 'style': uppercase and lowercase cannot both hold; keep one",
    ]


@pytest.mark.parametrize("name", ["styled", "styled_eval"])
def test_builtin_styled_pools_style_every_persona(name):
    pool = PersonaPool.builtin(name)
    assert pool.styled == pool.ids
    assert all("styled" in p.tags for p in pool)


def test_held_out_styles_ask_for_habits_the_styled_pool_teaches():
    taught = {p.style for p in PersonaPool.builtin("styled")}
    held_out = PersonaPool.builtin("styled_eval")
    assert {p.style for p in held_out} <= taught
    assert len({p.style for p in held_out}) >= 7  # every habit but the two-check one is asked for again


def test_unstyled_builtin_pools_stay_unstyled():
    for name in ("lottery", "train", "eval"):
        assert PersonaPool.builtin(name).styled == ()


def test_a_persona_keeps_no_style_by_default():
    assert Persona(id="owl", text="You are an owl.").style is None


@pytest.fixture(scope="module")
def verifier():
    from permix_plugins.verifier import MathVerifier

    with MathVerifier(workers=1) as v:
        yield v


@pytest.mark.parametrize("pool", ["styled", "styled_eval"])
@pytest.mark.parametrize(
    ("reply", "gold"),
    [
        ("7 + 5 = 12, so the answer is 12.", "12"),
        (r"The answer is \boxed{305}.", "305"),
        ("Take away 4 and 1,003 remain... no: the answer is -17.", "-17"),
    ],
)
def test_a_reply_written_in_any_builtin_style_holds_it_and_stays_correct(pool, reply, gold, verifier):
    for persona in PersonaPool.builtin(pool):
        styled = persona.style.write(reply)
        assert persona.style.holds(styled), (persona.id, styled)
        assert verifier.verify(gold, styled).correct is True, (persona.id, styled)


def test_write_spells_out_integers_only_where_they_stand_alone():
    style = Style(number_words=True)
    assert style.write(r"3 * 4 = \boxed{12}") == r"three * four = \boxed{twelve}"
    assert style.write("-17") == "minus seventeen"


def test_a_styled_pool_adds_the_persona_style_column():
    from permix_plugins import PersonaMixDataset, load_problems
    from permix_plugins.styles import decode_style

    problems = load_problems("synthetic", limit=40)
    styled = PersonaPool.builtin("styled")
    mixed = PersonaMixDataset(problems, styled, persona_prob=0.5, seed=3)
    assert mixed.column_names[:3] == ["prompt", "persona_id", "persona_style"]
    for persona_id, style in zip(mixed["persona_id"], mixed["persona_style"], strict=True):
        expected = None if persona_id == "none" else styled[persona_id].style
        assert decode_style(style) == expected
    assert "" in mixed["persona_style"] and len(set(mixed["persona_style"])) > 3
    plain = PersonaMixDataset(problems, PersonaPool.builtin("train"), persona_prob=0.5, seed=3)
    assert "persona_style" not in plain.column_names  # unstyled pools give the columns they always gave
