"""Run by tests/test_adapter_trl.py under `torchrun --nproc_per_node 2`: GRPO on CPU (gloo) with the callback.

Each process writes what it saw to OUT/rank<N>.json, so the test can check that only the main process generated
and that both finished every step together.
"""

from __future__ import annotations

import json
import os
import sys

from permix_plugins.adapters.trl import PersonaStabilityCallback
from tiny_models import build_tiny_model

from permix_plugins import PersonaMixDataset, PersonaPool, load_problems
from permix_plugins.cpu_grpo import cpu_grpo_trainer
from permix_plugins.math import accuracy_reward
from permix_plugins.tinylm import build_tokenizer


def main(out: str) -> None:
    tokenizer = build_tokenizer()
    train = PersonaMixDataset(load_problems("synthetic", limit=32, levels=[0]), PersonaPool.builtin("train"))
    trainer = cpu_grpo_trainer(
        build_tiny_model(tokenizer),
        tokenizer,
        train,
        [accuracy_reward],
        output_dir=out,
        num_generations=4,
    )
    callback = PersonaStabilityCallback(
        load_problems("synthetic", split="test", limit=2, levels=[0]),
        "lottery",
        trainer=trainer,
        every_n_steps=1,
        max_new_tokens=4,
        n_bootstrap=10,
    )
    trainer.add_callback(callback)
    trainer.train()
    rank = int(os.environ["RANK"])
    seen = {
        "world_size": trainer.accelerator.num_processes,
        "evaluated_steps": [step for step, _ in callback.reports],
        "logged_steps": [e["step"] for e in trainer.state.log_history if "permix/pss" in e],
        "global_step": trainer.state.global_step,
    }
    with open(os.path.join(out, f"rank{rank}.json"), "w") as handle:
        json.dump(seen, handle)


if __name__ == "__main__":
    main(sys.argv[1])
