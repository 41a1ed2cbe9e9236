"""Tests for permix_plugins.personas: Persona, PersonaPool, the built-in pools and the file readers."""

from __future__ import annotations

import collections
import copy
import difflib
import itertools
import json
import pickle
import random
import re
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from permix_plugins.errors import ConfigError, PersonaFileError
from permix_plugins.personas import BUILTIN_POOLS, NO_PERSONA, NO_PERSONA_ID, Persona, PersonaPool


def _write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def _file_error(path: Path, loader=PersonaPool.from_file) -> str:
    with pytest.raises(PersonaFileError) as info:
        loader(path)
    message = str(info.value)
    assert path.name in message  # every file error names the file
    return message


# -- Persona


def test_no_persona_constants():
    assert NO_PERSONA_ID == "none"
    assert Persona(id="none", text="", tags=("none",)) == NO_PERSONA


def test_persona_normalises_tags_and_text():
    persona = Persona(id="owl", text="  You are a wise owl.  ", tags=["fictional", "playful", "fictional"])
    assert persona.text == "You are a wise owl."
    assert persona.tags == ("fictional", "playful")  # a tuple, repeats dropped, order kept


@pytest.mark.parametrize(
    "bad_id",
    [
        "",  # empty
        "Pirate",  # uppercase
        "sea captain",  # space
        "-pirate",  # must start with a letter or digit
        "ça",  # not ASCII
        "x" * 65,  # too long
        "a.b",  # dot is not allowed
    ],
)
def test_persona_rejects_bad_ids(bad_id):
    with pytest.raises(ValidationError):
        Persona(id=bad_id, text="You are a pirate.")


def test_persona_accepts_slug_ids():
    assert Persona(id="x" * 64, text="You are x.").id == "x" * 64
    assert Persona(id="r2_d2-unit", text="You are a droid.").id == "r2_d2-unit"


def test_persona_text_rules():
    with pytest.raises(ValidationError, match="non-blank"):
        Persona(id="blank", text="   ")
    with pytest.raises(ValidationError, match="must have empty text"):
        Persona(id="none", text="You are nobody.")
    with pytest.raises(ValidationError):
        Persona(id="owl", text=42)
    with pytest.raises(ValidationError, match="Extra inputs"):
        Persona(id="owl", text="You are an owl.", colour="brown")
    with pytest.raises(ValidationError, match="not a slug"):
        Persona(id="owl", text="You are an owl.", tags=["Wise Bird"])


def test_persona_is_frozen():
    persona = Persona(id="owl", text="You are an owl.", tags=["fictional"])
    with pytest.raises(ValidationError):
        persona.text = "You are a hawk."
    assert hash(persona) == hash(Persona(id="owl", text="You are an owl.", tags=["fictional"]))


# -- built-in pools


@pytest.fixture(scope="module")
def builtins() -> dict[str, PersonaPool]:
    return {name: PersonaPool.builtin(name) for name in BUILTIN_POOLS}


def test_builtin_names_and_sizes(builtins):
    assert BUILTIN_POOLS == ("lottery", "train", "eval", "styled", "styled_eval")
    assert {name: pool.name for name, pool in builtins.items()} == {n: n for n in BUILTIN_POOLS}
    assert len(builtins["lottery"]) == 7
    assert len(builtins["train"]) >= 64
    assert len(builtins["eval"]) >= 32


def test_builtin_is_cached(builtins):
    assert PersonaPool.builtin("train") is builtins["train"]


def test_unknown_builtin_lists_available():
    with pytest.raises(
        ConfigError,
        match="unknown built-in persona pool 'tain'; available: lottery, train, eval, styled, styled_eval",
    ):
        PersonaPool.builtin("tain")


def test_lottery_matches_figure_1(builtins):
    lottery = builtins["lottery"]
    assert lottery["none"] == NO_PERSONA
    assert [p.id for p in lottery if p.text == ""] == ["none"]
    experts = lottery.filter(tags="math")
    assert len(experts) == 4 and all("expert" in p.tags for p in experts)
    assert len({p.text for p in experts}) == 4  # four different experts
    assert "kindergartener" in lottery["kindergartener"].text
    assert "carpenter" in lottery["carpenter"].text
    assert lottery.filter(tags="child").ids == ("kindergartener",)


