r"""Persona stability: how much a model's accuracy depends on the persona in its prompt.

The input is a table of scored samples, one row per ``(persona_id, item_id, correct[, no_answer])``;
`StabilityReport.from_results` turns it into the numbers below, `compare` tests whether one model is more
persona-stable than another.

**PSS (persona stability score) = mean_p(acc_p) − std_p(acc_p)**, with the population standard deviation over
personas, not clipped at 0. This is permix-plugins' own definition: PerMix-RLVR (arXiv 2604.08986) reports a
PSS but does not publish its formula. PSS rewards a high *and* even accuracy across personas; it grows with
the accuracy level (a model at 0% has PSS 0), so compare PSS between models on the same questions and
personas.

How the table is read:

- **Cells.** With several samples per item, an item's correctness under a persona is the mean over its samples
  (a value in [0, 1]); ``acc_p`` is the mean of persona p's cells. The no-answer rate is read the same way.
- **Paired design.** Only items scored under *every* persona count, so every persona is measured on the same
  questions; the others are left out and counted in ``n_incomplete``. An item whose gold answer cannot be
  parsed (``correct`` is ``None`` in any row) is left out and counted in ``n_bad_gold``.
- **Unanimity** is the share of items on which every sample under every persona agrees: all correct
  (``all_correct``) or all wrong (``all_wrong``). A fractional cell (some samples right, some wrong) is never
  unanimous.
- **Expected best-of-k** is, for k = 1..|P|, the expected per-item maximum of the cells of a uniformly random
  k-subset of personas, averaged over items (exact, by order statistics: with an item's cells sorted ascending
  ``c_(1) <= ... <= c_(P)``, ``E[max] = sum_i c_(i) C(i-1, k-1) / C(P, k)``). k = 1 is the mean accuracy;
  k = |P| is the per-item oracle (pick the best persona for each question after the fact).
- **Worst gap to none** is ``min_p acc_p − acc_none`` over the personas other than ``none`` (None when there
  is no ``none`` persona).
- **Expressivity** (rows with a ``style`` value: did the completion meet its persona's checkable style,
  `permix_plugins.styles`) is the share of a styled persona's completions that meet its style, and the mean of
  that share over the styled personas. It is read over the paired items on which every styled persona has a
  style verdict; a persona without a style has none (``None``, never 0).
- **Confidence intervals** are percentile bootstrap intervals over items (items resampled with replacement,
  personas fixed), seeded, so the same input and seed always give the same interval.

Example:
    >>> rows = [("none", "q1", 1), ("none", "q2", 1), ("pirate", "q1", 1), ("pirate", "q2", 0)]
    >>> report = StabilityReport.from_results(rows, n_bootstrap=200)
    >>> report.accuracy
    {'none': 1.0, 'pirate': 0.5}
    >>> report.mean, report.std, report.pss, report.gap_to_none, report.unanimity
    (0.75, 0.25, 0.5, -0.5, 0.5)
    >>> report.best_of_k
    (0.75, 1.0)
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from permix_plugins._reporting import (
    DEFAULT_BOOTSTRAP,
    Interval,
    PersonaReport,
    Report,
    check_bootstrap,
    clean,
    dots,
    fmt,
    fmt_ci,
    percentile_interval,
    resample_counts,
    save_figure,
    two_panel_figure,
)
from permix_plugins.errors import ConfigError
from permix_plugins.personas import NO_PERSONA_ID

__all__ = [
    "DEFAULT_BOOTSTRAP",
    "PSS_DEFINITION",
    "Comparison",
    "PersonaAccuracy",
    "StabilityReport",
    "best_of_k",
    "compare",
    "mean_delta_pss",
    "percentile_interval",
    "resample_counts",
]

PSS_DEFINITION = (
    "PSS = mean over personas of accuracy minus the (population) standard deviation over personas, "
    "unclipped; "
    "this is permix-plugins' definition (the PerMix-RLVR paper does not publish its exact formula)."
)
_ROW_KEYS = ("persona_id", "item_id", "correct", "no_answer", "style")
# the types of a scored row of a results file, for the fast path of `_parse_row`
_RECORD_ROWS = frozenset(
    {(str, str, bool, bool), (str, str, bool, bool, bool), (str, str, bool, bool, type(None))}
)


# ------------------------------------------------------------------------------------------------ results
@dataclass(frozen=True)
class PersonaAccuracy:
    """One persona's line of the report: accuracy (with its bootstrap CI), no-answer rate, scored samples, and
    for a styled persona its expressivity (share of completions meeting its style, with a CI; else None)."""

    persona_id: str
    accuracy: float
    ci: Interval
    no_answer_rate: float
    samples: int
    expressivity: float | None = None
    expressivity_ci: Interval | None = None


@dataclass(frozen=True)
class StabilityReport(PersonaReport):
    """The persona-stability report of one model on one set of questions and personas.

    Build it with `from_results`; every number is over the paired items (see the module docstring). `cells`
    keeps the item x persona table (rows in `item_ids` order, columns in `persona_ids` order), and
    `style_cells` the style table (rows in `style_item_ids` order, columns in `styled_ids` order), so a report
    read back from JSON can still be compared with another (`compare`). `expressivity` is the mean over the
    styled personas (None when no persona has a style).
    """

    pss: float
    pss_ci: Interval
    mean: float
    mean_ci: Interval
    std: float
    worst: float
    worst_persona: str
    best: float
    best_persona: str
    range: float
    gap_to_none: float | None
    unanimity: float
    all_correct: float
    all_wrong: float
    best_of_k: tuple[float, ...]
    personas: tuple[PersonaAccuracy, ...]
    n_items: int
    n_bad_gold: int
    n_incomplete: int
    item_ids: tuple[str, ...]
    cells: tuple[tuple[float, ...], ...]
    confidence: float
    n_bootstrap: int
    seed: int
    meta: dict[str, Any] = field(default_factory=dict)
    definition: str = PSS_DEFINITION
    expressivity: float | None = None
    expressivity_ci: Interval | None = None
    style_item_ids: tuple[str, ...] = ()
    style_cells: tuple[tuple[float, ...], ...] = ()

    what = "stability report"

    # -- building

    @classmethod
    def from_results(
        cls,
        rows: Iterable[Sequence[Any] | Mapping[str, Any]],
        *,
        n_bootstrap: int = DEFAULT_BOOTSTRAP,
        confidence: float = 0.95,
        seed: int = 0,
        meta: Mapping[str, Any] | None = None,
    ) -> StabilityReport:
        """The report of scored rows: tuples ``(persona_id, item_id, correct)``,
        ``(persona_id, item_id, correct, no_answer)`` or ``(persona_id, item_id, correct, no_answer, style)``, or
        mappings with those keys.

        `correct` is a bool or a number in [0, 1]; ``None`` marks an item whose gold cannot be parsed (the
        item is left out). `style` is whether the completion met its persona's style (None: no style). Several rows per (persona, item) are several samples. `n_bootstrap` resamples of
        the items give the confidence intervals at level `confidence`, drawn with `seed`.

        Example:
            >>> rows = [{"persona_id": p, "item_id": q, "correct": c, "no_answer": c == 0}
            ...         for p, q, c in [("a", "q1", 1), ("a", "q2", 0), ("b", "q1", 1), ("b", "q2", 1)]]
            >>> report = StabilityReport.from_results(rows, n_bootstrap=100, seed=1)
            >>> report.persona("a").no_answer_rate, report.n_items
            (0.5, 2)
        """
        check_bootstrap(n_bootstrap, confidence)
        table = _Table.read(rows)
        return _stability_report(
            table, n_bootstrap=n_bootstrap, confidence=confidence, seed=seed, meta=dict(meta or {})
        )

    # -- reading (JSON: `Report`; `StabilityReport.read("report.json")`)

    @property
    def accuracy(self) -> dict[str, float]:
        """Accuracy per persona id.

        Example:
            >>> report = StabilityReport.from_results([("a", "q", 1), ("b", "q", 0)], n_bootstrap=10)
            >>> report.accuracy, report.persona("b").accuracy, StabilityReport.from_json(report.to_json()) == report
            ({'a': 1.0, 'b': 0.0}, 0.0, True)
        """
        return {p.persona_id: p.accuracy for p in self.personas}

    @property
    def styled_ids(self) -> tuple[str, ...]:
        """The ids of the personas with an expressivity (a style), in report order."""
        return tuple(p.persona_id for p in self.personas if p.expressivity is not None)

    def scalars(self) -> dict[str, float | None]:
        """The report's headline numbers by name, flat (a training log, a summary): PSS, mean accuracy, std,
        worst persona's accuracy, worst gap to no persona (None without a ``none`` persona), per-item oracle.

        Example:
            >>> StabilityReport.from_results([("none", "q", 1), ("owl", "q", 0)], n_bootstrap=10).scalars()
            {'pss': 0.0, 'mean': 0.5, 'std': 0.5, 'worst': 0.0, 'gap_to_none': -1.0, 'best_of_all': 1.0}
        """
        return {
            "pss": self.pss,
            "mean": self.mean,
            "std": self.std,
            "worst": self.worst,
            "gap_to_none": self.gap_to_none,
            "best_of_all": self.best_of_k[-1],
        }

    # -- rendering

    def to_markdown(self) -> str:
        """A summary table, the per-persona table (sorted by accuracy) and the best-of-k row, as markdown.

        Example:
            >>> report = StabilityReport.from_results([("none", "q", 1), ("owl", "q", 0)], n_bootstrap=10)
            >>> print(report.to_markdown().splitlines()[6])
            | PSS (mean − std) | 0.000 | [0.000, 0.000] |
        """
        level = f"{self.confidence:.0%} CI"
        title = self.meta.get("model") or "persona stability"
        lines = [
            f"## Persona stability: {title}",
            "",
            f"{self.n_items} items x {len(self.personas)} personas, {self.n_bootstrap} bootstrap resamples.",
            "",
            f"| metric | value | {level} |",
            "|---|---|---|",
            f"| PSS (mean − std) | {self.pss:.3f} | {fmt_ci(self.pss_ci)} |",
            f"| mean accuracy | {self.mean:.3f} | {fmt_ci(self.mean_ci)} |",
            f"| std across personas | {self.std:.3f} | |",
            f"| worst | {self.worst:.3f} (`{self.worst_persona}`) | |",
            f"| best | {self.best:.3f} (`{self.best_persona}`) | |",
            f"| range | {self.range:.3f} | |",
            f"| worst gap to `{NO_PERSONA_ID}` | {fmt(self.gap_to_none, signed=True)} | |",
            (
                f"| unanimity | {self.unanimity:.3f} (all correct {self.all_correct:.3f}, "
                f"all wrong {self.all_wrong:.3f}) | |"
            ),
            f"| per-item oracle (best-of-{len(self.personas)}) | {self.best_of_k[-1]:.3f} | |",
        ]
        if self.expressivity is not None:
            lines.append(
                f"| expressivity (mean over {len(self.styled_ids)} styled personas, "
                f"{len(self.style_item_ids)} items) | {self.expressivity:.3f} | {fmt_ci(self.expressivity_ci)} |"
            )
        styled = self.expressivity is not None
        lines += [
            "",
            f"| persona | accuracy | {level} | no answer | samples |"
            + (f" style held | {level} |" if styled else ""),
            "|---|---|---|---|---|" + ("---|---|" if styled else ""),
        ]
        for line in sorted(self.personas, key=lambda p: (-p.accuracy, p.persona_id)):
            style = f" {fmt(line.expressivity)} | {fmt_ci(line.expressivity_ci)} |" if styled else ""
            lines.append(
                f"| `{line.persona_id}` | {line.accuracy:.3f} | {fmt_ci(line.ci)} | "
                f"{line.no_answer_rate:.3f} | {line.samples} |{style}"
            )
        ks = range(1, len(self.best_of_k) + 1)
        lines += [
            "",
            "Expected best-of-k accuracy (best of k personas drawn at random, per item):",
            "",
            "| k | " + " | ".join(str(k) for k in ks) + " |",
            "|---|" + "---|" * len(self.best_of_k),
            "| best-of-k | " + " | ".join(f"{v:.3f}" for v in self.best_of_k) + " |",
            "",
            f"{self.definition}",
        ]
        if styled:
            lines.append(
                "Expressivity: the share of a styled persona's completions that meet its checkable style "
                "(permix_plugins.styles); n/a: the persona has no style."
            )
        if self.n_bad_gold or self.n_incomplete:
            lines.append(
                f"Left out: {self.n_bad_gold} item(s) whose gold answer cannot be parsed, "
                f"{self.n_incomplete} item(s) not scored under every persona."
            )
        return "\n".join(lines) + "\n"

    def plot(self, path: str | PathLike[str], *, title: str | None = None) -> Path:
        """Save a PNG: per-persona accuracy (dots with CI whiskers, mean ± std band) and the best-of-k curve.

        Needs matplotlib (``pip install 'permix-plugins[plot]'``); draws on its own `Figure`, so the caller's
        pyplot state and backend are left alone.
        """
        order = sorted(self.personas, key=lambda p: p.accuracy)
        fig, left, right = two_panel_figure(len(order))
        left.axvspan(
            self.mean - self.std, self.mean + self.std, color="tab:blue", alpha=0.12, label="mean ± std"
        )
        left.axvline(self.mean, color="tab:blue", lw=1.5, label=f"mean {self.mean:.3f}")
        left.axvline(self.pss, color="tab:red", lw=1.2, ls="--", label=f"PSS {self.pss:.3f}")
        colors = ["tab:orange" if p.persona_id == NO_PERSONA_ID else "black" for p in order]
        dots(left, [p.persona_id for p in order], [(p.accuracy, p.ci) for p in order], colors=colors)
        styled = [(y, p) for y, p in enumerate(order) if p.expressivity is not None]
        if styled:
            ys = [y for y, _ in styled]
            values = [p.expressivity for _, p in styled]
            spans = [[v - p.expressivity_ci[0] for v, (_, p) in zip(values, styled, strict=True)],
                     [p.expressivity_ci[1] - v for v, (_, p) in zip(values, styled, strict=True)]]  # fmt: skip
            left.errorbar(values, ys, xerr=spans, fmt="none", ecolor="tab:purple", alpha=0.5, lw=1)
            left.scatter(values, ys, marker="^", color="tab:purple", zorder=3, s=24, label="style held")
        left.set_xlabel(
            f"accuracy{' / style held' if styled else ''} ({self.confidence:.0%} CI over {self.n_items} items)"
        )
        left.set_xlim(-0.02, 1.02)
        left.legend(loc="lower right", fontsize=8)
        left.set_title(
            "accuracy (dots) and style held (triangles) per persona" if styled else "accuracy per persona"
        )

        ks = np.arange(1, len(self.best_of_k) + 1)
        right.plot(ks, self.best_of_k, marker="o", color="tab:green")
        right.set_xlabel("k (personas drawn at random)")
        right.set_ylabel("expected best-of-k accuracy")
        right.set_ylim(-0.02, 1.02)
        right.set_xticks(ks if len(ks) <= 12 else np.unique(np.linspace(1, len(ks), 10).round().astype(int)))
        right.grid(alpha=0.3)
        right.set_title("persona lottery: best of k")
        return save_figure(fig, path, title or str(self.meta.get("model") or "persona stability"))


@dataclass(frozen=True)
class Comparison(Report):
    """A paired comparison of two reports over their shared items and personas: Δ = b − a.

    ``delta_pss > 0`` means `b` is more persona-stable than `a`. ``pss_a``/``pss_b`` (and the means) are
    recomputed on the shared items and personas, so they may differ from the reports' own values.
    """

    labels: tuple[str, str]
    pss_a: float
    pss_b: float
    delta_pss: float
    delta_pss_ci: Interval
    p_pss: float
    mean_a: float
    mean_b: float
    delta_mean: float
    delta_mean_ci: Interval
    p_mean: float
    n_items: int
    persona_ids: tuple[str, ...]
    confidence: float
    n_bootstrap: int
    seed: int
    expressivity_a: float | None = None
    expressivity_b: float | None = None
    delta_expressivity: float | None = None
    delta_expressivity_ci: Interval | None = None
    p_expressivity: float | None = None
    styled_ids: tuple[str, ...] = ()
    n_style_items: int = 0

    what = "comparison"

    def to_markdown(self) -> str:
        """One table: both models, Δ = b − a with its CI and two-sided bootstrap p-value."""
        a, b = self.labels
        level = f"{self.confidence:.0%} CI"
        expressivity = []
        if self.delta_expressivity is not None:
            expressivity = [
                f"| expressivity ({len(self.styled_ids)} styled personas, {self.n_style_items} items) | "
                f"{fmt(self.expressivity_a)} | {fmt(self.expressivity_b)} | {self.delta_expressivity:+.3f} | "
                f"{fmt_ci(self.delta_expressivity_ci, signed=True)} | {_fmt_p(self.p_expressivity or 1.0)} |"
            ]
        return "\n".join(
            [
                f"## Persona stability: {b} vs {a}",
                "",
                (
                    f"Paired over {self.n_items} shared items x {len(self.persona_ids)} shared personas, "
                    f"{self.n_bootstrap} bootstrap resamples; Δ = {b} − {a}."
                ),
                "",
                f"| metric | {a} | {b} | Δ | {level} | p |",
                "|---|---|---|---|---|---|",
                (
                    f"| PSS | {self.pss_a:.3f} | {self.pss_b:.3f} | {self.delta_pss:+.3f} | "
                    f"{fmt_ci(self.delta_pss_ci, signed=True)} | {_fmt_p(self.p_pss)} |"
                ),
                (
                    f"| mean accuracy | {self.mean_a:.3f} | {self.mean_b:.3f} | {self.delta_mean:+.3f} | "
                    f"{fmt_ci(self.delta_mean_ci, signed=True)} | {_fmt_p(self.p_mean)} |"
                ),
                *expressivity,
                "",
                PSS_DEFINITION,
                "",
            ]
        )


# ------------------------------------------------------------------------------------------- the statistics
def best_of_k(cells: Any) -> np.ndarray:
    """Expected best-of-k accuracy for k = 1..P of an items x personas table of cells in [0, 1].

    Exact: per item, the expected maximum over a uniformly random k-subset of the personas (order statistics),
    then the mean over items.

    Example:
        >>> best_of_k([[0, 1, 1], [0, 0, 1]]).round(4).tolist()
        [0.5, 0.8333, 1.0]
    """
    table = np.asarray(cells, dtype=float)
    if table.ndim != 2 or table.size == 0:
        raise ConfigError(f"best_of_k needs a non-empty items x personas table, got shape {table.shape}")
    n_personas = table.shape[1]
    # weights[k-1, i-1] = C(i-1, k-1) / C(P, k): the chance that the i-th smallest is the max of a k-subset
    weights = np.array(
        [
            [math.comb(i - 1, k - 1) / math.comb(n_personas, k) for i in range(1, n_personas + 1)]
            for k in range(1, n_personas + 1)
        ]
    )
    return np.sort(table, axis=1).mean(axis=0) @ weights.T  # type: ignore[no-any-return]


def compare(
    a: StabilityReport,
    b: StabilityReport,
    *,
    n_bootstrap: int | None = None,
    confidence: float | None = None,
    seed: int | None = None,
    labels: tuple[str, str] | None = None,
) -> Comparison:
    """Paired bootstrap comparison of two reports on their shared items and personas: Δ = b − a.

    The same resampled items are used for both, so the per-question correlation between the two models is
    kept. The p-value is two-sided: twice the smaller share of bootstrap Δs on either side of 0 (with a +1
    correction, so it is never 0), which rejects at level α exactly when the (1 − α) percentile interval
    excludes 0. `n_bootstrap`, `confidence` and `seed` default to `a`'s; `labels` to the reports'
    ``meta["model"]``.

    Example:
        >>> rows = [(p, q, q != "q1") for p in "xy" for q in ("q1", "q2")]
        >>> a = StabilityReport.from_results(rows, n_bootstrap=50)
        >>> compare(a, a).delta_pss, compare(a, a).p_pss
        (0.0, 1.0)
    """
    n_bootstrap = a.n_bootstrap if n_bootstrap is None else n_bootstrap
    confidence = a.confidence if confidence is None else confidence
    seed = a.seed if seed is None else seed
    check_bootstrap(n_bootstrap, confidence)
    if labels is None:
        labels = (str(a.meta.get("model") or "a"), str(b.meta.get("model") or "b"))
        if labels[0] == labels[1]:
            labels = (f"{labels[0]} (a)", f"{labels[1]} (b)")
    items, personas, cells_a, cells_b = _paired_cells(a, b)
    pss_a, mean_a = _pss_mean(cells_a.mean(axis=0))
    pss_b, mean_b = _pss_mean(cells_b.mean(axis=0))
    d_pss, d_mean = [], []
    for counts in resample_counts(len(items), n_bootstrap, seed):
        boot_a = _pss_mean(counts @ cells_a / len(items), axis=1)
        boot_b = _pss_mean(counts @ cells_b / len(items), axis=1)
        d_pss.append(boot_b[0] - boot_a[0])
        d_mean.append(boot_b[1] - boot_a[1])
    d_pss_all, d_mean_all = np.concatenate(d_pss), np.concatenate(d_mean)
    return Comparison(
        **_compare_expressivity(a, b, n_bootstrap=n_bootstrap, confidence=confidence, seed=seed),
        labels=(labels[0], labels[1]),
        pss_a=pss_a,
        pss_b=pss_b,
        delta_pss=clean(pss_b - pss_a),
        delta_pss_ci=percentile_interval(d_pss_all, confidence),
        p_pss=_p_value(d_pss_all),
        mean_a=mean_a,
        mean_b=mean_b,
        delta_mean=clean(mean_b - mean_a),
        delta_mean_ci=percentile_interval(d_mean_all, confidence),
        p_mean=_p_value(d_mean_all),
        n_items=len(items),
        persona_ids=tuple(personas),
        confidence=confidence,
        n_bootstrap=n_bootstrap,
        seed=seed,
    )


def mean_delta_pss(
    pairs: Sequence[tuple[StabilityReport, StabilityReport]],
    *,
    n_bootstrap: int = DEFAULT_BOOTSTRAP,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, Any]:
    """The mean over `pairs` of ΔPSS = PSS(b) − PSS(a), with a paired bootstrap over the items every pair shares:
    one resample of the items serves every pair, so the interval carries the test-item noise of the mean Δ.

    For several training runs measured on one test set, a t-interval over the runs leaves that noise out (every
    run saw the same items). Returns ``delta_pss``, its interval ``ci``, the two-sided ``p``, ``items`` and ``pairs``.

    Example:
        >>> grid = [(p, q) for p in "xy" for q in ("q1", "q2", "q3")]
        >>> a = StabilityReport.from_results([(p, q, (p, q) != ("x", "q1")) for p, q in grid])  # PSS 2/3
        >>> b = StabilityReport.from_results([(p, q, True) for p, q in grid])  # PSS 1
        >>> round(mean_delta_pss([(a, b), (b, b)], n_bootstrap=50)["delta_pss"], 4)  # (1/3 + 0) / 2
        0.1667
    """
    check_bootstrap(n_bootstrap, confidence)
    if not pairs:
        raise ConfigError("mean_delta_pss needs at least one pair of reports")
    paired = [_paired_cells(a, b) for a, b in pairs]
    shared = set.intersection(*(set(items) for items, *_ in paired))
    if not shared:
        raise ConfigError("the pairs share no item; measure every pair on the same problems")
    order = [item for item in paired[0][0] if item in shared]  # the first pair's order: one pair is `compare`
    point, boot = 0.0, np.zeros(n_bootstrap)
    for items, _, cells_a, cells_b in paired:
        row_of = {item: row for row, item in enumerate(items)}
        rows = [row_of[item] for item in order]
        cells_a, cells_b = cells_a[rows], cells_b[rows]
        point += _pss_mean(cells_b.mean(axis=0))[0] - _pss_mean(cells_a.mean(axis=0))[0]
        boot += np.concatenate(
            [
                _pss_mean(counts @ cells_b / len(rows), axis=1)[0]
                - _pss_mean(counts @ cells_a / len(rows), axis=1)[0]
                for counts in resample_counts(len(rows), n_bootstrap, seed)
            ]
        )
    boot /= len(paired)
    return {
        "delta_pss": clean(point / len(paired)),
        "ci": list(percentile_interval(boot, confidence)),
        "p": _p_value(boot),
        "items": len(shared),
        "pairs": len(paired),
    }


def _paired_cells(
    a: StabilityReport, b: StabilityReport
) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """The items and personas two reports share, and each report's items x personas cells over them."""
    personas = [p for p in a.persona_ids if p in set(b.persona_ids)]
    b_rows = {item: row for row, item in enumerate(b.item_ids)}
    rows = [(row, b_rows[item]) for row, item in enumerate(a.item_ids) if item in b_rows]
    if not personas or not rows:
        raise ConfigError(
            f"the two reports share {len(rows)} item(s) and {len(personas)} persona(s); a paired comparison "
            "needs both, so evaluate the two models on the same problems and persona pool"
        )
    cols_a = [a.persona_ids.index(p) for p in personas]
    cols_b = [b.persona_ids.index(p) for p in personas]
    cells_a = np.asarray(a.cells, dtype=float)[np.ix_([i for i, _ in rows], cols_a)]
    cells_b = np.asarray(b.cells, dtype=float)[np.ix_([j for _, j in rows], cols_b)]
    return [a.item_ids[i] for i, _ in rows], personas, cells_a, cells_b


