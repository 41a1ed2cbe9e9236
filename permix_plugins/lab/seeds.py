"""Several independent lab runs, one per seed, and what holds across them (``permix demo --seeds N``).

One seed's intervals are paired bootstraps over the test problems: they say nothing of the training run's own
randomness; the spread over seeds does. The evidence across seeds is a t-interval over the seeds' Δs, with the
number of seeds whose Δ is positive and the minimal detectable effect (80% power, two-sided α = 0.05) that spread
allows. The seeds share one test set, so that interval leaves out which test problems were drawn; the primary
ΔPSS's mean over seeds therefore also gets a paired bootstrap over the test problems (`primary_over_test_items`).
Each run writes its own ``seed-<k>/`` directory; the top directory gets
``summary.json`` (every run's summary and the across-seed statistics), ``report.md`` and ``seeds.png``. A seed whose
``summary.json`` was written with the same settings is read back instead of run again, and a seed that stopped
midway resumes (`run_lab`), so a long study can run over several sittings. With `LabConfig.shared_start` the seeds
share one start model, kept in ``start/``.
"""

from __future__ import annotations

import json
import logging
import math
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from permix_plugins._optional import require
from permix_plugins._reporting import fmt_ci
from permix_plugins.lab.config import LabConfig
from permix_plugins.lab.report import PRIMARY, PRIMARY_KEY, minimal_detectable
from permix_plugins.lab.run import held_out_ids, read_run_records, run_lab, stability_report
from permix_plugins.stability import mean_delta_pss

__all__ = [
    "across_seeds",
    "plot_seeds",
    "primary_over_test_items",
    "run_seeds",
    "seed_config",
    "seeds_markdown",
    "spread",
]

logger = logging.getLogger(__name__)


def seed_config(config: LabConfig, seed: int) -> LabConfig:
    """The settings of `seed`'s run inside `config.out_dir` (its own ``seed-<k>/``, the shared ``start/``)."""
    out = Path(config.out_dir)
    start_dir = str(out / "start") if config.shared_start else None
    return LabConfig.model_validate(
        {**config.model_dump(), "seed": seed, "out_dir": str(out / f"seed-{seed}"), "start_dir": start_dir}
    )


def run_seeds(config: LabConfig, seeds: int, *, log: Callable[[str], None] = logger.info) -> dict[str, Any]:
    """Run the lab for seeds ``config.seed, config.seed + 1, ...`` (keeping finished ones) and write the
    across-seed report."""
    from tqdm.auto import tqdm

    if seeds < 2:
        raise ValueError(f"run_seeds needs at least 2 seeds, got {seeds}; run_lab runs one")
    out = Path(config.out_dir)
    began = time.monotonic()
    runs = []
    bar = tqdm(range(config.seed, config.seed + seeds), desc="seeds", unit="seed")
    for seed in bar:
        settings = seed_config(config, seed)
        done = Path(settings.out_dir) / "summary.json"
        if done.is_file() and json.loads(done.read_text())["config"] == settings.model_dump(mode="json"):
            log(f"==> seed {seed}: kept ({done})")
            runs.append(json.loads(done.read_text()))
            continue
        log(f"==> seed {seed} ({len(runs) + 1}/{seeds}) into {settings.out_dir}")
        runs.append(run_lab(settings, log=lambda line: log(f"    {line}")).summary)
    bar.close()
    seconds = sum(run["seconds"]["total"] for run in runs)
    summary = {
        "runs": runs,
        "across_seeds": across_seeds(runs),
        "primary_over_test_items": primary_over_test_items(config, seeds),
        "seconds": seconds,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "report.md").write_text(seeds_markdown(summary))
    plot_seeds(summary, out / "seeds.png")
    delta = summary["across_seeds"]["comparisons"][PRIMARY_KEY]["delta_pss"]
    log(
        f"done: {seeds} seeds ({(time.monotonic() - began) / 60:.1f} min this sitting); ΔPSS (permix − rlvr) mean "
        f"{delta['mean']:+.3f}, 95% CI over seeds [{delta['ci'][0]:+.3f}, {delta['ci'][1]:+.3f}], positive in "
        f"{delta['positive']}/{seeds}; report: {out / 'report.md'}"
    )
    return summary


# Two-sided 95% (t_.975) and one-sided 80% (t_.80) quantiles of Student's t for 1..30 degrees of freedom.
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
         2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)  # fmt: skip
_T80 = (1.376, 1.061, 0.978, 0.941, 0.920, 0.906, 0.896, 0.889, 0.883, 0.879, 0.876, 0.873, 0.870, 0.868, 0.866,
        0.865, 0.863, 0.862, 0.861, 0.860, 0.859, 0.858, 0.858, 0.857, 0.856, 0.856, 0.855, 0.855, 0.854, 0.854)  # fmt: skip


