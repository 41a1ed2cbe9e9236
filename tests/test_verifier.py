"""MathVerifier (`permix_plugins.verifier`): verdicts, batches, odd inputs, pickling, its settings and their
environment variables, `configure`."""

from __future__ import annotations

import doctest
import pickle

import pytest
from verifier_setup import SLOW

import permix_plugins.verifier as verifier_module
from permix_plugins.errors import ConfigError
from permix_plugins.verifier import MathVerifier, Verdict, VerifierSettings, configure, default_verifier


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
