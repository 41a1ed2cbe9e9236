"""The OpenAI-compatible backend (`evaluation/backends/openai_backend.py`) against a real local HTTP server:
exact scores, concurrency, retries, the length limit a server applies or ignores, and what the report keeps."""

from __future__ import annotations

import logging

import pytest
from fake_openai_server import FakeOpenAIServer
from scripted_eval import GOLD, POOL, PROBLEMS, scripted_answer

from permix_plugins.errors import ConfigError
from permix_plugins.evaluation import GenerationError, OpenAIBackend, evaluate


def right_answer(persona, user, index):
    return f"\\boxed{{{GOLD[user.split(chr(10) * 2)[0]]}}}"


PROMPT = [{"role": "user", "content": "What is 0 + 1?"}]


def test_openai_backend_scores_exactly_through_a_real_server():
    with FakeOpenAIServer(scripted_answer, api_key="sk-test") as server:
        backend = OpenAIBackend("served-model", base_url=server.base_url, api_key="sk-test", concurrency=4)
        records, report = evaluate(
            backend, PROBLEMS, POOL, samples=2, temperature=0.8, progress=False, n_bootstrap=50
        )
        backend.close()
    assert report.accuracy == {"none": 1.0, "good": 0.5, "bad": 0.0, "mute": 0.0}
    assert {r.backend for r in records} == {"openai"} and {r.model for r in records} == {"served-model"}
    payload = server.payloads[0]
    assert payload["model"] == "served-model" and payload["n"] == 2 and payload["temperature"] == 0.8
    assert "max_completion_tokens" in payload and "max_tokens" not in payload  # vLLM deprecates max_tokens
    assert isinstance(payload["seed"], int)
    assert server.headers[0]["authorization"] == "Bearer sk-test"


def test_openai_backend_bounds_concurrency():
    with FakeOpenAIServer(right_answer) as server:
        server.delay_s = 0.05
        backend = OpenAIBackend("m", base_url=server.base_url, concurrency=3)
        outs = backend.generate([PROMPT] * 9, n=1, temperature=0.0)
        backend.close()
    assert outs == [["\\boxed{1}"]] * 9
    assert 1 < server.max_in_flight <= 3


def test_openai_backend_retries_503_and_timeouts():
    with FakeOpenAIServer(right_answer) as server:
        server.script = [(503, 0.0), (200, 1.5), (200, 0.0)]  # a 503, then a stall past the timeout, then OK
        backend = OpenAIBackend("m", base_url=server.base_url, timeout_s=0.4, backoff_s=0.01, max_retries=3)
        assert backend.generate([PROMPT], n=1, temperature=0.0) == [["\\boxed{1}"]]
        assert backend.requests == 3 and len(server.payloads) == 3
        backend.close()


def test_openai_backend_gives_up_with_the_last_error():
    with FakeOpenAIServer(right_answer) as server:
        server.script = [(503, 0.0)] * 5
        backend = OpenAIBackend("m", base_url=server.base_url, backoff_s=0.01, max_retries=1)
        with pytest.raises(GenerationError, match=r"failed 2 time\(s\).*HTTP 503"):
            backend.generate([PROMPT], n=1, temperature=0.0)
        backend.close()


def test_openai_backend_does_not_retry_auth_errors():
    with FakeOpenAIServer(right_answer, api_key="right") as server:
        backend = OpenAIBackend("m", base_url=server.base_url, api_key="wrong", backoff_s=0.01)
        with pytest.raises(GenerationError, match=r"HTTP 401.*check --api-key"):
            backend.generate([PROMPT], n=1, temperature=0.0)
        assert backend.requests == 1
        backend.close()


def test_openai_backend_asks_again_when_a_server_caps_n():
    with FakeOpenAIServer(lambda p, u, i: f"\\boxed{{{i}}}", max_choices=1) as server:
        backend = OpenAIBackend("m", base_url=server.base_url)
        assert backend.generate([PROMPT], n=3, temperature=1.0) == [["\\boxed{0}"] * 3]
        assert [p["n"] for p in server.payloads] == [3, 2, 1]
        backend.close()


def test_openai_backend_falls_back_to_max_tokens_for_older_servers():
    with FakeOpenAIServer(right_answer, rejects=frozenset({"max_completion_tokens"})) as server:
        backend = OpenAIBackend("m", base_url=server.base_url, concurrency=1, max_new_tokens=7)
        assert backend.generate([PROMPT] * 2, n=1, temperature=0.0) == [["\\boxed{1}"]] * 2
        backend.close()
    # refused once, then the older name for this request and the next
    assert _limits(server) == [{"max_completion_tokens": 7}, {"max_tokens": 7}, {"max_tokens": 7}]
    assert backend.notes == {
        "length_limit": "max_tokens: the server refused max_completion_tokens (HTTP 400)"
    }


def _limits(server: FakeOpenAIServer) -> list[dict[str, int]]:
    return [{k: p[k] for k in ("max_completion_tokens", "max_tokens") if k in p} for p in server.payloads]


def rambling_answer(persona, user, index):
    """Twelve words, then the answer: only a server that ignores a 5-token limit sends the answer back."""
    return "let me think about this one slowly and carefully step by step \\boxed{1}"


