r"""Verifiable math rewards in each framework's calling convention: TRL, verl, and a plain `score`.

All of them use the process-wide `MathVerifier` (`permix_plugins.verifier.default_verifier`, configured with
`permix_plugins.verifier.configure` or ``PERMIX_VERIFY_*`` environment variables). Correctness is binary; model output
never raises (a timeout or internal error scores 0.0 and is counted). Only pipeline bugs raise `ConfigError`: no gold
column, or a gold list whose length differs from the completions.

TRL::

    GRPOTrainer(..., reward_funcs=[accuracy_reward])          # or accuracy_reward_async (TRL runs it concurrently)

verl (``main_ppo``'s reward-loop managers ``naive``, ``dapo``, ``remote``: one sample per call)::

    reward.custom_reward_function.path=pkg://permix_plugins.math reward.custom_reward_function.name=compute_score

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
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from permix_plugins.errors import ConfigError
from permix_plugins.verifier import Verdict, default_verifier

__all__ = [
    "VERL_KEYS",
    "accuracy_reward",
    "accuracy_reward_async",
    "completion_text",
    "compute_score",
    "score",
]

_VERL_FLAGS = ("no_answer", "bad_gold", "timeout", "error")
VERL_KEYS = ("score", "acc", *_VERL_FLAGS, "pred")
"""The keys of every `compute_score` result: floats, and the string ``pred``. verl stacks each key over the batch
(so every sample has every key) and averages the numeric ones per ``data_source``; a string ``pred`` is skipped
there and used as the vote of ``maj@N`` (``verl/trainer/ppo/metric_utils.py``, ``process_validation_metrics``)."""


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
        _log_persona_metrics(log_metric, persona_id, verdicts)
    return rewards


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

    Example:
        >>> compute_score("permix/pirate", "Arr, 'tis 42 doubloons!", "42")
        {'score': 1.0, 'acc': 1.0, 'no_answer': 0.0, 'bad_gold': 0.0, 'timeout': 0.0, 'error': 0.0, 'pred': '42'}
    """
    verdict = default_verifier().verify(ground_truth, solution_str)
    flags = {reason: float(verdict.reason == reason) for reason in _VERL_FLAGS}
    return {"score": verdict.score, "acc": verdict.score, **flags, "pred": verdict.extracted or ""}


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


def _log_persona_metrics(
    log_metric: Callable[[str, float], None], persona_ids: Sequence[Any], verdicts: Sequence[Verdict]
) -> None:
    by_persona: dict[str, list[Verdict]] = defaultdict(list)
    for persona, verdict in zip(persona_ids, verdicts, strict=True):
        by_persona[str(persona)].append(verdict)
    for persona, group in by_persona.items():
        scored = [v.score for v in group if v.correct is not None]
        if scored:  # a persona whose golds were all unusable has no accuracy this step
            log_metric(f"persona/{persona}/accuracy", sum(scored) / len(scored))
        log_metric(f"persona/{persona}/no_answer", sum(v.reason == "no_answer" for v in group) / len(group))
