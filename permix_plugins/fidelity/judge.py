"""The fidelity judge: any generation `Backend` grading answers against a rubric, and the strict grade parser.

The judge is a backend from `permix_plugins.evaluation`: `OpenAIBackend` for any OpenAI-compatible server (a
hosted model, ``vllm serve``, ...) or `TransformersBackend` for a local model (`load_judge` builds either). It
is called greedily (temperature 0), one conversation per answer (`rubrics.judge_messages`).

**Parse rules** (`parse_grade`). A grade is read only from an explicit score statement, never guessed:

1. Reasoning inside ``<think>…</think>`` is dropped (text after the last ``</think>``; an unclosed ``<think>``
   leaves nothing).
2. A score statement is a whole line that reads ``Score: N`` (or ``Score = N``, ``Final score: N``), optionally
   with ``/5`` or ``out of 5``, a final period and markdown emphasis (``**Score:** 4``), any case; or a line
   ending in PersonaGym's phrase "the final score is N".
3. No statement: ``no_score``. Statements with different values: ``ambiguous``. A value that is not a whole
   number (``4.5``; ``4.0`` counts as 4): ``not_integer``. A whole number outside 1–5: ``out_of_range``.
   Otherwise the grade is the value (``ok``).

Anything but ``ok`` is a *parse failure*: counted and reported per persona and task, never turned into a number.

Example:
    >>> parse_grade("Calm and in character.\\nScore: 5")
    Grade(score=5, status='ok')
    >>> parse_grade("I would give it a four.")
    Grade(score=None, status='no_score')
    >>> parse_grade("Score: 2\\n...on reflection...\\nScore: 4").status
    'ambiguous'
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from permix_plugins.errors import ConfigError
from permix_plugins.evaluation.backends.base import Backend, generate
from permix_plugins.evaluation.backends.registry import load_backend
from permix_plugins.fidelity.rubrics import judge_messages

__all__ = [
    "DEFAULT_JUDGE_MAX_NEW_TOKENS",
    "GRADE_STATUSES",
    "Grade",
    "GradeStatus",
    "Judgement",
    "grade_answers",
    "load_judge",
    "parse_grade",
]

logger = logging.getLogger(__name__)

GradeStatus = Literal["ok", "no_score", "ambiguous", "not_integer", "out_of_range"]
GRADE_STATUSES: tuple[str, ...] = ("ok", "no_score", "ambiguous", "not_integer", "out_of_range")
DEFAULT_JUDGE_MAX_NEW_TOKENS = 512  # a few sentences of reasoning and the score line

_VALUE = r"(?P<value>[+-]?\d+(?:\.\d+)?)(?:\s*/\s*5|\s+out\s+of\s+5)?\s*[.!]?"
_SCORE_LINE = re.compile(rf"^(?:final\s+)?score\s*(?::|=|is)\s*{_VALUE}$", re.IGNORECASE)
_FINAL_SCORE = re.compile(rf"\bthe\s+final\s+score\s+is\s*:?\s*{_VALUE}$", re.IGNORECASE)
_EMPHASIS = re.compile(r"[*_`#>]+")


@dataclass(frozen=True)
class Grade:
    """A parsed grade: `score` is 1–5 when `status` is ``ok``, otherwise None (a parse failure)."""

    score: int | None
    status: GradeStatus

    @property
    def failed(self) -> bool:
        """Whether no valid grade could be read."""
        return self.status != "ok"


@dataclass(frozen=True)
class Judgement:
    """One judge call: the judge's raw output and the grade read from it."""

    output: str
    grade: Grade