def _compare_expressivity(
    a: StabilityReport, b: StabilityReport, *, n_bootstrap: int, confidence: float, seed: int
) -> dict[str, Any]:
    """The expressivity fields of a `Comparison`: over the styled personas and style items both reports share."""
    styled = [p for p in a.styled_ids if p in set(b.styled_ids)]
    b_rows = {item: row for row, item in enumerate(b.style_item_ids)}
    items = [(row, b_rows[item]) for row, item in enumerate(a.style_item_ids) if item in b_rows]
    if not styled or not items:
        return {}
    cells_a = np.asarray(a.style_cells, dtype=float)[
        np.ix_([i for i, _ in items], [a.styled_ids.index(p) for p in styled])
    ]
    cells_b = np.asarray(b.style_cells, dtype=float)[
        np.ix_([j for _, j in items], [b.styled_ids.index(p) for p in styled])
    ]
    boot = np.concatenate(
        [
            (counts @ (cells_b - cells_a)).mean(axis=1) / len(items)
            for counts in resample_counts(len(items), n_bootstrap, seed)
        ]
    )
    mean_a, mean_b = clean(float(cells_a.mean())), clean(float(cells_b.mean()))
    return {
        "expressivity_a": mean_a,
        "expressivity_b": mean_b,
        "delta_expressivity": clean(mean_b - mean_a),
        "delta_expressivity_ci": percentile_interval(boot, confidence),
        "p_expressivity": _p_value(boot),
        "styled_ids": tuple(styled),
        "n_style_items": len(items),
    }


