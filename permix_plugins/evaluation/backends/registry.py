"""The generation backends by name: which ones ship, how each is built, and which options each takes.

``transformers`` (local, batched; `TransformersBackend`), ``vllm`` (offline `vllm.LLM`; `VLLMBackend`) and
``openai`` (any OpenAI-compatible ``/v1/chat/completions`` server: vLLM serve, SGLang, TGI, ...;
`OpenAIBackend`). A backend's name is its class's ``name``; its options are the keyword parameters of its
loader, with their defaults, so neither is written anywhere else. Importing this module imports no framework:
each backend imports its own when it is built.

Example:
    >>> list(BACKENDS)
    ['transformers', 'vllm', 'openai']
    >>> backend_options("transformers")["batch_size"]
    16
    >>> load_backend("openai", "m", batch_size=8)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    permix_plugins.errors.ConfigError: option batch_size does not apply to backend 'openai' (it is for transformers); ...
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, Literal

from permix_plugins.errors import ConfigError
from permix_plugins.evaluation.backends.base import Backend
from permix_plugins.evaluation.backends.openai_backend import OpenAIBackend
from permix_plugins.evaluation.backends.transformers_backend import TransformersBackend
from permix_plugins.evaluation.backends.vllm_backend import VLLMBackend

__all__ = ["BACKENDS", "BackendName", "backend_options", "load_backend", "option_backends"]

# name -> loader(model, **options); the loader's keyword parameters are the backend's options
BACKENDS: Mapping[str, Callable[..., Backend]] = {
    TransformersBackend.name: TransformersBackend.from_pretrained,
    VLLMBackend.name: VLLMBackend.from_pretrained,
    OpenAIBackend.name: OpenAIBackend,
}
BackendName = Literal[tuple(BACKENDS)]  # type: ignore[valid-type]  # the names above, for settings fields


def load_backend(name: str, model: str, **options: Any) -> Backend:
    """Build the backend `name` for `model` (a local path or Hub id; the served model name for ``openai``).

    `options` are the backend's own (`backend_options`); an option that only other backends take is an error,
    never silently dropped. Other keyword arguments go to the loader's catch-all (``from_pretrained`` of
    transformers, ``vllm.LLM``); the ``openai`` backend has none, so they are errors there too.

    Example:
        >>> load_backend("tgi", "m")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        permix_plugins.errors.ConfigError: unknown backend 'tgi'; use one of ['transformers', 'vllm', ...
    """
    loader = _loader(name)
    takes = backend_options(name)
    for option in options:
        if option not in takes and (option_backends(option) or not _has_catch_all(loader)):
            raise ConfigError(
                f"option {option} does not apply to backend {name!r}"
                + (f" (it is for {', '.join(option_backends(option))})" if option_backends(option) else "")
                + f"; the {name} backend takes {', '.join(takes)}"
            )
    return loader(model, **options)


@functools.cache
def backend_options(name: str) -> dict[str, Any]:
    """The options backend `name` takes, with their defaults (`inspect.Parameter.empty` if required)."""
    parameters = inspect.signature(_loader(name)).parameters.values()
    return {p.name: p.default for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY}


def option_backends(option: str) -> list[str]:
    """The backends that take `option`, in registry order.

    Example:
        >>> option_backends("dtype"), option_backends("nope")
        (['transformers', 'vllm'], [])
    """
    return [name for name in BACKENDS if option in backend_options(name)]


def _loader(name: str) -> Callable[..., Backend]:
    try:
        return BACKENDS[name]
    except KeyError:
        raise ConfigError(
            f"unknown backend {name!r}; use one of {list(BACKENDS)} "
            "(TGI, SGLang and vLLM serve are all reached with 'openai' and --base-url)"
        ) from None


def _has_catch_all(loader: Callable[..., Any]) -> bool:
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in inspect.signature(loader).parameters.values())
