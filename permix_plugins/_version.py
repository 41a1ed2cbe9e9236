"""The package version, in one place: the root re-exports it and the build reads it (pyproject's dynamic version).

It sits at the bottom of the core (no import) so that low modules, such as `_cached_map`, can use it without
reaching up to the package root.
"""

__version__ = "0.1.0"
