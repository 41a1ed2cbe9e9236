"""`Persona` and `PersonaPool` (`permix_plugins.personas`): the persona model, and what a pool does (sampling,
filters, lookup, equality, immutability, shuffled controls)."""

from __future__ import annotations

import collections
import copy
import pickle
import random

import pytest
from pydantic import ValidationError

from permix_plugins.errors import ConfigError
from permix_plugins.personas import NO_PERSONA, NO_PERSONA_ID, Persona, PersonaPool

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


# -- pool behaviour


def test_sample_is_deterministic_and_uniform(builtin_pools):
    pool = builtin_pools["lottery"]
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


def test_filter_keeps_personas_with_any_tag(builtin_pools):
    lottery = builtin_pools["lottery"]
    assert lottery.filter(tags=["child", "profession"]).ids == ("kindergartener", "carpenter")
    assert lottery.filter(tags="none").ids == ("none",)
    assert lottery.filter(tags=("math",)).name == "lottery"
    with pytest.raises(
        ConfigError,
        match="no persona in pool 'lottery' has any of the tags \\['pirate'\\]; tags in this pool: child",
    ):
        lottery.filter(tags="pirate")


def test_without(builtin_pools):
    lottery = builtin_pools["lottery"]
    assert lottery.without("none").ids == lottery.ids[:-1]
    assert lottery.without("none", "carpenter").ids == lottery.ids[:-2]
    assert len(lottery) == 7  # the original is unchanged
    with pytest.raises(KeyError, match="no persona 'nobody' in pool 'lottery'"):
        lottery.without("nobody")
    assert builtin_pools["train"].without("none", missing_ok=True) == builtin_pools["train"]
    with pytest.raises(ConfigError, match="empty"):
        lottery.without(*lottery.ids)


def test_lookup_and_membership(builtin_pools):
    lottery = builtin_pools["lottery"]
    assert lottery["carpenter"].id == "carpenter"
    assert "carpenter" in lottery and "pirate-captain" not in lottery
    assert lottery["none"] in lottery
    assert Persona(id="carpenter", text="You are a different carpenter.") not in lottery
    assert 3 not in lottery
    with pytest.raises(KeyError) as info:
        lottery["carpentr"]
    message = str(info.value)
    assert "did you mean carpenter?" in message and "valid ids (7): number-theorist" in message


def test_iteration_len_equality_repr_hash_pickle(builtin_pools):
    lottery = builtin_pools["lottery"]
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


def test_pool_is_immutable(builtin_pools):
    pool = builtin_pools["train"]
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
