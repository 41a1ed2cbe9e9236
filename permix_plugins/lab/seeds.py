"""Several independent lab runs, one per seed, and what holds across them (``permix demo --seeds N``).

One seed's intervals are paired bootstraps over the test problems: they say nothing of the training run's own
randomness; the spread over seeds does. Each run writes its own ``seed-<k>/`` directory; the top directory gets
``summary.json`` (every run's summary and the across-seed statistics), ``report.md`` and ``seeds.png``. A seed whose
``summary.json`` was written with the same settings is read back instead of run again, and a seed that stopped
midway resumes (`run_lab`), so a long study can run over several sittings. With `LabConfig.shared_start` the seeds
share one start model, kept in ``start/``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from permix_plugins.lab.config import LabConfig
from permix_plugins.lab.report import PRIMARY_KEY, across_seeds, plot_seeds, seeds_markdown
from permix_plugins.lab.run import run_lab

__all__ = ["run_seeds", "seed_config"]

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
    summary = {"runs": runs, "across_seeds": across_seeds(runs), "seconds": seconds}
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
