"""Evaluation records: one scored completion per (item, persona, sample), a line of ``results.jsonl``.

Example:
    >>> record = EvalRecord(item_id="q1", persona_id="none", sample=0, gold="4", completion="\\\\boxed{4}",
    ...     answer="4", reason="match", correct=True, model="m", backend="transformers", placement="system",
    ...     temperature=0.0, max_new_tokens=64, seed=0)
    >>> import json
    >>> record.key, EvalRecord.from_dict(json.loads(record.to_json())) == record
    (('q1', 'none', 0), True)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from os import PathLike

from permix_plugins.evaluation.results import Record, ResultsFile

__all__ = ["EvalRecord", "read_results", "stability_rows"]


@dataclass(frozen=True)
class EvalRecord(Record):
    """One scored completion: a line of ``results.jsonl``.

    `answer` is the extracted final answer (None when none was found); `reason` is the verifier's reason code
    (``match``, ``mismatch``, ``no_answer``, ``bad_gold``, ``timeout``, ``error``); `correct` is None when the
    gold answer cannot be parsed. `placement` is where the persona went (``system`` or ``user_prefix``, after any
    automatic fallback; ``none`` for the no-persona prompt). `style` is whether the completion met its persona's
    checkable style (`permix_plugins.styles`); None, and not written, for a persona without one.
    """

    key_fields = ("item_id", "persona_id", "sample")
    what = "an evaluation record"
    omitted_when_none = ("style",)

    item_id: str
    persona_id: str
    sample: int
    gold: str
    completion: str
    answer: str | None
    reason: str
    correct: bool | None
    model: str
    backend: str
    placement: str
    temperature: float
    max_new_tokens: int
    seed: int
    style: bool | None = None

    @property
    def no_answer(self) -> bool:
        """Whether no final answer could be extracted (a format failure, counted apart from wrong answers)."""
        return self.reason == "no_answer"


def read_results(path: str | PathLike[str], *, repair: bool = False) -> list[EvalRecord]:
    """The records of a ``results.jsonl`` (empty if it does not exist; a cut-off last line is skipped)."""
    return ResultsFile(path, EvalRecord).read(repair=repair)


def stability_rows(records: Iterable[EvalRecord]) -> list[tuple[str, str, bool | None, bool, bool | None]]:
    """``(persona_id, item_id, correct, no_answer, style)`` rows for `StabilityReport.from_results`."""
    return [(r.persona_id, r.item_id, r.correct, r.no_answer, r.style) for r in records]
