"""The report base: what `permix_plugins.stability` and `permix_plugins.fidelity.report` share.

- `Report`: JSON round trip (``to_dict``/``from_dict``/``to_json``/``from_json``/``read``) of a frozen report
  dataclass, validated by one cached pydantic adapter per class (`type_adapter`, which the results file's
  records use too); `PersonaReport` adds the per-persona lookup.
- Bootstrap: `check_bootstrap`, `resample_counts`, `percentile_interval`, `DEFAULT_BOOTSTRAP`.
- Plots: `two_panel_figure`, `dots`, `save_figure` (matplotlib, imported when a plot is drawn).
- Numbers: `clean`, `fmt`, `fmt_ci`.

One implementation of each, so the two reports validate, resample, round, print and draw alike.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from permix_plugins._optional import require
from permix_plugins.errors import ConfigError

if TYPE_CHECKING:
    from typing_extensions import Self

DEFAULT_BOOTSTRAP = 1000
_CHUNK = 500  # bootstrap replicates drawn at a time: bounds memory at _CHUNK x items counts

Interval = tuple[float, float]


# ------------------------------------------------------------------------------------------------ JSON
class Report:
    """Base of the report dataclasses: JSON round trip, validated on the way in.

    A subclass is a frozen dataclass with a `what`, its name in error messages.
    """

    what: ClassVar[str] = "report"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (`from_dict` reads it back)."""
        return type_adapter(type(self)).dump_python(self, mode="json")  # type: ignore[no-any-return]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """A report from `to_dict` output (validated; a bad field raises `ConfigError` naming it)."""
        from pydantic import ValidationError

        from permix_plugins.settings import describe_errors

        try:
            return type_adapter(cls).validate_python(data)  # type: ignore[no-any-return]
        except ValidationError as exc:
            raise ConfigError(
                f"not a valid {cls.what} ({exc.error_count()} problem(s)): {describe_errors(exc)}"
            ) from None

    def to_json(self, *, indent: int | None = 2) -> str:
        """The report as JSON text; `from_json` gives back an equal report."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> Self:
        """Read a report written by `to_json`."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"the {cls.what} is not valid JSON: {exc}") from exc
        return cls.from_dict(data)

    @classmethod
    def read(cls, path: str | PathLike[str]) -> Self:
        """Read a report JSON file."""
        return cls.from_json(Path(path).read_text(encoding="utf-8"))


class PersonaReport(Report):
    """A `Report` with one line per persona: a ``personas`` tuple of lines that each have a ``persona_id``."""

    @property
    def persona_ids(self) -> tuple[str, ...]:
        """The persona ids, in the order they first appeared in the rows."""
        return tuple(line.persona_id for line in self._lines())

    def persona(self, persona_id: str) -> Any:
        """The line of one persona (`KeyError` naming the valid ids if absent)."""
        for line in self._lines():
            if line.persona_id == persona_id:
                return line
        raise KeyError(f"no persona {persona_id!r} in this report; personas: {', '.join(self.persona_ids)}")

    def _lines(self) -> Sequence[Any]:
        return self.personas  # type: ignore[attr-defined, no-any-return]


@functools.cache
def type_adapter(cls: type) -> Any:
    """The pydantic `TypeAdapter` of `cls`, built once per class (building one is the costly part; pydantic is
    imported here, at first use)."""
    from pydantic import TypeAdapter

    return TypeAdapter(cls)


# ------------------------------------------------------------------------------------------------ bootstrap
def check_bootstrap(n_bootstrap: int, confidence: float) -> None:
    """Raise `ConfigError` unless `n_bootstrap` is a positive integer and `confidence` is in (0, 1)."""
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, int) or n_bootstrap < 1:
        raise ConfigError(f"n_bootstrap must be a positive integer (e.g. 1000), got {n_bootstrap!r}")
    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"confidence must be between 0 and 1 (e.g. 0.95), got {confidence!r}")


