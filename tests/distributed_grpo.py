"""Run by tests/test_adapter_trl.py under `torchrun --nproc_per_node 2`: GRPO on CPU (gloo) with the callback.

Each process writes what it saw to OUT/rank<N>.json, so the test can check that only the main process generated
and that both finished every step together.
"""

from __future__ import annotations

import json
import os
import sys

from permix_plugins.adapters.trl import PersonaStabilityCallback
from trl import GRPOConfig, GRPOTrainer

from permix_plugins import PersonaMixDataset, PersonaPool, load_problems
from permix_plugins.math import accuracy_reward
from permix_plugins.tinylm import build_model, build_tokenizer


def main(out: str) -> None:
    tokenizer = build_tokenizer()
    train = PersonaMixDataset(load_problems("synthetic", limit=32, levels=[0]), PersonaPool.builtin("train"))
    config = GRPOConfig(
        output_dir=out,
        max_steps=2,
        per_device_train_batch_size=4,
        num_generations=4,
        max_completion_length=8,
        logging_steps=1,
        bf16=False,
        use_cpu=True,
        gradient_checkpointing=False,
        report_to="none",
        save_strategy="no",
        seed=0,
        disable_tqdm=True,
    )
    trainer = GRPOTrainer(
        model=build_model(tokenizer, hidden_size=32, num_layers=1, num_heads=2),
        reward_funcs=[accuracy_reward],
        train_dataset=train,
        args=config,
        processing_class=tokenizer,
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
