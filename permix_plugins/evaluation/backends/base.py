"""What every generation backend shares: the one small interface the runners talk to, and its helpers.

A backend turns a batch of chat conversations into `n` completions each. The shipped ones are in this package
(`permix_plugins.evaluation.backends.registry` picks one by name); any object with the same attributes and
`generate` method works too. This module imports no framework and nothing else of the package.

Example:
    >>> class Echo:
    ...     name, model_id, supports_system_role = "echo", "echo", True
    ...     def generate(self, prompts, *, n, temperature, max_new_tokens, seed):
    ...         return [[p[-1]["content"]] * n for p in prompts]
    >>> isinstance(Echo(), Backend)
    True
    >>> generate(Echo(), [[{"role": "user", "content": "hi"}]], n=2, temperature=1.0, max_new_tokens=8, seed=0)
    [['hi', 'hi']]
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from permix_plugins.errors import GenerationError

__all__ = [
    "SOLUTION_MAX_NEW_TOKENS",
    "Backend",
    "GenerationError",
    "Messages",
    "chat_template_supports_system",
    "close_backend",
    "generate",
    "prompt_seed",
]

logger = logging.getLogger(__name__)

Messages = Sequence[Mapping[str, str]]
# The answer budget of ``permix eval`` and of a backend not told otherwise: a worked solution to a math problem.
SOLUTION_MAX_NEW_TOKENS = 1024

_PROBE = "PERMIX-SYSTEM-ROLE-PROBE"


@runtime_checkable
class Backend(Protocol):
    """What the runner needs from a generation backend.

    `generate` returns, for each conversation in `prompts` and in the same order, a list of `n` completion
    strings (the assistant text only). ``temperature == 0`` means greedy decoding. `seed` makes sampling
    reproducible where the backend allows it. `supports_system_role` is False when the chat template has no
    system role; the runner then puts personas at the top of the user turn.
    """

    name: str
    model_id: str
    supports_system_role: bool

    def generate(
        self, prompts: Sequence[Messages], *, n: int, temperature: float, max_new_tokens: int, seed: int
    ) -> list[list[str]]: ...


def close_backend(backend: Any) -> None:
    """Release what `backend` holds (e.g. the connection pool of `OpenAIBackend`) if it has a ``close()``.

    Example:
        >>> close_backend(object())  # nothing to close
    """
    close = getattr(backend, "close", None)
    if callable(close):
        close()


def chat_template_supports_system(tokenizer: Any) -> bool:
    """Whether `tokenizer`'s chat template renders a system message (False if it raises or drops it).

    A tokenizer without a chat template counts as supporting it (prompts are then plain text, persona first).

    Example:
        >>> class Tok:
        ...     chat_template = "..."
        ...     def apply_chat_template(self, messages, **kwargs):
        ...         if messages[0]["role"] == "system":
        ...             raise ValueError("System role not supported")
        ...         return messages[0]["content"]
        >>> chat_template_supports_system(Tok())
        False
    """
    if getattr(tokenizer, "chat_template", None) is None or not hasattr(tokenizer, "apply_chat_template"):
        return True
    messages = [{"role": "system", "content": _PROBE}, {"role": "user", "content": "1 + 1?"}]
    try:
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    # jinja's raise_exception, TemplateError, ...: any failure means "no system role"
    except Exception as exc:  # noqa: BLE001
        logger.debug("chat template rejects a system message: %s", exc)
        return False
    return isinstance(text, str) and _PROBE in text


def prompt_seed(seed: int, messages: Messages) -> int:
    """A per-prompt sampling seed from the run seed and the conversation, independent of batching and order.

    Example:
        >>> msgs = [{"role": "user", "content": "1 + 1?"}]
        >>> prompt_seed(0, msgs) == prompt_seed(0, msgs) != prompt_seed(1, msgs)
        True
    """
    payload = json.dumps([seed, [[m.get("role"), m.get("content")] for m in messages]], ensure_ascii=False)
    return int.from_bytes(hashlib.blake2b(payload.encode(), digest_size=4).digest(), "big") & 0x7FFFFFFF


def _check_outputs(outputs: Sequence[Sequence[str]], prompts: int, n: int, backend: str) -> list[list[str]]:
    """`outputs` as lists, after checking there is one list of `n` strings per prompt (`GenerationError`)."""
    result = [list(out) for out in outputs]
    if len(result) != prompts or any(len(out) != n for out in result):
        shape = [len(out) for out in result]
        raise GenerationError(
            f"backend {backend!r} returned {len(result)} result list(s) of sizes {shape[:8]}, "
            f"expected {prompts} "
            f"list(s) of {n} completion(s) each"
        )
    for out in result:
        for text in out:
            if not isinstance(text, str):
                raise GenerationError(f"backend {backend!r} returned a {type(text).__name__}, not a string")
    return result


def generate(
    backend: Backend,
    prompts: Sequence[Messages],
    *,
    n: int,
    temperature: float,
    max_new_tokens: int,
    seed: int,
) -> list[list[str]]:
    """`backend.generate` seeded per batch (`prompt_seed` of the first conversation), its output checked:
    one list of `n` strings per prompt, else `GenerationError`."""
    outputs = backend.generate(
        prompts,
        n=n,
        temperature=temperature,
        max_new_tokens=max_new_tokens,
        seed=prompt_seed(seed, prompts[0]),
    )
    return _check_outputs(outputs, len(prompts), n, backend.name)
