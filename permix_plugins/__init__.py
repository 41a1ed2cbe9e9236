"""permix-plugins: persona-mixed RLVR (PerMix-RLVR) for TRL, verl and OpenRLHF.

The root re-exports the public API lazily, so `import permix_plugins` stays light (no datasets, torch or
trainer import) until a name is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from permix_plugins._lazy import lazy_exports
from permix_plugins._version import __version__

# public name -> the module that defines it
_EXPORTS: dict[str, str] = {
    "ConfigError": "permix_plugins.errors",
    "GenerationError": "permix_plugins.errors",
    "MissingDependencyError": "permix_plugins.errors",
    "PermixError": "permix_plugins.errors",
    "PersonaFileError": "permix_plugins.errors",
    "NO_PERSONA_ID": "permix_plugins.personas",
    "Persona": "permix_plugins.personas",
    "PersonaPool": "permix_plugins.personas",
    "DEFAULT_INSTRUCTION": "permix_plugins.prompting",
    "build_messages": "permix_plugins.prompting",
    "build_text": "permix_plugins.prompting",
    "MixConfig": "permix_plugins.mix_config",
    "PersonaMixDataset": "permix_plugins.mixing",
    "assign_persona": "permix_plugins.mix_config",
    "read_mix_config": "permix_plugins.mixing",
    "load_problems": "permix_plugins.problems",
    "normalize_problems": "permix_plugins.problems",
    "synthetic_problems": "permix_plugins.problems",
    "Extraction": "permix_plugins.answers",
    "extract_answer": "permix_plugins.answers",
    "extract_gold": "permix_plugins.answers",
    "MathVerifier": "permix_plugins.verifier",
    "Verdict": "permix_plugins.verifier",
    "StabilityReport": "permix_plugins.stability",
    "evaluate": "permix_plugins.evaluation.runner",
    "FidelityReport": "permix_plugins.fidelity.report",
    "evaluate_fidelity": "permix_plugins.fidelity.runner",
}

__all__ = [
    "DEFAULT_INSTRUCTION",
    "NO_PERSONA_ID",
    "ConfigError",
    "Extraction",
    "FidelityReport",
    "GenerationError",
    "MathVerifier",
    "MissingDependencyError",
    "MixConfig",
    "PermixError",
    "Persona",
    "PersonaFileError",
    "PersonaMixDataset",
    "PersonaPool",
    "StabilityReport",
    "Verdict",
    "__version__",
    "assign_persona",
    "build_messages",
    "build_text",
    "evaluate",
    "evaluate_fidelity",
    "extract_answer",
    "extract_gold",
    "load_problems",
    "normalize_problems",
    "read_mix_config",
    "synthetic_problems",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


if TYPE_CHECKING:
    from permix_plugins.answers import Extraction, extract_answer, extract_gold
    from permix_plugins.errors import (
        ConfigError,
        GenerationError,
        MissingDependencyError,
        PermixError,
        PersonaFileError,
    )
    from permix_plugins.evaluation.runner import evaluate
    from permix_plugins.fidelity.report import FidelityReport
    from permix_plugins.fidelity.runner import evaluate_fidelity
    from permix_plugins.mix_config import MixConfig, assign_persona
    from permix_plugins.mixing import PersonaMixDataset, read_mix_config
    from permix_plugins.personas import NO_PERSONA_ID, Persona, PersonaPool
    from permix_plugins.problems import load_problems, normalize_problems, synthetic_problems
    from permix_plugins.prompting import DEFAULT_INSTRUCTION, build_messages, build_text
    from permix_plugins.stability import StabilityReport
    from permix_plugins.verifier import MathVerifier, Verdict
