"""Evaluation records: one scored completion per (item, persona, sample), stored as JSON lines.

The results file is append-only and resumable: each line is written (and flushed) as soon as its completion is
scored, a rerun skips the keys already present (and must use the same settings: `check_resumable`), and a last
line cut short by a crash is ignored and cut away before new lines are appended.

Example:
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "results.jsonl"
    >>> record = EvalRecord(item_id="q1", persona_id="none", sample=0, gold="4", completion="\\\\boxed{4}",
    ...     answer="4", reason="match", correct=True, model="m", backend="transformers", placement="system",
    ...     temperature=0.0, max_new_tokens=64, seed=0)
    >>> with ResultsWriter(path) as out:
    ...     out.write(record)
    >>> _ = open(path, "a").write('{"item_id": "q2", "pers')          # a crash in the middle of a line
    >>> [r.key for r in read_results(path)]
    [('q1', 'none', 0)]
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from os import PathLike
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol, TypeVar

from permix_plugins.errors import ConfigError

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "EvalRecord",
    "JsonRecord",
    "ResultsWriter",
    "check_resumable",
    "read_jsonl",
    "read_results",
    "report_rows",
    "validate_record",
]

logger = logging.getLogger(__name__)

R = TypeVar("R")


@dataclass(frozen=True)
class EvalRecord:
    """One scored completion: a line of ``results.jsonl``.

    `answer` is the extracted final answer (None when none was found); `reason` is the verifier's reason code
    (``match``, ``mismatch``, ``no_answer``, ``bad_gold``, ``timeout``, ``error``); `correct` is None when the
    gold answer cannot be parsed. `placement` is where the persona went (``system`` or ``user_prefix``, after any
    automatic fallback; ``none`` for the no-persona prompt).
    """

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

    @property
    def key(self) -> tuple[str, str, int]:
        """``(item_id, persona_id, sample)``: what a resumed run skips."""
        return (self.item_id, self.persona_id, self.sample)

    @property
    def no_answer(self) -> bool:
        """Whether no final answer could be extracted (a format failure, counted apart from wrong answers)."""
        return self.reason == "no_answer"

    def to_json(self) -> str:
        """The record as one JSON line (no newline)."""
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str = "record") -> EvalRecord:
        """A record from a parsed JSON line; unknown keys are ignored, a missing or mistyped one raises."""
        return validate_record(cls, data, where=where, what="an evaluation record")


def read_results(path: str | PathLike[str], *, repair: bool = False) -> list[EvalRecord]:
    """The records of a results file (empty if it does not exist); lines are read as in `read_jsonl`."""
    return [EvalRecord.from_dict(data, where=where) for where, data in read_jsonl(path, repair=repair)]


def read_jsonl(path: str | PathLike[str], *, repair: bool = False) -> list[tuple[str, dict[str, Any]]]:
    """The JSON objects of an append-only JSON-lines file, each with where it was (``"FILE, line N"``).

    A missing file reads as empty. A last line that is cut short (no newline and not valid JSON) is skipped
    with a warning; with `repair`, it is also cut from the file (and a missing final newline added) so that
    appending continues on a clean line. A bad line anywhere else raises `ConfigError` naming the file and line.
    """
    path = Path(path)
    if not path.exists():
        return []
    raw = path.read_bytes()
    records: list[tuple[str, dict[str, Any]]] = []
    offset = good_end = 0  # good_end: byte offset just after the last good line (and its newline)
    for number, line in enumerate(raw.split(b"\n"), 1):
        end = offset + len(line)
        terminated = end < len(raw)  # a newline follows: the line was written completely
        offset = end + 1
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict):
                raise ValueError(f"a JSON {type(data).__name__}, not an object")  # noqa: TRY004 - bad JSON, like below
        except ValueError as exc:
            if not terminated:
                logger.warning("%s: ignoring a truncated last line %d (%d bytes)", path, number, len(line))
                break
            raise ConfigError(
                f"{path}, line {number}: not a JSON object ({exc}); fix or delete the line"
            ) from exc
        records.append((f"{path}, line {number}", data))
        good_end = end + 1 if terminated else end
    if repair and (good_end != len(raw) or not raw.endswith(b"\n")) and raw:
        with open(path, "r+b") as handle:
            handle.truncate(good_end)
            if good_end and raw[good_end - 1 : good_end] != b"\n":
                handle.seek(0, os.SEEK_END)
                handle.write(b"\n")
    return records


def validate_record(cls: type[R], data: Mapping[str, Any], *, where: str, what: str) -> R:
    """`data` (a parsed JSON line) as a `cls` record; unknown keys are ignored, a missing or mistyped one
    raises `ConfigError` saying that `where` is not `what`."""
    from pydantic import TypeAdapter, ValidationError

    try:
        return TypeAdapter(cls).validate_python(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
        raise ConfigError(f"{where} is not {what}: {problems}") from exc


def check_resumable(path: Path, record: object, settings: Mapping[str, Any], *, holds: str) -> None:
    """Raise `ConfigError` unless `record`, read from the results file `path`, was made with this run's
    `settings`: a results file holds one run's settings (`holds` says what it holds, e.g. "results made").

    Example:
        >>> from types import SimpleNamespace
        >>> path, line = Path("r.jsonl"), SimpleNamespace(model="m")  # a line written by a run of model m
        >>> check_resumable(path, line, {"model": "m2"}, holds="results made")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        permix_plugins.errors.ConfigError: r.jsonl holds results made with model='m', but this run uses ...
    """
    for key, value in settings.items():
        if getattr(record, key) != value:
            raise ConfigError(
                f"{path} holds {holds} with {key}={getattr(record, key)!r}, but this run uses "
                f"{key}={value!r}; write to another --out directory (or delete {path.name}) to start over"
            )


def report_rows(records: Iterable[EvalRecord]) -> list[tuple[str, str, bool | None, bool]]:
    """``(persona_id, item_id, correct, no_answer)`` rows for `StabilityReport.from_results`."""
    return [(r.persona_id, r.item_id, r.correct, r.no_answer) for r in records]


class JsonRecord(Protocol):
    """What `ResultsWriter` writes: anything that renders itself as one JSON line."""

    def to_json(self) -> str: ...


class ResultsWriter:
    """Append records to a results file, one flushed line each (use as a context manager)."""

    def __init__(self, path: str | PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle: IO[str] | None = None

    def write(self, record: JsonRecord) -> None:
        if self._handle is None:
            self._handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed by close()
        self._handle.write(record.to_json() + "\n")

    def flush(self) -> None:
        if self._handle is not None:
            self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