def spread(values: Sequence[float]) -> dict[str, Any]:
    """Mean, standard deviation, min, max, a 95% t-interval of the mean over `values` (one per seed), how many are
    positive, and the minimal detectable mean at 80% power (two-sided α = 0.05) given that spread.

    Example:
        >>> s = spread([0.1, 0.2, 0.3])
        >>> round(s["mean"], 3), s["min"], s["max"], [round(x, 3) for x in s["ci"]], s["positive"]
        (0.2, 0.1, 0.3, [-0.048, 0.448], 3)
        >>> round(s["minimal_detectable"], 3)
        0.31
    """
    n = len(values)
    mean = statistics.fmean(values)
    sd = statistics.stdev(values) if n > 1 else 0.0
    t975 = _T975[n - 2] if 1 < n <= len(_T975) + 1 else 1.96
    t80 = _T80[n - 2] if 1 < n <= len(_T80) + 1 else 0.842
    half = t975 * sd / math.sqrt(n) if n > 1 else math.nan
    return {
        "mean": mean,
        "sd": sd,
        "min": min(values),
        "max": max(values),
        "ci": [mean - half, mean + half],
        "positive": sum(v > 0 for v in values),
        "n": n,
        "minimal_detectable": (t975 + t80) * sd / math.sqrt(n) if n > 1 else math.nan,
    }


def primary_over_test_items(config: LabConfig, seeds: int) -> dict[str, Any]:
    """The seeds' mean primary ΔPSS with a paired bootstrap over the test problems (one resample for every seed):
    the test-item noise of that mean, which the t-interval over seeds, on a test set they share, does not carry."""
    b, a = PRIMARY
    held = held_out_ids(config)
    pairs = []
    for seed in range(config.seed, config.seed + seeds):
        records = read_run_records(seed_config(config, seed).out_dir)
        pairs.append(
            tuple(stability_report([r for r in records if r.model == m], held, config, m) for m in (a, b))
        )
    result = mean_delta_pss(pairs, n_bootstrap=config.n_bootstrap, seed=config.seed)
    return {**result, "minimal_detectable": minimal_detectable(result["ci"])}


_ACROSS = ("delta_pss", "delta_mean", "delta_no_persona")


