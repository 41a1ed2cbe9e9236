r"""MathVerifier: is a completion's final answer equal to the gold answer? Never raises, never hangs.

Two paths:

* **fast, in-process, exact** — `permix_plugins.exact.fast_match` decides closed-form numbers (integers, decimals,
  fractions, percent, units, powers, factorials, square roots, π) and plain text exactly, without SymPy or floats.
* **math-verify, in worker processes** — everything else (intervals, sets, tuples, expressions, equations, matrices).
  Workers are fresh interpreters (spawned, never forked), started on first need, warmed once and reused. Each job
  has a hard wall-clock limit: a worker that overruns is killed and replaced, and the item is scored ``timeout``.
  Each worker has an address-space cap (``RLIMIT_AS``) so a runaway expression ends there, not in the trainer's OOM.
  Workers receive and return only strings and booleans; no parsed expression is ever printed (``str()`` can hang).

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

import atexit
import contextlib
import logging
import multiprocessing
import multiprocessing.connection as mpc
import os
import signal
import subprocess
import sys
import threading
import time
import weakref
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from permix_plugins.answers import Source, extract_answer, extract_gold
from permix_plugins.errors import ConfigError
from permix_plugins.exact import fast_match, to_latex

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["MathVerifier", "Reason", "Verdict", "configure", "default_verifier"]

logger = logging.getLogger(__name__)

Reason = Literal["match", "mismatch", "no_answer", "bad_gold", "timeout", "error"]

DEFAULT_TIMEOUT_S = 5.0
DEFAULT_MEMORY_MB = 2048
DEFAULT_STARTUP_TIMEOUT_S = 60.0


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


# --------------------------------------------------------------------------------------------------------------------
# Slow path: math-verify in worker processes
# --------------------------------------------------------------------------------------------------------------------

_PKG_DIR = str(Path(__file__).resolve().parent)
# The worker loads this module under a stub package so that the package root (and its heavy re-exports) is never
# imported there: start-up is math-verify's import and nothing else. Fixed code, no user text.
_WORKER_BOOT = (
    "import sys, types\n"
    "sys.path[:] = [p for p in sys.path if p]\n"  # not the current directory: a stray math.py there would shadow
    "pkg = types.ModuleType('permix_plugins'); pkg.__path__ = [sys.argv[1]]; sys.modules['permix_plugins'] = pkg\n"
    "from permix_plugins.verifier import _worker_main\n"
    "_worker_main(int(sys.argv[2]), int(sys.argv[3]))\n"
)
_PARENT_CHECK_S = 5.0
_WARM_UP = (
    ("1", r"\frac{2}{2}"),
    ("x^2+2x+1", "(x+1)^2"),
    ("(1,2)", "(1,2]"),
    (r"\{1,2\}", r"\{2,1\}"),
    ("x=1", "2"),
)


def _math_verify_checker() -> Any:
    """Import math-verify (in the worker only) and return check(gold, pred) -> (correct, reason)."""
    from math_verify import LatexExtractionConfig, parse, verify

    # Timeouts are disabled on purpose (the parent kills us instead): silence math-verify's warning about that.
    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    config = [LatexExtractionConfig(boxed_match_priority=0)]

    def check(gold: str, pred: str) -> tuple[bool | None, str]:
        gold_parsed = parse("\\boxed{" + gold + "}", config, parsing_timeout=None)
        if not gold_parsed:
            return None, "bad_gold"
        pred_parsed = parse("\\boxed{" + pred + "}", config, parsing_timeout=None)
        if not pred_parsed:
            return False, "mismatch"
        correct = bool(verify(gold_parsed, pred_parsed, timeout_seconds=None))
        return correct, "match" if correct else "mismatch"

    return check


def _worker_main(fd: int, memory_mb: int) -> None:
    """Worker process loop: receive (job_id, gold, pred) strings, send back (job_id, correct, reason)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the trainer; the parent ends this process
    if memory_mb > 0:
        import resource

        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(
            resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard)
        )
    conn = mpc.Connection(fd)
    try:
        check = _math_verify_checker()
        check(*_WARM_UP[0])  # the grammar's first use is slow: pay it before saying ready
    except BaseException as exc:  # noqa: BLE001 - report any start-up failure to the parent, then exit
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", os.getpid()))
    for gold, pred in _WARM_UP[
        1:
    ]:  # SymPy's lazy imports (simplify, sets): after "ready", usually while idle
        with contextlib.suppress(BaseException):  # warming is best effort
            check(gold, pred)
    parent = os.getppid()
    while True:
        try:
            if not conn.poll(_PARENT_CHECK_S):
                if os.getppid() != parent:  # orphaned: the trainer died without closing us
                    return
                continue
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        job_id, gold, pred = job
        try:
            correct, reason = check(gold, pred)
        except MemoryError:
            conn.send((job_id, False, "error"))
            return  # the heap may be in a bad state: let a fresh worker replace this one
        except BaseException:  # noqa: BLE001 - includes math_verify.errors.TimeoutException (a BaseException)
            correct, reason = False, "error"
        conn.send((job_id, correct, reason))


