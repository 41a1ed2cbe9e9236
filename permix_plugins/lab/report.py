"""What the lab writes: one run's summary, report and plot, and the across-seed statistics of several runs."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from permix_plugins._optional import require
from permix_plugins._reporting import fmt_ci
from permix_plugins.lab.config import LabConfig
from permix_plugins.personas import NO_PERSONA_ID
from permix_plugins.stability import Comparison, StabilityReport

__all__ = [
    "DELTAS",
    "across_seeds",
    "plot_comparison",
    "plot_seeds",
    "run_markdown",
    "run_summary",
    "seeds_markdown",
]

# The paired PerMix − RLVR quantities of a run's summary, as the across-seed statistics and reports name them.
DELTAS = {
    "delta_pss": "ΔPSS",
    "delta_mean": "Δ mean accuracy over personas",
    "delta_no_persona": "Δ accuracy without persona",
}
# Two-sided 95% quantiles of Student's t for 1..30 degrees of freedom (beyond: the normal's 1.96).
_T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)  # fmt: skip


# ------------------------------------------------------------------------------------------------ one run
def _brief(report: StabilityReport) -> dict[str, Any]:
    return {
        **report.scalars(),
        "pss_ci": list(report.pss_ci),
        "mean_ci": list(report.mean_ci),
        "worst_persona": report.worst_persona,
        "no_persona": report.accuracy.get(NO_PERSONA_ID),
        "personas": len(report.personas),
        "items": report.n_items,
    }


def run_summary(
    config: LabConfig,
    description: str,
    lottery: StabilityReport,
    reports: Mapping[str, StabilityReport],
    pss: Comparison,
    no_persona: Comparison,
    seconds: float,
) -> dict[str, Any]:
    """The JSON summary of one run (``summary.json``)."""
    return {
        "config": config.model_dump(mode="json"),
        "start_model": description,
        "lottery": {**_brief(lottery), "accuracy": lottery.accuracy, "best_of_k": list(lottery.best_of_k)},
        "held_out": {name: _brief(report) for name, report in reports.items()},
        "permix_vs_rlvr": {
            "delta_pss": pss.delta_pss,
            "delta_pss_ci": list(pss.delta_pss_ci),
            "p_pss": pss.p_pss,
            "delta_mean": pss.delta_mean,
            "delta_mean_ci": list(pss.delta_mean_ci),
            "p_mean": pss.p_mean,
            "delta_no_persona": no_persona.delta_mean,
            "delta_no_persona_ci": list(no_persona.delta_mean_ci),
            "p_no_persona": no_persona.p_mean,
        },
        "seconds": seconds,
    }


def run_markdown(summary: Mapping[str, Any], lottery: StabilityReport) -> str:
    """``report.md`` of one run."""
    cfg, s, held = summary["config"], summary["permix_vs_rlvr"], summary["held_out"]
    tuning = "LoRA adapters" if cfg["lora_rank"] else "all weights"
    lines = [
        "# Persona-lottery lab: PerMix-RLVR vs RLVR",
        "",
        (
            f"Start model: {summary['start_model']}. From it, GRPO for {cfg['grpo_steps']} steps of "
            f"{cfg['grpo_batch_size']} completions ({tuning}), twice with the same budget: plain RLVR "
            f"(persona_prob=0) and PerMix-RLVR (persona_prob={cfg['persona_prob']} over the `{cfg['train_pool']}` "
            f"pool), on synthetic problems of levels {list(cfg['levels'])}. Evaluated greedily on "
            f"{cfg['test_problems']} held-out problems under {held['start']['personas'] - 1} held-out "
            f"`{cfg['eval_pool']}` personas and no persona. Seed {cfg['seed']}; {summary['seconds']:.0f} s."
        ),
        "",
        "## Held-out personas",
        "",
        "| model | PSS [95% CI] | mean accuracy [95% CI] | std | worst persona | no persona | best of all personas |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, h in held.items():
        lines.append(
            f"| {name} | {h['pss']:.3f} {fmt_ci(h['pss_ci'])} | {h['mean']:.3f} "
            f"{fmt_ci(h['mean_ci'])} | {h['std']:.3f} | {h['worst']:.3f} "
            f"({h['worst_persona']}) | {h['no_persona']:.3f} | {h['best_of_all']:.3f} |"
        )
    lines += [
        "",
        "## PerMix-RLVR − RLVR (paired bootstrap over problems)",
        "",
        "| quantity | Δ | 95% CI | p |",
        "|---|---|---|---|",
        *[
            f"| {label} | {s[key]:+.3f} | {fmt_ci(s[key + '_ci'], signed=True)} | "
            f"{s['p' + key.removeprefix('delta')]:.3g} |"
            for key, label in DELTAS.items()
        ],
        "",
        "## Persona lottery of the start model",
        "",
        "| persona | accuracy |",
        "|---|---|",
        *[f"| {p} | {a:.3f} |" for p, a in sorted(lottery.accuracy.items(), key=lambda kv: -kv[1])],
        "",
        f"PSS {lottery.pss:.3f}; expected best-of-k for k = 1..{len(lottery.best_of_k)}: "
        + ", ".join(f"{v:.3f}" for v in lottery.best_of_k),
        "",
        "PSS = mean over personas of accuracy − their standard deviation (permix-plugins' definition).",
        "Plots: `lottery.png`, `comparison.png`; full reports under `eval/<model>/`; models under `models/`.",
        "",
    ]
    return "\n".join(lines)


def plot_comparison(reports: Mapping[str, StabilityReport], path: Path) -> None:
    """Accuracy per held-out persona and expected best-of-k, for the start model and both GRPO runs."""
    require("matplotlib", extra="plot")
    import numpy as np
    from matplotlib.figure import Figure

    order = [p.persona_id for p in sorted(reports["start"].personas, key=lambda p: p.accuracy)]
    fig = Figure(figsize=(11, max(4.0, 0.2 * len(order) + 1.5)), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[3, 2])
    ys = np.arange(len(order))
    styles = {"start": ("0.55", "o"), "rlvr": ("tab:blue", "s"), "permix": ("tab:red", "D")}
    for name, report in reports.items():
        color, marker = styles[name]
        acc = report.accuracy
        left.scatter(
            [acc[p] for p in order],
            ys,
            color=color,
            marker=marker,
            s=18,
            label=f"{name} (PSS {report.pss:.2f})",
            zorder=3,
        )
        right.plot(np.arange(1, len(report.best_of_k) + 1), report.best_of_k, color=color, label=name)
    left.set_yticks(ys, order, fontsize=7)
    left.set_xlim(-0.02, 1.02)
    left.set_xlabel("accuracy on held-out problems")
    left.set_title("accuracy per held-out persona")
    left.legend(loc="lower right", fontsize=8)
    right.set_xlabel("k (personas drawn at random)")
    right.set_ylabel("expected best-of-k accuracy")
    right.set_ylim(-0.02, 1.02)
    right.grid(alpha=0.3)
    right.legend(fontsize=8)
    right.set_title("best of k")
    fig.suptitle("PerMix-RLVR vs RLVR from the same start model")
    fig.savefig(path, dpi=110)


# ---------------------------------------------------------------------------------------------- several seeds
def spread(values: Sequence[float]) -> dict[str, Any]:
    """Mean, standard deviation, min, max and a 95% t-interval of the mean over `values` (one per seed).

    Example:
        >>> s = spread([0.1, 0.2, 0.3])
        >>> round(s["mean"], 3), s["min"], s["max"], [round(x, 3) for x in s["ci"]], s["positive"]
        (0.2, 0.1, 0.3, [-0.048, 0.448], 3)
    """
    n = len(values)
    mean = statistics.fmean(values)
    sd = statistics.stdev(values) if n > 1 else 0.0
    half = (_T95[n - 2] if n - 1 <= len(_T95) else 1.96) * sd / math.sqrt(n) if n > 1 else math.nan
    return {
        "mean": mean,
        "sd": sd,
        "min": min(values),
        "max": max(values),
        "ci": [mean - half, mean + half],
        "positive": sum(v > 0 for v in values),
        "n": n,
    }


def across_seeds(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Across-seed statistics of the runs' summaries: each Δ, and each model's PSS, mean and no-persona accuracy."""
    versus = [run["permix_vs_rlvr"] for run in runs]
    stats: dict[str, Any] = {key: spread([v[key] for v in versus]) for key in DELTAS}
    for key in DELTAS:  # seeds whose own paired interval lies above (or below) zero
        stats[key]["significant_up"] = sum(v[key + "_ci"][0] > 0 for v in versus)
        stats[key]["significant_down"] = sum(v[key + "_ci"][1] < 0 for v in versus)
    stats["models"] = {
        name: {
            field: spread([run["held_out"][name][field] for run in runs])
            for field in ("pss", "mean", "no_persona")
        }
        for name in runs[0]["held_out"]
    }
    return stats


