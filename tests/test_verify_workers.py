"""The worker pool behind MathVerifier (`permix_plugins.verify_workers`): stuck, killed and dead workers are
replaced, the memory cap, workers that cannot start, fork, its imports, and verdicts under stress in every calling
context (main thread, worker thread, asyncio, spawned process, Ray actor)."""

from __future__ import annotations

import ast
import asyncio
import concurrent.futures
import json
import multiprocessing
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from verifier_setup import SLOW, TIMEOUT_S, TOWER

import permix_plugins.verify_workers as workers_module
from permix_plugins.verifier import MathVerifier, Verdict

HANG_GUARD_S = 120  # turns a hang into a failure; not a speed limit (the calls it guards end in ~TIMEOUT_S)


def test_stuck_worker_is_killed_and_replaced(verifier, caplog):
    killed = verifier.stats()["workers_killed"]
    tower, slow = verifier.verify_batch(["1", SLOW[0]], [TOWER, SLOW[1]])
    assert tower == Verdict(False, "timeout", TOWER[len(r"\boxed{") : -1], "boxed")
    assert slow.reason == "match"  # the other worker's job is untouched
    assert verifier.stats()["workers_killed"] == killed + 1
    assert f"exceeded {TIMEOUT_S:.1f}s on gold '1' vs answer" in caplog.text
    assert verifier.verify(*SLOW).reason == "match"  # the next call still works


def test_worker_killed_mid_job_scores_error_and_is_replaced(verifier):
    verifier.warm_up()
    pids = worker_pids(verifier)
    result: list[Verdict] = []
    thread = threading.Thread(target=lambda: result.append(verifier.verify("2", TOWER)))
    thread.start()
    busy: list[int] = []
    for _ in range(40):  # the worker that took the job is checked out of the idle list
        time.sleep(0.05)
        busy = sorted(set(pids) - set(worker_pids(verifier)))
        if busy:
            break
    assert busy, "one worker should be busy with the tower"
    os.kill(busy[0], signal.SIGKILL)
    thread.join(HANG_GUARD_S)
    assert result[0].reason == "error"
    assert verifier.verify(*SLOW).reason == "match"


def test_worker_dead_while_idle_is_replaced(verifier):
    assert verifier.warm_up() == 2
    killed = verifier.stats()["workers_killed"]
    for worker in list(verifier._pool._idle):
        os.kill(worker.proc.pid, signal.SIGKILL)
        worker.proc.wait()
    assert verifier.verify(*SLOW).reason == "match"
    assert verifier.stats()["workers_killed"] == killed + 1  # found dead when checked out, replaced


def test_memory_cap():
    with MathVerifier(timeout_s=TIMEOUT_S, workers=1, memory_mb=512) as capped:
        capped.warm_up()
        (pid,) = worker_pids(capped)
        limits = Path(f"/proc/{pid}/limits").read_text()
        assert any(
            line.startswith("Max address space") and "536870912" in line for line in limits.splitlines()
        )
        parent_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        verdict = capped.verify("1", r"\boxed{2^{2^{36}}}")  # 8 GiB integer: stopped by the cap or the clock
        assert verdict.reason in ("error", "timeout")
        grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - parent_peak
        assert grown_kib < 100_000  # the parent is unaffected
        assert capped.verify(*SLOW).reason == "match"


@pytest.mark.parametrize(
    ("boot", "startup_timeout_s", "problem"),
    [
        # an exit or a failed import is seen at once (a fallback to the start-up deadline would say so)
        ("raise SystemExit(3)", 60, "exited during start-up"),
        (
            "import sys; sys.modules['math_verify'] = None\n" + workers_module._BOOT,
            60,
            "ModuleNotFoundError: import",
        ),
        ("import time; time.sleep(600)", 1, "gave no ready signal within 1s"),
    ],
    ids=["exits", "import-fails", "silent"],
)
def test_workers_that_cannot_start_give_errors_not_hangs(
    monkeypatch, caplog, boot, startup_timeout_s, problem
):
    monkeypatch.setattr(workers_module, "_BOOT", boot)
    with MathVerifier(timeout_s=TIMEOUT_S, workers=1, startup_timeout_s=startup_timeout_s) as broken:
        assert [v.reason for v in broken.verify_batch([SLOW[0], "1"], [SLOW[1], "1"])] == ["error", "match"]
        assert broken.verify(*SLOW).reason == "error"
        assert broken.warm_up() == 0
        started = broken.stats()["workers_started"]
        assert started == workers_module.WorkerPool.MAX_START_FAILURES  # and none after the pool broke
    assert f"math-verify workers cannot start ({problem}" in caplog.text


def test_fork_child_starts_its_own_workers(verifier):
    assert verifier.warm_up() == 2
    parent_pids = set(worker_pids(verifier))
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child uses the verifier it inherited, then leaves without pytest's teardown
        status = 1
        try:
            reason = verifier.verify(*SLOW).reason
            os.write(write_end, json.dumps([reason, worker_pids(verifier)]).encode())
            verifier.close()
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        reason, child_pids = json.loads(pipe.read())
    assert os.waitpid(pid, 0)[1] == 0
    assert reason == "match"
    assert child_pids and not set(child_pids) & parent_pids  # its own workers
    assert set(worker_pids(verifier)) == parent_pids  # and the parent's are untouched
    assert verifier.verify(*SLOW).reason == "match"