class _Worker:
    """Parent-side handle of one worker process, talking over a socket pair."""

    def __init__(self, memory_mb: int) -> None:
        parent_conn, child_conn = multiprocessing.Pipe(duplex=True)
        try:
            fd = child_conn.fileno()
            self.proc = subprocess.Popen(
                [sys.executable, "-c", _WORKER_BOOT, _PKG_DIR, str(fd), str(memory_mb)],
                pass_fds=(fd,),
                stdin=subprocess.DEVNULL,
            )
        except BaseException:
            parent_conn.close()
            raise
        finally:
            child_conn.close()
        self.conn = parent_conn
        self.ready = False
        self.started = time.monotonic()

    def startup_problem(self) -> str | None:
        """Read a pending start-up message without blocking; the reason if the worker failed to start."""
        if self.ready:
            return None
        try:
            if not self.conn.poll(0):
                return None if self.proc.poll() is None else "worker exited during start-up"
            message = self.conn.recv()
        except (EOFError, OSError):
            return "worker exited during start-up"
        if message[0] == "ready":
            self.ready = True
            return None
        return str(message[1])

    def kill(self) -> None:
        for action in (self.proc.kill, self.conn.close):
            try:
                action()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            logger.warning("verifier worker %d did not exit after SIGKILL", self.proc.pid)

    def stop(self) -> None:
        try:
            self.conn.send(None)
            self.proc.wait(timeout=1)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            pass
        self.kill()


class _Pool:
    """Up to `size` warm workers shared by all threads of one process; a caller checks workers out and back in."""

    MAX_START_FAILURES = 3

    def __init__(self, size: int, memory_mb: int) -> None:
        self.size = size
        self.memory_mb = memory_mb
        self.pid = os.getpid()
        self.broken: str | None = None
        self.started = 0
        self.killed = 0
        self._cond = threading.Condition()
        self._idle: list[_Worker] = []
        self._live = 0
        self._failures = 0
        self._closed = False

    def _spawn(self) -> _Worker | None:
        if self.broken or self._closed:
            return None
        try:
            worker = _Worker(self.memory_mb)
        except OSError as exc:
            self._start_failed(f"{type(exc).__name__}: {exc}")
            return None
        self._live += 1
        self.started += 1
        return worker

    def _start_failed(self, message: str) -> None:
        self._failures += 1
        if self._failures >= self.MAX_START_FAILURES and not self.broken:
            self.broken = message
            logger.error(
                "math-verify workers cannot start (%s); non-trivial answers are scored 'error'", message
            )

    def acquire(self, want: int) -> list[_Worker]:
        """Check out up to `want` workers, warm ones first; waits while all are busy.

        The first call starts the whole pool, so replacements and later callers find warm workers.
        """
        dead: list[_Worker] = []
        with self._cond:
            while not (self._closed or self.broken):
                while self._live < self.size:
                    worker = self._spawn()
                    if worker is None:
                        break
                    self._idle.append(worker)
                for worker in list(self._idle):
                    problem = worker.startup_problem()
                    if problem is not None:
                        self._idle.remove(worker)
                        self._live -= 1
                        self._start_failed(problem)
                        dead.append(worker)
                    elif worker.ready:
                        self._failures = 0
                self._idle.sort(key=lambda w: w.ready)  # warm ones at the end, taken first
                taken = self._idle[len(self._idle) - min(want, len(self._idle)) :]
                del self._idle[len(self._idle) - len(taken) :]
                if taken:
                    break
                self._cond.wait(1.0)
            else:
                taken = []
        for worker in dead:
            worker.kill()
        return taken

    def release(self, workers: Sequence[_Worker]) -> None:
        dead = []
        with self._cond:
            for worker in workers:
                if not self._closed and worker.proc.poll() is None:
                    self._idle.append(worker)
                else:
                    self._live -= 1
                    dead.append(worker)
            self._cond.notify_all()
        for worker in dead:
            worker.kill()

    def replace(self, worker: _Worker, *, failed_start: str | None = None) -> _Worker | None:
        """Kill `worker` and start its replacement (which warms up while the caller goes on)."""
        worker.kill()
        with self._cond:
            self._live -= 1
            self.killed += 1
            if failed_start is not None:
                self._start_failed(failed_start)
            new = self._spawn()
            self._cond.notify_all()
        return new

    def mark_ready(self) -> None:
        with self._cond:
            self._failures = 0

    def close(self) -> None:
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._live -= len(idle)
            self._cond.notify_all()
        for worker in idle:
            worker.stop()