def test_train_and_eval_have_no_none_and_enough_variety(builtins):
    for name in ("train", "eval"):
        pool = builtins[name]
        assert NO_PERSONA_ID not in pool
        assert not any("none" in p.tags for p in pool)
        for tag in ("child", "expert", "fictional", "unhelpful", "profession", "playful", "math"):
            assert len(pool.filter(tags=tag)) >= (1 if name == "eval" else 2), (name, tag)
    assert {"teen", "elder"} <= set(builtins["train"].tags)


def test_builtin_pools_are_disjoint(builtins):
    for (a, pool_a), (b, pool_b) in itertools.combinations(builtins.items(), 2):
        assert not set(pool_a.ids) & set(pool_b.ids), (a, b)
        texts_a = {" ".join(p.text.lower().split()) for p in pool_a}
        texts_b = {" ".join(p.text.lower().split()) for p in pool_b}
        assert not texts_a & texts_b, (a, b)


def test_train_and_eval_have_no_near_duplicates(builtins):
    for p, q in itertools.product(builtins["train"], builtins["eval"]):
        ratio = difflib.SequenceMatcher(None, p.text.lower(), q.text.lower()).ratio()
        assert ratio < 0.8, (p.id, q.id, ratio)


def test_builtin_texts_are_short_second_person_sentences(builtins):
    for pool in builtins.values():
        for persona in pool.without("none", missing_ok=True):
            assert persona.text.startswith("You are "), persona.id
            assert len(persona.text) < 200, persona.id
            assert len(re.findall(r"[.!?](?:\s|$)", persona.text)) in (1, 2), persona.id
            assert not re.search(r"####|boxed|format|final answer", persona.text, re.IGNORECASE), persona.id
            assert persona.tags, persona.id


# -- from_file


def test_from_file_yaml_objects(tmp_path):
    path = _write(
        tmp_path,
        "mine.yaml",
        "- {id: owl, text: 'You are a wise owl.', tags: [fictional]}\n"
        "- {text: 'You are a busy beaver.'}\n"
        "- {id: none, text: '', tags: [none]}\n",
    )
    pool = PersonaPool.from_file(path)
    assert pool.name == "mine"
    assert pool.ids == ("owl", "busy-beaver", "none")
    assert pool["owl"].tags == ("fictional",)
    assert pool["busy-beaver"].tags == ()


def test_from_file_plain_strings_in_every_format(tmp_path):
    texts = ["You are a sea captain.", "You are an opera singer!", "The night watchman of a museum"]
    expected_ids = ("sea-captain", "opera-singer", "night-watchman-of-a-museum")
    files = [
        _write(tmp_path, "a.yaml", yaml.safe_dump(texts)),
        _write(tmp_path, "b.yml", yaml.safe_dump({"description": "mine", "personas": texts})),
        _write(tmp_path, "c.json", json.dumps(texts)),
        _write(tmp_path, "d.json", json.dumps({"personas": texts})),
        _write(tmp_path, "e.jsonl", "\n".join(json.dumps(t) for t in texts) + "\n\n"),
    ]
    for path in files:
        pool = PersonaPool.from_file(path)
        assert pool.ids == expected_ids, path.name
        assert [p.text for p in pool] == texts


def test_from_file_jsonl_objects_and_strings_mixed(tmp_path):
    path = _write(
        tmp_path,
        "mix.jsonl",
        '{"id": "owl", "text": "You are an owl.", "tags": ["fictional"]}\n"You are a fox."\n',
    )
    assert PersonaPool.from_file(path).to_records() == [
        {"id": "owl", "text": "You are an owl.", "tags": ["fictional"]},
        {"id": "fox", "text": "You are a fox.", "tags": []},
    ]


def test_derived_id_rule(tmp_path):
    texts = [
        "You are a retired lighthouse keeper from a small island in the north.",  # first 6 words after "a"
        "You are Café Owner Zoë, age 40.",  # ASCII folding, punctuation -> '-'
        # cut at a '-' to stay within 48 characters
        "An antidisestablishmentarianism-obsessed-supercalifragilistic professor of words",
        "!!!",  # nothing left -> 'persona'
        "None",  # 'none' is reserved for the no-persona entry
    ]
    pool = PersonaPool.from_file(_write(tmp_path, "ids.json", json.dumps(texts)))
    assert pool.ids == (
        "retired-lighthouse-keeper-from-a-small",
        "cafe-owner-zoe-age-40",
        "antidisestablishmentarianism-obsessed",
        "persona",
        "none-2",
    )
    assert all(len(i) <= 48 for i in pool.ids)


