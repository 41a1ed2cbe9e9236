"""Rows/s of building a persona-mixed dataset, against an identity `Dataset.map` over the same rows.

    python benchmarks/bench_mixing.py [--rows 100000] [--repeats 3]

Both are measured in this run on the same problems (the synthetic generator); the ratio is what to compare
across machines. Target: PersonaMixDataset within 2x of the identity map.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from datasets import disable_caching

from permix_plugins import PersonaMixDataset, PersonaPool, load_problems


def best_of(repeats: int, fn) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    disable_caching()  # both sides do the work every time
    problems = load_problems("synthetic", limit=args.rows, seed=0)
    pool = PersonaPool.builtin("train")

    identity = best_of(args.repeats, lambda: problems.map(lambda row: row))
    mixing = best_of(args.repeats, lambda: PersonaMixDataset(problems, pool, persona_prob=0.5, seed=0))

    n = len(problems)
    print(f"rows: {n}")
    print(f"identity Dataset.map : {n / identity:>10,.0f} rows/s  ({identity:.2f} s)")
    print(f"PersonaMixDataset    : {n / mixing:>10,.0f} rows/s  ({mixing:.2f} s)")
    print(f"ratio (mixing time / identity map time): {mixing / identity:.2f}x  (target: <= 2x)")


if __name__ == "__main__":
    main()
