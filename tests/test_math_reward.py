"""Reward entry points: TRL's calling convention (sync and async), verl's compute_score, OpenRLHF's reward, score."""

from __future__ import annotations

import asyncio
import inspect
import pickle
import threading

import pytest
from verifier_setup import TOWER

from permix_plugins import _warn_once
from permix_plugins import math as math_module
from permix_plugins.errors import ConfigError
from permix_plugins.math import (
    OPENRLHF_LOG_KEYS,
    VERL_KEYS,
    accuracy_reward,
    accuracy_reward_async,
    completion_text,
    compute_score,
    compute_style_score,
    openrlhf_result,
    openrlhf_reward,
    score,
    style_reward,
)
from permix_plugins.verifier import MathVerifier, VerifierSettings

pytestmark = pytest.mark.usefixtures("fast_default_verifier")


def conversational(*texts: str) -> list[list[dict[str, str]]]:
    return [[{"role": "assistant", "content": text}] for text in texts]


def test_standard_and_conversational_completions():
    texts = [r"so \boxed{72}", "#### 71", "no idea", r"\boxed{\frac{\sqrt{3}}{2}}"]
    golds = ["72", "72", "72", r"\frac{1}{2}\sqrt{3}"]
    assert accuracy_reward(texts, answer=golds) == [1.0, 0.0, 0.0, 1.0]
    assert accuracy_reward(conversational(*texts), answer=golds) == [1.0, 0.0, 0.0, 1.0]


def test_completion_text_forms():
    assert completion_text("x") == "x"
    assert completion_text([{"role": "assistant", "content": "a"}]) == "a"
    assert completion_text([{"role": "assistant", "content": "tool call"}, {"role": "tool", "content": "5"},
                            {"role": "assistant", "content": "final"}]) == "final"  # fmt: skip
    assert completion_text({"content": "d"}) == "d"
    assert (
        completion_text(
            [{"role": "assistant", "content": [{"type": "text", "text": "4"}, {"type": "image"}]}]
        )
        == "4"
    )
    assert completion_text(None) is None
    assert completion_text([]) is None


def test_answer_column_wins_over_solution():
    completions = [r"\boxed{5}"]
    assert accuracy_reward(completions, answer=["5"], solution=["6"]) == [1.0]
    assert accuracy_reward(completions, solution=[r"Since $2+3=5$, the answer is $\boxed{5}$."]) == [1.0]


def test_bad_gold_is_none():
    assert accuracy_reward([r"\boxed{1}", r"\boxed{1}"], answer=["", "1"]) == [None, 1.0]


def test_missing_gold_column_is_a_config_error():
    with pytest.raises(ConfigError, match=r"`answer` or `solution`.*\['problem'\]"):
        accuracy_reward(["1"], problem=["1+0"])


def test_length_mismatch_is_a_config_error():
    with pytest.raises(ConfigError, match="got 2 completions but 1 gold answers"):
        accuracy_reward(["1", "2"], answer=["1"])


def test_per_persona_metrics_and_extra_columns():
    metrics: list[tuple[str, float]] = []
    columns: dict[str, list] = {}
    rewards = accuracy_reward(
        ["#### 3", "no idea", r"\boxed{4}", "Arr, 'tis 3 doubloons", "#### 3"],
        answer=["3", "3", "3", "3", ""],
        persona_id=["pirate", "pirate", "teacher", "pirate", "teacher"],
        log_metric=lambda name, value: metrics.append((name, value)),
        log_extra=lambda column, values: columns.__setitem__(column, values),
    )
    assert rewards == [1.0, 0.0, 0.0, 1.0, None]
    assert metrics == [
        ("persona/pirate/accuracy", 2 / 3),
        ("persona/pirate/no_answer", 1 / 3),
        ("persona/teacher/accuracy", 0.0),  # the bad-gold row is not counted in accuracy...
        ("persona/teacher/no_answer", 0.0),  # ...but is a completion of that persona
    ]
    assert columns == {
        "extracted_answer": ["3", "", "4", "3", "3"],
        "verdict": ["match", "no_answer", "mismatch", "match", "bad_gold"],
        "persona_id": ["pirate", "pirate", "teacher", "pirate", "teacher"],
    }


def test_no_persona_metrics_without_persona_column():
    metrics: list = []
    accuracy_reward(["1"], answer=["1"], log_metric=lambda *a: metrics.append(a))
    assert metrics == []


