r"""MathVerifier: is a completion's final answer equal to the gold answer? Never raises, never hangs.

Two paths:

* **fast, in-process, exact** — `permix_plugins.exact.fast_match` decides closed-form numbers (integers, decimals,
  fractions, percent, units, powers, factorials, square roots, π) and plain text exactly, without SymPy or floats.
* **math-verify, in worker processes** — everything else (intervals, sets, tuples, expressions, equations, matrices)
  goes to a `permix_plugins.verify_workers.WorkerPool`: reused worker processes, each job under a hard wall-clock
  limit (an overrun kills and replaces the worker and scores ``timeout``) and each worker under an address-space cap.

Reason codes of a `Verdict`: ``match``, ``mismatch``, ``no_answer`` (no final answer found), ``bad_gold`` (gold has
no answer; ``correct`` is ``None``), ``timeout``, ``error``.

Example:
    >>> verifier = MathVerifier(timeout_s=5)
    >>> verifier.verify("72", r"... so she sold \boxed{72} clips.")
    Verdict(correct=True, reason='match', extracted='72', source='boxed')
    >>> verifier.verify(r"\frac{1}{2^{99}}", r"\boxed{\frac{1}{2^{98}}}").reason
    'mismatch'
    >>> verifier.verify("", "42").correct is None
    True
    >>> verifier.close()
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from permix_plugins.answers import Source, extract_answer, extract_gold
from permix_plugins.errors import ConfigError
from permix_plugins.exact import fast_match, to_latex
from permix_plugins.settings import describe_errors
from permix_plugins.verify_workers import WorkerPool

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["MathVerifier", "Reason", "Verdict", "VerifierSettings", "configure", "default_verifier"]

logger = logging.getLogger(__name__)

Reason = Literal["match", "mismatch", "no_answer", "bad_gold", "timeout", "error"]


@dataclass(frozen=True)
class Verdict:
    """The outcome of one check. ``correct`` is ``None`` only for ``bad_gold``; ``extracted`` is the answer string."""

    correct: bool | None
    reason: Reason
    extracted: str | None = None
    source: Source = "none"

    @property
    def score(self) -> float:
        """1.0 for a match, else 0.0 (a bad gold scores 0.0 where a float is required)."""
        return 1.0 if self.correct else 0.0


def _setting(*, env: str, accepted: str, **field: Any) -> Any:
    # Each setting names its environment variable and, for error messages, what it accepts.
    return Field(json_schema_extra={"env": env, "accepted": accepted}, **field)


def _seconds(*, env: str, default: float) -> Any:
    return _setting(env=env, accepted="a number of seconds > 0", default=default, gt=0, allow_inf_nan=False)


class VerifierSettings(BaseModel):
    """The settings of a `MathVerifier`, validated once; `from_env` reads the ``PERMIX_VERIFY_*`` variables and
    ``PERMIX_REWARD_DEADLINE``.

    Example:
        >>> settings = VerifierSettings(timeout_s=3, workers=2)
        >>> settings.timeout_s, settings.workers, settings.memory_mb, settings.reward_deadline_s
        (3.0, 2, 2048, 120.0)
        >>> VerifierSettings.parse({"workers": "two"}, from_env={"workers"})
        Traceback (most recent call last):
        ...
        permix_plugins.errors.ConfigError: environment variable PERMIX_VERIFY_WORKERS must be an integer >= 1, got 'two'
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    timeout_s: float = _seconds(env="PERMIX_VERIFY_TIMEOUT", default=5.0)
    """Wall-clock limit of one math-verify job (parse + verify); an overrun scores ``timeout``."""
    workers: int = _setting(
        env="PERMIX_VERIFY_WORKERS",
        accepted="an integer >= 1",
        default_factory=lambda: min(4, os.cpu_count() or 1),
        ge=1,
    )
    """Worker processes (default ``min(4, cpu count)``), started lazily, only when math-verify is needed."""
    memory_mb: int = _setting(
        env="PERMIX_VERIFY_MEMORY_MB", accepted="0 (no cap) or an integer >= 256 (MiB)", default=2048
    )
    """Address-space cap of each worker (``RLIMIT_AS``); ``0`` disables it."""
    startup_timeout_s: float = _seconds(env="PERMIX_VERIFY_STARTUP_TIMEOUT", default=60.0)
    """How long a new worker may take to import and warm math-verify."""
    reward_deadline_s: float = _seconds(env="PERMIX_REWARD_DEADLINE", default=120.0)
    """Wall-clock limit of a whole reward call that must return in time (OpenRLHF's `reward_func`, which waits
    for busy workers too); when it passes, the call's samples score ``timeout``."""

    @field_validator("memory_mb")
    @classmethod
    def _cap_or_none(cls, value: int) -> int:
        if value != 0 and value < 256:
            raise ValueError("neither 0 nor >= 256")
        return value

    @classmethod
    def parse(cls, values: Mapping[str, Any], *, from_env: Collection[str] = ()) -> VerifierSettings:
        """Validate `values`; a bad one raises `ConfigError` naming the setting (or, for those in `from_env`, its
        environment variable) and what it accepts."""
        try:
            return cls(**values)
        except ValidationError as exc:
            env = {
                name: f"environment variable {cls.model_fields[name].json_schema_extra['env']}"
                for name in from_env
            }
            raise ConfigError(describe_errors(exc, model=cls, names=env)) from None

    @classmethod
    def from_env(cls, **overrides: Any) -> VerifierSettings:
        """Settings from the ``PERMIX_VERIFY_*`` environment variables (unset or empty: the default); the
        `overrides` that are not ``None`` win."""
        values = {}
        for name, field in cls.model_fields.items():
            raw = os.environ.get(field.json_schema_extra["env"], "").strip()  # type: ignore[index]
            if raw:
                values[name] = raw
        from_env = set(values)
        for name, value in overrides.items():
            if value is not None:
                values[name] = value
                from_env.discard(name)
        return cls.parse(values, from_env=from_env)


