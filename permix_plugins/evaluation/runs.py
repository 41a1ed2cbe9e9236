"""What every evaluation run shares: ``permix eval`` (`runner`) and ``permix fidelity`` (`permix_plugins.fidelity`).

- `RunConfig`: the options both commands take (model, backend and its resources, sampling, placement, output).
- `RunSettings`: the settings that shape the records of one run, built once per run: what its results file is
  saved with and resumed under, the fields every record carries, the report's metadata.
- `RunKind`: one kind of run's records, report and files; it loads a report back from either file it writes.
- `open_results`, `run_chunks`, `in_plan_order`: resume a results file under a run's settings, generate and
  score the remaining work chunk by chunk (each chunk appended to the file before the next one starts), and put
  old and new records back in plan order.
- `resolve_placement`, `describe_pool`, `progress_bar`: where personas go, how a pool enters a run's settings,
  the progress bar.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, NamedTuple, Protocol, TypeVar

from pydantic import Field, model_validator

from permix_plugins._reporting import DEFAULT_BOOTSTRAP
from permix_plugins.errors import ConfigError, MissingDependencyError
from permix_plugins.evaluation.backends.base import SOLUTION_MAX_NEW_TOKENS, Backend, close_backend
from permix_plugins.evaluation.backends.registry import (
    BackendName,
    backend_options,
    load_backend,
    option_backends,
)
from permix_plugins.evaluation.results import Record, ResultsFile, digest
from permix_plugins.personas import PersonaPool
from permix_plugins.prompting import Placement, check_placement
from permix_plugins.settings import Settings, flag_name

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "Run",
    "RunConfig",
    "RunKind",
    "RunSettings",
    "backend_notes",
    "check_generation",
    "closing",
    "describe_pool",
    "in_plan_order",
    "open_results",
    "progress_bar",
    "resolve_placement",
    "run_chunks",
    "write_report",
]

logger = logging.getLogger(__name__)

R = TypeVar("R", bound=Record)
C = TypeVar("C")
K = TypeVar("K", bound=Hashable)

# The options that set up a backend rather than what it generates; each backend takes some of them.
_BACKEND_FIELDS = (
    "base_url",
    "api_key",
    "batch_size",
    "concurrency",
    "timeout_s",
    "max_retries",
    "dtype",
    "device",
)
_MODEL_ONLY = ("base_url", "api_key")  # the fidelity judge has its own


class RunConfig(Settings):
    """The options ``permix eval`` and ``permix fidelity`` share (one field per flag: ``max_new_tokens`` is
    ``--max-new-tokens``). Backend options left unset (None) take the chosen backend's own default; one that
    the backend does not take is an error."""

    output_root: ClassVar[str] = "permix-eval"  # --out defaults to <output_root>/<model>

    model: str = Field(
        min_length=1, description="local path or Hub id (served model name for --backend openai)"
    )
    out: Path = Field(default=None, description="output directory")  # None: filled in by _default_out
    backend: BackendName = Field(default="transformers", description="how to generate")
    base_url: str | None = Field(
        default=None,
        description="OpenAI-compatible server, e.g. http://localhost:8000/v1 (or OPENAI_BASE_URL)",
    )
    api_key: str | None = Field(default=None, description="API key of the server (default: OPENAI_API_KEY)")
    temperature: float = Field(
        default=0.0, ge=0.0, allow_inf_nan=False, description="sampling temperature; 0 is greedy"
    )
    max_new_tokens: int = Field(
        default=SOLUTION_MAX_NEW_TOKENS, ge=1, description="tokens per answer at most"
    )
    seed: int = Field(default=0, description="sampling and bootstrap seed")
    placement: Placement = Field(
        default="system",
        description="where the persona goes (system falls back to user_prefix automatically when a local chat "
        "template has no system role)",
    )
    batch_size: int | None = Field(default=None, ge=1, description="sequences per forward batch")
    concurrency: int | None = Field(default=None, ge=1, description="parallel requests")
    timeout_s: float | None = Field(default=None, gt=0, alias="timeout", description="seconds per request")
    max_retries: int | None = Field(
        default=None, ge=0, description="retries per request on 429/5xx/connection errors"
    )
    dtype: str | None = Field(default=None, description="model dtype")
    device: str | None = Field(default=None, description="cpu, cuda, cuda:1, ...; unset: cuda if available")
    bootstrap: int = Field(
        default=DEFAULT_BOOTSTRAP, ge=1, description="bootstrap resamples for the confidence intervals"
    )
    progress: bool = Field(default=True, description="the progress bar")

    @model_validator(mode="before")
    @classmethod
    def _default_out(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and data.get("out") is None and isinstance(data.get("model"), str):
            slug = re.sub(r"[^A-Za-z0-9._-]+", "_", data["model"].strip("/")) or "model"
            return {**data, "out": Path(cls.output_root) / slug}
        return data

    @classmethod
    def default_text(cls, name: str) -> str | None:
        """``--out`` defaults to a folder named after the model; a backend option's help says which backends take
        it and their default (unset: the chosen backend's own)."""
        if name == "out":
            return f"default {cls.output_root}/<model>"
        if name not in _BACKEND_FIELDS:
            return super().default_text(name)
        backends = option_backends(name)
        defaults = {backend_options(b)[name] for b in backends} - {None}
        return ", ".join(backends) + (f"; default {defaults.pop()}" if len(defaults) == 1 else "")

    def backend_kwargs(self, backend: str, *, also: Sequence[str] = ()) -> dict[str, Any]:
        """`max_new_tokens` and the backend options that were set, for building `backend`; an option set that
        `backend` does not take is an error, unless one of the `also` backends (fidelity's judge) takes it."""
        takes = backend_options(backend)
        kwargs: dict[str, Any] = {"max_new_tokens": self.max_new_tokens}
        for field in _BACKEND_FIELDS:
            value = getattr(self, field)
            if value is None:
                continue
            if field in takes:
                kwargs[field] = value
            elif field in _MODEL_ONLY or not any(field in backend_options(other) for other in also):
                flag = flag_name(RunConfig.model_fields[field].alias or field)
                raise ConfigError(
                    f"option {flag} does not apply to --backend {backend} "
                    f"(it is for {', '.join(option_backends(field))})"
                )
        return kwargs

    @contextlib.contextmanager
    def model_backend(self, *, also: Sequence[str] = ()) -> Iterator[Backend]:
        """The backend of the model under test, built from these options (`backend_kwargs`), closed after."""
        with closing(
            load_backend(self.backend, self.model, **self.backend_kwargs(self.backend, also=also))
        ) as built:
            yield built

    def shared_kwargs(self, backend: str) -> dict[str, Any]:
        """The resource options that were set (batch size, dtype, device, concurrency, timeout, retries) that
        `backend` takes: what a second backend of the run (fidelity's judge) is built with."""
        takes = backend_options(backend)
        return {
            field: getattr(self, field)
            for field in _BACKEND_FIELDS
            if field not in _MODEL_ONLY and field in takes and getattr(self, field) is not None
        }


class Run(NamedTuple):
    """What ``permix eval`` and ``permix fidelity`` return: the report, the results file and the files written."""

    report: Any
    results: Path
    files: list[Path]


# ------------------------------------------------------------------------------------------------ its settings
@dataclass(frozen=True, kw_only=True)
class RunSettings:
    """The settings that shape the records of one evaluation run, built once per run (from the options with
    `from_config`, or from a backend and the arguments of `evaluate`).

    - `saved`: what the results file is saved with and resumed under (``<results>.settings.json``);
    - `record_fields`: the fields every record of the run carries;
    - `report_meta`: the report's metadata.

    ``permix eval`` and ``permix fidelity`` add their settings in a subclass and name in `saved_keys` the saved
    ones, in the order earlier versions wrote them (each a field or property), so their results files resume.
    `placement` is the one asked for; records and report carry the one used (`resolve_placement`).

    Example:
        >>> @dataclass(frozen=True, kw_only=True)
        ... class Sketch(RunSettings):
        ...     saved_keys = ("model", "personas", "temperature")
        >>> settings = Sketch(model="m", backend="openai", pool=PersonaPool.builtin("lottery"), temperature=0,
        ...                     max_new_tokens=64, seed=0, placement="system")
        >>> settings.saved()  # doctest: +ELLIPSIS
        {'model': 'm', 'personas': 'lottery: 7 personas, sha256 ...', 'temperature': 0.0}
        >>> settings.record_fields("user_prefix")["placement"], settings.report_meta("system")["personas"]
        ('user_prefix', 'lottery')
    """

    saved_keys: ClassVar[tuple[str, ...]]

    model: str
    backend: str
    pool: PersonaPool
    temperature: float
    max_new_tokens: int
    seed: int
    placement: Placement

    def __post_init__(self) -> None:
        object.__setattr__(self, "temperature", float(self.temperature))  # 0 and 0.0 are the same setting

    @classmethod
    def from_config(cls, config: RunConfig, **own: Any) -> Self:
        """The settings of the run `config` describes; `own` are those of the subclass."""
        return cls(
            model=config.model,
            backend=config.backend,
            temperature=config.temperature,
            max_new_tokens=config.max_new_tokens,
            seed=config.seed,
            placement=config.placement,
            **own,
        )

    @property
    def personas(self) -> str:
        """The persona pool as the saved settings name it (`describe_pool`)."""
        return describe_pool(self.pool)

    def saved(self) -> dict[str, Any]:
        """The settings the results file is saved with; a rerun resumes it only under equal ones."""
        return {key: getattr(self, key) for key in self.saved_keys}

    def record_fields(self, placement: str) -> dict[str, Any]:
        """The fields every record of the run carries; `placement` is where its persona went."""
        return {
            "model": self.model,
            "backend": self.backend,
            "placement": placement,
            "temperature": self.temperature,
            "max_new_tokens": self.max_new_tokens,
            "seed": self.seed,
        }

    def report_meta(self, placement: str) -> dict[str, Any]:
        """The report's metadata: the record fields (`placement`: the one used) and the pool's name."""
        return {**self.record_fields(placement), "personas": self.pool.name}


# ------------------------------------------------------------------------------------------------ a kind of run
class _Report(Protocol):
    """What `write_report` writes: a report that renders itself as JSON, markdown and a PNG."""

    def to_json(self) -> str: ...

    def to_markdown(self) -> str: ...

    def plot(self, path: Path) -> Path: ...


Rep = TypeVar("Rep", bound=_Report)


@dataclass(frozen=True)
class RunKind(Generic[R, Rep]):
    """One kind of run (``permix eval``, ``permix fidelity``): its record type, its report type and how records
    make a report, and its file names (results JSON lines, report JSON, markdown, PNG)."""

    record: type[R]
    report: type[Rep]
    build: Callable[[list[R], int, int, dict[str, Any]], Rep]  # records, n_bootstrap, seed, meta -> report
    files: tuple[str, str, str, str]

    @property
    def results_file(self) -> str:
        return self.files[0]

    def check(self, path: str | Path, settings: RunSettings) -> None:
        """Fail before a model is loaded if the results file `path` holds records made with other settings."""
        ResultsFile(path, self.record).check(settings.saved())

    def load_report(
        self, path: str | Path, *, n_bootstrap: int = DEFAULT_BOOTSTRAP, seed: int | None = None
    ) -> Rep:
        """The report of a results file (rebuilt with `n_bootstrap` resamples) or of a report JSON file."""
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"{str(path)!r} is not a file; pass a {self.files[0]} or a {self.files[1]}")
        if path.suffix == ".json":
            return self.report.read(path)  # type: ignore[attr-defined, no-any-return]
        results = ResultsFile(path, self.record)
        records = results.read()
        if not records:
            raise ConfigError(f"{path} holds no {self.record.what.split(' ', 1)[1]}s")
        first = records[0]
        meta = {
            key: getattr(first, key) for key in ("model", "backend", "temperature", "max_new_tokens", "seed")
        }
        meta.update(results.saved_settings() or {})
        meta["results"] = str(path)
        return self.build(records, n_bootstrap, meta["seed"] if seed is None else seed, meta)

    def write_report(self, report: Rep, directory: str | Path) -> list[Path]:
        """Write the report's JSON, markdown and PNG files into `directory`."""
        return write_report(report, directory, files=self.files[1:])  # type: ignore[arg-type]


