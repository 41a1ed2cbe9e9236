"""MathVerifier: the golden table, the exact fast path, worker isolation, and verdicts under stress in every context."""

from __future__ import annotations

import ast
import asyncio
import concurrent.futures
import doctest
import json
import logging
import multiprocessing
import os
import pickle
import resource
import signal
import sys
import threading
import time
import tracemalloc
from fractions import Fraction
from pathlib import Path

import pytest
from golden_cases import CASES, Case

import permix_plugins.verifier as verifier_module
import permix_plugins.verify_workers as workers_module
from permix_plugins.errors import ConfigError
from permix_plugins.exact import _exact_value, fast_match
from permix_plugins.verifier import MathVerifier, Verdict, VerifierSettings, configure, default_verifier

TIMEOUT_S = 2.0
SLOW = ("x^2+2x+1", r"\boxed{(x+1)^2}")  # needs math-verify (not decidable by the fast path)
TOWER = r"\boxed{\dfrac{5^{(5^{(5^{(5^5)})}-4)}-5}{16}}"  # math-verify hangs on it (Math-Verify #65)
HANG_GUARD_S = 120  # turns a hang into a failure; not a speed limit (the calls it guards end in ~TIMEOUT_S)


@pytest.fixture(scope="module")
def verifier():
    with MathVerifier(timeout_s=TIMEOUT_S, workers=2) as warm:
        assert warm.warm_up() == 2
        yield warm


# --- the golden table ----------------------------------------------------------------------------------------------


def test_golden_table_covers_the_issue():
    assert len(CASES) >= 150
    categories = {case.category for case in CASES}
    assert {"integer", "negative", "decimal", "fraction", "radical", "pi", "interval", "tuple", "set", "text",
            "choice", "percent", "unit", "thousands", "hash", "persona", "boxes", "near_miss"} <= categories  # fmt: skip
    assert all(case.note for case in CASES if case.ours_differs), (
        "every deviation from the truth is explained"
    )


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_golden_case(verifier, case: Case):
    verdict = verifier.verify(case.gold, case.completion)
    assert verdict.correct == case.expected, (verdict, case.note)
    if case.reason is not None:
        assert verdict.reason == case.reason
    assert verdict.reason not in ("timeout", "error")


def test_math_verify_wrong_flags():
    """Re-derive `math_verify_wrong`: raw math-verify (default configs, bare golds in $…$) against the truth."""
    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    from math_verify import parse, verify

    for case in CASES:
        if case.truth is None:
            continue
        gold = case.gold
        if isinstance(gold, str) and not any(marker in gold for marker in ("$", "\\boxed", "####")):
            gold = f"${gold}$"
        raw = bool(verify(parse(str(gold), parsing_timeout=None), parse(case.completion, parsing_timeout=None),
                          timeout_seconds=None))  # fmt: skip
        assert (raw != case.truth) == case.math_verify_wrong, case


# --- the fast path ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gold", "pred", "expected"),
    [
        ("72", "72.0", True),
        ("1000", r"\$1{,}000", True),
        ("1000", "1 000", True),  # spaces removed for identity
        ("1,2", "12", False),  # not a thousands separator: a decimal comma
        ("0.25", r"25\%", True),
        ("25", "25 percent", True),
        ("0.4", r"4\%", False),
        (r"25\%", r"0.25\%", False),  # both percent: the numbers compare
        ("5000000", r"5\text{ million}", True),
        ("24", "2 dozen", True),
        ("5", r"5\text{ million}", False),
        ("5", "5 apples", True),
        ("2", "2 pi", None),  # not a unit
        (r"\frac{7}{2}", r"3\frac{1}{2}", True),  # mixed number
        (r"\frac{1}{2^{99}}", r"\frac{1}{2^{98}}", False),
        (r"\frac{1}{2004!}", r"\frac{1}{2006!}", False),
        ("-4", "-2^2", True),  # precedence: -(2^2)
        ("0.5", "2^-1", True),
        ("5", "x = 5", True),  # an assignment in the prediction
        ("x = 5", "5", True),  # ... and in the gold: against a bare value, the value side counts
        ("B", "(B) 42", True),
        ("B", "b", True),
        ("B", "C", False),
        ("Monday", "monday", True),
        ("Monday", "Tuesday", False),
        (r"2\sqrt{2}", r"\sqrt8", True),  # surds are exact: square-free radicands
        (r"\frac{\sqrt{3}}{2}", r"\frac{1}{2}\sqrt{3}", True),
        (r"2+\sqrt{3}", r"\sqrt{3}+2", True),
        (r"\sqrt{2}", "1.414", False),
        (r"\frac{\pi}{3}", r"\frac13\pi", True),  # pi is a basis element, not 3.14159...
        (r"\pi", "3.14", False),
        (r"\sqrt[3]{2}", r"2^{1/3}", None),
        ("2^{10^8}", "3^{10^8}", None),  # too big to evaluate here: math-verify (in a worker) decides
        ("1", "1/0", None),
        ("", "1", None),
    ],
)
def test_fast_match(gold, pred, expected):
    assert fast_match(gold, pred) is expected