# ------------------------------------------------------------------------------------------------ internals
@dataclass(frozen=True)
class _Table:
    """The paired items x personas table read from rows (means over samples), plus what was left out."""

    persona_ids: tuple[str, ...]
    item_ids: tuple[str, ...]
    correct: np.ndarray  # items x personas, mean correctness over samples
    no_answer: np.ndarray  # items x personas, share of samples without an extractable answer
    samples: np.ndarray  # items x personas, number of samples
    style_held: np.ndarray  # items x personas, samples whose style held
    style_checked: np.ndarray  # items x personas, samples with a style verdict (0 for an unstyled persona)
    n_bad_gold: int
    n_incomplete: int

    @classmethod
    def read(cls, rows: Iterable[Sequence[Any] | Mapping[str, Any]]) -> _Table:
        parsed = [_parse_row(index, row) for index, row in enumerate(rows)]
        personas = {p: k for k, p in enumerate(dict.fromkeys(row[0] for row in parsed))}  # first-seen order
        items = {i: k for k, i in enumerate(dict.fromkeys(row[1] for row in parsed))}
        bad_gold = {row[1] for row in parsed if row[2] is None}
        if not personas:
            raise ConfigError("no results to report: the rows are empty")
        scored = [row for row in parsed if row[2] is not None]
        # (item, persona) -> [correct, no-answer, samples, style held, style checked] sums, by bincount over
        # flat cell indices
        cell = np.fromiter(
            (items[row[1]] * len(personas) + personas[row[0]] for row in scored), int, len(scored)
        )
        size = len(items) * len(personas)

        def total(values: Iterable[float]) -> np.ndarray:
            return np.bincount(cell, np.fromiter(values, float, len(scored)), size)

        sums = np.stack(
            [
                total(row[2] for row in scored),
                total(row[3] for row in scored),
                np.bincount(cell, minlength=size).astype(float),
                total(row[4] or 0.0 for row in scored),
                total(row[4] is not None for row in scored),
            ],
            axis=-1,
        ).reshape(len(items), len(personas), 5)
        scored_everywhere = np.all(sums[:, :, 2] > 0, axis=1)
        complete = [item for item, k in items.items() if item not in bad_gold and scored_everywhere[k]]
        if not complete:
            raise ConfigError(
                f"no item was scored under every persona ({len(items)} item(s), {len(personas)} persona(s), "
                f"{len(bad_gold)} with an unparseable gold answer); the report compares personas on the same "
                "items, so finish the evaluation (rerun to resume) or drop the personas with missing results"
            )
        table = sums[[items[item] for item in complete]]
        samples = table[:, :, 2]
        return cls(
            persona_ids=tuple(personas),
            item_ids=tuple(complete),
            correct=table[:, :, 0] / samples,
            no_answer=table[:, :, 1] / samples,
            samples=samples.astype(int),
            style_held=table[:, :, 3],
            style_checked=table[:, :, 4],
            n_bad_gold=len(bad_gold),
            n_incomplete=len(items) - len(bad_gold) - len(complete),
        )