def write_report(
    report: _Report,
    directory: str | Path,
    *,
    files: tuple[str, str, str] = ("report.json", "report.md", "stability.png"),
) -> list[Path]:
    """Write ``report.json``, ``report.md`` and ``stability.png`` (the PNG needs matplotlib).

    `files` renames the three (JSON, markdown, PNG, in that order). `report` is any report with ``to_json``,
    ``to_markdown`` and ``plot`` (`StabilityReport`, `FidelityReport`).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    json_path, md_path, png_path = (directory / name for name in files)
    json_path.write_text(report.to_json() + "\n", encoding="utf-8")
    md_path.write_text(report.to_markdown(), encoding="utf-8")
    written = [json_path, md_path]
    try:
        written.append(report.plot(png_path))
    except MissingDependencyError as exc:
        logger.warning("no %s: %s", png_path.name, exc)
    return written


# ------------------------------------------------------------------------------------------------ the loop
def check_generation(*, temperature: float, chunk_size: int) -> None:
    """Raise `ConfigError` unless `temperature` >= 0 and `chunk_size` >= 1."""
    if not temperature >= 0:
        raise ConfigError(f"temperature must be >= 0 (0 is greedy), got {temperature!r}")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ConfigError(f"chunk_size must be a positive integer, got {chunk_size!r}")


def open_results(
    path: str | Path | None, record: type[R], settings: RunSettings, wanted: Sequence[Hashable]
) -> tuple[ResultsFile[R] | None, dict[Any, R]]:
    """Open the results file at `path` (None: keep nothing) for a run with `settings`: its wanted records
    already there, by key (`ResultsFile.resume`: other settings are refused)."""
    if path is None:
        return None, {}
    results = ResultsFile(path, record)
    done = results.resume(settings.saved())
    if done:
        kept = sum(key in done for key in wanted)
        logger.info("resuming: %d of %d records already in %s", kept, len(wanted), path)
    return results, done


def run_chunks(
    chunks: Iterable[C],
    work: Callable[[C], list[R]],
    *,
    results: ResultsFile[R] | None,
    total: int,
    description: str,
    progress: bool,
) -> list[R]:
    """`work` on each chunk in turn; each chunk's records are appended to `results` before the next chunk."""
    new: list[R] = []
    bar = progress_bar(total, description, enabled=progress)
    try:
        for chunk in chunks:
            records = work(chunk)
            if results is not None:
                results.append(records)
            new.extend(records)
            bar.update(len(records))
    finally:
        bar.close()
    return new


