"""Several independent lab runs, one per seed, and what holds across them (``permix demo --seeds N``).

One seed's numbers are a property of the machine (CPU float kernels differ), and a paired bootstrap over problems
says nothing of the training run's own randomness; the spread over seeds does. Each run writes its own
``seed-<k>/`` directory; the top directory gets ``summary.json`` (every run's summary and the across-seed
statistics), ``report.md`` and ``seeds.png``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from permix_plugins.lab.config import LabConfig
from permix_plugins.lab.report import across_seeds, plot_seeds, seeds_markdown
from permix_plugins.lab.run import run_lab

__all__ = ["run_seeds"]

logger = logging.getLogger(__name__)


def run_seeds(config: LabConfig, seeds: int, *, log: Callable[[str], None] = logger.info) -> dict[str, Any]:
    """Run the lab `seeds` times with seeds ``config.seed, config.seed + 1, ...`` and write the across-seed report."""
    from tqdm.auto import tqdm

    if seeds < 2:
        raise ValueError(f"run_seeds needs at least 2 seeds, got {seeds}; run_lab runs one")
    out = Path(config.out_dir)
    start = time.monotonic()
    runs = []
    bar = tqdm(range(config.seed, config.seed + seeds), desc="seeds", unit="seed")
    for seed in bar:
        seed_config = config.model_copy(update={"seed": seed, "out_dir": str(out / f"seed-{seed}")})
        log(f"==> seed {seed} ({len(runs) + 1}/{seeds}) into {seed_config.out_dir}")
        runs.append(run_lab(seed_config, log=lambda line: log(f"    {line}")).summary)
    bar.close()
    summary = {"runs": runs, "across_seeds": across_seeds(runs), "seconds": time.monotonic() - start}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "report.md").write_text(seeds_markdown(summary))
    plot_seeds(summary, out / "seeds.png")
    delta = summary["across_seeds"]["delta_pss"]
    log(
        f"done: {seeds} seeds in {summary['seconds'] / 60:.1f} min; ΔPSS (permix − rlvr) mean {delta['mean']:+.3f} "
        f"(range {delta['min']:+.3f} – {delta['max']:+.3f}), positive in {delta['positive']}/{seeds}; "
        f"report: {out / 'report.md'}"
    )
    return summary
