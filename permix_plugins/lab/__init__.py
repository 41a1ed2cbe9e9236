"""The persona lab (``permix demo``): RLVR, PerMix-RLVR and a shuffled-persona control, end to end, on a CPU.

- `config`: `LabConfig`, the settings of one run, and `lab_config`, its presets (tiny or real start model,
  full or CI-sized);
- `warmup`: the start model's demonstrations (system prompts, styles, a persona lottery);
- `start`: the start model, made once and kept on disk;
- `arms`: the RL arms trained from it;
- `run`: `run_lab`, one run (start model, measurements, arms, paired comparisons);
- `seeds`: `run_seeds`, several runs, and the statistics, report and plot across their seeds;
- `report`: one run's summary, report and plot.

Names are imported on first use, so reading the settings does not import `datasets` or a trainer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from permix_plugins._lazy import lazy_exports

_EXPORTS = {
    "LabConfig": "permix_plugins.lab.config",
    "lab_config": "permix_plugins.lab.config",
    "LabResult": "permix_plugins.lab.run",
    "run_lab": "permix_plugins.lab.run",
    "run_seeds": "permix_plugins.lab.seeds",
}

__all__ = ["LabConfig", "LabResult", "lab_config", "run_lab", "run_seeds"]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


if TYPE_CHECKING:
    from permix_plugins.lab.config import LabConfig, lab_config
    from permix_plugins.lab.run import LabResult, run_lab
    from permix_plugins.lab.seeds import run_seeds
