"""Import optional dependencies at the point of use, with an error that names the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from permix_plugins.errors import MissingDependencyError


def require(module: str, extra: str) -> ModuleType:
    """Import `module` or raise `MissingDependencyError` quoting `pip install 'permix-plugins[extra]'`.

    Example:
        >>> require("json", extra="dev").__name__
        'json'
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{module!r} is needed here but could not be imported ({exc}). "
            f"Install it with: pip install 'permix-plugins[{extra}]'"
        ) from exc
