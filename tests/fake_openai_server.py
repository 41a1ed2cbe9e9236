"""A real OpenAI-compatible HTTP server on 127.0.0.1 for tests: scripted answers, failures and delays.

`FakeOpenAIServer(answer)` serves ``POST /v1/chat/completions``; `answer(persona_text, user_text, index)`
returns the text of choice `index`. `script` (a list of ``(status, delay_s)``) makes the next requests fail or
stall; `rejects` names request fields the server refuses with HTTP 400, as an older server does, and `ignores`
fields it accepts but does not apply, as llama.cpp's server did with ``max_completion_tokens``. A token here is a
word: the server cuts each answer at the length limit it applies and reports ``usage.completion_tokens``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing_extensions import Self

Answer = Callable[[str | None, str, int], str]


class FakeOpenAIServer:
    def __init__(
        self,
        answer: Answer,
        *,
        api_key: str | None = None,
        max_choices: int | None = None,
        rejects: frozenset[str] = frozenset(),
        ignores: frozenset[str] = frozenset(),
    ) -> None:
        self.answer = answer
        self.rejects = rejects
        self.ignores = ignores
        self.api_key = api_key
        self.max_choices = max_choices  # serve at most this many choices per request (a server ignoring `n`)
        # (status, delay) for the next requests; 200 = answer normally
        self.script: list[tuple[int, float]] = []
        self.payloads: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.delay_s = 0.0
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._httpd.handle_error = lambda request, address: (
            None
        )  # a client that timed out is not an error here
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _respond(self, handler: BaseHTTPRequestHandler) -> tuple[int, dict[str, Any]]:
        length = int(handler.headers.get("content-length", 0))
        payload = json.loads(handler.rfile.read(length))
        with self._lock:
            self.payloads.append(payload)
            self.headers.append({k.lower(): v for k, v in handler.headers.items()})
            status, delay = self.script.pop(0) if self.script else (200, self.delay_s)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            time.sleep(delay)
            if self.api_key and handler.headers.get("authorization") != f"Bearer {self.api_key}":
                return 401, {"error": {"message": "Invalid API key"}}
            if handler.path != "/v1/chat/completions":
                return 404, {"error": {"message": f"no route {handler.path}"}}
            if status != 200:
                return status, {"error": {"message": f"scripted {status}"}}
            refused = sorted(self.rejects & set(payload))
            if refused:
                return 400, {"error": {"message": f"Unrecognized request argument supplied: {refused[0]}"}}
            messages = payload["messages"]
            persona = messages[0]["content"] if messages[0]["role"] == "system" else None
            n = payload.get("n", 1)
            if self.max_choices is not None:
                n = min(n, self.max_choices)
            applied = [
                k for k in ("max_completion_tokens", "max_tokens") if k in payload and k not in self.ignores
            ]
            limit = payload[applied[0]] if applied else None
            texts = [_cut(self.answer(persona, messages[-1]["content"], i), limit) for i in range(n)]
            choices = [
                {"index": i, "message": {"role": "assistant", "content": texts[i]}, "finish_reason": "stop"}
                for i in reversed(range(n))  # out of order on purpose: clients must sort by index
            ]
            return 200, {
                "id": "cmpl-test",
                "object": "chat.completion",
                "model": payload["model"],
                "choices": choices,
                "usage": {"completion_tokens": sum(len(text.split()) for text in texts)},
            }
        finally:
            with self._lock:
                self.in_flight -= 1

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                status, body = server._respond(self)
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (timeout test)

            def log_message(self, *args: object) -> None:
                pass

        return Handler


def _cut(text: str, limit: int | None) -> str:
    words = text.split()
    return text if limit is None or len(words) <= limit else " ".join(words[:limit])