def test_called_exactly_like_grpo_trainer():
    """`GRPOTrainer._calculate_rewards` (trl 1.16.0) passes everything by keyword, plus every dataset column."""
    completions = conversational(r"\boxed{2}", r"\boxed{3}")
    reward_kwargs = {
        "answer": ["2", "2"],
        "persona_id": ["none", "none"],
        "question": ["1+1?", "1+1?"],  # any other dataset column
        "trainer_state": object(),
        "log_extra": lambda column, values: None,
        "log_metric": lambda name, value: None,
    }
    out = accuracy_reward(
        prompts=[[], []], completions=completions, completion_ids=[[1], [2]], **reward_kwargs
    )
    assert out == [1.0, 0.0]
    assert asyncio.run(
        accuracy_reward_async(
            prompts=[[], []], completions=completions, completion_ids=[[1], [2]], **reward_kwargs
        )
    ) == [1.0, 0.0]


def test_names_pickling_and_async_detection():
    assert accuracy_reward.__name__ == "accuracy_reward"
    assert accuracy_reward_async.__name__ == "accuracy_reward_async"
    for fn in (accuracy_reward, accuracy_reward_async, compute_score, score):
        restored = pickle.loads(pickle.dumps(fn))
        assert restored is fn and restored.__name__ == fn.__name__
    assert inspect.iscoroutinefunction(accuracy_reward_async)
    assert not inspect.iscoroutinefunction(accuracy_reward)


def test_async_twin_gives_the_same_list():
    completions = [r"\boxed{(x+1)^2}", "#### 1", "nothing"]
    golds = ["x^2+2x+1", "2", "1"]
    assert asyncio.run(accuracy_reward_async(completions, answer=golds)) == accuracy_reward(
        completions, answer=golds
    )


def test_reward_from_a_worker_thread():
    out: list = []
    thread = threading.Thread(
        target=lambda: out.append(accuracy_reward([r"\boxed{(x+1)^2}"], answer=["x^2+2x+1"]))
    )
    thread.start()
    thread.join(30)
    assert out == [[1.0]]


def test_compute_score_has_the_same_keys_for_every_outcome():
    """verl stacks each key over the batch, so every outcome has every key; `pred` (maj@N's vote) is always a str."""
    cases = {  # outcome: (gold, completion, pred)
        "match": ("72", r"\boxed{72}", "72"),
        "mismatch": ("72", r"\boxed{71}", "71"),
        "no_answer": ("72", "I cannot say", ""),
        "bad_gold": ("", r"\boxed{72}", "72"),
        "timeout": ("1", TOWER, TOWER.removeprefix(r"\boxed{").removesuffix("}")),
    }
    results = {}
    for outcome, (gold, completion, pred) in cases.items():
        result = compute_score(
            data_source="permix/pirate", solution_str=completion, ground_truth=gold, extra_info={}
        )
        assert tuple(result) == VERL_KEYS
        assert all(type(result[key]) is float for key in VERL_KEYS if key != "pred")
        assert result["pred"] == pred
        results[outcome] = result
    assert results["match"]["score"] == results["match"]["acc"] == 1.0
    assert results["mismatch"]["score"] == 0.0
    assert results["no_answer"]["no_answer"] == 1.0
    assert results["bad_gold"]["score"] == 0.0 and results["bad_gold"]["bad_gold"] == 1.0
    assert results["timeout"]["timeout"] == 1.0 and results["timeout"]["score"] == 0.0


OUTCOMES = {  # outcome: (response, gold, has persona)
    "match": (r"\boxed{72}", "72", True),
    "mismatch": (r"\boxed{71}", "72", True),
    "no_answer": ("I cannot say", "72", False),
    "bad_gold": (r"\boxed{72}", "", True),
    "timeout": (TOWER, "1", False),
    "no_completion": (None, "72", True),  # the caller found no response in OpenRLHF's query
}