def test_exact_values():
    assert _exact_value(r"-\$1{,}000.") == ({(1, 0): Fraction(-1000)}, False)
    assert _exact_value(r"12.5\%") == ({(1, 0): Fraction(25, 2)}, True)
    sqrt12 = _exact_value(r"\frac{\sqrt{12}}{3}\pi^2")  # sqrt 12 = 2 sqrt 3
    assert sqrt12 == ({(3, 2): Fraction(2, 3)}, False)
    assert _exact_value(r"\frac{1}{\sqrt{2}}") == ({(2, 0): Fraction(1, 2)}, False)
    assert _exact_value(r"(1+\sqrt{2})^2") == ({(1, 0): Fraction(3), (2, 0): Fraction(2)}, False)
    for undecided in (
        r"\sqrt[3]{2}",
        r"\frac{1}{1+\sqrt{2}}",
        r"\sqrt{-1}",
        r"\sqrt{\pi}",
        "x+1",
        r"1/2\sqrt{3}",
        "e^2",
    ):
        assert _exact_value(undecided) is None, undecided


def test_exact_value_bounds_refuse_before_computing():
    nested = "1+\\frac{1}{" * 200 + "1" + "}" * 200  # a 200-level continued fraction: exact, no recursion
    assert _exact_value(nested) == ({(1, 0): Fraction(fib(202), fib(201))}, False)
    for huge in ("2^{10^8}", "10^{10^{10}}", "9^{9^{9^{9}}}", "99999!", "(2^{60000})^{60000}", "2" * 5000 + "^{99}",
                 r"\sqrt{" + "9" * 30 + "}", r"\pi^{100}", "(1+\\sqrt{2})^{100}"):  # fmt: skip
        tracemalloc.start()
        try:
            assert _exact_value(huge) is None, huge
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        # refused from the exponent's size, before building the number: 99999! alone would be ~190 kB
        assert peak < 150_000, (huge, peak)


def fib(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


# --- behaviour of the verifier ---------------------------------------------------------------------------------------


def test_verdict_fields(verifier):
    assert verifier.verify("72", r"so \boxed{72}") == Verdict(True, "match", "72", "boxed")
    assert verifier.verify("72", "#### 71") == Verdict(False, "mismatch", "71", "hash")
    assert verifier.verify("72", "no idea") == Verdict(False, "no_answer", None, "none")
    assert verifier.verify("", r"\boxed{72}") == Verdict(None, "bad_gold", "72", "boxed")
    assert verifier.verify(*SLOW) == Verdict(True, "match", "(x+1)^2", "boxed")


def test_never_raises_on_odd_inputs(verifier):
    odd = [None, 42, b"\\boxed{1}", {"content": 1}, ["x"], "\x00", "\ud800"]
    for verdict in verifier.verify_batch(["1"] * len(odd), odd):
        assert verdict.reason == "no_answer"
    assert verifier.verify(["1"], "1").reason == "bad_gold"


def test_batch_equals_single_and_runs_duplicates_once(verifier):
    golds = [SLOW[0], "3", "[1,2)", SLOW[0], SLOW[0]]
    completions = [SLOW[1], "#### 3", r"\boxed{(1,2]}", SLOW[1], SLOW[1]]
    before = verifier.stats().get("math_verify", 0)
    batch = verifier.verify_batch(golds, completions)
    assert verifier.stats()["math_verify"] - before == 2  # the polynomial once, the interval once
    assert batch == [verifier.verify(g, c) for g, c in zip(golds, completions, strict=True)]


def test_batch_length_mismatch_is_a_config_error(verifier):
    with pytest.raises(ConfigError, match="2 golds but 1 completions"):
        verifier.verify_batch(["1", "2"], ["1"])


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


def test_pickle_round_trip(verifier):
    copy = pickle.loads(pickle.dumps(verifier))
    assert copy.settings == verifier.settings and repr(copy) == repr(verifier)
    assert copy.stats() == {}  # a fresh copy: no counts, no workers yet
    with copy:
        assert copy.verify(*SLOW).reason == "match"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"timeout_s": 0}, "timeout_s must be a number of seconds > 0, got 0"),
        ({"timeout_s": float("inf")}, "timeout_s must be a number of seconds > 0, got inf"),
        ({"workers": 0}, "workers must be an integer >= 1, got 0"),
        ({"workers": 1.5}, "workers must be an integer >= 1, got 1.5"),
        ({"memory_mb": 10}, r"memory_mb must be 0 \(no cap\) or an integer >= 256 \(MiB\), got 10"),
        ({"startup_timeout_s": -1}, "startup_timeout_s must be a number of seconds > 0, got -1"),
        ({"reward_deadline_s": 0}, "reward_deadline_s must be a number of seconds > 0, got 0"),
    ],
)
def test_config_errors_say_what_is_accepted(options, message):
    with pytest.raises(ConfigError, match=f"^{message}$"):
        MathVerifier(**options)


