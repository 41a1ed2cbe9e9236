"""The results file of an evaluation run: typed records as JSON lines, beside the settings that made them.

Both ``permix eval`` (`EvalRecord`, ``results.jsonl``) and ``permix fidelity`` (``fidelity.jsonl``) write
through `ResultsFile`. The file is append-only and resumable:

- each chunk of records is appended (and flushed) as soon as it is scored, so a crash loses at most one chunk;
- a last line cut short by a crash is skipped with a warning, and cut away before new lines are appended;
- the settings that shape a record (model, prompts, sampling, problems, personas, ...) are saved beside the
  file (``results.jsonl`` -> ``results.settings.json``) when its first record is written; a rerun resumes
  only with the very same settings, else it is refused with a message naming each changed setting.

Lines are validated with one cached pydantic adapter per record type, straight from the JSON bytes.

Example:
    >>> import pathlib, tempfile
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Answer(Record):
    ...     key_fields = ("question",)
    ...     question: str
    ...     text: str
    >>> results = ResultsFile(pathlib.Path(tempfile.mkdtemp()) / "answers.jsonl", Answer)
    >>> results.resume({"model": "m"})
    {}
    >>> results.append([Answer("q1", "4")])
    >>> _ = open(results.path, "a").write('{"question": "q2", "te')          # a crash in the middle of a line
    >>> results.resume({"model": "m"})
    {('q1',): Answer(question='q1', text='4')}
    >>> results.resume({"model": "m2"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    permix_plugins.errors.ConfigError: .../answers.jsonl holds results made with model='m', but this run uses model='m2'; ...
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from permix_plugins._reporting import type_adapter
from permix_plugins.errors import ConfigError
from permix_plugins.settings import describe_errors

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["Record", "ResultsFile", "digest"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Record:
    """Base of the records a results file holds (frozen dataclasses): `key` is what a resumed run skips."""

    key_fields: ClassVar[tuple[str, ...]] = ()
    what: ClassVar[str] = "a results record"
    # Fields added later: a None is not written (old lines stay).
    omitted_when_none: ClassVar[tuple[str, ...]] = ()

    @property
    def key(self) -> tuple[Any, ...]:
        """The values of `key_fields`: one record per key in a results file."""
        return tuple(getattr(self, name) for name in self.key_fields)

    def to_json(self) -> str:
        """The record as one JSON line (no newline)."""
        data = asdict(self)
        for name in self.omitted_when_none:
            if data[name] is None:
                del data[name]
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "record") -> Self:
        """A record from parsed JSON; unknown keys are ignored, a missing or mistyped one raises `ConfigError`."""
        from pydantic import ValidationError

        try:
            return type_adapter(cls).validate_python(data)  # type: ignore[no-any-return]
        except ValidationError as exc:
            raise ConfigError(f"{where} is not {cls.what}: {describe_errors(exc)}") from None


R = TypeVar("R", bound=Record)


class ResultsFile(Generic[R]):
    """A JSON-lines file of `record` records and, beside it, the settings of the run that wrote them."""

    def __init__(self, path: str | PathLike[str], record: type[R]) -> None:
        self.path = Path(path)
        self.record = record
        self.settings_path = self.path.with_name(f"{self.path.stem}.settings.json")

    def read(self, *, repair: bool = False) -> list[R]:
        """The records of the file (none if it does not exist).

        A last line that is cut short (no newline, not valid JSON) is skipped with a warning; with `repair` it
        is also cut from the file (and a missing final newline added) so that appending continues on a clean
        line. A bad line anywhere else raises `ConfigError` naming the file, the line and the field.
        """
        from pydantic import ValidationError

        if not self.path.exists():
            return []
        raw = self.path.read_bytes()
        adapter = type_adapter(self.record)
        records: list[R] = []
        offset = good_end = 0  # good_end: byte offset just after the last good line (and its newline)
        for number, line in enumerate(raw.split(b"\n"), 1):
            end = offset + len(line)
            terminated = end < len(raw)  # a newline follows: the line was written completely
            offset = end + 1
            if not line.strip():
                continue
            try:
                records.append(adapter.validate_json(line))
            except ValidationError as exc:
                not_json = [e for e in exc.errors() if e["type"] == "json_invalid" or not e["loc"]]
                if not_json and not terminated:
                    logger.warning(
                        "%s: ignoring a truncated last line %d (%d bytes)", self.path, number, len(line)
                    )
                    break
                if not_json:
                    raise ConfigError(
                        f"{self.path}, line {number}: not a JSON object ({not_json[0]['msg']}); "
                        "fix or delete the line"
                    ) from None
                raise ConfigError(
                    f"{self.path}, line {number} is not {self.record.what}: {describe_errors(exc)}"
                ) from None
            good_end = end + 1 if terminated else end
        if repair and raw and (good_end != len(raw) or not raw.endswith(b"\n")):
            with open(self.path, "r+b") as handle:
                handle.truncate(good_end)
                if good_end and raw[good_end - 1 : good_end] != b"\n":
                    handle.seek(0, os.SEEK_END)
                    handle.write(b"\n")
        return records

    def saved_settings(self) -> dict[str, Any] | None:
        """The settings saved beside the file by the run that wrote it (None if there are none)."""
        if not self.settings_path.exists():
            return None
        try:
            data = json.loads(self.settings_path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ConfigError(
                f"{self.settings_path} is not valid JSON ({exc}); delete it to start over"
            ) from exc
        settings = data.get("settings") if isinstance(data, dict) else None
        if not isinstance(settings, dict):
            raise ConfigError(f"{self.settings_path} has no 'settings' object; delete it to start over")
        return settings

    def check(self, settings: Mapping[str, Any], *, repair: bool = False) -> list[R]:
        """The records of the file, after checking they were made with `settings` (else `ConfigError`, naming
        every setting that differs and what to do). A file without records can take any settings."""
        records = self.read(repair=repair)
        if not records:
            return records
        saved = self.saved_settings()
        if saved is None:
            raise ConfigError(
                f"{self.path} holds {len(records)} record(s) but no {self.settings_path.name} saying which "
                f"settings made them, so it cannot be resumed safely; {self._start_over_hint}"
            )
        wanted = _as_read_back(settings)
        changed = [key for key in {**saved, **wanted} if saved.get(key) != wanted.get(key)]
        if changed:
            made = ", ".join(f"{key}={saved.get(key)!r}" for key in changed)
            uses = ", ".join(f"{key}={wanted.get(key)!r}" for key in changed)
            raise ConfigError(
                f"{self.path} holds results made with {made}, but this run uses {uses}; {self._start_over_hint}"
            )
        return records

    def resume(self, settings: Mapping[str, Any]) -> dict[tuple[Any, ...], R]:
        """The records already in the file by key, after `check` (a cut-off last line is cut away); a file
        without records starts afresh with `settings` saved beside it."""
        records = self.check(settings, repair=True)
        if not records:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            payload = {"results": self.path.name, "settings": _as_read_back(settings)}
            self.settings_path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        return {record.key: record for record in records}

    def append(self, records: Iterable[R]) -> None:
        """Append `records`, one line each, and flush them to the file."""
        lines = "".join(record.to_json() + "\n" for record in records)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(lines)

    @property
    def _start_over_hint(self) -> str:
        return (
            f"write to another --out directory (or delete {self.path.name} and {self.settings_path.name} "
            "to start over)"
        )


def digest(values: Any) -> str:
    """A short, stable fingerprint of JSON-able `values` (e.g. the problems of a run), for its settings.

    Example:
        >>> digest([["q1", "What is 2 + 2?", "4"]]) == digest([["q1", "What is 2 + 2?", "4"]])
        True
        >>> len(digest("x"))
        12
    """
    payload = json.dumps(values, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:12]


def _as_read_back(settings: Mapping[str, Any]) -> dict[str, Any]:
    """`settings` as they read back from JSON (tuples become lists, ...), so saved and new compare equal."""
    return json.loads(json.dumps(dict(settings), ensure_ascii=False))  # type: ignore[no-any-return]