def resample_counts(n_items: int, n_bootstrap: int, seed: int) -> Iterator[np.ndarray]:
    """Bootstrap resamples of `n_items` items as count vectors (replicates x items), in chunks to bound memory.

    ``counts @ values / n_items`` is then the resampled mean of each replicate; the same `seed` always draws the
    same resamples.

    Example:
        >>> counts = np.concatenate(list(resample_counts(3, 4, seed=0)))
        >>> counts.shape, counts.sum(axis=1).tolist()
        ((4, 3), [3.0, 3.0, 3.0, 3.0])
    """
    rng = np.random.default_rng(seed)
    uniform = np.full(n_items, 1.0 / n_items)
    for start in range(0, n_bootstrap, _CHUNK):
        yield rng.multinomial(n_items, uniform, size=min(_CHUNK, n_bootstrap - start)).astype(float)


def percentile_interval(values: np.ndarray, confidence: float) -> Interval:
    """The percentile bootstrap interval of `values` at level `confidence` (e.g. 0.95: 2.5% and 97.5%).

    Example:
        >>> percentile_interval(np.arange(101.0), 0.9)
        (5.0, 95.0)
    """
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(values, [tail, 1.0 - tail])
    return clean(float(low)), clean(float(high))


# ------------------------------------------------------------------------------------------------ plots
def two_panel_figure(rows: int) -> tuple[Any, Any, Any]:
    """A matplotlib `Figure` (not pyplot: the caller's pyplot state and backend are left alone) with a wide left
    panel of `rows` labelled rows and a narrower right panel. Needs matplotlib (``permix-plugins[plot]``)."""
    require("matplotlib", extra="plot")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, max(3.5, 0.22 * rows + 1.5)), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[3, 2])
    return fig, left, right


def dots(
    axes: Any,
    labels: Sequence[str],
    points: Sequence[tuple[float, Interval | None]],
    *,
    colors: Sequence[str] | None = None,
) -> None:
    """One dot per label (bottom to top) with its confidence interval as a whisker (none without one)."""
    ys = np.arange(len(labels))
    values = np.array([v for v, _ in points], dtype=float)
    low = values - np.array([ci[0] if ci else v for v, ci in points], dtype=float)
    high = np.array([ci[1] if ci else v for v, ci in points], dtype=float) - values
    if len(labels):
        axes.errorbar(values, ys, xerr=np.vstack([low, high]), fmt="none", ecolor="0.6", lw=1)
        axes.scatter(values, ys, c=list(colors) if colors else "black", zorder=3, s=22)
    axes.set_yticks(ys, labels, fontsize=8 if len(labels) > 20 else 9)


def save_figure(fig: Any, path: str | PathLike[str], title: str) -> Path:
    """Title `fig`, save it as a PNG at `path` (folders made as needed) and return the path."""
    path = Path(path)
    fig.suptitle(title)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path


# ------------------------------------------------------------------------------------------------ numbers
def clean(value: float) -> float:
    """Round away float noise (1e-17 instead of 0) so hand-checkable values read as such.

    Example:
        >>> clean(0.1 + 0.2), clean(-0.0)
        (0.3, 0.0)
    """
    return round(value, 12) + 0.0  # + 0.0 turns -0.0 into 0.0


def fmt(value: float | None, *, signed: bool = False, digits: int = 3) -> str:
    """`value` with `digits` decimals (a sign with `signed`); ``n/a`` for None.

    Example:
        >>> fmt(0.5), fmt(-0.25, signed=True), fmt(None), fmt(4.0, digits=2)
        ('0.500', '-0.250', 'n/a', '4.00')
    """
    if value is None:
        return "n/a"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def fmt_ci(ci: Sequence[float] | None, *, signed: bool = False) -> str:
    """An interval (low, high) as ``[low, high]``, each formatted as in `fmt`; ``n/a`` for None.

    Example:
        >>> fmt_ci((0.1, 0.25)), fmt_ci([-0.5, 0.125], signed=True), fmt_ci(None)
        ('[0.100, 0.250]', '[-0.500, +0.125]', 'n/a')
    """
    if ci is None:
        return "n/a"
    return f"[{fmt(ci[0], signed=signed)}, {fmt(ci[1], signed=signed)}]"