def test_worker_pool_imports_only_the_standard_library_and_math_verify():
    # as a worker loads it: under a stub package, after math-verify (whose own imports are not ours)
    package_dir = str(Path(workers_module.__file__).parent)
    code = (
        "import json, sys, types, math_verify\n"
        f"pkg = types.ModuleType('permix_plugins'); pkg.__path__ = [{package_dir!r}]; sys.modules['permix_plugins'] = pkg\n"
        "before = set(sys.modules)\n"
        "import permix_plugins.verify_workers\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    standard = {*sys.stdlib_module_names, "__mp_main__"}  # multiprocessing's alias of __main__
    loaded = json.loads(subprocess_output(code))
    assert [m for m in loaded if m.split(".")[0] not in standard] == ["permix_plugins.verify_workers"]
    tree = ast.parse(Path(workers_module.__file__).read_text())  # the imports inside functions too
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {
        n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module and not n.level
    }
    assert {m.split(".")[0] for m in imported} - set(sys.stdlib_module_names) == {"math_verify"}


# --- stress: pathological inputs in every calling context -----------------------------------------------------------

NESTED = r"\boxed{" + "1+\\frac{1}{" * 200 + "1" + "}" * 200 + "}"
STRESS = [
    # (name, gold, completion, expected reason); hangs are spaced out so that a replacement worker has time to warm
    ("power tower", "1", TOWER, "timeout"),
    ("200k chars", "42", "Let me think. " * 15_000 + r"\boxed{42}", "match"),
    ("200k chars, no answer", "42", "x" * 200_000, "no_answer"),
    ("200-level nested fraction", "1", NESTED, "mismatch"),
    ("unbalanced braces", "3", r"}}}\boxed{3}{{{", "match"),
    ("unclosed box", "3", r"The answer is \boxed{\frac{1}{2}", "no_answer"),
    ("null bytes", "7", "\x00" * 1000 + r"\boxed{7}" + "\x00", "match"),
    ("empty completion", "7", "", "no_answer"),
    ("empty gold", "", r"\boxed{7}", "bad_gold"),
    ("10k-digit number", "9", r"\boxed{" + "9" * 10_000 + "}", "mismatch"),
    ("brace flood", "1", "{" * 200_000, "no_answer"),
    ("2^{10^8}", "3^{10^8}", r"\boxed{2^{10^8}}", "timeout"),
    ("radical after the hangs", *SLOW, "match"),
]


def run_stress(timeout_s: float) -> tuple[list[tuple[str, bool | None, str]], dict[str, int]]:
    """Run STRESS through a fresh verifier: (name, correct, reason) per input, and the verifier's counts."""
    with MathVerifier(timeout_s=timeout_s, workers=2) as fresh:
        fresh.warm_up()
        rows = []
        for name, gold, completion, _ in STRESS:
            verdict = fresh.verify(gold, completion)
            rows.append((name, verdict.correct, verdict.reason))
        return rows, fresh.stats()


def in_thread(timeout_s: float) -> tuple:
    out: list = []
    thread = threading.Thread(target=lambda: out.append(run_stress(timeout_s)))
    thread.start()
    thread.join(HANG_GUARD_S)
    assert not thread.is_alive(), "the verifier hung in a worker thread"
    return out[0]


def in_asyncio(timeout_s: float) -> tuple:
    async def main() -> tuple:
        return await asyncio.to_thread(run_stress, timeout_s)

    return asyncio.run(main())


def in_spawned_process(timeout_s: float) -> tuple:
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        return pool.submit(run_stress, timeout_s).result(timeout=HANG_GUARD_S)


@pytest.fixture(scope="module")
def main_thread_result():
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = run_stress(TIMEOUT_S)
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak
    return result, grown_kib


def check_stress(result: tuple) -> None:
    rows, stats = result
    assert [(name, reason) for name, _, reason in rows] == [(name, reason) for name, _, _, reason in STRESS]
    timeouts = sum(reason == "timeout" for *_, reason in STRESS)
    # each overrun killed its worker, and nothing else did
    assert stats["timeout"] == stats["workers_killed"] == timeouts
    assert stats.get("error", 0) == 0


@pytest.mark.slow
def test_stress_main_thread(main_thread_result):
    result, grown_kib = main_thread_result
    check_stress(result)
    assert grown_kib < 150_000  # bounded memory in the caller's process


@pytest.mark.slow
@pytest.mark.parametrize("context", [in_thread, in_asyncio, in_spawned_process], ids=lambda f: f.__name__)
def test_stress_same_verdicts_in_every_context(context, main_thread_result):
    result = context(TIMEOUT_S)
    check_stress(result)
    assert result == main_thread_result[0]


@pytest.fixture(scope="module")
def ray_session():
    ray = pytest.importorskip("ray")
    repo, tests = str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)
    ray.init(
        num_cpus=1,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join([repo, tests]), "HF_HUB_OFFLINE": "1"}},
    )
    yield ray
    ray.shutdown()


@pytest.mark.slow
def test_stress_in_a_ray_actor(ray_session, main_thread_result):
    ray = ray_session

    # a threaded actor: methods run off the main thread, as in verl's reward workers
    @ray.remote(max_concurrency=2)
    class Scorer:
        def stress(self, timeout_s: float) -> tuple:
            return run_stress(timeout_s)

    result = ray.get(Scorer.remote().stress.remote(TIMEOUT_S), timeout=HANG_GUARD_S)
    check_stress(result)
    assert result == main_thread_result[0]


def subprocess_output(code: str) -> str:

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout


def worker_pids(v: MathVerifier) -> list[int]:
    """The pids of the idle workers (a checked-out one is busy)."""
    pool = v._pool
    return [] if pool is None else [w.proc.pid for w in pool._idle]
