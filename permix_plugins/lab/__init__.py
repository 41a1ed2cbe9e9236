"""The persona-lottery lab (``permix demo``): PerMix-RLVR against plain RLVR, end to end, on a CPU.

- `config`: `LabConfig`, the settings of one run, and `lab_config`, its presets (tiny or real start model,
  full or CI-sized);
- `run`: `run_lab`, one run (start model, its persona lottery, two GRPO runs, paired comparison);
- `seeds`: `run_seeds`, several runs and the statistics across their seeds;
- `report`: the summaries, reports and plots both write.
"""

from permix_plugins.lab.config import LabConfig, lab_config
from permix_plugins.lab.run import LabResult, run_lab
from permix_plugins.lab.seeds import run_seeds

__all__ = ["LabConfig", "LabResult", "lab_config", "run_lab", "run_seeds"]