def seeds_markdown(summary: Mapping[str, Any]) -> str:
    """``report.md`` of a multi-seed run: a row per seed, then the across-seed statistics."""
    runs, stats, n = summary["runs"], summary["across_seeds"], len(summary["runs"])
    first = runs[0]
    lines = [
        "# Persona-lottery lab over seeds: PerMix-RLVR vs RLVR",
        "",
        (
            f"{n} independent runs of the lab (seeds {', '.join(str(r['config']['seed']) for r in runs)}); the "
            f"seed changes the problems, the start model's warm-up, the GRPO sampling and the persona mixing. "
            f"Start model: {first['start_model']}. Every run's own report is in `seed-<k>/report.md`. "
            f"{summary['seconds'] / 60:.0f} min in all."
        ),
        "",
        "## Per seed",
        "",
        "| seed | start PSS | RLVR PSS | PerMix PSS | ΔPSS [95% CI] | Δ mean | Δ no persona [95% CI] |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        h, v = run["held_out"], run["permix_vs_rlvr"]
        lines.append(
            f"| {run['config']['seed']} | {h['start']['pss']:.3f} | {h['rlvr']['pss']:.3f} | "
            f"{h['permix']['pss']:.3f} | {v['delta_pss']:+.3f} {fmt_ci(v['delta_pss_ci'], signed=True)} | "
            f"{v['delta_mean']:+.3f} | {v['delta_no_persona']:+.3f} {fmt_ci(v['delta_no_persona_ci'], signed=True)} |"
        )
    lines += [
        "",
        "## Across seeds",
        "",
        (
            f"Mean over the {n} seeds, their range, a 95% t-interval of the mean over seeds (the training run's own "
            "randomness, on top of the problems'), and in how many seeds the Δ is positive / its per-seed paired "
            "interval lies above zero / below zero."
        ),
        "",
        "| PerMix − RLVR | mean | min – max | 95% CI over seeds | positive | CI > 0 | CI < 0 |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, label in DELTAS.items():
        s = stats[key]
        lines.append(
            f"| {label} | {s['mean']:+.3f} | {s['min']:+.3f} – {s['max']:+.3f} | "
            f"{fmt_ci(s['ci'], signed=True)} | {s['positive']}/{n} | {s['significant_up']}/{n} | "
            f"{s['significant_down']}/{n} |"
        )
    lines += [
        "",
        "| model | PSS mean (min – max) | mean accuracy (min – max) | no persona (min – max) |",
        "|---|---|---|---|",
    ]
    for name, fields in stats["models"].items():
        cells = [f"{f['mean']:.3f} ({f['min']:.3f} – {f['max']:.3f})" for f in fields.values()]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "Plot: `seeds.png` (each seed's Δs with its paired 95% interval).", ""]
    return "\n".join(lines)


def plot_seeds(summary: Mapping[str, Any], path: Path) -> None:
    """One panel per Δ: each seed's value with its paired interval, and the across-seed mean."""
    require("matplotlib", extra="plot")
    from matplotlib.figure import Figure

    runs = summary["runs"]
    seeds = [run["config"]["seed"] for run in runs]
    fig = Figure(figsize=(4 * len(DELTAS), 3.6), layout="constrained")
    for ax, (key, label) in zip(fig.subplots(1, len(DELTAS)), DELTAS.items(), strict=True):
        values = [run["permix_vs_rlvr"][key] for run in runs]
        cis = [run["permix_vs_rlvr"][key + "_ci"] for run in runs]
        errors = [
            [v - lo for v, (lo, _) in zip(values, cis, strict=True)],
            [hi - v for v, (_, hi) in zip(values, cis, strict=True)],
        ]
        ax.errorbar(range(len(seeds)), values, yerr=errors, fmt="o", color="tab:red", capsize=3)
        ax.axhline(0, color="0.3", lw=0.8)
        ax.axhline(
            summary["across_seeds"][key]["mean"], color="tab:red", ls="--", lw=1, label="mean over seeds"
        )
        ax.set_xticks(range(len(seeds)), [str(s) for s in seeds])
        ax.set_xlabel("seed")
        ax.set_title(label, fontsize=10)
        ax.grid(alpha=0.3)
    fig.axes[0].legend(fontsize=8)
    fig.suptitle("PerMix-RLVR − RLVR per seed (paired 95% intervals over problems)")
    fig.savefig(path, dpi=110)
