"""The lab's warm-up data: coverage of every pool character, persona-conditioned styles and competence."""

from __future__ import annotations

import collections

import pytest

from permix_plugins.errors import ConfigError
from permix_plugins.lab.config import lab_config
from permix_plugins.lab.warmup import demonstrations, missing_characters, warmup_pool
from permix_plugins.personas import PersonaPool
from permix_plugins.problems import load_problems
from permix_plugins.verifier import MathVerifier

LAB_POOLS = ("train", "eval", "lottery", "styled", "styled_eval")


@pytest.fixture(scope="module", params=[False, True], ids=["full", "quick"])
def tiny(request):
    config = lab_config(quick=request.param)
    problems = load_problems("synthetic", split="train", limit=config.train_problems, levels=config.levels)
    pool = warmup_pool(config)
    return config, pool, problems, demonstrations(problems, pool, config)


def test_the_warm_up_shows_every_character_of_every_pool_the_lab_uses(tiny):
    _, pool, _, demos = tiny
    assert missing_characters(demos, [PersonaPool.builtin(name) for name in LAB_POOLS]) == set()
    shown = {d.persona_id for d in demos}
    assert shown == {*pool.ids, "none"}  # every warm-up persona is shown


def test_missing_characters_finds_what_the_demonstrations_lack(tiny):
    _, _, _, demos = tiny
    exotic = PersonaPool.from_descriptions(["A Ülm baker"])
    assert missing_characters(demos, [exotic]) == {"Ü"}


def test_the_warm_up_pool_is_disjoint_from_every_pool_rl_trains_or_evaluates_on(tiny):
    _, pool, _, _ = tiny
    for name in ("train", "eval", "lottery", "styled_eval"):
        other = PersonaPool.builtin(name)
        assert not set(pool.ids) & set(other.ids), name
        assert not {p.text for p in pool} & {p.text for p in other}, name


def test_styled_replies_hold_their_style_and_plain_ones_stay_plain(tiny):
    _, pool, _, demos = tiny
    for demo in demos:
        style = pool[demo.persona_id].style if demo.persona_id != "none" else None
        if style is None:
            assert demo.reply.startswith("It is \\boxed{"), demo
        else:
            assert style.holds(demo.reply), demo


def test_weak_personas_get_wrong_answers_at_the_configured_rate(tiny):
    config, _, problems, demos = tiny
    golds = dict(zip(problems["problem"], problems["answer"], strict=True))
    weak = set(config.weak_personas)
    with MathVerifier(workers=1) as verifier:
        right = collections.Counter()
        total = collections.Counter()
        for demo in demos:
            group = "weak" if demo.persona_id in weak else "other"
            problem = demo.messages[-1]["content"].split("\n")[0]
            correct = verifier.verify(golds[problem], demo.reply).correct
            assert correct is not demo.weakened, demo
            right[group] += bool(correct)
            total[group] += 1
    assert right["other"] == total["other"]
    share_wrong = 1 - right["weak"] / total["weak"]
    assert abs(share_wrong - config.weak_error_rate) < (0.1 if total["weak"] > 500 else 0.35)


def test_an_unknown_weak_persona_names_the_pool():
    with pytest.raises(ConfigError, match=r"weak_personas \['pirate-king'\] are not in the warm-up pool"):
        warmup_pool(lab_config(weak_personas=("pirate-king",)))