def _parse_row(
    index: int, row: Sequence[Any] | Mapping[str, Any]
) -> tuple[str, str, float | None, bool, float | None]:
    if (
        type(row) is tuple and tuple(map(type, row)) in _RECORD_ROWS
    ):  # a row of a results file (`stability_rows`): well typed
        style = row[4] if len(row) == 5 else None
        return row[0], row[1], float(row[2]), row[3], None if style is None else float(style)
    if isinstance(row, Mapping):
        missing = [k for k in _ROW_KEYS[:3] if k not in row]
        if missing:
            raise ConfigError(
                f"result row {index} has no {', '.join(map(repr, missing))}; a mapping row needs the keys "
                f"persona_id, item_id, correct (and optionally no_answer, style), got {sorted(map(str, row))}"
            )
        values = (
            row["persona_id"],
            row["item_id"],
            row["correct"],
            row.get("no_answer", False),
            row.get("style"),
        )
    elif isinstance(row, Sequence) and not isinstance(row, (str, bytes)) and len(row) in (3, 4, 5):
        values = (*row, *(False, None)[len(row) - 3 :])
    else:
        raise ConfigError(
            f"result row {index} is {row!r}; use (persona_id, item_id, correct), "
            "(persona_id, item_id, correct, no_answer), (persona_id, item_id, correct, no_answer, style) "
            "or a mapping with those keys"
        )
    persona_id, item_id, correct, no_answer, style = values
    if not isinstance(persona_id, str) or not isinstance(item_id, str):
        raise ConfigError(f"result row {index}: persona_id and item_id must be strings, got {row!r}")
    return (
        persona_id,
        item_id,
        _share(index, "correct", correct, "a bool, a number in [0, 1] or None"),
        bool(no_answer),
        _share(index, "style", style, "a bool, a number in [0, 1] or None (no style)"),
    )


