"""What one lab run writes: its summary, report and plot.

The primary metric is ΔPSS of PerMix − RLVR on the held-out personas and no persona (`PRIMARY`), fixed before
any run. Within one run, intervals are paired bootstraps over the test problems: they cover test-item noise only
(the personas are fixed, not resampled, and the training run's own randomness is not in them); the evidence across
seeds is in `permix_plugins.lab.seeds`. Minimal detectable effects are at 80% power, two-sided α = 0.05.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from permix_plugins._optional import require
from permix_plugins._reporting import fmt, fmt_ci
from permix_plugins.lab.config import LabConfig
from permix_plugins.personas import NO_PERSONA_ID
from permix_plugins.stability import Comparison, StabilityReport

if TYPE_CHECKING:
    from permix_plugins.lab.run import Measured

__all__ = [
    "ARM_TEXT",
    "PRIMARY",
    "PRIMARY_KEY",
    "minimal_detectable",
    "plot_comparison",
    "run_markdown",
    "run_summary",
]

ARM_TEXT = {
    "floor": "the instruct model before the style warm-up",
    "start": "the start model",
    "rlvr": "plain RLVR, no persona",
    "permix": "PerMix-RLVR",
    "control": "PerMix with shuffled personas",
}
PRIMARY = ("permix", "rlvr")
"""The primary comparison, fixed before any run: ΔPSS of PerMix-RLVR over RLVR on the held-out personas and none."""
PRIMARY_KEY = f"{PRIMARY[0]}_vs_{PRIMARY[1]}"  # its key among a run's comparisons ("<b>_vs_<a>")
_Z = 1.959964 + 0.841621  # normal quantiles: two-sided 95% plus one-sided 80%


def minimal_detectable(ci: Sequence[float]) -> float:
    """The smallest Δ a paired test at α = 0.05 detects with 80% power, from a 95% interval of Δ (SE = width / 3.92).

    Example:
        >>> round(minimal_detectable([-0.02, 0.05]), 4)
        0.05
    """
    return _Z * (ci[1] - ci[0]) / (2 * 1.959964)


def _model_brief(measured: Measured, kinds: Mapping[str, str]) -> dict[str, Any]:
    held = measured.held_out
    held_ids = set(held.persona_ids)
    right, total = defaultdict(float), defaultdict(int)
    for record in measured.records:
        if record.persona_id in held_ids and record.correct is not None:
            kind = kinds.get(record.item_id, "other")
            right[kind] += record.correct
            total[kind] += 1
    return {
        **held.scalars(),
        "pss_ci": list(held.pss_ci),
        "mean_ci": list(held.mean_ci),
        "worst_persona": held.worst_persona,
        "no_persona": held.accuracy.get(NO_PERSONA_ID),
        "no_answer": statistics.fmean(p.no_answer_rate for p in held.personas),
        "accuracy": held.accuracy,
        "by_kind": {kind: right[kind] / total[kind] for kind in sorted(total)},
        "styled": {
            pool: {
                "expressivity": report.expressivity,
                "expressivity_ci": list(report.expressivity_ci) if report.expressivity_ci else None,
                "accuracy": report.mean,
                "no_answer": statistics.fmean(p.no_answer_rate for p in report.personas),
                "per_persona": {p.persona_id: p.expressivity for p in report.personas},
            }
            for pool, report in measured.styled.items()
        },
        "personas": len(held.personas),
        "items": held.n_items,
    }


def _comparison_brief(pair: Mapping[str, Comparison]) -> dict[str, Any]:
    held, none = pair["held_out"], pair["no_persona"]
    brief: dict[str, Any] = {
        "delta_pss": held.delta_pss,
        "delta_pss_ci": list(held.delta_pss_ci),
        "p_pss": held.p_pss,
        "delta_mean": held.delta_mean,
        "delta_mean_ci": list(held.delta_mean_ci),
        "p_mean": held.p_mean,
        "delta_no_persona": none.delta_mean,
        "delta_no_persona_ci": list(none.delta_mean_ci),
        "p_no_persona": none.p_mean,
        "styled": {},
    }
    for pool, comparison in pair.items():
        if pool in ("held_out", "no_persona") or comparison.delta_expressivity is None:
            continue
        brief["styled"][pool] = {
            "delta_expressivity": comparison.delta_expressivity,
            "delta_expressivity_ci": list(comparison.delta_expressivity_ci or ()),
            "p_expressivity": comparison.p_expressivity,
            "delta_accuracy": comparison.delta_mean,
            "delta_accuracy_ci": list(comparison.delta_mean_ci),
        }
    return brief


def run_summary(
    config: LabConfig,
    description: str,
    models: Mapping[str, Measured],
    lottery: StabilityReport,
    comparisons: Mapping[str, Mapping[str, Comparison]],
    personas_seen: Mapping[str, Sequence[str]],
    kinds: Mapping[str, str],
    seconds: Mapping[str, float],
) -> dict[str, Any]:
    """The JSON summary of one run (``summary.json``)."""
    from permix_plugins.lab.arms import training_pool
    from permix_plugins.lab.run import held_out_ids

    primary = comparisons[PRIMARY_KEY]["held_out"]
    return {
        "config": config.model_dump(mode="json"),
        "start_model": description,
        "design": {
            "primary": "ΔPSS of PerMix-RLVR − RLVR on the held-out personas and no persona",
            "held_out_personas": list(held_out_ids(config)),
            "styled_personas": {
                pool: list(models["start"].styled[pool].persona_ids) for pool in config.styled_pools
            },
            "training_personas": len(training_pool(config, "permix")),
            "training_personas_seen": {arm: len(seen) for arm, seen in personas_seen.items()},
            "minimal_detectable_delta_pss": minimal_detectable(primary.delta_pss_ci),
            "intervals": "paired bootstrap over the test problems (test-item noise only; personas fixed)",
        },
        "models": {name: _model_brief(measured, kinds) for name, measured in models.items()},
        "lottery": {
            **lottery.scalars(),
            "pss_ci": list(lottery.pss_ci),
            "accuracy": lottery.accuracy,
            "best_of_k": list(lottery.best_of_k),
        },
        "comparisons": {key: _comparison_brief(pair) for key, pair in comparisons.items()},
        "seconds": dict(seconds),
    }


def _models_table(models: Mapping[str, Any], pools: Sequence[str]) -> list[str]:
    styled = "".join(f" expressivity `{pool}` [95% CI] |" for pool in pools)
    lines = [
        f"| model | PSS [95% CI] | mean accuracy | no persona | no answer | worst persona |{styled}",
        "|---|---|---|---|---|---|" + "---|" * len(pools),
    ]
    for name, m in models.items():
        cells = "".join(
            f" {fmt(m['styled'][pool]['expressivity'])} {fmt_ci(m['styled'][pool]['expressivity_ci'])} |"
            for pool in pools
        )
        lines.append(
            f"| {name} | {m['pss']:.3f} {fmt_ci(m['pss_ci'])} | {m['mean']:.3f} | {fmt(m['no_persona'])} | "
            f"{m['no_answer']:.3f} | {m['worst']:.3f} ({m['worst_persona']}) |{cells}"
        )
    return lines


def _comparisons_table(comparisons: Mapping[str, Any], pools: Sequence[str]) -> list[str]:
    styled = "".join(f" Δ expressivity `{pool}` [95% CI], p |" for pool in pools)
    lines = [
        f"| b − a | ΔPSS [95% CI] | p | Δ mean accuracy [95% CI] | Δ no persona [95% CI] |{styled}",
        "|---|---|---|---|---|" + "---|" * len(pools),
    ]
    for key, c in comparisons.items():
        b, a = key.split("_vs_")
        cells = ""
        for pool in pools:
            s = c["styled"].get(pool)
            cells += (
                f" {s['delta_expressivity']:+.3f} {fmt_ci(s['delta_expressivity_ci'], signed=True)}, "
                f"{s['p_expressivity']:.3g} |"
                if s
                else " n/a |"
            )
        lines.append(
            f"| {b} − {a} | {c['delta_pss']:+.3f} {fmt_ci(c['delta_pss_ci'], signed=True)} | {c['p_pss']:.3g} | "
            f"{c['delta_mean']:+.3f} {fmt_ci(c['delta_mean_ci'], signed=True)} | "
            f"{c['delta_no_persona']:+.3f} {fmt_ci(c['delta_no_persona_ci'], signed=True)} |{cells}"
        )
    return lines


def run_markdown(summary: Mapping[str, Any]) -> str:
    """``report.md`` of one run."""
    cfg, design, models = summary["config"], summary["design"], summary["models"]
    pools = list(cfg["styled_pools"])
    primary = summary["comparisons"][PRIMARY_KEY]
    tuning = f"LoRA rank {cfg['lora_rank']}" if cfg["lora_rank"] else "all weights"
    arms = ", ".join(f"{arm} ({ARM_TEXT[arm]})" for arm in summary["design"]["training_personas_seen"])
    seen = ", ".join(f"{arm} {n}" for arm, n in design["training_personas_seen"].items() if arm != "rlvr")
    kinds = sorted({kind for m in models.values() for kind in m["by_kind"]})
    lines = [
        "# Persona lab: RLVR, PerMix-RLVR and a shuffled-persona control",
        "",
        f"Start model: {summary['start_model']}.",
        "",
        (
            f"Arms, each GRPO from the start model for {cfg['grpo_steps']} steps of {cfg['grpo_batch_size']} "
            f"completions ({cfg['grpo_batch_size'] // cfg['num_generations']} prompts x {cfg['num_generations']}; "
            f"{tuning}), reward = correctness only: {arms}. PerMix and the control mix a persona into "
            f"{cfg['persona_prob']:.0%} of the prompts, from {design['training_personas']} personas of "
            f"`{cfg['train_pool']}` (the control's text shuffled by {cfg['control_unit']}); training personas seen: "
            f"{seen or 'n/a'}."
        ),
        "",
        (
            f"Test set: {cfg['test_problems']} held-out synthetic problems (levels {list(cfg['levels'])}, test seed "
            f"{cfg['test_seed']}: the same for every seed and arm), greedy, under {len(design['held_out_personas']) - 1} "
            f"held-out personas of `{cfg['eval_pool']}` and no persona (PSS), and the styled pools "
            f"{', '.join(f'`{p}`' for p in pools)} (expressivity). Seed {cfg['seed']}."
        ),
        "",
        "## Primary result",
        "",
        (
            f"ΔPSS (PerMix − RLVR) = **{primary['delta_pss']:+.3f}** {fmt_ci(primary['delta_pss_ci'], signed=True)}, "
            f"p = {primary['p_pss']:.3g}. Minimal detectable ΔPSS at 80% power from this seed's interval: "
            f"{design['minimal_detectable_delta_pss']:.3f}. The interval is a paired bootstrap over the test "
            "problems: it covers test-item noise only (personas fixed, not resampled; one training run)."
        ),
        "",
        "## Models",
        "",
        *_models_table(models, pools),
        "",
        "## Paired comparisons (b − a over the same problems and personas)",
        "",
        *_comparisons_table(summary["comparisons"], pools),
        "",
        "## Accuracy by question type (held-out personas and none; secondary)",
        "",
        "| model | " + " | ".join(kinds) + " |",
        "|---|" + "---|" * len(kinds),
        *[
            f"| {name} | " + " | ".join(fmt(m["by_kind"].get(k)) for k in kinds) + " |"
            for name, m in models.items()
        ],
        "",
        "## Persona lottery of the start model",
        "",
        "| persona | accuracy |",
        "|---|---|",
        *[
            f"| {p} | {a:.3f} |"
            for p, a in sorted(summary["lottery"]["accuracy"].items(), key=lambda kv: -kv[1])
        ],
        "",
        f"Expected best-of-k for k = 1..{len(summary['lottery']['best_of_k'])}: "
        + ", ".join(f"{v:.3f}" for v in summary["lottery"]["best_of_k"]),
        "",
        "PSS = mean over personas of accuracy − their standard deviation (permix-plugins' definition). Expressivity = "
        "share of a styled persona's completions meeting its checkable style. Wall time: "
        + ", ".join(f"{part} {value:.0f} s" for part, value in summary["seconds"].items())
        + ".",
        "",
        "Plots: `comparison.png`, `lottery.png`; records and reports under `eval/<model>/` (and the start model's "
        "under its start directory); models under `models/`.",
        "",
    ]
    return "\n".join(lines)


def plot_comparison(models: Mapping[str, Measured], path: Path) -> None:
    """Accuracy per held-out persona (left) and expressivity per styled persona (right), one marker per model."""
    require("matplotlib", extra="plot")
    import numpy as np
    from matplotlib.figure import Figure

    markers = {"floor": ("0.75", "v"), "start": ("0.45", "o"), "rlvr": ("tab:blue", "s"),
               "permix": ("tab:red", "D"), "control": ("tab:green", "^")}  # fmt: skip
    start = models["start"]
    held = [p.persona_id for p in sorted(start.held_out.personas, key=lambda p: p.accuracy)]
    styled = [pid for report in start.styled.values() for pid in report.styled_ids]
    fig = Figure(figsize=(12, max(4.0, 0.2 * max(len(held), len(styled)) + 1.5)), layout="constrained")
    left, right = fig.subplots(1, 2)
    for name, measured in models.items():
        color, marker = markers.get(name, ("black", "x"))
        acc = measured.held_out.accuracy
        left.scatter([acc[p] for p in held], np.arange(len(held)), color=color, marker=marker, s=18, zorder=3,
                     label=f"{name} (PSS {measured.held_out.pss:.2f})")  # fmt: skip
        expressivity = {p.persona_id: p.expressivity for r in measured.styled.values() for p in r.personas}
        right.scatter([expressivity.get(p) or 0.0 for p in styled], np.arange(len(styled)), color=color,
                      marker=marker, s=18, zorder=3, label=name)  # fmt: skip
    left.set_yticks(np.arange(len(held)), held, fontsize=7)
    left.set_xlim(-0.02, 1.02)
    left.set_xlabel("accuracy on the test problems")
    left.set_title("accuracy per held-out persona")
    left.legend(loc="lower right", fontsize=8)
    right.set_yticks(np.arange(len(styled)), styled, fontsize=7)
    right.set_xlim(-0.02, 1.02)
    right.set_xlabel("share of completions meeting the persona's style")
    right.set_title("expressivity per styled persona")
    right.legend(loc="lower right", fontsize=8)
    fig.suptitle("RLVR, PerMix-RLVR and the shuffled-persona control from the same start model")
    fig.savefig(path, dpi=110)