def across_seeds(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Across-seed statistics of the runs' summaries: each comparison's Δs (and Δ expressivity per styled pool),
    each model's measures, and the within-seed minimal detectable ΔPSS."""
    stats: dict[str, Any] = {"comparisons": {}, "models": {}}
    for key in runs[0]["comparisons"]:
        versus = [run["comparisons"][key] for run in runs]
        entry = {field: spread([v[field] for v in versus]) for field in _ACROSS}
        for pool in versus[0]["styled"]:
            entry[f"delta_expressivity/{pool}"] = spread(
                [v["styled"][pool]["delta_expressivity"] for v in versus]
            )
        stats["comparisons"][key] = entry
    for name, first in runs[0]["models"].items():
        fields = {f: spread([run["models"][name][f] for run in runs]) for f in ("pss", "mean", "no_persona")}
        for pool in first["styled"]:
            values = [run["models"][name]["styled"][pool]["expressivity"] for run in runs]
            if all(v is not None for v in values):
                fields[f"expressivity/{pool}"] = spread(values)
        stats["models"][name] = fields
    stats["within_seed_minimal_detectable_delta_pss"] = statistics.fmean(
        run["design"]["minimal_detectable_delta_pss"] for run in runs
    )
    return stats


def seeds_markdown(summary: Mapping[str, Any]) -> str:
    """``report.md`` of a multi-seed run: the primary result across seeds, then every comparison and model."""
    runs, stats, n = summary["runs"], summary["across_seeds"], len(summary["runs"])
    items = summary["primary_over_test_items"]
    first = runs[0]
    primary = stats["comparisons"][PRIMARY_KEY]["delta_pss"]
    verdict = (
        "above zero" if primary["ci"][0] > 0 else "below zero" if primary["ci"][1] < 0 else "includes zero"
    )
    lines = [
        "# Persona lab over seeds: RLVR, PerMix-RLVR and a shuffled-persona control",
        "",
        (
            f"{n} independent runs (seeds {', '.join(str(r['config']['seed']) for r in runs)}); the seed changes the "
            f"training problems, the GRPO sampling and the persona mixing"
            + ("" if first["config"]["shared_start"] else ", and the start model's warm-up")
            + f"; the test set is the same for every seed. Start model: {first['start_model']}. Every run's own "
            f"report is in `seed-<k>/report.md`. {summary['seconds'] / 60:.0f} min in all."
        ),
        "",
        "## Primary result",
        "",
        (
            f"ΔPSS (PerMix − RLVR), mean over {n} seeds: **{primary['mean']:+.3f}**, 95% t-interval over seeds "
            f"{fmt_ci(primary['ci'], signed=True)} ({verdict}), positive in {primary['positive']}/{n} seeds. "
            f"Minimal detectable ΔPSS at 80% power: {primary['minimal_detectable']:.3f} across seeds (from the "
            f"spread of the seeds, sd {primary['sd']:.3f}); "
            f"{stats['within_seed_minimal_detectable_delta_pss']:.3f} within one seed (test-item noise only)."
        ),
        "",
        (
            f"The seeds share the test set, so that interval leaves out which problems were drawn; the same mean "
            f"with a paired bootstrap over the {items['items']} test problems (one resample for every seed): "
            f"{fmt_ci(items['ci'], signed=True)} "
            f"(p = {items['p']:.3g}), minimal detectable {items['minimal_detectable']:.3f}."
        ),
        "",
        "## Per seed",
        "",
        "| seed | "
        + " | ".join(f"{m} PSS" for m in first["models"])
        + " | ΔPSS PerMix − RLVR [per-seed 95% CI, "
        "test items only] |",
        "|---|" + "---|" * (len(first["models"]) + 1),
    ]
    for run in runs:
        c = run["comparisons"][PRIMARY_KEY]
        lines.append(
            f"| {run['config']['seed']} | "
            + " | ".join(f"{m['pss']:.3f}" for m in run["models"].values())
            + f" | {c['delta_pss']:+.3f} {fmt_ci(c['delta_pss_ci'], signed=True)} |"
        )
    lines += [
        "",
        "## Across seeds: every comparison",
        "",
        f"Mean over the {n} seeds, their range, the 95% t-interval over seeds and the seeds with a positive Δ.",
        "",
        "| b − a | quantity | mean | min – max | 95% CI over seeds | positive |",
        "|---|---|---|---|---|---|",
    ]
    for key, entry in stats["comparisons"].items():
        b, a = key.split("_vs_")
        for field, s in entry.items():
            label = field.replace("delta_", "Δ ").replace("_", " ").replace("pss", "PSS")
            lines.append(
                f"| {b} − {a} | {label} | {s['mean']:+.3f} | {s['min']:+.3f} – {s['max']:+.3f} | "
                f"{fmt_ci(s['ci'], signed=True)} | {s['positive']}/{n} |"
            )
    lines += [
        "",
        "## Across seeds: every model",
        "",
        "| model | quantity | mean | min – max |",
        "|---|---|---|---|",
    ]
    for name, fields in stats["models"].items():
        for field, s in fields.items():
            lines.append(
                f"| {name} | {field.replace('_', ' ')} | {s['mean']:.3f} | {s['min']:.3f} – {s['max']:.3f} |"
            )
    lines += [
        "",
        "Plot: `seeds.png` (each seed's Δs with their per-seed intervals, and the mean over seeds).",
        "",
    ]
    return "\n".join(lines)


def plot_seeds(summary: Mapping[str, Any], path: Path) -> None:
    """One panel per comparison: each seed's ΔPSS (and Δ expressivity per styled pool) with its per-seed interval."""
    require("matplotlib", extra="plot")
    from matplotlib.figure import Figure

    runs = summary["runs"]
    keys = list(runs[0]["comparisons"])
    fig = Figure(figsize=(3.6 * len(keys), 3.8), layout="constrained")
    for ax, key in zip(fig.subplots(1, len(keys), squeeze=False)[0], keys, strict=True):
        series = {
            "ΔPSS": [
                (r["comparisons"][key]["delta_pss"], r["comparisons"][key]["delta_pss_ci"]) for r in runs
            ]
        }
        for pool in runs[0]["comparisons"][key]["styled"]:
            series[f"Δ expr. {pool}"] = [
                (r["comparisons"][key]["styled"][pool]["delta_expressivity"],
                 r["comparisons"][key]["styled"][pool]["delta_expressivity_ci"])
                for r in runs
            ]  # fmt: skip
        for offset, (label, points) in enumerate(series.items()):
            xs = [i + 0.15 * offset for i in range(len(runs))]
            values = [v for v, _ in points]
            errors = [[v - ci[0] for v, ci in points], [ci[1] - v for v, ci in points]]
            ax.errorbar(xs, values, yerr=errors, fmt="o", capsize=2, ms=4, label=label)
        ax.axhline(0, color="0.3", lw=0.8)
        ax.set_xticks(range(len(runs)), [str(r["config"]["seed"]) for r in runs])
        ax.set_xlabel("seed")
        ax.set_title(key.replace("_vs_", " − "), fontsize=10)
        ax.grid(alpha=0.3)
    fig.axes[0].legend(fontsize=7)
    fig.suptitle("Paired Δ per seed (per-seed 95% intervals cover test-item noise only)")
    fig.savefig(path, dpi=110)
