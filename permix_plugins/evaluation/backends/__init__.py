"""Generation backends: one small interface (`base`), three implementations, and a registry that picks one by name.

Modules: `base` (the `Backend` protocol and what every backend shares), `transformers_backend`,
`vllm_backend`, `openai_backend`, and `registry` (`BACKENDS`, `load_backend`). Imports point one way:
each backend imports `base`; `registry` imports the backends. A new backend is one module with a class that
has a ``name`` and a loader, plus one line in `registry.BACKENDS`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from permix_plugins._lazy import lazy_exports

# public name -> the module that defines it (imported on first use, so this package stays light)
_EXPORTS: dict[str, str] = {
    "Backend": "permix_plugins.evaluation.backends.base",
    "Messages": "permix_plugins.evaluation.backends.base",
    "chat_template_supports_system": "permix_plugins.evaluation.backends.base",
    "close_backend": "permix_plugins.evaluation.backends.base",
    "BACKENDS": "permix_plugins.evaluation.backends.registry",
    "load_backend": "permix_plugins.evaluation.backends.registry",
    "OpenAIBackend": "permix_plugins.evaluation.backends.openai_backend",
    "TransformersBackend": "permix_plugins.evaluation.backends.transformers_backend",
    "VLLMBackend": "permix_plugins.evaluation.backends.vllm_backend",
}

__all__ = [
    "BACKENDS",
    "Backend",
    "Messages",
    "OpenAIBackend",
    "TransformersBackend",
    "VLLMBackend",
    "chat_template_supports_system",
    "close_backend",
    "load_backend",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


if TYPE_CHECKING:
    from permix_plugins.evaluation.backends.base import (
        Backend,
        Messages,
        chat_template_supports_system,
        close_backend,
    )
    from permix_plugins.evaluation.backends.openai_backend import OpenAIBackend
    from permix_plugins.evaluation.backends.registry import BACKENDS, load_backend
    from permix_plugins.evaluation.backends.transformers_backend import TransformersBackend
    from permix_plugins.evaluation.backends.vllm_backend import VLLMBackend
