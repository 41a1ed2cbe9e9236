"""One lab run: RLVR, PerMix-RLVR and a shuffled-persona control, from the same start model with the same budget.

1. The start model (`permix_plugins.lab.start`): warmed up to read system prompts, play styled personas and answer
   worse under some (tiny), or an instruct checkpoint taught the styled personas' habits (real).
2. Its persona lottery (`lottery_pool`), and every model's measurement on one fixed test set (`test_seed`): the
   held-out personas of `eval_pool` and no persona (PSS, the primary metric), and the styled pools (expressivity).
3. The arms (`permix_plugins.lab.arms`), each trained by GRPO from the start model, then measured the same way.
4. Paired comparisons over problems and personas: PerMix − RLVR (the primary ΔPSS, fixed in `PRIMARY`), PerMix −
   control, and each arm − start; `summary.json`, `report.md`, plots and every evaluation record in ``out_dir``.

Everything is resumable: the start model, each trained arm and each evaluation are kept on disk, and a rerun with the
same settings picks up where a run stopped.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from permix_plugins._optional import require
from permix_plugins.evaluation.records import EvalRecord, stability_rows
from permix_plugins.evaluation.runner import evaluate, write_report
from permix_plugins.lab.arms import train_arm, training_pool
from permix_plugins.lab.config import LabConfig
from permix_plugins.lab.report import PRIMARY, PRIMARY_KEY, plot_comparison, run_markdown, run_summary
from permix_plugins.lab.start import start_model
from permix_plugins.personas import NO_PERSONA, NO_PERSONA_ID, PersonaPool
from permix_plugins.problems import load_problems
from permix_plugins.stability import Comparison, StabilityReport, compare

__all__ = [
    "PRIMARY",
    "RECORDS_FILE",
    "LabResult",
    "Measured",
    "read_run_records",
    "run_lab",
    "stability_report",
]

logger = logging.getLogger(__name__)

RECORDS_FILE = "records.jsonl.gz"
"""Every evaluation record of a run, in its directory (each record names its model)."""


@dataclass(frozen=True)
class Measured:
    """One model on the test set: the held-out report (eval personas and none: PSS), one report per styled pool,
    and the records they were built from (problem ids -> kinds for accuracy by question type)."""

    held_out: StabilityReport
    styled: dict[str, StabilityReport]
    records: list[EvalRecord]


@dataclass(frozen=True)
class LabResult:
    """What one run measured; `summary` is also written to ``summary.json``."""

    models: dict[str, Measured]  # start, the arms (and floor: the instruct model before its warm-up)
    lottery: StabilityReport
    comparisons: dict[str, dict[str, Comparison]]  # "permix_vs_rlvr" -> {"held_out", "no_persona", <styled>}
    summary: dict[str, Any]
    out_dir: Path


def run_lab(config: LabConfig | None = None, *, log: Callable[[str], None] = logger.info) -> LabResult:
    """Run the whole lab (resuming what a run with the same settings left) and write its report; `log` receives
    one line per stage (the CLI prints them)."""
    config = config or LabConfig()
    require("trl", extra="trl")
    torch = require("torch", extra="trl")
    out = Path(config.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    start_dir = Path(config.start_dir) if config.start_dir else out / "start"
    start_dir.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    began = time.monotonic()
    torch.manual_seed(config.seed)

    train = load_problems("synthetic", split="train", limit=config.train_problems, seed=config.seed,
                          levels=config.levels)  # fmt: skip
    test = load_problems("synthetic", split="test", limit=config.test_problems, seed=config.test_seed,
                         levels=config.levels)  # fmt: skip
    kinds = dict(zip(test["id"], test["kind"], strict=True))
    held_pool, styled_pool = held_out_pool(config), styled_personas(config)
    styled_test = test.select(range(min(config.styled_problems or len(test), len(test))))

    stages = 2 + len(config.arms)
    log(f"[1/{stages}] the start model (kept in {start_dir})")
    with _timed(seconds, "start model"):
        start = start_model(config, start_dir, train, log)

    def measure(name: str, model: Any, where: Path, seed: int) -> Measured:
        records = _evaluate(model, start.tokenizer, test, held_pool, config, name, where / "held_out", seed)
        if styled_pool is not None:
            records += _evaluate(model, start.tokenizer, styled_test, styled_pool, config, name, where / "styled",
                                 seed)  # fmt: skip
        held = stability_report(records, held_out_ids(config), config, name)
        styled = {
            p: stability_report(records, PersonaPool.load(p).ids, config, f"{name} on {p}")
            for p in config.styled_pools
        }
        line = f"      {name:<8} PSS {held.pss:.3f}  mean {held.mean:.3f}  no persona " + (
            f"{held.accuracy.get(NO_PERSONA_ID, float('nan')):.3f}  worst {held.worst:.3f}"
        )
        expressivity = "  ".join(
            f"{p} {r.expressivity:.3f}" for p, r in styled.items() if r.expressivity is not None
        )
        log(line + (f"  expressivity {expressivity}" if expressivity else ""))
        return Measured(held, styled, records)

    models: dict[str, Measured] = {}
    styled_text = (
        f", {len(styled_test)} x {len(styled_pool)} styled personas" if styled_pool is not None else ""
    )
    log(f"[2/{stages}] the start model on {len(test)} test problems x {len(held_pool)} personas{styled_text}, and its "
        "persona lottery")  # fmt: skip
    with _timed(seconds, "evaluate start"):
        if start.floor is not None:
            models["floor"] = measure("floor", start.floor, start_dir / "eval" / "floor", config.start_seed)
        models["start"] = measure("start", start.model, start_dir / "eval" / "start", config.start_seed)
        lottery_records = _evaluate(start.model, start.tokenizer, test, PersonaPool.load(config.lottery_pool),
                                    config, "lottery", start_dir / "eval" / "lottery", config.start_seed)  # fmt: skip
        lottery = stability_report(
            lottery_records, PersonaPool.load(config.lottery_pool).ids, config, "lottery"
        )

    personas_seen: dict[str, list[str]] = {}
    for stage, arm in enumerate(config.arms, start=3):
        share = config.persona_prob if arm != "rlvr" else 0.0
        mixed = training_pool(config, arm).name if arm != "rlvr" else "none"
        log(
            f"[{stage}/{stages}] GRPO '{arm}': persona_prob={share} over `{mixed}`, {config.grpo_steps} steps"
        )
        trained = train_arm(config, arm, start.model, start.tokenizer, train, out / "models" / arm, log)
        seconds[f"train {arm}"] = trained.seconds
        personas_seen[arm] = trained.personas_seen
        with _timed(seconds, f"evaluate {arm}"):
            models[arm] = measure(arm, trained.model, out / "eval" / arm, config.seed)
        del trained

    pairs = [PRIMARY, *([("permix", "control")] if "control" in config.arms else [])]
    pairs += [(arm, "start") for arm in config.arms]
    comparisons = {f"{b}_vs_{a}": _compare(models[a], models[b], config, (a, b)) for b, a in pairs}
    seconds["total"] = time.monotonic() - began
    summary = run_summary(
        config, start.description, models, lottery, comparisons, personas_seen, kinds, seconds
    )
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    _write_records(models, out / RECORDS_FILE)
    plot_comparison(models, out / "comparison.png")
    lottery.plot(out / "lottery.png", title="persona lottery of the start model")
    (out / "report.md").write_text(run_markdown(summary))
    primary = comparisons[PRIMARY_KEY]["held_out"]
    log(
        f"done in {seconds['total']:.0f} s: ΔPSS (permix − rlvr) {primary.delta_pss:+.3f} "
        f"[{primary.delta_pss_ci[0]:+.3f}, {primary.delta_pss_ci[1]:+.3f}], p={primary.p_pss:.3g}; "
        f"report: {out / 'report.md'}"
    )
    return LabResult(models, lottery, comparisons, summary, out)


# ----------------------------------------------------------------------------------------------- pools
def held_out_ids(config: LabConfig) -> tuple[str, ...]:
    """The personas of the primary PSS: the chosen ids of `eval_pool` (all by default), then no persona."""
    pool = PersonaPool.load(config.eval_pool)
    ids = config.eval_personas if config.eval_personas is not None else pool.ids
    for persona_id in ids:
        pool[persona_id]  # an unknown id raises a KeyError naming the pool's ids
    return (*ids, NO_PERSONA_ID)


def held_out_pool(config: LabConfig) -> PersonaPool:
    """The personas of the primary PSS as a pool: the held-out ones of `eval_pool`, then no persona."""
    eval_pool = PersonaPool.load(config.eval_pool)
    return PersonaPool([*(eval_pool[i] for i in held_out_ids(config)[:-1]), NO_PERSONA], name="held-out")


def styled_personas(config: LabConfig) -> PersonaPool | None:
    """The personas of every styled pool, as one pool (None without styled pools)."""
    personas = [persona for name in config.styled_pools for persona in PersonaPool.load(name)]
    return PersonaPool(personas, name="+".join(config.styled_pools)) if personas else None


# ----------------------------------------------------------------------------------------------- measuring
def _evaluate(
    model: Any,
    tokenizer: Any,
    test: Any,
    pool: PersonaPool,
    config: LabConfig,
    name: str,
    where: Path,
    seed: int,
) -> list[EvalRecord]:
    """Greedy answers of `model` to every test problem under every persona of `pool`, kept in
    ``where/results.jsonl`` (a rerun resumes it)."""
    from permix_plugins.evaluation import TransformersBackend

    backend = TransformersBackend(
        model,
        tokenizer,
        batch_size=config.eval_batch_size,
        max_new_tokens=config.max_new_tokens,
        model_id=name,
    )
    records, report = evaluate(
        backend,
        test,
        pool,
        instruction=config.instruction,
        seed=seed,
        results=where / "results.jsonl",
        n_bootstrap=config.n_bootstrap,
        progress=not config.from_scratch,
        meta={"model": name, "pool": pool.name},
    )
    write_report(report, where)
    return records


def stability_report(
    records: list[EvalRecord], ids: Collection[str], config: LabConfig, name: str
) -> StabilityReport:
    """The report of `records` under the personas `ids` (several records of one problem and persona are samples)."""
    wanted = set(ids)
    rows = stability_rows(r for r in records if r.persona_id in wanted)
    return StabilityReport.from_results(
        rows, n_bootstrap=config.n_bootstrap, seed=config.seed, meta={"model": name}
    )


def _compare(a: Measured, b: Measured, config: LabConfig, labels: tuple[str, str]) -> dict[str, Comparison]:
    """b − a, paired over problems and personas: held out, no persona only, and each styled pool."""
    pairs = {"labels": labels, "n_bootstrap": config.n_bootstrap, "seed": config.seed}
    none_a, none_b = (stability_report(m.records, (NO_PERSONA_ID,), config, "none") for m in (a, b))
    return {
        "held_out": compare(a.held_out, b.held_out, **pairs),
        "no_persona": compare(none_a, none_b, **pairs),
        **{pool: compare(a.styled[pool], b.styled[pool], **pairs) for pool in a.styled},
    }


def _write_records(models: dict[str, Measured], path: Path) -> None:
    """Every evaluation record of the run (each names its model), gzipped: the numbers can be recomputed."""
    import gzip

    with gzip.open(path, "wt", encoding="utf-8") as out:
        for measured in models.values():
            for record in measured.records:
                out.write(record.to_json() + "\n")


def read_run_records(out_dir: str | Path) -> list[EvalRecord]:
    """The evaluation records a finished run wrote to its `RECORDS_FILE`."""
    import gzip

    with gzip.open(Path(out_dir) / RECORDS_FILE, "rt", encoding="utf-8") as lines:
        return [EvalRecord.from_dict(json.loads(line)) for line in lines]


@contextmanager
def _timed(seconds: dict[str, float], part: str) -> Iterator[None]:
    began = time.monotonic()
    yield
    seconds[part] = seconds.get(part, 0.0) + time.monotonic() - began