def test_openai_backend_switches_to_max_tokens_when_the_server_ignores_the_limit(caplog):
    """llama.cpp's server before its PR 19831 took max_completion_tokens and generated without bound."""
    with FakeOpenAIServer(rambling_answer, ignores=frozenset({"max_completion_tokens"})) as server:
        backend = OpenAIBackend("m", base_url=server.base_url, concurrency=1, max_new_tokens=5)
        with caplog.at_level(logging.WARNING, logger="permix_plugins.evaluation.backends.openai_backend"):
            outs = backend.generate([PROMPT] * 2, n=1, temperature=0.0)
        backend.close()
    assert outs == [["let me think about this"]] * 2  # the unbounded answer was asked for again
    assert _limits(server) == [{"max_completion_tokens": 5}, {"max_tokens": 5}, {"max_tokens": 5}]
    assert backend.notes == {
        "length_limit": "max_tokens: the server ignored max_completion_tokens "
        "(13 completion tokens for 1 answer(s) of at most 5)"
    }
    assert [r.levelname for r in caplog.records] == ["WARNING"] and "max_tokens from now on" in caplog.text


def test_openai_backend_switches_once_under_concurrent_requests(caplog):
    with FakeOpenAIServer(rambling_answer, ignores=frozenset({"max_completion_tokens"})) as server:
        server.delay_s = 0.05  # several requests in flight with the ignored name
        backend = OpenAIBackend("m", base_url=server.base_url, concurrency=4, max_new_tokens=5)
        with caplog.at_level(logging.WARNING, logger="permix_plugins.evaluation.backends.openai_backend"):
            outs = backend.generate([PROMPT] * 8, n=1, temperature=0.0)
        backend.close()
    assert outs == [["let me think about this"]] * 8
    assert len(caplog.records) == 1 and backend.notes["length_limit"].startswith(
        "max_tokens: the server ignored"
    )
    ignored = [p for p in server.payloads if "max_completion_tokens" in p]
    assert ignored and len(server.payloads) == 8 + len(ignored)  # each unbounded answer asked again, once


def test_openai_backend_counts_the_limit_per_choice():
    """usage sums every choice: 3 answers of 4 tokens are within a limit of 5, even from a server ignoring it."""
    short = "so it is \\boxed{1}"
    with FakeOpenAIServer(lambda p, u, i: short, ignores=frozenset({"max_completion_tokens"})) as server:
        backend = OpenAIBackend("m", base_url=server.base_url, max_new_tokens=5)
        assert backend.generate([PROMPT], n=3, temperature=1.0) == [[short] * 3]
        backend.close()
    assert _limits(server) == [{"max_completion_tokens": 5}] and backend.notes == {}


def test_openai_backend_notes_a_server_that_ignores_both_limits(caplog):
    both = frozenset({"max_completion_tokens", "max_tokens"})
    with FakeOpenAIServer(rambling_answer, ignores=both) as server:
        backend = OpenAIBackend("m", base_url=server.base_url, concurrency=1, max_new_tokens=5)
        with caplog.at_level(logging.WARNING, logger="permix_plugins.evaluation.backends.openai_backend"):
            outs = backend.generate([PROMPT] * 2, n=1, temperature=0.0)
        backend.close()
    assert outs == [[rambling_answer(None, "", 0)]] * 2  # nothing left to try: the answers as they came
    assert _limits(server) == [{"max_completion_tokens": 5}, {"max_tokens": 5}, {"max_tokens": 5}]
    assert backend.notes == {
        "length_limit": "none: the server ignored max_tokens (13 completion tokens for 1 answer(s) of at most 5)"
    }
    assert len(caplog.messages) == 2 and "ignored max_completion_tokens (13" in caplog.messages[0]
    assert "ignored max_tokens (13" in caplog.messages[1] and "not bounded" in caplog.messages[1]


def test_evaluation_report_keeps_the_length_limit_switch():
    def ramble_then_answer(persona, user, index):
        return "well " * 10 + right_answer(persona, user, index)  # 11 tokens

    ignores = frozenset({"max_completion_tokens"})
    runs = {}
    for limit in (32, 5):
        with (
            FakeOpenAIServer(ramble_then_answer, ignores=ignores) as server,
            OpenAIBackend("m", base_url=server.base_url, concurrency=1) as backend,
        ):
            runs[limit] = evaluate(
                backend, PROBLEMS, POOL, max_new_tokens=limit, progress=False, n_bootstrap=10
            )
    assert "backend_notes" not in runs[32].report.meta and runs[32].report.mean == 1.0  # within the limit
    bounded = runs[5].report
    assert bounded.meta["backend_notes"]["length_limit"].startswith("max_tokens: the server ignored")
    assert bounded.mean == 0.0  # every answer cut at 5 tokens, before its \\boxed{}
    assert {r.completion for r in runs[5].records} == {"well well well well well"}


def test_openai_backend_needs_a_base_url(monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ConfigError, match="--base-url"):
        OpenAIBackend("m")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "from-env")
    backend = OpenAIBackend("m")
    assert backend.url == "http://127.0.0.1:9/v1/chat/completions"
    assert backend._client.headers["authorization"] == "Bearer from-env"
    backend.close()