def parse_grade(text: str) -> Grade:
    """The grade in a judge's output, by the rules in the module docstring; never raises on judge output.

    Example:
        >>> [parse_grade(t).score for t in ("**Score:** 4", "score = 3/5.", "Therefore, the final score is 2")]
        [4, 3, 2]
        >>> [parse_grade(t).status for t in ("Score: 7", "Score: 3.5", "<think>Score: 4</think>Hmm.")]
        ['out_of_range', 'not_integer', 'no_score']
    """
    if not isinstance(text, str):
        return Grade(None, "no_score")
    if "</think>" in text:
        text = text.rsplit("</think>", 1)[1]
    elif "<think>" in text:
        return Grade(None, "no_score")  # the judge ran out of tokens while still reasoning
    values: set[Decimal] = set()  # exact: a huge number must not turn into inf
    for raw in text.splitlines():
        line = " ".join(_EMPHASIS.sub(" ", raw).split())
        found = _SCORE_LINE.match(line) or _FINAL_SCORE.search(line)
        if found:
            values.add(Decimal(found.group("value")))
    if not values:
        return Grade(None, "no_score")
    if len(values) > 1:
        return Grade(None, "ambiguous")
    (value,) = values
    if value != value.to_integral_value():
        return Grade(None, "not_integer")
    if not 1 <= value <= 5:
        return Grade(None, "out_of_range")
    return Grade(int(value), "ok")


def grade_answers(
    judge: Backend,
    items: Sequence[tuple[str, str, str, str]],
    *,
    max_new_tokens: int = DEFAULT_JUDGE_MAX_NEW_TOKENS,
    seed: int = 0,
) -> list[Judgement]:
    """Grade ``(task, persona text, question, answer)`` items with `judge` (greedy), in input order.

    One judge call per item; a judge without a system role (``supports_system_role`` False) gets the judge's
    instructions at the top of the user turn. Raises `GenerationError` only when the backend fails; bad judge
    output is a parse failure in the returned `Grade`.

    Example:
        >>> class Constant:
        ...     name, model_id, supports_system_role = "constant", "constant", True
        ...     def generate(self, prompts, *, n, temperature, max_new_tokens, seed):
        ...         return [["Fits the persona.\\nScore: 4"] for _ in prompts]
        >>> [j.grade.score for j in grade_answers(Constant(), [("expected_action", "You are a cat.", "Q?", "A.")])]
        [4]
    """
    if not items:
        return []
    system_role = bool(getattr(judge, "supports_system_role", True))
    prompts = [
        judge_messages(task, persona, question, answer, system_role=system_role)
        for task, persona, question, answer in items
    ]
    outputs = generate(judge, prompts, n=1, temperature=0.0, max_new_tokens=max_new_tokens, seed=seed)
    return [Judgement(out[0], parse_grade(out[0])) for out in outputs]


def load_judge(
    *,
    base_url: str | None = None,
    model: str | None = None,
    api_key: str | None = None,
    local: str | None = None,
    max_new_tokens: int = DEFAULT_JUDGE_MAX_NEW_TOKENS,
    **options: Any,
) -> Backend:
    """A judge backend: an OpenAI-compatible server (`base_url` and served `model`) or a `local` model.

    `options` go to `load_backend` (``concurrency``, ``timeout_s``, ``max_retries`` for a server; ``dtype``,
    ``device``, ``batch_size`` for a local model; an option the judge's backend does not take is an error).

    Example:
        >>> load_judge(model="gpt-4o")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        permix_plugins.errors.ConfigError: choose one judge: --judge-base-url URL with --judge-model NAME ...
    """
    if local is not None and base_url is None:
        if model is not None:
            raise ConfigError("--judge-model names a served model; with --judge-local leave it out")
        return load_backend("transformers", local, max_new_tokens=max_new_tokens, **options)
    if base_url is not None and local is None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"--judge-base-url {base_url!r} must start with http:// or https:// "
                "(e.g. http://localhost:8000/v1)"
            )
        if not model:
            raise ConfigError("--judge-base-url needs --judge-model, the judge's served model name")
        return load_backend(
            "openai", model, base_url=base_url, api_key=api_key, max_new_tokens=max_new_tokens, **options
        )
    raise ConfigError(
        "choose one judge: --judge-base-url URL with --judge-model NAME (any OpenAI-compatible server), "
        "or --judge-local PATH_OR_ID (a local transformers model)"
    )
