"""Wall time of a GRPO step with the plugin against a plain TRL run on the same model and prompts.

    python benchmarks/bench_trl_overhead.py [--steps 12] [--rounds 3]

plain : a `datasets.Dataset` of the same chat prompts + TRL's own `trl.rewards.accuracy_reward`
permix: the `PersonaMixDataset` itself + `permix_plugins.math.accuracy_reward` (per-persona metrics and
        completions-table columns included)

Both train the same tiny model built in code, from the same seed, on the same persona-mixed prompts, so the
difference is what the plugin adds (dataset columns, reward, telemetry), not longer persona prompts. Rounds
alternate between the two to spread machine noise; the median step time after a warm-up step is compared.
Target: within 3% of the plain run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from datasets import Dataset
from transformers import TrainerCallback
from trl.rewards import accuracy_reward as trl_accuracy_reward

from permix_plugins import PersonaMixDataset, PersonaPool, load_problems
from permix_plugins.cpu_grpo import cpu_grpo_trainer
from permix_plugins.math import accuracy_reward
from permix_plugins.tinylm import build_model, build_tokenizer


class StepTimer(TrainerCallback):
    def __init__(self) -> None:
        self.times: list[float] = []
        self._start = 0.0

    def on_step_begin(self, args, state, control, **kwargs):
        self._start = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        self.times.append(time.perf_counter() - self._start)


def run(dataset: Dataset, reward, tokenizer, steps: int) -> list[float]:
    timer = StepTimer()
    with tempfile.TemporaryDirectory() as out:
        trainer = cpu_grpo_trainer(
            build_model(tokenizer, hidden_size=64, num_layers=2, seed=0),
            tokenizer,
            dataset,
            [reward],
            output_dir=out,
            callbacks=[timer],
            max_steps=steps,
            per_device_train_batch_size=16,
            num_generations=4,
            max_completion_length=48,
            learning_rate=1e-4,
            logging_steps=10 * steps,
        )
        trainer.train()
    return timer.times[1:]  # the first step pays one-time costs (worker start-up, caches)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    tokenizer = build_tokenizer()
    mixed = PersonaMixDataset(
        load_problems("synthetic", limit=512), PersonaPool.builtin("train"), persona_prob=0.5
    )
    plain = Dataset.from_dict({"prompt": mixed["prompt"], "solution": mixed["answer"]})

    times: dict[str, list[float]] = {"plain": [], "permix": []}
    for _ in range(args.rounds):
        times["plain"] += run(plain, trl_accuracy_reward, tokenizer, args.steps)
        times["permix"] += run(mixed, accuracy_reward, tokenizer, args.steps)

    plain_step, permix_step = statistics.median(times["plain"]), statistics.median(times["permix"])
    print(f"steps timed per run: {args.steps - 1} x {args.rounds} rounds, 64 completions per step")
    print(f"plain TRL (Dataset + trl.rewards.accuracy_reward): median step {plain_step * 1000:.0f} ms")
    print(f"permix    (PersonaMixDataset + accuracy_reward) : median step {permix_step * 1000:.0f} ms")
    print(f"ratio permix / plain: {permix_step / plain_step:.3f}  (target: <= 1.03)")


if __name__ == "__main__":
    main()