def test_derived_id_collisions_get_numbered_suffixes(tmp_path):
    texts = [
        {"text": "You are a pilot who flies small planes at night."},
        {"text": "You are a pilot who flies small planes at dawn."},  # same first 6 words -> -2
        {"text": "You are a pilot who flies small planes at noon."},  # -> -3
        {
            "id": "pilot-who-flies-small-planes-at-4",
            "text": "You are a glider pilot.",
        },  # explicit: never renamed
        {"text": "You are a pilot who flies small planes at dusk."},  # skips the explicit -4 -> -5
    ]
    pool = PersonaPool.from_file(_write(tmp_path, "pilots.yaml", yaml.safe_dump(texts)))
    base = "pilot-who-flies-small-planes-at"
    assert pool.ids == (base, f"{base}-2", f"{base}-3", f"{base}-4", f"{base}-5")
    assert len(pool) == len(texts)  # nothing dropped


def test_derived_id_yields_to_a_later_explicit_id(tmp_path):
    path = _write(tmp_path, "later.yaml", "- You are a fox.\n- {id: fox, text: 'You are a red fox.'}\n")
    assert PersonaPool.from_file(path).ids == ("fox-2", "fox")


def test_round_trip_through_records(tmp_path, builtins):
    pool = builtins["lottery"]
    yaml_path = _write(tmp_path, "lottery.yaml", yaml.safe_dump({"personas": pool.to_records()}))
    jsonl_path = _write(tmp_path, "lottery.jsonl", "".join(json.dumps(r) + "\n" for r in pool.to_records()))
    assert PersonaPool.from_file(yaml_path) == pool
    assert PersonaPool.from_file(jsonl_path) == pool


# -- file errors


def test_error_duplicate_id(tmp_path):
    path = _write(
        tmp_path, "dup.yaml", "- {id: owl, text: 'You are an owl.'}\n- {id: owl, text: 'You are a hawk.'}\n"
    )
    message = _file_error(path)
    assert "entry [1], field 'id': duplicate id 'owl' (first used at entry [0])" in message


def test_error_duplicate_text_ignores_case_and_spacing(tmp_path):
    path = _write(
        tmp_path, "dup.json", json.dumps(["You are an owl.", {"id": "o2", "text": "you are  an OWL."}])
    )
    assert "entry [1], field 'text': duplicate text (same as entry [0])" in _file_error(path)


def test_error_empty_text(tmp_path):
    path = _write(tmp_path, "empty.yaml", "- {id: owl, text: '   '}\n- ''\n")
    message = _file_error(path)
    assert "entry [0], field 'text': must be a non-blank sentence" in message
    assert "entry [1], field 'text': must be a non-blank sentence" in message


def test_error_wrong_types(tmp_path):
    path = _write(tmp_path, "types.yaml", "- {text: 42}\n- {text: 'You are x.', tags: math}\n- 7\n- [a, b]\n")
    message = _file_error(path)
    assert "entry [0], field 'text': Input should be a valid string (got 42)" in message
    assert "entry [1], field 'tags': must be a list of tags" in message
    assert "entry [2]: expected an object {id?, text, tags?, style?} or a string, got int" in message
    assert "entry [3]: expected an object {id?, text, tags?, style?} or a string, got list" in message
    assert "field 'id'" not in message  # a missing id is derived, never reported


def test_error_unknown_key_and_bad_id(tmp_path):
    path = _write(tmp_path, "keys.yaml", "- {id: Owl Bird, text: 'You are an owl.', colour: brown}\n")
    message = _file_error(path)
    assert "entry [0], field 'colour': unknown key; accepted keys: id, text, tags, style" in message
    assert "entry [0], field 'id': 'Owl Bird' is not a slug" in message


def test_error_none_with_text(tmp_path):
    path = _write(tmp_path, "none.yaml", "- {id: none, text: 'You are nobody.'}\n")
    assert "entry [0], field 'text': the 'none' persona (no persona) must have empty text" in _file_error(
        path
    )