def test_openrlhf_reward_has_the_same_keys_and_one_flag_per_outcome():
    responses, golds, personas = (list(column) for column in zip(*OUTCOMES.values(), strict=True))
    out = openrlhf_reward(responses, golds, personas)
    assert list(out) == ["rewards", "scores", "extra_logs"] and tuple(out["extra_logs"]) == OPENRLHF_LOG_KEYS
    assert out["rewards"] == out["scores"] == out["extra_logs"]["accuracy"] == [1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    for i, outcome in enumerate(OUTCOMES):
        flagged = {key for key in OPENRLHF_LOG_KEYS[1:6] if out["extra_logs"][key][i] == 1.0}
        assert flagged == (set() if outcome in ("match", "mismatch") else {outcome}), outcome
    assert out["extra_logs"]["persona_rate"] == [1.0, 1.0, 0.0, 1.0, 0.0, 1.0]
    assert out["extra_logs"]["persona_correct"] == [1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    # verl's compute_score flags the verifier's failures under the same keys (one mapping)
    for i, (response, gold, _) in enumerate(OUTCOMES.values()):
        if response is not None:
            verl = compute_score("permix/pirate", response, gold)
            assert {k: verl[k] for k in VERL_KEYS[2:-1]} == {
                k: out["extra_logs"][k][i] for k in VERL_KEYS[2:-1]
            }


def test_openrlhf_result_of_known_reasons():
    out = openrlhf_result(["error", "error"], [False, True])
    assert out["rewards"] == [0.0, 0.0] and out["extra_logs"]["error"] == [1.0, 1.0]
    assert out["extra_logs"]["persona_rate"] == [0.0, 1.0] and openrlhf_result([], [])["rewards"] == []


def test_openrlhf_reward_misaligned_columns_are_a_config_error():
    with pytest.raises(ConfigError, match="got 2 responses but 1 gold answers"):
        openrlhf_reward(["1", "2"], ["1"], [False, False])


class StandInVerifier:
    """The default verifier replaced: real settings, and a `verify_batch` that fails or hangs."""

    def __init__(self, verify_batch, settings: VerifierSettings) -> None:
        self.verify_batch, self.settings = verify_batch, settings


def test_openrlhf_reward_counts_a_failing_verifier_as_error(monkeypatch):
    def fail(golds, responses):
        raise RuntimeError("boom")

    stand_in = StandInVerifier(fail, VerifierSettings())
    monkeypatch.setattr(math_module, "default_verifier", lambda: stand_in)
    out = openrlhf_reward(["4", None], ["4", "4"], [False, False])
    assert out["rewards"] == [0.0, 0.0]
    assert out["extra_logs"]["error"] == [1.0, 0.0] and out["extra_logs"]["no_completion"] == [0.0, 1.0]


def test_openrlhf_reward_returns_at_the_deadline_from_the_environment(monkeypatch):
    release = threading.Event()

    def hang(golds, responses):
        release.wait(30)
        return []

    monkeypatch.setenv("PERMIX_REWARD_DEADLINE", "0.3")
    stand_in = StandInVerifier(hang, VerifierSettings.from_env())
    monkeypatch.setattr(math_module, "default_verifier", lambda: stand_in)
    try:
        out = openrlhf_reward(
            ["4"], ["4"], [False]
        )  # returns at the 0.3 s deadline, not when the verifier does
        assert not release.is_set()
    finally:
        release.set()
    assert out["rewards"] == [0.0] and out["extra_logs"]["timeout"] == [1.0]


def test_a_bad_deadline_variable_scores_error_and_says_why(monkeypatch, caplog):
    monkeypatch.setenv("PERMIX_REWARD_DEADLINE", "soon")
    monkeypatch.setattr(_warn_once, "_said", set())  # this test's warning is said even if another was first
    monkeypatch.setattr(
        math_module, "default_verifier", lambda: MathVerifier.from_settings(VerifierSettings.from_env())
    )
    out = openrlhf_reward(["4"], ["4"], [False])
    assert out["rewards"] == [0.0] and out["extra_logs"]["error"] == [1.0]
    assert caplog.messages == [
        "permix reward_func: environment variable PERMIX_REWARD_DEADLINE must be a number of seconds > 0, "
        "got 'soon'; samples score 0.0 as 'error'"
    ]


def test_compute_score_accepts_extra_keywords():
    result = compute_score("src", "#### 5", 5, None, reward_router_address=None, num_turns=1)
    assert result["score"] == 1.0


def test_plain_score():
    assert score("1,000", "The total is $1000.") == 1.0
    assert score("1000", "The total is $999.") == 0.0
    assert score("", r"\boxed{1}") == 0.0


def test_competition_and_persona_answers():
    """Issue 12's classes through the TRL reward: unboxed math, several boxes, equation golds, formats, personas."""
    cases = [
        ("(2, 5)", "So the vertex is at $(2,5)$."),  # unboxed math, not the last number 5
        ("(2, 2), (6, 2)", r"\boxed{(2, 2)} \quad \text{and} \quad \boxed{(6, 2)}"),  # two boxes, one answer
        ("(p,q)=(3,2)", r"Thus \boxed{(3,2)}."),  # an equation gold against its value
        ("3.75", "Le total est de 3,75 euros."),  # a decimal comma
        ("98", "14 * 7 = 98\n\nThe answer is within \\boxed{}."),  # the prompt's instruction is no answer
        ("9", "Ooh! I counted them all, so there are nine ducks now!"),  # a number word, in character
        ("2", "There were 36 coins, and then two parrots flew off."),  # a story word is not the answer
        ("12", r"\boxed{11} \text{ or } \boxed{12}"),  # a hedge does not pay
    ]
    columns: dict[str, list] = {}
    rewards = accuracy_reward(
        [completion for _, completion in cases],
        answer=[gold for gold, _ in cases],
        log_extra=columns.__setitem__,
    )
    assert rewards == [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0]
    assert columns["extracted_answer"][:2] == ["(2,5)", "(2, 2), (6, 2)"]


# --- expressivity: style rewards and telemetry ---------------------------------------------------------------------
PIRATE, SHOUT = '{"starts_with":["Arr!"]}', '{"uppercase":true}'


def test_style_reward_scores_styled_rows_and_skips_the_others():
    completions = ["Arr! It be 7.", [{"role": "assistant", "content": "SEVEN"}], "seven", "7", "7"]
    styles = [PIRATE, SHOUT, SHOUT, "", "not json"]
    assert style_reward(completions, persona_style=styles, answer=["7"] * 5) == [1.0, 1.0, 0.0, None, None]


def test_style_reward_needs_the_style_column():
    with pytest.raises(ConfigError, match=r"style_reward needs the `persona_style` column.*'answer'"):
        style_reward(["7"], answer=["7"])


def test_accuracy_reward_logs_style_only_for_styled_personas_and_keeps_its_rewards():
    completions = ["Arr! 7", "7", "SEVEN", "8", "7"]
    columns = {
        "answer": ["7"] * 5,
        "persona_id": ["pirate", "pirate", "sergeant", "sergeant", "none"],
        "persona_style": [PIRATE, PIRATE, SHOUT, SHOUT, ""],
    }
    metrics: dict[str, float] = {}
    rewards = accuracy_reward(completions, log_metric=metrics.__setitem__, **columns)
    assert rewards == accuracy_reward(completions, answer=columns["answer"]) == [1.0, 1.0, 1.0, 0.0, 1.0]
    assert {k: v for k, v in metrics.items() if k.endswith("/style")} == {
        "persona/pirate/style": 0.5,
        "persona/sergeant/style": 0.5,  # "8" has no letters: not shouted
    }
    assert metrics["persona/sergeant/accuracy"] == 0.5 and "persona/none/style" not in metrics


def test_compute_score_reports_the_style_and_compute_style_score_rewards_it():
    styled = {"persona_style": PIRATE}
    held = compute_score("permix/pirate", "Arr! 72", "72", styled)
    missed = compute_score("permix/pirate", "72", "72", styled)
    plain = compute_score("permix/none", "Arr! 72", "72", {"persona_style": ""})
    assert (held["style"], held["styled"], missed["style"], missed["styled"]) == (1.0, 1.0, 0.0, 1.0)
    assert (plain["style"], plain["styled"]) == (0.0, 0.0)
    assert held["score"] == missed["score"] == 1.0  # correctness never moves with the style
    assert compute_style_score("permix/pirate", "72", "72", styled)["score"] == 0.0
    assert compute_style_score("permix/pirate", "Arr! 71", "72", styled) | {"pred": ""} == {
        **compute_score("permix/pirate", "Arr! 71", "72", styled),
        "score": 1.0,
        "pred": "",
    }
    assert tuple(compute_style_score("permix/none", "x", "1", None)) == VERL_KEYS


def test_openrlhf_reward_logs_styles_and_can_reward_them():
    responses, golds = ["Arr! 72", "72", "72"], ["72", "72", "71"]
    styles = [PIRATE, PIRATE, ""]
    out = openrlhf_reward(responses, golds, [True, True, False], styles)
    assert out["rewards"] == [1.0, 1.0, 0.0]
    assert out["extra_logs"]["style"] == [1.0, 0.0, 0.0] and out["extra_logs"]["styled"] == [1.0, 1.0, 0.0]
    styled = openrlhf_reward(responses, golds, [True, True, False], styles, reward="style")
    assert styled["rewards"] == styled["scores"] == [1.0, 0.0, 0.0]
    assert styled["extra_logs"] == out["extra_logs"]
