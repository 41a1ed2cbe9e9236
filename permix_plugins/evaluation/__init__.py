"""Persona-stability evaluation: generation backends, the runner, and the files ``permix eval`` writes.

`evaluate(backend, problems, personas, ...)` generates every problem under every persona, scores each
completion with the project's verifier and returns the records and a `StabilityReport`. Backends (one small
interface, `Backend`; the package `backends`): `TransformersBackend` (a loaded model, or ``from_pretrained``),
`VLLMBackend` (offline ``vllm.LLM``) and `OpenAIBackend` (any OpenAI-compatible server); `load_backend(name,
model)` picks one by name. Only the chosen backend's framework is imported, and only when it is built.

Modules: `backends` (the generation backends and their registry), `results` (the resumable results file
every run writes), `runs` (what the eval and fidelity runs share), `records` (`EvalRecord`), `runner`
(`evaluate`, ``permix eval``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from permix_plugins._lazy import lazy_exports

# public name -> the module that defines it (imported on first use, so this package stays light)
_EXPORTS: dict[str, str] = {
    "Backend": "permix_plugins.evaluation.backends.base",
    "GenerationError": "permix_plugins.evaluation.backends.base",
    "Messages": "permix_plugins.evaluation.backends.base",
    "chat_template_supports_system": "permix_plugins.evaluation.backends.base",
    "BACKENDS": "permix_plugins.evaluation.backends.registry",
    "load_backend": "permix_plugins.evaluation.backends.registry",
    "TransformersBackend": "permix_plugins.evaluation.backends.transformers_backend",
    "VLLMBackend": "permix_plugins.evaluation.backends.vllm_backend",
    "OpenAIBackend": "permix_plugins.evaluation.backends.openai_backend",
    "ResultsFile": "permix_plugins.evaluation.results",
    "EvalRecord": "permix_plugins.evaluation.records",
    "read_results": "permix_plugins.evaluation.records",
    "EvalConfig": "permix_plugins.evaluation.runner",
    "EvalResult": "permix_plugins.evaluation.runner",
    "EvalRun": "permix_plugins.evaluation.runner",
    "evaluate": "permix_plugins.evaluation.runner",
    "load_report": "permix_plugins.evaluation.runner",
    "run_eval": "permix_plugins.evaluation.runner",
    "write_report": "permix_plugins.evaluation.runner",
}

__all__ = [
    "BACKENDS",
    "Backend",
    "EvalConfig",
    "EvalRecord",
    "EvalResult",
    "EvalRun",
    "GenerationError",
    "Messages",
    "OpenAIBackend",
    "ResultsFile",
    "TransformersBackend",
    "VLLMBackend",
    "chat_template_supports_system",
    "evaluate",
    "load_backend",
    "load_report",
    "read_results",
    "run_eval",
    "write_report",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


if TYPE_CHECKING:
    from permix_plugins.evaluation.backends.base import (
        Backend,
        GenerationError,
        Messages,
        chat_template_supports_system,
    )
    from permix_plugins.evaluation.backends.openai_backend import OpenAIBackend
    from permix_plugins.evaluation.backends.registry import BACKENDS, load_backend
    from permix_plugins.evaluation.backends.transformers_backend import TransformersBackend
    from permix_plugins.evaluation.backends.vllm_backend import VLLMBackend
    from permix_plugins.evaluation.records import EvalRecord, read_results
    from permix_plugins.evaluation.results import ResultsFile
    from permix_plugins.evaluation.runner import (
        EvalConfig,
        EvalResult,
        EvalRun,
        evaluate,
        load_report,
        run_eval,
        write_report,
    )