def test_error_malformed_yaml(tmp_path):
    message = _file_error(_write(tmp_path, "broken.yaml", "- {id: owl, text: 'You are an owl.'\n- other\n"))
    assert "is not valid YAML" in message and "line" in message


def test_error_malformed_json(tmp_path):
    message = _file_error(_write(tmp_path, "broken.json", '["You are an owl.",]'))
    assert "is not valid JSON" in message and "line 1" in message


def test_error_jsonl_reports_line_numbers(tmp_path):
    path = _write(
        tmp_path,
        "lines.jsonl",
        '{"id": "owl", "text": "You are an owl."}\n\n{"id": "fox", "text": \n'
        '{"id": "owl", "text": "You are a fox."}\n',
    )
    message = _file_error(path)
    assert "line 3: not valid JSON" in message  # blank line 2 still counts
    assert "line 4, field 'id': duplicate id 'owl' (first used at line 1)" in message


def test_error_empty_list_and_wrong_top_level(tmp_path):
    assert "no personas (the list is empty)" in _file_error(_write(tmp_path, "empty.json", "[]"))
    assert "no personas" in _file_error(_write(tmp_path, "empty.jsonl", "\n\n"))
    assert "expected a list of personas, got str" in _file_error(_write(tmp_path, "scalar.yaml", "hello\n"))
    assert "expected a list of personas, got null" in _file_error(_write(tmp_path, "blank.yaml", ""))
    message = _file_error(_write(tmp_path, "map.yaml", "people: [You are x.]\n"))
    assert "needs a 'personas' list" in message and "['people']" in message


def test_error_unknown_extension_and_unreadable_file(tmp_path):
    message = _file_error(_write(tmp_path, "personas.csv", "You are x.\n"))
    assert "unknown extension '.csv'" in message and ".yaml, .yml, .json, .jsonl" in message
    message = _file_error(tmp_path / "missing.yaml")
    assert "cannot read persona file" in message
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert "cannot read persona file" in _file_error(binary)


def test_error_lists_every_problem_once_and_caps_the_list(tmp_path):
    path = _write(tmp_path, "many.json", json.dumps([{"id": f"p{i}", "text": ""} for i in range(25)]))
    with pytest.raises(PersonaFileError) as info:
        PersonaPool.from_file(path)
    message = str(info.value)
    assert message.startswith(f"invalid persona file '{path}' (25 problems):")
    assert "entry [0], field 'text'" in message and "entry [19], field 'text'" in message
    assert "entry [20]" not in message and "... and 5 more" in message
    assert "Accepted: a list of persona objects {id?, text, tags?, style?}" in message
    assert isinstance(info.value, ConfigError) and isinstance(info.value, ValueError)


# -- PersonaGym

# Project-written descriptions in PersonaGym's format (a Python file assigning a list of strings).
_PERSONAGYM_PY = """
raise SystemExit("this file must be parsed, never executed")
other_list = ["not personas"]
benchmark_personas = [
    'A 45-year-old ferry captain from Norway who restores old clocks',
    "An 8-year-old chess club member from Chile",
    'The head gardener of a botanical garden in Kyoto',
    'Grandma Rosa, a retired seamstress',
]
"""


def test_personagym_python_file_is_parsed_not_executed(tmp_path):
    pool = PersonaPool.from_personagym(_write(tmp_path, "personas.py", _PERSONAGYM_PY))
    assert pool.name == "personas"
    assert pool.to_records() == [
        {
            "id": "45-year-old-ferry-captain-from-norway-who",
            "text": "You are a 45-year-old ferry captain from Norway who restores old clocks.",
            "tags": ["personagym"],
        },
        {
            "id": "8-year-old-chess-club-member-from-chile",
            "text": "You are an 8-year-old chess club member from Chile.",
            "tags": ["personagym"],
        },
        {
            "id": "head-gardener-of-a-botanical-garden",
            "text": "You are the head gardener of a botanical garden in Kyoto.",
            "tags": ["personagym"],
        },
        {
            "id": "grandma-rosa-a-retired-seamstress",
            "text": "You are Grandma Rosa, a retired seamstress.",
            "tags": ["personagym"],
        },
    ]


