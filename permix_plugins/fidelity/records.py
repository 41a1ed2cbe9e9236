"""Fidelity records: one graded answer per (persona, task, question), a line of ``fidelity.jsonl``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from os import PathLike

from permix_plugins.evaluation.results import Record, ResultsFile
from permix_plugins.fidelity.questions import Task

__all__ = ["FidelityRecord", "grade_rows", "read_fidelity_results"]


@dataclass(frozen=True)
class FidelityRecord(Record):
    """One graded answer: a line of ``fidelity.jsonl``.

    `score` is the judge's grade 1–5, None when it could not be parsed (`status` says why: ``no_score``,
    ``ambiguous``, ``not_integer``, ``out_of_range``; ``ok`` otherwise). `judge_output` is the judge's raw text.
    """

    key_fields = ("persona_id", "task", "question_id")
    what = "a fidelity record"

    persona_id: str
    task: Task
    question_id: str
    question: str
    answer: str
    judge_output: str
    score: int | None
    status: str
    model: str
    backend: str
    judge: str
    placement: str
    temperature: float
    max_new_tokens: int
    seed: int


def read_fidelity_results(path: str | PathLike[str], *, repair: bool = False) -> list[FidelityRecord]:
    """The records of a ``fidelity.jsonl`` (empty if it does not exist; a cut-off last line is skipped)."""
    return ResultsFile(path, FidelityRecord).read(repair=repair)


def grade_rows(records: Iterable[FidelityRecord]) -> list[tuple[str, str, str, int | None, str]]:
    """``(persona_id, task, question_id, score, status)`` rows for `FidelityReport.from_grades`."""
    return [(r.persona_id, r.task, r.question_id, r.score, r.status) for r in records]
