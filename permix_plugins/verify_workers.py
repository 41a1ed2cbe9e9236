"""The verifier's worker pool: math-verify in reused worker processes, each job under a hard wall-clock deadline.

This module imports only the standard library (and math-verify, inside the workers): a worker loads it alone, so
its start-up is math-verify's import and nothing else.

Workers are fresh interpreters (spawned, never forked), started on first need, warmed once and reused by every
thread of the process. A caller checks workers out, drives its jobs over them and checks them back in. Whatever
ends a worker (it cannot start, dies idle or mid-job, hits its address-space cap, overruns a job's deadline) is
handled in one place, `_Lease._fail`: the job is scored, the process killed and a replacement started. Workers
receive and return only strings and booleans; no parsed expression is ever printed (``str()`` can hang).

Example:
    >>> pool = WorkerPool(1, memory_mb=2048, startup_timeout_s=60)
    >>> pool.run([("x^2+2x+1", "(x+1)^2"), ("(1,2]", "(1,2)"), ("", "1")], timeout_s=5)
    [(True, 'match'), (False, 'mismatch'), (None, 'bad_gold')]
    >>> pool.close()
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import math
import multiprocessing
import multiprocessing.connection as mpc
import os
import signal
import subprocess
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["Result", "WorkerPool"]

logger = logging.getLogger(__name__)

Result = tuple[bool | None, str]  # (correct, reason code); correct is None for a gold math-verify cannot read

# --------------------------------------------------------------------------------------------------------------------
# Inside a worker process
# --------------------------------------------------------------------------------------------------------------------

_PKG_DIR = str(Path(__file__).resolve().parent)
# A worker loads this module under a stub package so that the package root (and its heavy re-exports) is never
# imported there. Fixed code, no user text.
_BOOT = (
    "import sys, types\n"
    "sys.path[:] = [p for p in sys.path if p]\n"  # not the current directory: a stray math.py there would shadow
    "pkg = types.ModuleType('permix_plugins'); pkg.__path__ = [sys.argv[1]]; sys.modules['permix_plugins'] = pkg\n"
    "from permix_plugins.verify_workers import _worker_main\n"
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
    # SymPy's lazy imports (simplify, sets) too: no job's time limit may pay for them
    for gold, pred in _WARM_UP[1:]:
        with contextlib.suppress(BaseException):  # warming is best effort
            check(gold, pred)
    conn.send(("ready", os.getpid()))
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


# --------------------------------------------------------------------------------------------------------------------
# In the parent
# --------------------------------------------------------------------------------------------------------------------


class _Worker:
    """Parent-side handle of one worker process, talking over a socket pair."""

    def __init__(self, memory_mb: int, startup_timeout_s: float) -> None:
        parent_conn, child_conn = multiprocessing.Pipe(duplex=True)
        try:
            fd = child_conn.fileno()
            self.proc = subprocess.Popen(
                [sys.executable, "-c", _BOOT, _PKG_DIR, str(fd), str(memory_mb)],
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
        # the job in flight: an index into the batch of the caller that checked the worker out
        self.job: int | None = None
        self.deadline = time.monotonic() + startup_timeout_s  # of the start-up, then of the job in flight

    @property
    def awaited(self) -> bool:
        """Starting up or running a job: a message (or its deadline) is due."""
        return self.job is not None or not self.ready

    def kill(self) -> None:
        for action in (self.proc.kill, self.conn.close):
            with contextlib.suppress(OSError):
                action()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            logger.warning("verifier worker %d did not exit after SIGKILL", self.proc.pid)

    def stop(self) -> None:
        with contextlib.suppress(OSError, ValueError, subprocess.TimeoutExpired):
            self.conn.send(None)
            self.proc.wait(timeout=1)
        self.kill()


class WorkerPool:
    """Up to `size` warm math-verify workers shared by all threads of the process that created it.

    `run` never raises and never hangs: a job scores ``timeout`` past its deadline and ``error`` when its worker
    dies or no worker can start (three start-ups failing in a row break the pool for good).
    """

    MAX_START_FAILURES = 3

    def __init__(self, size: int, *, memory_mb: int, startup_timeout_s: float) -> None:
        self.size = size
        self.memory_mb = memory_mb
        self.startup_timeout_s = startup_timeout_s
        self.pid = os.getpid()
        self.broken: str | None = None  # why no worker can start, once MAX_START_FAILURES happened in a row
        self.started = 0
        self.killed = 0
        self._cond = threading.Condition()
        self._idle: list[_Worker] = []
        self._live = 0  # idle plus checked out
        self._start_failures = 0  # in a row
        self._closed = False
        _POOLS.add(self)
        _register_atexit()

    def run(self, jobs: Sequence[tuple[str, str]], timeout_s: float) -> list[Result]:
        """Score (gold, pred) LaTeX pairs with math-verify in parallel, each within `timeout_s`; never raises."""
        lease = _Lease(self, jobs, timeout_s)
        if jobs:
            self._drive(lease, len(jobs), until=math.inf)
        return [r if r is not None else (False, "error") for r in lease.results]

    def warm_up(self) -> int:
        """Start every worker and wait until they are warm (at most `startup_timeout_s`); how many are."""
        lease = _Lease(self, (), 0.0)
        self._drive(lease, self.size, until=time.monotonic() + self.startup_timeout_s)
        return sum(w.ready for w in lease.workers)

    def close(self) -> None:
        """Stop the idle workers; checked-out ones are stopped when returned. A closed pool scores ``error``."""
        if self.pid != os.getpid():
            return  # inherited through fork: those workers belong to the parent
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._live -= len(idle)
            self._cond.notify_all()
        for worker in idle:
            worker.stop()

    def _drive(self, lease: _Lease, want: int, until: float) -> None:
        try:
            lease.workers = self._check_out(want)
            lease.drive(until)
        except Exception:  # a bug of ours must cost this batch, not the training run
            logger.exception("verifier worker pool failed; the batch's remaining items are scored 'error'")
        finally:
            for worker in [w for w in lease.workers if w.job is not None]:
                lease._fail(worker, "was abandoned mid-job")  # its reply can no longer be trusted
            self._check_in(lease.workers)

    def _check_out(self, want: int) -> list[_Worker]:
        """Up to `want` workers, warm ones first; waits while all are checked out. Starts the whole pool at once,
        so that later callers and replacements find warm workers."""
        with self._cond:
            while not (self._closed or self.broken or _exiting):
                while self._live < self.size and (worker := self._spawn()) is not None:
                    self._idle.append(worker)
                if self._idle:
                    self._idle.sort(key=lambda w: w.ready)  # warm ones at the end, taken first
                    taken = self._idle[-min(want, len(self._idle)) :]
                    del self._idle[-len(taken) :]
                    return taken
                self._cond.wait(1.0)
        return []

    def _check_in(self, workers: list[_Worker]) -> None:
        with self._cond:
            closed = self._closed
            if closed:
                self._live -= len(workers)
            else:
                self._idle.extend(workers)  # a dead one is found (and replaced) when next checked out
            self._cond.notify_all()
        if closed:
            for worker in workers:
                worker.kill()

    def _replace(self, worker: _Worker) -> _Worker | None:
        """Kill `worker` and start its replacement, which warms up while the caller goes on."""
        worker.kill()
        with self._cond:
            self._live -= 1
            self.killed += 1
            new = self._spawn()
            self._cond.notify_all()
        return new

    def _spawn(self) -> _Worker | None:
        if self.broken or self._closed or _exiting:
            return None
        try:
            worker = _Worker(self.memory_mb, self.startup_timeout_s)
        except OSError as exc:
            self._count_start(f"{type(exc).__name__}: {exc}")
            return None
        self._live += 1
        self.started += 1
        return worker

    def _count_start(self, problem: str | None) -> None:
        """Record a start-up that succeeded (`problem` None) or failed; too many failures in a row break the pool."""
        with self._cond:
            self._start_failures = 0 if problem is None else self._start_failures + 1
            if self._start_failures >= self.MAX_START_FAILURES and not self.broken:
                self.broken = problem
                logger.error(
                    "math-verify workers cannot start (%s); non-trivial answers are scored 'error'", problem
                )


class _Lease:
    """The workers one caller checked out and its batch of jobs: dispatch, collect, enforce deadlines."""

    def __init__(self, pool: WorkerPool, jobs: Sequence[tuple[str, str]], timeout_s: float) -> None:
        self.pool = pool
        self.jobs = jobs
        self.timeout_s = timeout_s
        self.workers: list[_Worker] = []
        self.pending = deque(range(len(jobs)))
        self.results: list[Result | None] = [None] * len(jobs)

    def drive(self, until: float) -> None:
        """Run until every job has a result, or (with no jobs, warming up) every worker is ready, or `until`."""
        while time.monotonic() < until:
            self._dispatch()
            awaited = [w for w in self.workers if w.awaited]
            if not (awaited and self._unfinished()):
                return
            by_conn = {w.conn: w for w in awaited}
            first_deadline = min(until, *(w.deadline for w in awaited))
            for conn in mpc.wait(list(by_conn), timeout=max(0.0, first_deadline - time.monotonic())):
                self._receive(by_conn[conn])
            now = time.monotonic()
            for worker in [w for w in self.workers if w.awaited and now >= w.deadline]:
                if worker.job is not None:
                    self._fail(worker, f"exceeded {self.timeout_s:.1f}s", outcome="timeout")
                else:
                    self._fail(worker, f"gave no ready signal within {self.pool.startup_timeout_s:.0f}s")

    def _unfinished(self) -> bool:
        if not self.jobs:  # warming up
            return not all(w.ready for w in self.workers)
        return bool(self.pending) or any(w.job is not None for w in self.workers)

    def _dispatch(self) -> None:
        for worker in [w for w in self.workers if w.ready and w.job is None]:
            if worker.proc.poll() is not None:  # e.g. killed by the OS while idle
                self._fail(worker, "exited while idle")
                continue
            if not self.pending:
                continue
            i = self.pending[0]
            try:
                worker.conn.send((i, *self.jobs[i]))
            except (OSError, ValueError):
                self._fail(worker, "could not be reached")
                continue
            self.pending.popleft()
            worker.job, worker.deadline = i, time.monotonic() + self.timeout_s

    def _receive(self, worker: _Worker) -> None:
        try:
            message = worker.conn.recv()
        except (EOFError, OSError):  # the process died (memory cap, crash)
            self._fail(worker, "died" if worker.job is not None else "exited during start-up")
            return
        if message[0] == "ready":
            worker.ready = True
            self.pool._count_start(None)
        elif message[0] == "failed":
            self._fail(worker, str(message[1]))
        elif worker.job is not None:
            _, correct, reason = message
            self.results[worker.job] = (correct, reason)
            worker.job = None
            if reason == "error":  # e.g. MemoryError: the worker exits; do not hand it another job
                self._fail(worker, "reported an error")

    def _fail(self, worker: _Worker, problem: str, *, outcome: str = "error") -> None:
        """The one place a worker's failure is handled: its job scores `outcome`, the process is killed and
        replaced, and a failure before "ready" counts toward breaking the pool."""
        if worker.job is not None:
            self.results[worker.job] = (False, outcome)
            gold, pred = self.jobs[worker.job]
            logger.warning(
                "math-verify worker %d %s on gold %r vs answer %r (scored %r); killed and replaced",
                worker.proc.pid, problem, gold[:200], pred[:200], outcome,
            )  # fmt: skip
            worker.job = None
        if not worker.ready:
            self.pool._count_start(problem)
        self.workers.remove(worker)
        new = self.pool._replace(worker)
        if new is not None:
            self.workers.append(new)


# --------------------------------------------------------------------------------------------------------------------
# Process lifetime: stop every pool's workers at exit, start none after
# --------------------------------------------------------------------------------------------------------------------

_POOLS: weakref.WeakSet[WorkerPool] = weakref.WeakSet()
_exiting = False
_atexit_registered = False


def _register_atexit() -> None:
    global _atexit_registered
    if not _atexit_registered:
        _atexit_registered = True
        atexit.register(_close_all)


def _close_all() -> None:
    global _exiting
    _exiting = True
    for pool in list(_POOLS):
        pool.close()