def _share(index: int, name: str, value: Any, accepted: str) -> float | None:
    """A row's `correct` or `style`: None, or a number in [0, 1] (a bool counts as 0 or 1)."""
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, (numbers.Real, np.bool_)):
        raise ConfigError(f"result row {index}: {name} must be {accepted}, got {value!r}")
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise ConfigError(f"result row {index}: {name} must be in [0, 1], got {value!r}")
    return number


def _stability_report(
    table: _Table, *, n_bootstrap: int, confidence: float, seed: int, meta: dict[str, Any]
) -> StabilityReport:
    cells = table.correct
    n_items = len(table.item_ids)
    acc = cells.mean(axis=0)
    pss, mean = _pss_mean(acc)
    std = clean(float(acc.std()))
    worst, best = int(np.argmin(acc)), int(np.argmax(acc))

    boot_acc = np.concatenate(
        [counts @ cells / n_items for counts in resample_counts(n_items, n_bootstrap, seed)]
    )
    boot_pss, boot_mean = _pss_mean(boot_acc, axis=1)
    persona_ci = [percentile_interval(boot_acc[:, p], confidence) for p in range(acc.size)]

    others = [i for i, p in enumerate(table.persona_ids) if p != NO_PERSONA_ID]
    gap = None
    if NO_PERSONA_ID in table.persona_ids and others:
        gap = clean(float(acc[others].min() - acc[table.persona_ids.index(NO_PERSONA_ID)]))
    all_correct = float(np.mean(np.all(cells == 1.0, axis=1)))
    all_wrong = float(np.mean(np.all(cells == 0.0, axis=1)))
    style = _Expressivity.of(table, n_bootstrap=n_bootstrap, confidence=confidence, seed=seed)
    return StabilityReport(
        pss=pss,
        pss_ci=percentile_interval(boot_pss, confidence),
        mean=mean,
        mean_ci=percentile_interval(boot_mean, confidence),
        std=std,
        worst=float(acc[worst]),
        worst_persona=table.persona_ids[worst],
        best=float(acc[best]),
        best_persona=table.persona_ids[best],
        range=clean(float(acc[best] - acc[worst])),
        gap_to_none=gap,
        unanimity=all_correct + all_wrong,
        all_correct=all_correct,
        all_wrong=all_wrong,
        best_of_k=tuple(clean(float(v)) for v in best_of_k(cells)),
        personas=tuple(
            PersonaAccuracy(
                persona_id=persona_id,
                accuracy=float(acc[p]),
                ci=persona_ci[p],
                no_answer_rate=float(table.no_answer[:, p].mean()),
                samples=int(table.samples[:, p].sum()),
                expressivity=style.per_persona.get(p, (None, None))[0],
                expressivity_ci=style.per_persona.get(p, (None, None))[1],
            )
            for p, persona_id in enumerate(table.persona_ids)
        ),
        n_items=n_items,
        n_bad_gold=table.n_bad_gold,
        n_incomplete=table.n_incomplete,
        item_ids=table.item_ids,
        cells=tuple(tuple(float(v) for v in row) for row in cells),
        confidence=confidence,
        n_bootstrap=n_bootstrap,
        seed=seed,
        meta=meta,
        expressivity=style.mean,
        expressivity_ci=style.mean_ci,
        style_item_ids=style.item_ids,
        style_cells=style.cells,
    )