# --------------------------------------------------------------------------------------------------------------------
# The verifier
# --------------------------------------------------------------------------------------------------------------------

_VERIFIERS: weakref.WeakSet[MathVerifier] = weakref.WeakSet()


class MathVerifier:
    r"""Check final answers against golds: exact fast path, then math-verify in killable worker processes.

    The keyword arguments are the fields of `VerifierSettings` (``timeout_s``, ``workers``, ``memory_mb``,
    ``startup_timeout_s``, ``reward_deadline_s``); unset ones take its defaults (the environment is read by
    `configure`, not here). Thread-safe; usable from threads, ``asyncio.to_thread``, spawned processes and Ray
    actors; picklable (the copy starts its own workers). `verify` and `verify_batch` never raise on model output.

    Example:
        >>> with MathVerifier(timeout_s=2, workers=1) as v:
        ...     [x.reason for x in v.verify_batch(["3", "3", "3"], [r"\boxed{3}", "I give up", r"\boxed{4}"])]
        ['match', 'no_answer', 'mismatch']
    """

    def __init__(
        self,
        *,
        timeout_s: float | None = None,
        workers: int | None = None,
        memory_mb: int | None = None,
        startup_timeout_s: float | None = None,
        reward_deadline_s: float | None = None,
    ) -> None:
        options = {"timeout_s": timeout_s, "workers": workers, "memory_mb": memory_mb,
                   "startup_timeout_s": startup_timeout_s, "reward_deadline_s": reward_deadline_s}  # fmt: skip
        self._init(VerifierSettings.parse({k: v for k, v in options.items() if v is not None}))

    @classmethod
    def from_settings(cls, settings: VerifierSettings) -> MathVerifier:
        """A verifier with already validated `settings` (e.g. ``VerifierSettings.from_env()``)."""
        verifier = cls.__new__(cls)
        verifier._init(settings)
        return verifier

    def _init(self, settings: VerifierSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._pool: WorkerPool | None = None
        self._counts: Counter[str] = Counter()
        _VERIFIERS.add(self)

    def __repr__(self) -> str:
        s = self.settings
        return f"MathVerifier(timeout_s={s.timeout_s}, workers={s.workers}, memory_mb={s.memory_mb})"

    def __getstate__(self) -> dict[str, Any]:
        return {"settings": self.settings}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._init(state["settings"])

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker processes (a later call starts new ones)."""
        with self._lock:
            pool, self._pool = self._pool, None
            if pool is not None:
                self._counts.update(workers_started=pool.started, workers_killed=pool.killed)
        if pool is not None:
            pool.close()

    def stats(self) -> dict[str, int]:
        """Counts so far: per reason code, ``fast`` / ``math_verify`` decisions, ``workers_started`` / ``_killed``."""
        with self._lock:
            counts = Counter(self._counts)
            if self._pool is not None:
                counts.update(workers_started=self._pool.started, workers_killed=self._pool.killed)
        return dict(counts)

    def warm_up(self) -> int:
        """Start the workers now and wait until they are warm (at most `startup_timeout_s`); returns how many are.

        Optional: the first answer that needs math-verify does this lazily. Call it to keep start-up out of timings.
        """
        return self._get_pool().warm_up()

    def verify(self, gold: object, completion: object) -> Verdict:
        r"""Check one completion. **Gold first, completion second** (the comparison is not symmetric).

        Example:
            >>> with MathVerifier() as v:
            ...     v.verify(r"\frac{1}{2}", "So the answer is 0.5.")
            Verdict(correct=True, reason='match', extracted='0.5', source='phrase')
        """
        return self.verify_batch([gold], [completion])[0]

    def verify_batch(self, golds: Sequence[object], completions: Sequence[object]) -> list[Verdict]:
        """Check many completions; math-verify jobs run in parallel over the workers, duplicates once."""
        if len(golds) != len(completions):
            raise ConfigError(
                f"verify_batch got {len(golds)} golds but {len(completions)} completions; pass one gold per completion"
            )
        verdicts: list[Verdict] = []
        jobs: dict[tuple[str, str], list[int]] = {}  # identical (gold, answer) pairs go to math-verify once
        for i, (gold, completion) in enumerate(zip(golds, completions, strict=True)):
            try:
                verdict, job = _decide_fast(gold, completion)
            except Exception:  # a bug of ours must cost one item, not the training run
                logger.exception("answer check failed on item %d", i)
                verdict, job = Verdict(False, "error"), None
            verdicts.append(verdict)
            if job is not None:
                jobs.setdefault(job, []).append(i)
        if jobs:
            results = self._get_pool().run(list(jobs), self.settings.timeout_s)
            for (correct, reason), ids in zip(results, jobs.values(), strict=True):
                for i in ids:
                    verdicts[i] = replace(verdicts[i], correct=correct, reason=reason)  # type: ignore[arg-type]
        with self._lock:
            self._counts.update(v.reason for v in verdicts)
            self._counts["math_verify"] += len(jobs)
            self._counts["fast"] += len(verdicts) - sum(len(ids) for ids in jobs.values())
        return verdicts

    def _get_pool(self) -> WorkerPool:
        with self._lock:
            if self._pool is None:
                s = self.settings
                self._pool = WorkerPool(
                    s.workers, memory_mb=s.memory_mb, startup_timeout_s=s.startup_timeout_s
                )
            return self._pool


def _decide_fast(gold: object, completion: object) -> tuple[Verdict, tuple[str, str] | None]:
    """The verdict when no math-verify is needed, else a provisional one plus the (gold, answer) job to run."""
    extraction = extract_answer(completion)
    gold_answer = extract_gold(gold)
    if gold_answer is None:
        return Verdict(None, "bad_gold", extraction.answer, extraction.source), None
    if extraction.answer is None:
        return Verdict(False, "no_answer"), None
    decided = fast_match(gold_answer, extraction.answer)
    if decided is None:
        job = (to_latex(gold_answer), to_latex(extraction.answer))
        return Verdict(False, "error", extraction.answer, extraction.source), job
    return Verdict(decided, "match" if decided else "mismatch", extraction.answer, extraction.source), None


# --------------------------------------------------------------------------------------------------------------------
# The process-wide default verifier (what the reward functions use)
# --------------------------------------------------------------------------------------------------------------------

_default: MathVerifier | None = None
_default_lock = threading.Lock()


def configure(
    *,
    timeout_s: float | None = None,
    workers: int | None = None,
    memory_mb: int | None = None,
    startup_timeout_s: float | None = None,
    reward_deadline_s: float | None = None,
) -> MathVerifier:
    """Replace the process-wide verifier used by `permix_plugins.math`; unset arguments come from the environment.

    Environment (see `VerifierSettings`): ``PERMIX_VERIFY_TIMEOUT`` (seconds, default 5), ``PERMIX_VERIFY_WORKERS``
    (default ``min(4, cpu count)``), ``PERMIX_VERIFY_MEMORY_MB`` (default 2048; 0 = no cap),
    ``PERMIX_VERIFY_STARTUP_TIMEOUT`` (seconds, default 60), ``PERMIX_REWARD_DEADLINE`` (seconds, default 120).

    Example:
        >>> configure(timeout_s=3, workers=1)
        MathVerifier(timeout_s=3.0, workers=1, memory_mb=2048)
        >>> default_verifier().settings.timeout_s
        3.0
        >>> _ = configure()  # back to the environment's settings
    """
    global _default
    settings = VerifierSettings.from_env(
        timeout_s=timeout_s,
        workers=workers,
        memory_mb=memory_mb,
        startup_timeout_s=startup_timeout_s,
        reward_deadline_s=reward_deadline_s,
    )
    new = MathVerifier.from_settings(settings)
    with _default_lock:
        old, _default = _default, new
    if old is not None:
        old.close()
    return new


def default_verifier() -> MathVerifier:
    """The process-wide verifier, created on first use from the environment (see `configure`)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = MathVerifier.from_settings(VerifierSettings.from_env())
    return _default


def _after_fork_in_child() -> None:
    # Locks may have been held by another thread at fork time; workers belong to the parent.
    global _default_lock
    _default_lock = threading.Lock()
    for verifier in list(_VERIFIERS):
        verifier._lock = threading.Lock()
        verifier._pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