def in_plan_order(wanted: Iterable[K], done: Mapping[K, R], new: Iterable[R]) -> list[R]:
    """The records of the `wanted` keys, in that order, from those resumed (`done`) and those just made."""
    by_key: dict[Any, R] = {**done, **{record.key: record for record in new}}
    return [by_key[key] for key in wanted]


def resolve_placement(backend: Backend, placement: str) -> Placement:
    """`placement`; ``system`` becomes ``user_prefix`` if the backend's chat template has no system role.

    Example:
        >>> class NoSystem:
        ...     name, model_id, supports_system_role = "x", "gemma-like", False
        >>> resolve_placement(NoSystem(), "system")
        'user_prefix'
    """
    chosen = check_placement(placement)
    if chosen == "system" and not getattr(backend, "supports_system_role", True):
        logger.warning(
            "the chat template of %s has no system role: personas go at the top of the user turn "
            "(placement='user_prefix')",
            backend.model_id,
        )
        return "user_prefix"
    return chosen


@contextlib.contextmanager
def closing(backend: Backend) -> Iterator[Backend]:
    """`backend`, closed on the way out (`close_backend`: a connection pool, ...)."""
    try:
        yield backend
    finally:
        close_backend(backend)


def backend_notes(backend: Backend, key: str = "backend_notes") -> dict[str, Any]:
    """What `backend` learned about its server during the run (its ``notes``, e.g. `OpenAIBackend`'s length-limit
    switch), as run metadata: ``{key: notes}``, or nothing when there is none.

    Example:
        >>> class Served:
        ...     notes = {"length_limit": "max_tokens: the server ignored max_completion_tokens (...)"}
        >>> backend_notes(Served())["backend_notes"]["length_limit"].split(":")[0], backend_notes(object())
        ('max_tokens', {})
    """
    notes = dict(getattr(backend, "notes", None) or {})
    return {key: notes} if notes else {}


def default_max_new_tokens(backend: Backend, default: int = SOLUTION_MAX_NEW_TOKENS) -> int:
    """The backend's own answer budget (its ``max_new_tokens``), else `default`."""
    return int(getattr(backend, "max_new_tokens", default))


def describe_pool(pool: PersonaPool) -> str:
    """How a persona pool enters a run's settings: its name, size and a fingerprint of its ids and texts.

    Example:
        >>> describe_pool(PersonaPool.builtin("lottery"))  # doctest: +ELLIPSIS
        'lottery: 7 personas, sha256 ...'
    """
    return f"{pool.name}: {len(pool)} personas, sha256 {digest([[p.id, p.text] for p in pool])}"


def progress_bar(total: int, description: str, *, enabled: bool) -> Any:
    """A tqdm bar over `total` records (off when not `enabled` or there is nothing to do)."""
    from tqdm.auto import tqdm

    return tqdm(
        total=total, desc=description, unit="sample", disable=not enabled or total == 0, dynamic_ncols=True
    )