def test_environment_errors_name_the_variable(monkeypatch):
    monkeypatch.setenv("PERMIX_VERIFY_TIMEOUT", "soon")
    monkeypatch.setenv("PERMIX_VERIFY_MEMORY_MB", "1e3")
    with pytest.raises(ConfigError) as error:
        VerifierSettings.from_env()
    assert str(error.value) == (
        "environment variable PERMIX_VERIFY_TIMEOUT must be a number of seconds > 0, got 'soon'; "
        "environment variable PERMIX_VERIFY_MEMORY_MB must be 0 (no cap) or an integer >= 256 (MiB), got '1e3'"
    )
    # arguments win over the variables
    assert VerifierSettings.from_env(timeout_s=3, memory_mb=0).timeout_s == 3.0
    with pytest.raises(ConfigError, match="timeout: unknown setting; accepted: timeout_s, work"):
        VerifierSettings.from_env(timeout="3")


def test_reward_deadline_is_a_setting_with_its_variable(monkeypatch):
    assert VerifierSettings().reward_deadline_s == 120.0
    monkeypatch.setenv("PERMIX_REWARD_DEADLINE", "2.5")
    assert VerifierSettings.from_env().reward_deadline_s == 2.5
    assert VerifierSettings.from_env(reward_deadline_s=9).reward_deadline_s == 9.0  # an argument wins
    assert (
        MathVerifier(reward_deadline_s=7).settings.reward_deadline_s == 7.0
    )  # the environment is configure's
    monkeypatch.setenv("PERMIX_REWARD_DEADLINE", "soon")
    with pytest.raises(ConfigError) as error:
        VerifierSettings.from_env()
    assert str(error.value) == (
        "environment variable PERMIX_REWARD_DEADLINE must be a number of seconds > 0, got 'soon'"
    )


def test_configure_reads_the_environment(monkeypatch):
    monkeypatch.setenv("PERMIX_VERIFY_TIMEOUT", "3.5")
    monkeypatch.setenv("PERMIX_VERIFY_WORKERS", "1")
    monkeypatch.setenv("PERMIX_VERIFY_MEMORY_MB", "0")
    monkeypatch.setenv("PERMIX_VERIFY_STARTUP_TIMEOUT", " ")  # blank: the default
    try:
        configured = configure(workers=2)
        assert configured.settings == VerifierSettings(
            timeout_s=3.5, workers=2, memory_mb=0, startup_timeout_s=60
        )
        assert default_verifier() is configured
    finally:
        monkeypatch.undo()
        configure()


def test_configure_doctest_leaves_the_environment_settings():
    configure()
    before = default_verifier().settings
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner()
    for test in finder.find(configure, "configure", globs=vars(verifier_module)):
        runner.run(test)
    assert runner.summarize(verbose=False) == (0, 3)
    assert default_verifier().settings == before


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


def test_core_imports_no_framework():
    code = "import permix_plugins.math, sys; print(sorted(m for m in ('torch','trl','verl','ray','transformers') if m in sys.modules))"
    out = subprocess_output(code)
    assert out.strip() == "[]"


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


# --- helpers ---------------------------------------------------------------------------------------------------------


def worker_pids(v: MathVerifier) -> list[int]:
    """The pids of the idle workers (a checked-out one is busy)."""
    pool = v._pool
    return [] if pool is None else [w.proc.pid for w in pool._idle]


def subprocess_output(code: str) -> str:
    import subprocess

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout
