r"""Verifiable math rewards in each framework's calling convention: TRL, verl, OpenRLHF, and a plain `score`.

All of them use the process-wide `MathVerifier` (`permix_plugins.verifier.default_verifier`, configured with
`permix_plugins.verifier.configure` or ``PERMIX_VERIFY_*`` environment variables; ``PERMIX_REWARD_DEADLINE`` bounds
OpenRLHF's whole call). Correctness is binary; model output never raises (a timeout or internal error scores 0.0 and
is counted). Only pipeline bugs raise `ConfigError`: no gold column, or a gold list whose length differs from the
completions.

TRL::

    GRPOTrainer(..., reward_funcs=[accuracy_reward])          # or accuracy_reward_async (TRL runs it concurrently)

verl (``main_ppo``'s reward-loop managers ``naive``, ``dapo``, ``remote``: one sample per call)::

    reward.custom_reward_function.path=pkg://permix_plugins.math reward.custom_reward_function.name=compute_score

OpenRLHF: `openrlhf_reward` scores the responses behind ``permix_plugins.adapters.openrlhf.reward_func`` (the
adapter finds each response in OpenRLHF's query, reads the labels and returns tensors)::

    --reward.remote_url $(permix openrlhf-reward-path)

Expressivity (`permix_plugins.styles`): a persona with a checkable style makes a completion "in character" or not.
`style_reward` (TRL), `compute_style_score` (verl) and ``openrlhf_reward(..., reward="style")`` reward it, each a
function of its own, never mixed into correctness; the accuracy rewards only *report* it (``persona/<id>/style``,
the ``style`` / ``styled`` keys).

Example:
    >>> accuracy_reward([r"so \boxed{72}", "I do not know"], answer=["72", "72"])
    [1.0, 0.0]
    >>> compute_score("openai/gsm8k", "#### 72", "72")["score"]
    1.0
    >>> score("0.5", r"\boxed{\frac{1}{2}}")
    1.0
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, Literal

from permix_plugins._warn_once import warn_once
from permix_plugins.errors import ConfigError
from permix_plugins.styles import Style, decode_style
from permix_plugins.verifier import Verdict, default_verifier

__all__ = [
    "OPENRLHF_LOG_KEYS",
    "VERL_KEYS",
    "accuracy_reward",
    "accuracy_reward_async",
    "completion_text",
    "compute_score",
    "compute_style_score",
    "openrlhf_result",
    "openrlhf_reward",
    "score",
    "style_reward",
]

logger = logging.getLogger(__name__)

_FAILURES = ("no_answer", "bad_gold", "timeout", "error")
"""The reasons a sample scores 0.0 other than a wrong answer: every reward that reports them flags each one under
its own key (`_flags`)."""
_OPENRLHF_FAILURES = (*_FAILURES, "no_completion")  # the adapter found no response in OpenRLHF's query

_STYLE_KEYS = ("style", "styled")  # did the completion meet its persona's style; did the persona have one

VERL_KEYS = ("score", "acc", *_FAILURES, *_STYLE_KEYS, "pred")
"""The keys of every `compute_score` result: floats, and the string ``pred``. ``style`` is 1.0 when the completion
meets its persona's style and ``styled`` 1.0 when the persona has one (both 0.0 otherwise; their ratio is the
expressivity). verl stacks each key over the batch
(so every sample has every key) and averages the numeric ones per ``data_source``; a string ``pred`` is skipped
there and used as the vote of ``maj@N`` (``verl/trainer/ppo/metric_utils.py``, ``process_validation_metrics``)."""

OPENRLHF_LOG_KEYS = ("accuracy", *_OPENRLHF_FAILURES, "persona_rate", "persona_correct", *_STYLE_KEYS)
"""The ``extra_logs`` keys of every `openrlhf_reward` result, in this order: ``accuracy``; ``no_answer``,
``bad_gold`` (no usable gold in the label), ``timeout``, ``error`` and ``no_completion`` (no response found in the
query); ``persona_rate`` and ``persona_correct`` (their ratio is the accuracy on persona prompts); ``style`` and
``styled`` (their ratio is the expressivity: the share of styled personas' completions meeting the style). OpenRLHF batches
samples key by key and averages each per step, so a sample with another key set would break the whole batch."""


def _flags(reason: str, failures: Sequence[str]) -> dict[str, float]:
    """The one reason -> metric mapping: 1.0 under the failure that happened, 0.0 under the others."""
    return {failure: float(reason == failure) for failure in failures}


def completion_text(completion: object) -> str | None:
    """The text of a TRL completion: a string, or the last assistant message of a conversational completion.

    Example:
        >>> completion_text([{"role": "assistant", "content": "42"}]), completion_text("42")
        ('42', '42')
        >>> completion_text([{"role": "assistant", "content": [{"type": "text", "text": "4"}, {"type": "text", "text": "2"}]}])
        '42'
    """
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        completion = [completion]
    if not isinstance(completion, (list, tuple)):
        return None
    messages = [m for m in completion if isinstance(m, dict)]
    replies = [m for m in messages if m.get("role", "assistant") == "assistant"] or messages
    if not replies:
        return None
    content = replies[-1].get("content")
    if isinstance(content, list):  # content parts: keep the text ones
        content = "".join(
            p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"
        )
    return content if isinstance(content, str) else None


def accuracy_reward(
    completions: Sequence[Any],
    answer: Sequence[Any] | None = None,
    solution: Sequence[Any] | None = None,
    *,
    persona_id: Sequence[Any] | None = None,
    persona_style: Sequence[Any] | None = None,
    log_metric: Callable[[str, float], None] | None = None,
    log_extra: Callable[[str, list], None] | None = None,
    **kwargs: Any,
) -> list[float | None]:
    r"""TRL reward: 1.0 if a completion's final answer equals the gold, 0.0 if not, ``None`` if the gold is unusable.

    Args:
        completions: strings (standard datasets) or one-message lists (conversational datasets).
        answer: the gold column (plain values, ``\boxed{}``, GSM8K ``#### x`` or worked solutions); preferred.
        solution: used when there is no ``answer`` column (TRL's convention).
        persona_id: the persona column; with ``log_metric``, logs ``persona/<id>/accuracy`` and
            ``persona/<id>/no_answer`` (share of completions with no final answer) for each persona in the batch.
        persona_style: the styles column of a styled pool (`PersonaMixDataset`); with ``persona_id`` and
            ``log_metric``, also logs ``persona/<id>/style`` (share of completions meeting the style) for the
            styled personas of the batch, in the same record. It never changes the reward.
        log_metric, log_extra: passed by `GRPOTrainer`; ``log_extra`` receives the ``extracted_answer``,
            ``verdict`` (reason code) and, with a persona column, ``persona_id`` columns of the completions table.
        **kwargs: other dataset columns and trainer arguments (``prompts``, ``completion_ids``, ``trainer_state``),
            ignored.

    Example:
        >>> accuracy_reward([[{"role": "assistant", "content": r"\boxed{\frac{1}{3}}"}]], solution=[r"\frac{1}{3}"])
        [1.0]
        >>> metrics = {}
        >>> accuracy_reward(["7", "no idea"], answer=["7", "7"], persona_id=["pirate", "pirate"],
        ...                 log_metric=metrics.__setitem__)
        [1.0, 0.0]
        >>> metrics
        {'persona/pirate/accuracy': 0.5, 'persona/pirate/no_answer': 0.5}
        >>> pirate = '{"starts_with":["Arr!"]}'
        >>> accuracy_reward(["Arr! 7", "7"], answer=["7", "7"], persona_id=["pirate"] * 2,
        ...                 persona_style=[pirate] * 2, log_metric=metrics.__setitem__)
        [1.0, 1.0]
        >>> metrics["persona/pirate/style"]
        0.5
    """
    golds = answer if answer is not None else solution
    if golds is None:
        raise ConfigError(
            "accuracy_reward needs the gold answers in an `answer` or `solution` dataset column; "
            f"the columns passed were: {sorted(kwargs)}"
        )
    _check_lengths("completions", completions, "gold answers", golds)
    verdicts = default_verifier().verify_batch(list(golds), [completion_text(c) for c in completions])
    rewards = [None if v.correct is None else v.score for v in verdicts]
    if log_extra is not None:
        log_extra("extracted_answer", [v.extracted or "" for v in verdicts])
        log_extra("verdict", [v.reason for v in verdicts])
        if persona_id is not None:
            log_extra("persona_id", [str(p) for p in persona_id])
    if log_metric is not None and persona_id is not None:
        _check_lengths("completions", completions, "persona ids", persona_id)
        held = None
        if persona_style is not None:
            _check_lengths("completions", completions, "persona styles", persona_style)
            held = _styles_held(completions, persona_style)
        _log_persona_metrics(log_metric, persona_id, verdicts, held)
    return rewards


def style_reward(
    completions: Sequence[Any], persona_style: Sequence[Any] | None = None, **kwargs: Any
) -> list[float | None]:
    r"""TRL reward for expressivity: 1.0 if a completion meets its persona's checkable style, 0.0 if not, ``None``
    for a prompt whose persona has no style (TRL leaves a ``None`` out of that sample's sum of rewards).

    Add it beside `accuracy_reward` to reward playing the persona on purpose (weight it with TRL's
    ``reward_weights``). It needs the ``persona_style`` column of a `PersonaMixDataset` built on a pool with
    styled personas (e.g. ``PersonaPool.builtin("styled")``). A style that cannot be read counts as no style.

    Example:
        >>> style_reward(["Arr! It be 7.", "7", "7"], persona_style=['{"starts_with":["Arr!"]}'] * 2 + [""])
        [1.0, 0.0, None]
    """
    if persona_style is None:
        raise ConfigError(
            "style_reward needs the `persona_style` column, which a PersonaMixDataset adds when its pool has "
            "styled personas (e.g. PersonaPool.builtin('styled')); the columns passed were: "
            f"{sorted(kwargs)}"
        )
    _check_lengths("completions", completions, "persona styles", persona_style)
    return [None if held is None else float(held) for held in _styles_held(completions, persona_style)]


async def accuracy_reward_async(
    completions: Sequence[Any],
    answer: Sequence[Any] | None = None,
    solution: Sequence[Any] | None = None,
    **kwargs: Any,
) -> list[float | None]:
    """`accuracy_reward` off the event loop (in a thread), for TRL's concurrent async reward path.

    Example:
        >>> asyncio.run(accuracy_reward_async(["#### 5"], answer=["5"]))
        [1.0]
    """
    return await asyncio.to_thread(accuracy_reward, completions, answer, solution, **kwargs)


def compute_score(
    data_source: Any, solution_str: str, ground_truth: Any, extra_info: Any = None, **kwargs: Any
) -> dict[str, float | str]:
    """verl custom reward: a dict with the same keys for every sample (`VERL_KEYS`), for verl's reward-loop managers.

    ``score`` and ``acc`` are 1.0/0.0 (a bad gold scores 0.0: verl cannot skip a sample; ``bad_gold`` flags it).
    ``pred`` is the extracted final answer (``""`` when there is none): verl's validation votes on it for ``maj@N``.
    Per-persona metrics come from ``data_source`` (verl groups validation metrics by it), so no persona key here.
    ``style`` / ``styled`` report the persona's checkable style (``extra_info["persona_style"]``, which permix's verl
    dataset and export write for styled pools); they never change ``score``.

    Example:
        >>> compute_score("permix/pirate", "Arr, 'tis 42 doubloons!", "42")
        {'score': 1.0, 'acc': 1.0, 'no_answer': 0.0, 'bad_gold': 0.0, 'timeout': 0.0, 'error': 0.0, 'style': 0.0, 'styled': 0.0, 'pred': '42'}
    """
    verdict = default_verifier().verify(ground_truth, solution_str)
    flags = _flags(verdict.reason, _FAILURES)
    style = _style_flags(_read_style(extra_info.get("persona_style") if isinstance(extra_info, dict) else None),
                         solution_str)  # fmt: skip
    return {"score": verdict.score, "acc": verdict.score, **flags, **style, "pred": verdict.extracted or ""}


def compute_style_score(
    data_source: Any, solution_str: str, ground_truth: Any, extra_info: Any = None, **kwargs: Any
) -> dict[str, float | str]:
    """verl custom reward for expressivity: `compute_score`'s keys, with ``score`` = ``style`` (1.0 when the
    completion meets its persona's style in ``extra_info["persona_style"]``; 0.0 otherwise, also for a persona
    without a style: verl cannot skip a sample). ``acc`` still reports correctness.

    Example:
        >>> out = compute_style_score("permix/pirate", "Arr! 42", "42", {"persona_style": '{"starts_with":"Arr!"}'})
        >>> out["score"], out["acc"], out["styled"]
        (1.0, 1.0, 1.0)
    """
    result = compute_score(data_source, solution_str, ground_truth, extra_info, **kwargs)
    return {**result, "score": result["style"]}


def openrlhf_reward(
    responses: Sequence[str | None],
    golds: Sequence[Any],
    has_persona: Sequence[bool],
    styles: Sequence[Any] | None = None,
    *,
    reward: Literal["accuracy", "style"] = "accuracy",
) -> dict[str, Any]:
    r"""OpenRLHF's reward result as plain lists: ``{"rewards", "scores", "extra_logs"}``, one value per sample.

    ``rewards`` = ``scores`` = 1.0/0.0 correctness (binary, so dynamic filtering on ``scores`` works); a sample
    that cannot be scored gets 0.0 and is counted in ``extra_logs`` (`OPENRLHF_LOG_KEYS`) instead of dropped. A
    ``None`` response (none was found in the query) scores ``no_completion``. It never hangs: the whole call
    returns within the verifier's ``reward_deadline_s`` (``PERMIX_REWARD_DEADLINE``, 120 s), samples still
    unscored then scoring ``timeout``; a verifier that fails or cannot be configured scores ``error``.
    `styles` (encoded styles, ``""`` for none) fill the ``style``/``styled`` logs; with ``reward="style"`` the
    rewards are ``style`` instead of correctness.

    Example:
        >>> out = openrlhf_reward([r"so \boxed{72}", "no idea", None], ["72", "72", "72"], [True, False, True])
        >>> out["rewards"], out["extra_logs"]["no_answer"], out["extra_logs"]["no_completion"]
        ([1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0])
        >>> out["extra_logs"]["persona_rate"], out["extra_logs"]["persona_correct"]
        ([1.0, 0.0, 1.0], [1.0, 0.0, 0.0])
    """
    _check_lengths("responses", responses, "gold answers", golds)
    _check_lengths("responses", responses, "persona flags", has_persona)
    found = [i for i, response in enumerate(responses) if response is not None]
    verdicts = _verify_within_deadline([golds[i] for i in found], [responses[i] for i in found])
    reasons = ["no_completion"] * len(responses)
    for i, verdict in zip(found, verdicts, strict=True):
        reasons[i] = verdict.reason
    held = _styles_held(responses, [""] * len(responses) if styles is None else styles)
    return openrlhf_result(reasons, has_persona, held, reward=reward)


def openrlhf_result(
    reasons: Sequence[str],
    has_persona: Sequence[bool],
    held: Sequence[bool | None] | None = None,
    *,
    reward: Literal["accuracy", "style"] = "accuracy",
) -> dict[str, Any]:
    """The `openrlhf_reward` result of samples whose reason codes are already known (``match``, ``mismatch`` or
    a failure): e.g. a caller that cannot read its samples scores them all ``error``.

    Example:
        >>> out = openrlhf_result(["error", "match"], [False, True])
        >>> out["scores"], out["extra_logs"]["error"], out["extra_logs"]["persona_correct"]
        ([0.0, 1.0], [1.0, 0.0], [0.0, 1.0])
    """
    held = [None] * len(reasons) if held is None else held
    rows = [_openrlhf_row(*row) for row in zip(reasons, has_persona, held, strict=True)]
    logs = {key: [row[key] for row in rows] for key in OPENRLHF_LOG_KEYS}
    rewards = logs["style" if reward == "style" else "accuracy"]
    return {"rewards": list(rewards), "scores": list(rewards), "extra_logs": logs}


def _openrlhf_row(reason: str, has_persona: bool, held: bool | None) -> dict[str, float]:
    correct = reason == "match"
    return {
        "accuracy": float(correct),
        **_flags(reason, _OPENRLHF_FAILURES),
        "persona_rate": float(has_persona),
        "persona_correct": float(has_persona and correct),
        "style": float(bool(held)),
        "styled": float(held is not None),
    }


def _verify_within_deadline(golds: list[Any], responses: list[str]) -> list[Verdict]:
    """`verify_batch` on a helper thread, abandoned at the deadline: the verifier bounds each job; this bounds
    the whole call (waiting for a busy worker included), whatever happens inside."""
    if not golds:
        return []
    try:
        verifier = default_verifier()
    except ConfigError as exc:  # a bad PERMIX_VERIFY_* or PERMIX_REWARD_DEADLINE: count it, keep the rollout
        warn_once(logger, "settings", "permix reward_func: %s; samples score 0.0 as 'error'", exc)
        return [Verdict(False, "error")] * len(golds)
    box: list[list[Verdict]] = []

    def work() -> None:
        try:
            box.append(verifier.verify_batch(golds, responses))
        except Exception:  # noqa: BLE001 - a failing verifier must cost these samples, not the rollout
            warn_once(logger, "verifier", "permix reward_func: the verifier failed; samples score 0.0 as 'error'",
                      exc_info=True)  # fmt: skip
            box.append([Verdict(False, "error")] * len(golds))

    thread = threading.Thread(target=work, name="permix-openrlhf-reward", daemon=True)
    thread.start()
    deadline = verifier.settings.reward_deadline_s
    thread.join(deadline)
    if box:
        return box[0]
    warn_once(logger, "deadline", "permix reward_func: no verdict within %.0fs (PERMIX_REWARD_DEADLINE); samples "
              "score 0.0 as 'timeout'", deadline)  # fmt: skip
    return [Verdict(False, "timeout")] * len(golds)


def score(gold: Any, completion: str) -> float:
    """1.0 if the completion's final answer equals the gold, else 0.0. Gold first.

    Example:
        >>> score("1,000", "The total is $1000.")
        1.0
    """
    return default_verifier().verify(gold, completion).score


def _check_lengths(name: str, items: Sequence[Any], other_name: str, other: Sequence[Any]) -> None:
    if len(items) != len(other):
        raise ConfigError(
            f"got {len(items)} {name} but {len(other)} {other_name}; they must be aligned one to one "
            "(check that the gold column is a per-row column of the dataset)"
        )


def _read_style(text: Any) -> Style | None:
    """The style of a ``persona_style`` value; None for none, and for one that cannot be read (warned once)."""
    try:
        return decode_style(text) if isinstance(text, str) else None
    except ValueError:
        warn_once(logger, "style", "permix: a persona_style value is not a style (%r); it counts as no style",
                  text[:200])  # fmt: skip
        return None


def _styles_held(completions: Sequence[Any], styles: Sequence[Any]) -> list[bool | None]:
    """Per completion: whether it meets its persona's style (None: no style). Pure string checks; never raises."""
    return [
        None if (style := _read_style(text)) is None else style.holds(completion_text(completion))
        for completion, text in zip(completions, styles, strict=True)
    ]


def _style_flags(style: Style | None, completion: str) -> dict[str, float]:
    return {"style": float(style is not None and style.holds(completion)), "styled": float(style is not None)}


def _log_persona_metrics(
    log_metric: Callable[[str, float], None],
    persona_ids: Sequence[Any],
    verdicts: Sequence[Verdict],
    held: Sequence[bool | None] | None = None,
) -> None:
    by_persona: dict[str, list[tuple[Verdict, bool | None]]] = defaultdict(list)
    for persona, verdict, style in zip(persona_ids, verdicts, held or [None] * len(verdicts), strict=True):
        by_persona[str(persona)].append((verdict, style))
    for persona, group in by_persona.items():
        scored = [v.score for v, _ in group if v.correct is not None]
        if scored:  # a persona whose golds were all unusable has no accuracy this step
            log_metric(f"persona/{persona}/accuracy", sum(scored) / len(scored))
        log_metric(
            f"persona/{persona}/no_answer", sum(v.reason == "no_answer" for v, _ in group) / len(group)
        )
        styled = [style for _, style in group if style is not None]
        if styled:  # only personas with a style have one to meet
            log_metric(f"persona/{persona}/style", sum(styled) / len(styled))
