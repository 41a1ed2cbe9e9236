"""Lazy re-exports: a package lists its public names and their modules, and a name is imported on first use.

This keeps `import permix_plugins` (and its subpackages) light: no datasets, torch or trainer import until a
name that needs one is looked up.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module ``__getattr__`` and ``__dir__`` of `package`, whose `namespace` (its ``globals()``, with
    ``__all__`` set) re-exports each name of `exports` (public name -> the module that defines it).

    Example:
        >>> namespace = {"__all__": ["dumps"]}
        >>> getattr_, dir_ = lazy_exports("pkg", {"dumps": "json"}, namespace)
        >>> getattr_("dumps").__module__, "dumps" in namespace, dir_()
        ('json', True, ['dumps'])
        >>> getattr_("nope")
        Traceback (most recent call last):
        ...
        AttributeError: module 'pkg' has no attribute 'nope'
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value  # later lookups skip this hook
        return value

    def __dir__() -> list[str]:
        names: list[str] = namespace["__all__"]
        return names

    return __getattr__, __dir__