@dataclass(frozen=True)
class _Expressivity:
    """The expressivity part of a report: per styled persona (column index -> value, CI) and their mean."""

    per_persona: dict[int, tuple[float, Interval]]
    mean: float | None = None
    mean_ci: Interval | None = None
    item_ids: tuple[str, ...] = ()
    cells: tuple[tuple[float, ...], ...] = ()

    @classmethod
    def of(cls, table: _Table, *, n_bootstrap: int, confidence: float, seed: int) -> _Expressivity:
        styled = [p for p in range(len(table.persona_ids)) if table.style_checked[:, p].any()]
        rows = [i for i in range(len(table.item_ids)) if (table.style_checked[i, styled] > 0).all()]
        if not styled or not rows:
            return cls({})
        cells = table.style_held[np.ix_(rows, styled)] / table.style_checked[np.ix_(rows, styled)]
        boot = np.concatenate(
            [counts @ cells / len(rows) for counts in resample_counts(len(rows), n_bootstrap, seed)]
        )
        share = cells.mean(axis=0)
        return cls(
            per_persona={
                p: (clean(float(share[k])), percentile_interval(boot[:, k], confidence))
                for k, p in enumerate(styled)
            },
            mean=clean(float(share.mean())),
            mean_ci=percentile_interval(boot.mean(axis=1), confidence),
            item_ids=tuple(table.item_ids[i] for i in rows),
            cells=tuple(tuple(float(v) for v in row) for row in cells),
        )


def _pss_mean(acc: np.ndarray, axis: int | None = None) -> Any:
    """(PSS, mean) of an accuracy vector (floats), or of each row of a replicates x personas matrix."""
    mean = acc.mean(axis=axis)
    pss = mean - acc.std(axis=axis)
    if axis is None:
        return clean(float(pss)), clean(float(mean))
    return pss, mean


def _p_value(deltas: np.ndarray) -> float:
    n = deltas.size
    below = int(np.count_nonzero(deltas <= 0.0))
    above = int(np.count_nonzero(deltas >= 0.0))
    return min(1.0, 2.0 * (min(below, above) + 1) / (n + 1))


def _fmt_p(p: float) -> str:
    return f"{p:.3f}" if p >= 0.001 else "<0.001"
