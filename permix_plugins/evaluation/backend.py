"""Generation backends: the one small interface the evaluation runner talks to, and how to pick one by name.

A backend turns a batch of chat conversations into `n` completions each. Three ship with the package:
``transformers`` (local, batched; `TransformersBackend`), ``vllm`` (offline `vllm.LLM`; `VLLMBackend`) and
``openai`` (any OpenAI-compatible ``/v1/chat/completions`` server: vLLM serve, SGLang, TGI, ...;
`OpenAIBackend`). Any object with the same attributes and `generate` method works too.

Example:
    >>> class Echo:
    ...     name, model_id, supports_system_role = "echo", "echo", True
    ...     def generate(self, prompts, *, n, temperature, max_new_tokens, seed):
    ...         return [[p[-1]["content"]] * n for p in prompts]
    >>> isinstance(Echo(), Backend)
    True
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol, runtime_checkable

from permix_plugins.errors import ConfigError, GenerationError

__all__ = [
    "BACKENDS",
    "Backend",
    "BackendName",
    "GenerationError",
    "Messages",
    "chat_template_supports_system",
    "close_backend",
    "load_backend",
    "prompt_seed",
]

logger = logging.getLogger(__name__)

Messages = Sequence[Mapping[str, str]]
BackendName = Literal["transformers", "vllm", "openai"]
BACKENDS: tuple[str, ...] = ("transformers", "vllm", "openai")
DEFAULT_MAX_NEW_TOKENS = 1024

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


def load_backend(
    name: str,
    model: str,
    *,
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
    batch_size: int = 16,
    dtype: str = "auto",
    device: str | None = None,
    seed: int = 0,
    base_url: str | None = None,
    api_key: str | None = None,
    concurrency: int = 16,
    timeout_s: float = 300.0,
    max_retries: int = 4,
    system_role: bool = True,
    **kwargs: Any,
) -> Backend:
    """Build a backend by name for `model` (a local path or Hub id; the served model name for ``openai``).

    Options that do not apply to the chosen backend are ignored; `kwargs` go to the backend's loader
    (``from_pretrained`` of transformers, ``vllm.LLM``, or `OpenAIBackend`). The framework of the chosen
    backend is imported only here.

    Example:
        >>> load_backend("tgi", "m")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        permix_plugins.errors.ConfigError: unknown backend 'tgi'; use one of ['transformers', 'vllm', ...
    """
    if name == "transformers":
        from permix_plugins.evaluation.transformers_backend import TransformersBackend

        return TransformersBackend.from_pretrained(
            model, batch_size=batch_size, max_new_tokens=max_new_tokens, dtype=dtype, device=device, **kwargs
        )
    if name == "vllm":
        from permix_plugins.evaluation.vllm_backend import VLLMBackend

        return VLLMBackend.from_pretrained(
            model, max_new_tokens=max_new_tokens, seed=seed, dtype=dtype, **kwargs
        )
    if name == "openai":
        from permix_plugins.evaluation.openai_backend import OpenAIBackend

        return OpenAIBackend(
            model,
            base_url=base_url,
            api_key=api_key,
            concurrency=concurrency,
            timeout_s=timeout_s,
            max_retries=max_retries,
            max_new_tokens=max_new_tokens,
            system_role=system_role,
            **kwargs,
        )
    raise ConfigError(
        f"unknown backend {name!r}; use one of {list(BACKENDS)} "
        "(TGI, SGLang and vLLM serve are all reached with 'openai' and --base-url)"
    )


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


def check_outputs(outputs: Sequence[Sequence[str]], prompts: int, n: int, backend: str) -> list[list[str]]:
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