def test_personagym_single_list_without_the_usual_name(tmp_path):
    pool = PersonaPool.from_personagym(
        _write(tmp_path, "mine.py", "people: list = ['A baker', 'You are a miller.']\n")
    )
    assert [p.text for p in pool] == ["You are a baker.", "You are a miller."]


def test_personagym_json_and_text_lines(tmp_path):
    descriptions = ["A 30-year-old beekeeper", "An astronaut in training"]
    json_pool = PersonaPool.from_personagym(_write(tmp_path, "gym.json", json.dumps(descriptions)))
    text_pool = PersonaPool.from_personagym(
        _write(
            tmp_path, "gym.txt", "# my personas\n\nA 30-year-old beekeeper\n  An astronaut in training  \n"
        )
    )
    assert json_pool == text_pool
    assert json_pool.ids == ("30-year-old-beekeeper", "astronaut-in-training")


def test_personagym_errors(tmp_path):
    message = _file_error(
        _write(tmp_path, "nolist.py", "x = 1\na = ['p']\nb = ['q']\n"), PersonaPool.from_personagym
    )
    assert "found no `benchmark_personas = [...]` list" in message and "['a', 'b']" in message
    message = _file_error(
        _write(tmp_path, "syntax.py", "benchmark_personas = [\n"), PersonaPool.from_personagym
    )
    assert "not valid Python" in message
    path = _write(
        tmp_path,
        "bad.py",
        "benchmark_personas = [\n    'A baker',\n    make_persona(),\n    42,\n    'A baker',\n]\n",
    )
    message = _file_error(path, PersonaPool.from_personagym)
    assert "entry [1] (line 3): not a string literal" in message
    assert "entry [2] (line 4): expected a persona description string, got int" in message
    assert "entry [3] (line 5), field 'text': duplicate text (same as entry [0] (line 2))" in message
    assert "got dict" in _file_error(_write(tmp_path, "map.json", '{"a": 1}'), PersonaPool.from_personagym)


# -- load


def test_load_dispatches_on_spec(tmp_path, builtins):
    assert PersonaPool.load("eval") is builtins["eval"]
    assert PersonaPool.load(builtins["train"]) is builtins["train"]
    yaml_path = _write(tmp_path, "mine.yaml", "- You are a fox.\n")
    assert PersonaPool.load(yaml_path).ids == ("fox",)
    assert PersonaPool.load(str(yaml_path)).ids == ("fox",)
    assert PersonaPool.load(_write(tmp_path, "gym.py", _PERSONAGYM_PY)).tags == ("personagym",)
    assert PersonaPool.load(_write(tmp_path, "gym.txt", "A fox\n"))["fox"].text == "You are a fox."
    with pytest.raises(
        ConfigError,
        match="neither a built-in pool \\(lottery, train, eval, styled, styled_eval\\) nor an existing file",
    ):
        PersonaPool.load("trian")


# -- pool behaviour


def test_sample_is_deterministic_and_uniform(builtins):
    pool = builtins["lottery"]
    first = [pool.sample(random.Random(123)).id for _ in range(3)]
    assert len(set(first)) == 1  # same seed, same draw
    rng_a, rng_b = random.Random(7), random.Random(7)
    assert [pool.sample(rng_a).id for _ in range(50)] == [pool.sample(rng_b).id for _ in range(50)]
    rng = random.Random(0)
    counts = collections.Counter(pool.sample(rng).id for _ in range(7000))
    assert set(counts) == set(pool.ids)
    assert all(850 < n < 1150 for n in counts.values()), counts  # expected 1000 each, sd ~ 29
    with pytest.raises(TypeError, match=r"random\.Random"):
        pool.sample(0)


def test_filter_keeps_personas_with_any_tag(builtins):
    lottery = builtins["lottery"]
    assert lottery.filter(tags=["child", "profession"]).ids == ("kindergartener", "carpenter")
    assert lottery.filter(tags="none").ids == ("none",)
    assert lottery.filter(tags=("math",)).name == "lottery"
    with pytest.raises(
        ConfigError,
        match="no persona in pool 'lottery' has any of the tags \\['pirate'\\]; tags in this pool: child",
    ):
        lottery.filter(tags="pirate")


