"""The exceptions permix-plugins raises on bad input (never on bad model output).

PermixError
├── ConfigError (also a ValueError)       a value, file or option that cannot be used as given
│   └── PersonaFileError                  a persona file with a bad entry (names file, entry, field)
├── GenerationError (RuntimeError)        a generation backend could not produce completions
└── MissingDependencyError (ImportError)  an optional framework is not installed (names the extra)
"""

from __future__ import annotations

__all__ = ["ConfigError", "GenerationError", "MissingDependencyError", "PermixError", "PersonaFileError"]


class PermixError(Exception):
    """Base class of every error raised by permix-plugins."""


class ConfigError(PermixError, ValueError):
    """A user-supplied value, file or option that cannot be used; the message says what is accepted."""


class PersonaFileError(ConfigError):
    """A persona file that does not validate; the message names the file, the entry and the field."""


class GenerationError(PermixError, RuntimeError):
    """A backend could not produce completions (server unreachable after retries, rejected request, ...)."""


class MissingDependencyError(PermixError, ImportError):
    """An optional dependency is missing; the message gives the `pip install` command that adds it."""
