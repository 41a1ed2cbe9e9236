"""The OpenAI-compatible generation backend: any server with ``POST {base_url}/chat/completions``.

vLLM (``vllm serve``), SGLang, TGI, llama.cpp's server and hosted APIs all speak it. Requests run on a bounded
thread pool (`concurrency`), each with a timeout; 408/409/429/5xx answers and connection errors are retried
with exponential backoff and jitter (a ``Retry-After`` header is honoured); other HTTP errors fail at once
with the server's message. The API key comes from `api_key` or ``OPENAI_API_KEY``, the URL from `base_url` or
``OPENAI_BASE_URL``. A server that returns fewer than `n` choices is asked again for the rest. The length limit goes
out as ``max_completion_tokens`` (``vllm serve`` marks ``max_tokens`` deprecated); a server that rejects that name
(HTTP 400/422 naming it) gets ``max_tokens`` from then on. So does a server that ignores it without a word (its
``usage.completion_tokens`` beyond the limit: llama.cpp's server before its PR 19831, llamafile, llama-cpp-python),
after a warning; the answer that ran past the limit is asked for again. `notes` keeps the switch for the run's
report (``backend_notes`` in its metadata).
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from permix_plugins.errors import ConfigError
from permix_plugins.evaluation.backends.base import (
    SOLUTION_MAX_NEW_TOKENS,
    GenerationError,
    Messages,
    prompt_seed,
)

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["RETRY_STATUS", "OpenAIBackend"]

logger = logging.getLogger(__name__)

RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
_MAX_BACKOFF_S = 30.0
_HINTS = {
    401: "check --api-key (or OPENAI_API_KEY)",
    403: "check --api-key (or OPENAI_API_KEY)",
    404: "check --base-url (up to and including /v1) and --model "
    "(GET {base_url}/models lists the served names)",
}


class OpenAIBackend:
    """Chat completions from an OpenAI-compatible server; `model` is the served model name.

    Example:
        >>> backend = OpenAIBackend("my-model", base_url="http://127.0.0.1:8000/v1/", api_key="sk-x")
        >>> backend.url, backend.supports_system_role
        ('http://127.0.0.1:8000/v1/chat/completions', True)
        >>> backend.close()
    """

    name = "openai"

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        concurrency: int = 16,
        timeout_s: float = 300.0,
        max_retries: int = 4,
        backoff_s: float = 1.0,
        max_new_tokens: int = SOLUTION_MAX_NEW_TOKENS,
        system_role: bool = True,
        extra_body: Mapping[str, Any] | None = None,
    ) -> None:
        import httpx

        base_url = base_url or os.environ.get("OPENAI_BASE_URL")
        if not base_url:
            raise ConfigError(
                "the openai backend needs the server's base URL: pass --base-url "
                "(e.g. http://localhost:8000/v1 "
                "for `vllm serve`) or set OPENAI_BASE_URL"
            )
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"--base-url {base_url!r} must start with http:// or https://")
        for label, value, low in (("concurrency", concurrency, 1), ("max_retries", max_retries, 0)):
            if value < low:
                raise ConfigError(f"{label} must be at least {low}, got {value}")
        if timeout_s <= 0:
            raise ConfigError(f"timeout must be positive (seconds), got {timeout_s}")
        self.model_id = model
        self.base_url = base_url.rstrip("/")
        self.url = f"{self.base_url}/chat/completions"
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.max_new_tokens = max_new_tokens
        self.supports_system_role = system_role  # a remote template cannot be probed; --placement overrides
        self.extra_body = dict(extra_body or {})
        key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._httpx = httpx
        self._client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(timeout_s),
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        )
        self._jitter = random.Random()
        # "max_tokens" once the server has refused or ignored the newer name
        self._limit_key = "max_completion_tokens"
        self._lock = threading.Lock()
        self.requests = 0  # HTTP attempts made (including retries), for logs and tests
        self.notes: dict[str, str] = {}  # what the run learned about the server, for its report
        self._unbounded = False  # the server ignores both names of the limit (warned once)

    def generate(
        self,
        prompts: Sequence[Messages],
        *,
        n: int = 1,
        temperature: float = 0.0,
        max_new_tokens: int | None = None,
        seed: int = 0,
    ) -> list[list[str]]:
        """`n` completions per conversation, requested concurrently; raises `GenerationError` on failure."""
        max_tokens = max_new_tokens or self.max_new_tokens
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="permix-openai") as pool:
            futures: list[Future[list[str]]] = [
                pool.submit(
                    self._complete, list(messages), n, temperature, max_tokens, prompt_seed(seed, messages)
                )
                for messages in prompts
            ]
            try:
                return [future.result() for future in futures]
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)  # stop queued requests at the first failure
                raise

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals

    def _complete(
        self, messages: list[Mapping[str, str]], n: int, temperature: float, max_tokens: int, seed: int
    ) -> list[str]:
        texts: list[str] = []
        while len(texts) < n:  # some servers cap or ignore `n`: ask again for the rest
            payload = {
                **self.extra_body,
                "model": self.model_id,
                "messages": messages,
                "n": n - len(texts),
                "temperature": temperature,
                self._limit_key: max_tokens,
                "seed": seed + len(texts),
            }
            choices = self._post(payload)
            if not choices:
                raise GenerationError(f"{self.url} returned no choices for model {self.model_id!r}")
            texts.extend(choices)
        return texts[:n]

    def _post(self, payload: dict[str, Any]) -> list[str]:
        httpx = self._httpx
        last_error = ""
        for attempt in range(self.max_retries + 1):
            with self._lock:
                self.requests += 1
            retry_after: float | None = None
            try:
                response = self._client.post(self.url, json=payload)
            except httpx.TransportError as exc:  # connection refused/reset, read/connect timeouts, ...
                last_error = f"{type(exc).__name__}: {exc or 'no detail'}"
            else:
                if response.status_code == 200:
                    texts, spent = self._parse(response)
                    return self._within_limit(payload, texts, spent)
                body = _short(response.text)
                if _refuses_max_completion_tokens(response.status_code, body, payload):
                    self._use_max_tokens(f"refused max_completion_tokens (HTTP {response.status_code})")
                    return self._post(_with_max_tokens(payload))
                if response.status_code not in RETRY_STATUS:
                    hint = _HINTS.get(response.status_code, "").format(base_url=self.base_url)
                    if response.status_code == 400 and "system" in body.lower():
                        hint = "if the model has no system role, rerun with --placement user_prefix"
                    raise GenerationError(
                        f"{self.url} answered HTTP {response.status_code} for model {self.model_id!r}: {body}"
                        + (f" ({hint})" if hint else "")
                    )
                last_error = f"HTTP {response.status_code}: {body}"
                retry_after = _retry_after(response.headers.get("retry-after"))
            if attempt == self.max_retries:
                break
            delay = retry_after if retry_after is not None else self._backoff(attempt)
            logger.info(
                "retrying %s in %.2fs (attempt %d failed: %s)", self.url, delay, attempt + 1, last_error
            )
            time.sleep(delay)
        raise GenerationError(
            f"{self.url} failed {self.max_retries + 1} time(s) for model {self.model_id!r}; last error: "
            f"{last_error} (is the server up? raise --timeout or lower --concurrency if it is overloaded)"
        )

    def _parse(self, response: Any) -> tuple[list[str], int | None]:
        """The choices' texts in index order, and ``usage.completion_tokens`` (None if the server gives none)."""
        try:
            data = response.json()
            choices = sorted(data["choices"], key=lambda c: c.get("index", 0))
            texts = [(choice.get("message") or {}).get("content") or "" for choice in choices]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise GenerationError(
                f"{self.url} returned a body that is not a chat completion ({exc}): {_short(response.text)}"
            ) from exc
        usage = data.get("usage")
        spent = usage.get("completion_tokens") if isinstance(usage, dict) else None
        return texts, spent if isinstance(spent, int) and not isinstance(spent, bool) else None

    def _within_limit(self, payload: dict[str, Any], texts: list[str], spent: int | None) -> list[str]:
        """`texts`, unless the server generated past the limit it was sent (``usage`` counts every choice):
        then the limit goes out as ``max_tokens`` and the request again; if that is ignored too, it is noted
        (there is no third name to try)."""
        key = "max_completion_tokens" if "max_completion_tokens" in payload else "max_tokens"
        limit = payload.get(key)
        if spent is None or limit is None or spent <= limit * len(texts):
            return texts
        seen = f"{spent} completion tokens for {len(texts)} answer(s) of at most {limit}"
        if key == "max_completion_tokens":
            self._use_max_tokens(f"ignored max_completion_tokens ({seen})", level=logging.WARNING)
            return self._post(_with_max_tokens(payload))
        with self._lock:
            first, self._unbounded = not self._unbounded, True
            self.notes["length_limit"] = f"none: the server ignored max_tokens ({seen})"
        if first:
            logger.warning("%s ignored max_tokens (%s): completions are not bounded", self.url, seen)
        return texts

    def _use_max_tokens(self, why: str, level: int = logging.INFO) -> None:
        """Send the limit as ``max_tokens`` from now on (once: concurrent requests may all find out)."""
        with self._lock:
            if self._limit_key == "max_tokens":
                return
            self._limit_key = "max_tokens"
            self.notes["length_limit"] = f"max_tokens: the server {why}"
        logger.log(level, "%s %s; sending max_tokens from now on", self.url, why)

    def _backoff(self, attempt: int) -> float:
        with self._lock:
            jitter = 0.5 + self._jitter.random()
        return min(self.backoff_s * 2**attempt, _MAX_BACKOFF_S) * jitter


def _refuses_max_completion_tokens(status: int, body: str, payload: Mapping[str, Any]) -> bool:
    """An older server's answer to the newer name: a 400/422 whose message names it."""
    return status in (400, 422) and "max_completion_tokens" in payload and "max_completion_tokens" in body


def _with_max_tokens(payload: Mapping[str, Any]) -> dict[str, Any]:
    older = dict(payload)
    older["max_tokens"] = older.pop("max_completion_tokens")
    return older


def _retry_after(value: str | None) -> float | None:
    try:
        return min(max(float(value), 0.0), 60.0) if value is not None else None
    except ValueError:
        return None  # an HTTP date: use our own backoff


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."
