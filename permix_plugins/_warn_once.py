"""A warning said once per process, for code called per sample (reward hooks run thousands of times a step and
count what they skip; one line in the log is enough to point at the cause)."""

from __future__ import annotations

import logging
from typing import Any

_said: set[tuple[str, str]] = set()


def warn_once(logger: logging.Logger, key: str, message: str, *args: Any, exc_info: bool = False) -> None:
    """``logger.warning(message, *args)`` the first time `logger` warns under `key` in this process.

    Example:
        >>> class Log:  # a stand-in logger that prints
        ...     name = "example"
        ...     def warning(self, message, *args, exc_info=False):
        ...         print(message % args)
        >>> for _ in range(3):
        ...     warn_once(Log(), "empty", "%d samples had no answer", 2)
        2 samples had no answer
    """
    if (logger.name, key) not in _said:
        _said.add((logger.name, key))
        logger.warning(message, *args, exc_info=exc_info)