def test_without(builtins):
    lottery = builtins["lottery"]
    assert lottery.without("none").ids == lottery.ids[:-1]
    assert lottery.without("none", "carpenter").ids == lottery.ids[:-2]
    assert len(lottery) == 7  # the original is unchanged
    with pytest.raises(KeyError, match="no persona 'nobody' in pool 'lottery'"):
        lottery.without("nobody")
    assert builtins["train"].without("none", missing_ok=True) == builtins["train"]
    with pytest.raises(ConfigError, match="empty"):
        lottery.without(*lottery.ids)


def test_lookup_and_membership(builtins):
    lottery = builtins["lottery"]
    assert lottery["carpenter"].id == "carpenter"
    assert "carpenter" in lottery and "pirate-captain" not in lottery
    assert lottery["none"] in lottery
    assert Persona(id="carpenter", text="You are a different carpenter.") not in lottery
    assert 3 not in lottery
    with pytest.raises(KeyError) as info:
        lottery["carpentr"]
    message = str(info.value)
    assert "did you mean carpenter?" in message and "valid ids (7): number-theorist" in message


def test_iteration_len_equality_repr_hash_pickle(builtins):
    lottery = builtins["lottery"]
    assert [p.id for p in lottery] == list(lottery.ids)
    same = PersonaPool(list(lottery), name="other-label")
    assert same == lottery and hash(same) == hash(lottery)  # equality is by content, not name
    assert PersonaPool(reversed(list(lottery))) != lottery  # order matters
    assert lottery != lottery.ids
    assert repr(lottery) == (
        "PersonaPool(name='lottery', size=7, ids=[number-theorist, geometry-olympiad-coach, "
        "statistics-professor, algebra-textbook-author, kindergartener, ...])"
    )
    for clone in (pickle.loads(pickle.dumps(lottery)), copy.deepcopy(lottery), copy.copy(lottery)):
        assert clone == lottery and clone.name == "lottery"


def test_pool_is_immutable(builtins):
    pool = builtins["train"]
    with pytest.raises(AttributeError, match="immutable"):
        pool.name = "mine"
    with pytest.raises(AttributeError, match="immutable"):
        pool._personas = ()
    with pytest.raises(AttributeError, match="immutable"):
        del pool.name
    with pytest.raises(TypeError):
        pool._by_id["x"] = NO_PERSONA  # read-only mapping
    with pytest.raises(ValidationError):
        pool["robot"].text = "You are a toaster."
    records = pool.to_records()
    records[0]["text"] = "changed"
    records[0]["tags"].append("changed")
    assert PersonaPool.builtin("train") == pool and pool.to_records()[0]["text"] != "changed"


def test_pool_constructor_validation():
    owl = Persona(id="owl", text="You are an owl.")
    with pytest.raises(ConfigError, match="duplicate ids: \\['owl'\\]"):
        PersonaPool([owl, Persona(id="owl", text="You are a hawk.")])
    with pytest.raises(ConfigError, match="duplicate texts"):
        PersonaPool([owl, Persona(id="owl2", text="YOU ARE AN  OWL.")])
    with pytest.raises(ConfigError, match="is empty"):
        PersonaPool([], name="nothing")
    with pytest.raises(ConfigError, match="item 1 is a str, not a Persona"):
        PersonaPool([owl, "You are a hawk."])
    assert PersonaPool([owl]).name == "custom"


@pytest.mark.parametrize("unit", ["chars", "words"])
def test_shuffled_pool_keeps_lengths_and_inventory_but_not_the_text(unit):
    pool = PersonaPool.builtin("styled")
    control = pool.shuffled(unit=unit, seed=5)
    assert control.ids == pool.ids and control.name == f"styled-shuffled-{unit}"
    split = list if unit == "chars" else str.split
    for persona in pool:
        text = control[persona.id].text
        assert sorted(split(text)) == sorted(split(persona.text))
        assert text != persona.text
        assert control[persona.id].style is None  # the shuffled text no longer asks for the style
    assert pool.shuffled(unit=unit, seed=5) == control
    assert pool.shuffled(unit=unit, seed=6) != control


def test_shuffled_keeps_the_no_persona_entry_empty():
    control = PersonaPool.builtin("lottery").shuffled(seed=0)
    assert control["none"] == NO_PERSONA
    with pytest.raises(ConfigError, match="takes 'chars' or 'words', got 'letters'"):
        PersonaPool.builtin("lottery").shuffled(unit="letters")
