"""What the report modules share (`permix_plugins.stability`, `permix_plugins.fidelity.report`).

Checks of the bootstrap arguments, float clean-up, number formatting and reading a report back from JSON: one
implementation of each, so the two reports validate, round and print alike.
"""

from __future__ import annotations

import json
from typing import Any

from permix_plugins.errors import ConfigError


def check_bootstrap(n_bootstrap: int, confidence: float) -> None:
    """Raise `ConfigError` unless `n_bootstrap` is a positive integer and `confidence` is in (0, 1)."""
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, int) or n_bootstrap < 1:
        raise ConfigError(f"n_bootstrap must be a positive integer (e.g. 1000), got {n_bootstrap!r}")
    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"confidence must be between 0 and 1 (e.g. 0.95), got {confidence!r}")


def clean(value: float) -> float:
    """Round away float noise (1e-17 instead of 0) so hand-checkable values read as such.

    Example:
        >>> clean(0.1 + 0.2), clean(-0.0)
        (0.3, 0.0)
    """
    return round(value, 12) + 0.0  # + 0.0 turns -0.0 into 0.0


def fmt(value: float | None, *, signed: bool = False) -> str:
    """`value` with three decimals (a sign with `signed`); ``n/a`` for None."""
    if value is None:
        return "n/a"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def fmt_ci(ci: tuple[float, float], *, signed: bool = False) -> str:
    """An interval as ``[low, high]``, each formatted as in `fmt`."""
    return f"[{fmt(ci[0], signed=signed)}, {fmt(ci[1], signed=signed)}]"


def adapter(cls: type) -> Any:
    """A pydantic `TypeAdapter` of `cls` (pydantic imported here, at first use)."""
    from pydantic import TypeAdapter

    return TypeAdapter(cls)


def loads(text: str | bytes, what: str) -> Any:
    """`text` parsed as JSON; invalid JSON raises `ConfigError` saying the `what` is not valid JSON."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"the {what} is not valid JSON: {exc}") from exc


def validate(cls: type, data: Any, what: str) -> Any:
    """`data` validated as a `cls`; a bad field raises `ConfigError` naming it (the first five problems)."""
    from pydantic import ValidationError

    try:
        return adapter(cls).validate_python(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or '(top)'}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise ConfigError(f"not a valid {what} ({exc.error_count()} problem(s)): {problems}") from exc