# --------------------------------------------------------------------------------------------------------------------
# The verifier
# --------------------------------------------------------------------------------------------------------------------

_VERIFIERS: weakref.WeakSet[MathVerifier] = weakref.WeakSet()
_EXITING = False


class MathVerifier:
    r"""Check final answers against golds: exact fast path, then math-verify in killable worker processes.

    Args:
        timeout_s: wall-clock limit for one math-verify job (parse + verify); an overrun scores ``timeout``.
        workers: worker processes (default ``min(4, cpu count)``), started lazily, only when math-verify is needed.
        memory_mb: address-space cap of each worker (``RLIMIT_AS``); ``0`` disables it.
        startup_timeout_s: how long a new worker may take to import and warm math-verify.

    Thread-safe; usable from threads, ``asyncio.to_thread``, spawned processes and Ray actors; picklable (the copy
    starts its own workers). `verify` and `verify_batch` never raise on model output.

    Example:
        >>> with MathVerifier(timeout_s=2, workers=1) as v:
        ...     [x.reason for x in v.verify_batch(["3", "3", "3"], [r"\boxed{3}", "I give up", r"\boxed{4}"])]
        ['match', 'no_answer', 'mismatch']
    """

    def __init__(
        self,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        workers: int | None = None,
        memory_mb: int = DEFAULT_MEMORY_MB,
        startup_timeout_s: float = DEFAULT_STARTUP_TIMEOUT_S,
    ) -> None:
        workers = min(4, os.cpu_count() or 1) if workers is None else workers
        if not (isinstance(timeout_s, (int, float)) and timeout_s > 0):
            raise ConfigError(f"timeout_s must be a number of seconds > 0, got {timeout_s!r}")
        if not (isinstance(workers, int) and workers >= 1):
            raise ConfigError(f"workers must be an integer >= 1, got {workers!r}")
        if not (isinstance(memory_mb, int) and (memory_mb == 0 or memory_mb >= 256)):
            raise ConfigError(f"memory_mb must be 0 (no cap) or an integer >= 256 (MiB), got {memory_mb!r}")
        if not (isinstance(startup_timeout_s, (int, float)) and startup_timeout_s > 0):
            raise ConfigError(f"startup_timeout_s must be a number of seconds > 0, got {startup_timeout_s!r}")
        self.timeout_s = float(timeout_s)
        self.workers = workers
        self.memory_mb = memory_mb
        self.startup_timeout_s = float(startup_timeout_s)
        self._init_state()

    def _init_state(self) -> None:
        self._lock = threading.Lock()
        self._pool: _Pool | None = None
        self._counts: Counter[str] = Counter()
        _VERIFIERS.add(self)

    def __repr__(self) -> str:
        return f"MathVerifier(timeout_s={self.timeout_s}, workers={self.workers}, memory_mb={self.memory_mb})"

    def __getstate__(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("timeout_s", "workers", "memory_mb", "startup_timeout_s")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_state()

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
        if pool is not None and pool.pid == os.getpid():
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
        pool = self._get_pool()
        workers = pool.acquire(self.workers) if pool is not None else []
        try:
            deadline = time.monotonic() + self.startup_timeout_s
            while time.monotonic() < deadline:
                for worker in [w for w in workers if not w.ready]:
                    problem = worker.startup_problem()
                    if problem is not None:
                        workers.remove(worker)
                        new = pool.replace(worker, failed_start=problem)  # type: ignore[union-attr]
                        workers.extend([new] if new is not None else [])
                starting = [w.conn for w in workers if not w.ready]
                if not starting:
                    break
                mpc.wait(starting, timeout=max(0.0, deadline - time.monotonic()))
        finally:
            if pool is not None:
                pool.release(workers)
        return sum(w.ready for w in workers)

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
        for i, (gold, completion) in enumerate(zip(golds, completions)):
            try:
                verdict, job = _decide_fast(gold, completion)
            except Exception:  # a bug of ours must cost one item, not the training run
                logger.exception("answer check failed on item %d", i)
                verdict, job = Verdict(False, "error"), None
            verdicts.append(verdict)
            if job is not None:
                jobs.setdefault(job, []).append(i)
        if jobs:
            keys = list(jobs)
            for key, (correct, reason) in zip(keys, self._run_jobs(keys)):
                for i in jobs[key]:
                    verdicts[i] = replace(verdicts[i], correct=correct, reason=reason)
        with self._lock:
            self._counts.update(v.reason for v in verdicts)
            self._counts["math_verify"] += len(jobs)
            self._counts["fast"] += len(verdicts) - sum(len(ids) for ids in jobs.values())
        return verdicts

    def _get_pool(self) -> _Pool | None:
        with self._lock:
            if self._pool is not None and self._pool.pid != os.getpid():
                self._pool = None  # inherited through fork: those workers belong to the parent
            if self._pool is None and not _EXITING:
                self._pool = _Pool(self.workers, self.memory_mb)
                _register_atexit()
            return self._pool

    def _run_jobs(self, jobs: list[tuple[str, str]]) -> list[tuple[bool | None, str]]:
        """Run (gold, pred) jobs over the pool with a hard per-job deadline; never raises."""
        results: list[tuple[bool | None, str] | None] = [None] * len(jobs)
        pool = self._get_pool()
        workers = pool.acquire(len(jobs)) if pool is not None else []
        busy: dict[_Worker, tuple[int, float]] = {}
        try:
            self._schedule(pool, workers, busy, jobs, results)  # type: ignore[arg-type]
        except Exception:
            logger.exception("verifier scheduling failed; remaining items are scored 'error'")
        finally:
            for worker in busy:
                worker.kill()  # mid-job after an internal error: its reply can no longer be trusted
            if pool is not None:
                pool.release(workers)
        return [r if r is not None else (False, "error") for r in results]

    def _schedule(
        self,
        pool: _Pool,
        workers: list[_Worker],
        busy: dict[_Worker, tuple[int, float]],
        jobs: list[tuple[str, str]],
        results: list[tuple[bool | None, str] | None],
    ) -> None:
        pending = deque(range(len(jobs)))

        def swap(worker: _Worker, failed_start: str | None = None) -> None:
            workers.remove(worker)
            new = pool.replace(worker, failed_start=failed_start)
            if new is not None:
                workers.append(new)

        while (pending or busy) and workers:
            now = time.monotonic()
            for worker in list(workers):
                if worker.ready and worker not in busy and pending:
                    if worker.proc.poll() is not None:  # died while idle (e.g. killed by the OS)
                        swap(worker)
                        continue
                    i = pending.popleft()
                    try:
                        worker.conn.send((i, *jobs[i]))
                    except (OSError, ValueError):
                        pending.appendleft(i)
                        swap(worker)
                        continue
                    busy[worker] = (i, now + self.timeout_s)
            waiting = [w for w in workers if w in busy or not w.ready]
            if not waiting:
                continue
            deadlines = [d for _, d in busy.values()] + [
                w.started + self.startup_timeout_s for w in waiting if not w.ready
            ]
            by_conn = {w.conn: w for w in waiting}
            for conn in mpc.wait(list(by_conn), timeout=max(0.0, min(deadlines) - now)):
                worker = by_conn[conn]
                try:
                    message = conn.recv()
                except (EOFError, OSError):
                    message = None
                if message is None:  # the process died (memory cap, crash)
                    if worker in busy:
                        results[busy.pop(worker)[0]] = (False, "error")
                        logger.warning("verifier worker %d died on a job; replaced", worker.proc.pid)
                        swap(worker)
                    else:
                        swap(worker, failed_start="worker exited during start-up")
                elif message[0] == "ready":
                    worker.ready = True
                    pool.mark_ready()
                elif message[0] == "failed":
                    swap(worker, failed_start=str(message[1]))
                else:
                    job_id, correct, reason = message
                    busy.pop(worker, None)
                    results[job_id] = (correct, reason)
                    if reason == "error":  # e.g. MemoryError: the worker exits; do not hand it another job
                        swap(worker)
            now = time.monotonic()
            for worker, (i, deadline) in list(busy.items()):
                if now >= deadline:
                    del busy[worker]
                    results[i] = (False, "timeout")
                    gold, pred = jobs[i]
                    logger.warning(
                        "math-verify exceeded %.1fs on gold %r vs answer %r; worker killed and replaced",
                        self.timeout_s, gold[:200], pred[:200],
                    )  # fmt: skip
                    swap(worker)
            for worker in [w for w in workers if not w.ready and now >= w.started + self.startup_timeout_s]:
                swap(worker, failed_start=f"no ready signal within {self.startup_timeout_s:.0f}s")


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
_atexit_registered = False


def _env_number(name: str, kind: type) -> Any:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return None
    try:
        return kind(raw)
    except ValueError:
        raise ConfigError(f"environment variable {name}={raw!r} is not a valid {kind.__name__}") from None


def _from_environment(**overrides: Any) -> MathVerifier:
    options = {
        "timeout_s": _env_number("PERMIX_VERIFY_TIMEOUT", float),
        "workers": _env_number("PERMIX_VERIFY_WORKERS", int),
        "memory_mb": _env_number("PERMIX_VERIFY_MEMORY_MB", int),
    }
    options.update({k: v for k, v in overrides.items() if v is not None})
    return MathVerifier(**{k: v for k, v in options.items() if v is not None})


def configure(
    *, timeout_s: float | None = None, workers: int | None = None, memory_mb: int | None = None
) -> MathVerifier:
    """Replace the process-wide verifier used by `permix_plugins.math`; unset arguments come from the environment.

    Environment: ``PERMIX_VERIFY_TIMEOUT`` (seconds, default 5), ``PERMIX_VERIFY_WORKERS`` (default
    ``min(4, cpu count)``), ``PERMIX_VERIFY_MEMORY_MB`` (default 2048; 0 = no cap).

    Example:
        >>> configure(timeout_s=3, workers=1)
        MathVerifier(timeout_s=3.0, workers=1, memory_mb=2048)
    """
    global _default
    new = _from_environment(timeout_s=timeout_s, workers=workers, memory_mb=memory_mb)
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
                _default = _from_environment()
    return _default


def _register_atexit() -> None:
    global _atexit_registered
    if not _atexit_registered:
        _atexit_registered = True
        atexit.register(_shutdown_all)


def _shutdown_all() -> None:
    global _EXITING
    _EXITING = True
    for verifier in list(_VERIFIERS):
        verifier.close()


def _after_fork_in_child() -> None:
    # Locks may have been held by another thread at fork time; workers belong to the parent.
    global _default_lock
    _default_lock = threading.Lock()
    for verifier in list(_VERIFIERS):
        verifier._lock = threading.Lock()
        verifier._pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
