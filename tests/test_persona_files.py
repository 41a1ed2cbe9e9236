"""Persona files (`PersonaPool.from_file`, `from_personagym`, `load`): YAML, JSON and JSONL, derived ids, the errors
that name file, entry and field, and PersonaGym's personas.py read without running it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from permix_plugins.errors import ConfigError, PersonaFileError
from permix_plugins.personas import PersonaPool


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


def test_round_trip_through_records(tmp_path, builtin_pools):
    pool = builtin_pools["lottery"]
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


def test_load_dispatches_on_spec(tmp_path, builtin_pools):
    assert PersonaPool.load("eval") is builtin_pools["eval"]
    assert PersonaPool.load(builtin_pools["train"]) is builtin_pools["train"]
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
