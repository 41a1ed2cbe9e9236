"""The OpenRLHF export (`adapters/openrlhf.py`): rows are the persona-mixed dataset, styles ride in the label,
every-persona rows, and the file name OpenRLHF can load."""

from __future__ import annotations

import json

import pytest
from permix_plugins.adapters.openrlhf import Label, decode_label, export_jsonl, openrlhf_rows

from permix_plugins import PersonaMixDataset, PersonaPool, load_problems
from permix_plugins.errors import ConfigError
from permix_plugins.personas import Persona
from permix_plugins.styles import decode_style


def test_rows_are_the_persona_mix_dataset():
    problems, pool = load_problems("synthetic", limit=12), PersonaPool.builtin("train")
    rows = list(openrlhf_rows(problems, pool, persona_prob=0.5, seed=3))
    mixed = PersonaMixDataset(problems, pool, persona_prob=0.5, seed=3)
    assert [r["input"] for r in rows] == mixed["prompt"]
    assert [r["datasource"] for r in rows] == mixed["persona_id"]
    assert [decode_label(r["label"]) for r in rows] == [
        Label(answer, persona) for answer, persona in zip(mixed["answer"], mixed["persona_id"], strict=True)
    ]
    assert 0 < sum(r["datasource"] != "none" for r in rows) < 12


def test_rows_of_a_styled_pool_carry_the_style_in_the_label():
    styled = PersonaPool.builtin("styled")
    rows = list(openrlhf_rows(load_problems("synthetic", limit=12), styled, persona_prob=0.5, seed=2))
    labels = [decode_label(row["label"]) for row in rows]
    assert {label.persona_id for label in labels} > {"none"}
    for row, label in zip(rows, labels, strict=True):
        expected = None if label.persona_id == "none" else styled[label.persona_id].style
        assert decode_style(label.style) == expected and row["datasource"] == label.persona_id
    plain = next(openrlhf_rows(load_problems("synthetic", limit=1), "train", persona_prob=1.0))
    assert set(json.loads(plain["label"])) == {"answer", "persona_id"}  # unstyled labels are as before


def test_every_persona_rows_add_the_no_persona_prompt_once():
    problems = load_problems("synthetic", limit=3)
    owl = PersonaPool([Persona(id="owl", text="You are a wise owl.")])
    rows = list(openrlhf_rows(problems, owl, every_persona=True, placement="user_prefix", instruction=None))
    assert [r["datasource"] for r in rows] == ["none"] * 3 + ["owl"] * 3
    owl_prompt = f"You are a wise owl.\n\n{problems[0]['problem']}"
    assert rows[3]["input"] == [{"role": "user", "content": owl_prompt}]
    lottery = PersonaPool.builtin("lottery")  # already has `none`
    assert len(list(openrlhf_rows(problems, lottery, every_persona=True))) == 3 * len(lottery)


def test_export_refuses_a_file_name_openrlhf_cannot_load(tmp_path):
    with pytest.raises(ConfigError, match=r"\*\.jsonl"):
        export_jsonl(tmp_path / "x.txt", load_problems("synthetic", limit=1), PersonaPool.builtin("train"))
    assert not list(tmp_path.iterdir())
