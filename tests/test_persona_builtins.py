"""The built-in persona pools (`permix_plugins/pools/*.yaml`): names, sizes, the lottery of Figure 1, no overlap
between pools, and short second-person texts."""

from __future__ import annotations

import difflib
import itertools
import re

import pytest

from permix_plugins.errors import ConfigError
from permix_plugins.personas import BUILTIN_POOLS, NO_PERSONA, NO_PERSONA_ID, PersonaPool


def test_builtin_names_and_sizes(builtin_pools):
    assert BUILTIN_POOLS == ("lottery", "train", "eval", "styled", "styled_eval")
    assert {name: pool.name for name, pool in builtin_pools.items()} == {n: n for n in BUILTIN_POOLS}
    assert len(builtin_pools["lottery"]) == 7
    assert len(builtin_pools["train"]) >= 64
    assert len(builtin_pools["eval"]) >= 32


def test_builtin_is_cached(builtin_pools):
    assert PersonaPool.builtin("train") is builtin_pools["train"]


def test_unknown_builtin_lists_available():
    with pytest.raises(
        ConfigError,
        match="unknown built-in persona pool 'tain'; available: lottery, train, eval, styled, styled_eval",
    ):
        PersonaPool.builtin("tain")


def test_lottery_matches_figure_1(builtin_pools):
    lottery = builtin_pools["lottery"]
    assert lottery["none"] == NO_PERSONA
    assert [p.id for p in lottery if p.text == ""] == ["none"]
    experts = lottery.filter(tags="math")
    assert len(experts) == 4 and all("expert" in p.tags for p in experts)
    assert len({p.text for p in experts}) == 4  # four different experts
    assert "kindergartener" in lottery["kindergartener"].text
    assert "carpenter" in lottery["carpenter"].text
    assert lottery.filter(tags="child").ids == ("kindergartener",)


def test_train_and_eval_have_no_none_and_enough_variety(builtin_pools):
    for name in ("train", "eval"):
        pool = builtin_pools[name]
        assert NO_PERSONA_ID not in pool
        assert not any("none" in p.tags for p in pool)
        for tag in ("child", "expert", "fictional", "unhelpful", "profession", "playful", "math"):
            assert len(pool.filter(tags=tag)) >= (1 if name == "eval" else 2), (name, tag)
    assert {"teen", "elder"} <= set(builtin_pools["train"].tags)


def test_builtin_pools_are_disjoint(builtin_pools):
    for (a, pool_a), (b, pool_b) in itertools.combinations(builtin_pools.items(), 2):
        assert not set(pool_a.ids) & set(pool_b.ids), (a, b)
        texts_a = {" ".join(p.text.lower().split()) for p in pool_a}
        texts_b = {" ".join(p.text.lower().split()) for p in pool_b}
        assert not texts_a & texts_b, (a, b)


def test_train_and_eval_have_no_near_duplicates(builtin_pools):
    for p, q in itertools.product(builtin_pools["train"], builtin_pools["eval"]):
        ratio = difflib.SequenceMatcher(None, p.text.lower(), q.text.lower()).ratio()
        assert ratio < 0.8, (p.id, q.id, ratio)


def test_builtin_texts_are_short_second_person_sentences(builtin_pools):
    for pool in builtin_pools.values():
        for persona in pool.without("none", missing_ok=True):
            assert persona.text.startswith("You are "), persona.id
            assert len(persona.text) < 200, persona.id
            assert len(re.findall(r"[.!?](?:\s|$)", persona.text)) in (1, 2), persona.id
            assert not re.search(r"####|boxed|format|final answer", persona.text, re.IGNORECASE), persona.id
            assert persona.tags, persona.id
