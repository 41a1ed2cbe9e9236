"""Time and peak memory of building a persona-mixed dataset, against an identity `Dataset.map` of the same rows.

    python benchmarks/bench_mixing.py [--rows 100000] [--repeats 3] [--num-proc N]

The problems are MATH-length rows (`problem`, `solution`, `answer`, `level`, `type`, `unique_id`; about 1.2 kB a
row) in an Arrow file, as `load_dataset` leaves them, so both sides read a memory-mapped input and write their
result to a cache file next to it. Each measurement runs in a fresh interpreter (so peaks do not mix), the two
sides alternate, and cache files are deleted between runs (so nothing is read back from a cache). Peak RSS growth
is the process's peak resident set during the build minus its resident set just before (Linux only: the peak is
reset through /proc/self/clear_refs). Targets: mixing time <= 1x and peak growth <= 1.2x the identity map's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

_TEXT = "Let f satisfy the equation for all real x, and let the triangle on the circle have integer sides."


def write_problems(path: Path, rows: int) -> None:
    """`rows` MATH-like problems (distinct, deterministic), written in batches: the writer never holds them all."""
    import pyarrow as pa

    def batch(start: int, stop: int) -> pa.RecordBatch:
        index = range(start, stop)
        words = [(_TEXT * 6)[i % 50 : i % 50 + 250 + i % 200] for i in index]
        answers = [str(i % 997 + i % 13) for i in index]
        return pa.record_batch(
            {
                "problem": [
                    f"Problem {i}. {w} What is {i % 997} + {i % 13}?"
                    for i, w in zip(index, words, strict=True)
                ],
                "solution": [
                    f"Step by step. {w} {w} So the answer is $\\boxed{{{a}}}$."
                    for w, a in zip(words, answers, strict=True)
                ],
                "answer": answers,
                "level": [f"Level {i % 5 + 1}" for i in index],
                "type": ["Algebra" if i % 2 else "Number Theory" for i in index],
                "unique_id": [f"train/algebra/{i}.json" for i in index],
            }
        )

    first = batch(0, min(rows, 10_000))
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, first.schema) as writer:
        writer.write_batch(first)
        for start in range(len(first), rows, 10_000):
            writer.write_batch(batch(start, min(rows, start + 10_000)))


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def measure(side: str, data: Path, num_proc: int | None) -> dict[str, float]:
    """One build in this (fresh) process: seconds and peak RSS growth in MB."""
    from datasets import Dataset

    from permix_plugins import PersonaMixDataset, PersonaPool

    problems = Dataset.from_file(str(data))
    pool = PersonaPool.builtin("train")
    Path("/proc/self/clear_refs").write_text("5")  # the peak (VmHWM) restarts from the current RSS
    before = _status_kb("VmRSS")
    start = time.perf_counter()
    if side == "identity":
        built = problems.map(lambda row: row, num_proc=num_proc)
    else:
        built = PersonaMixDataset(problems, pool, persona_prob=0.5, seed=0, num_proc=num_proc)
    seconds = time.perf_counter() - start
    assert len(built) == len(problems)
    return {"seconds": seconds, "peak_growth_mb": (_status_kb("VmHWM") - before) / 1024}


def run_fresh(side: str, data: Path, num_proc: int | None) -> dict[str, float]:
    argv = [sys.executable, __file__, "--measure", side, "--data", str(data)]
    argv += ["--num-proc", str(num_proc)] if num_proc else []
    done = subprocess.run(argv, check=True, capture_output=True, text=True)
    for path in data.parent.iterdir():  # the next run must build, not read a cache
        if path.name.startswith(("cache-", "permix-", "tmp")):
            path.unlink()
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3, help="fresh-process runs per side")
    parser.add_argument("--num-proc", type=int, default=None, help="processes for both maps")
    parser.add_argument("--measure", choices=["identity", "mixing"], help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.data, args.num_proc)))
        return

    with tempfile.TemporaryDirectory(prefix="permix-bench-") as tmp:
        data = Path(tmp) / "problems.arrow"
        write_problems(data, args.rows)
        runs: dict[str, list[dict[str, float]]] = {"identity": [], "mixing": []}
        for _ in range(args.repeats):
            for side, results in runs.items():
                results.append(run_fresh(side, data, args.num_proc))
        size_mb = data.stat().st_size / 2**20

    print(
        f"rows: {args.rows:,}  input: {size_mb:,.0f} MB  runs per side: {args.repeats}  num_proc: {args.num_proc}"
    )
    summary = {}
    for side, label in (("identity", "identity Dataset.map"), ("mixing", "PersonaMixDataset   ")):
        seconds = [r["seconds"] for r in runs[side]]
        growth = [r["peak_growth_mb"] for r in runs[side]]
        summary[side] = (statistics.median(seconds), statistics.median(growth))
        print(f"{label}: time {summary[side][0]:7.1f} s (runs {min(seconds):.1f}-{max(seconds):.1f}), "
              f"peak RSS growth {summary[side][1]:7.0f} MB (runs {min(growth):.0f}-{max(growth):.0f})")  # fmt: skip
    time_ratio = summary["mixing"][0] / summary["identity"][0]
    memory_ratio = summary["mixing"][1] / max(summary["identity"][1], 1.0)
    print(f"ratio (mixing / identity map, medians): time {time_ratio:.2f}x (target <= 1x), "
          f"peak RSS growth {memory_ratio:.2f}x (target <= 1.2x)")  # fmt: skip


if __name__ == "__main__":
    main()
