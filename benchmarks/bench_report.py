"""`permix report` on a large results file against the same command on a 100x smaller one.

    python benchmarks/bench_report.py [--lines 42000] [--small 420] [--pool eval] [--repeats 3]

Writes two ``results.jsonl`` files as ``permix eval --personas POOL`` writes them (one sample per problem: with
the 42 ``eval`` personas, 42,000 lines are 1,000 problems and 420 lines are 10), then times
``permix report FILE --out DIR`` on each in this process (imports warmed up first), and a plain ``json.loads``
of every line of the large file. Reading, the items x personas table, the bootstrap over problems and writing
report.json/.md/.png are all in the timed command. Target: the large report takes at most 3x the small one.
``--pool lottery`` (7 personas: 6,000 problems) shows the bootstrap's share, which grows with the problems.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import random
import tempfile
from pathlib import Path

from timing import best_of

from permix_plugins.cli import main as permix


def write_results(path: Path, lines: int, personas: list[str]) -> None:
    rng = random.Random(0)
    with path.open("w", encoding="utf-8") as out:
        for index in range(lines):
            item, persona = divmod(index, len(personas))
            correct = rng.random() < 0.6
            record = {
                "item_id": f"synthetic-test-{item}",
                "persona_id": personas[persona],
                "sample": 0,
                "gold": str(item),
                "completion": f"Adding the numbers step by step gives \\boxed{{{item if correct else -1}}}.",
                "answer": str(item if correct else -1),
                "reason": "match" if correct else "mismatch",
                "correct": correct,
                "model": "bench-model",
                "backend": "transformers",
                "placement": "none" if personas[persona] == "none" else "system",
                "temperature": 0.0,
                "max_new_tokens": 256,
                "seed": 0,
            }
            out.write(json.dumps(record) + "\n")


def report(path: Path, out: Path) -> None:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = permix(["report", str(path), "--out", str(out)])
    if code != 0:
        raise SystemExit(f"permix report {path} failed with exit code {code}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=42_000)
    parser.add_argument("--small", type=int, default=420)
    parser.add_argument("--pool", default="eval", help="persona pool of the results (eval: 42, lottery: 7)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from permix_plugins.personas import PersonaPool

    personas = PersonaPool.builtin(args.pool).ids
    with tempfile.TemporaryDirectory(prefix="permix-bench-report-") as tmp:
        root = Path(tmp)
        small, large = root / "small.jsonl", root / "large.jsonl"
        write_results(small, args.small, list(personas))
        write_results(large, args.lines, list(personas))
        report(small, root / "warm-up")  # imports, matplotlib's font cache

        def parse_only() -> None:
            with large.open("rb") as handle:
                for line in handle:
                    json.loads(line)

        small_s = best_of(args.repeats, lambda: report(small, root / "small"))
        large_s = best_of(args.repeats, lambda: report(large, root / "large"))
        parse_s = best_of(args.repeats, parse_only)

    problems = f"{args.small // len(personas):,} / {args.lines // len(personas):,}"
    print(
        f"personas: {len(personas)} ({args.pool}), problems: {problems}, 1 sample each, 1000 bootstrap "
        "resamples, report.json/.md/.png written"
    )
    print(f"permix report, {args.small:>6,} lines : {small_s:6.2f} s")
    print(f"permix report, {args.lines:>6,} lines : {large_s:6.2f} s")
    print(f"json.loads of every line, {args.lines:,} lines: {parse_s:6.2f} s")
    print(f"ratio ({args.lines:,} / {args.small:,} lines): {large_s / small_s:.2f}x  (target: <= 3x)")
    print(f"ratio ({args.lines:,}-line report / plain JSON parse): {large_s / parse_s:.1f}x")


if __name__ == "__main__":
    main()
