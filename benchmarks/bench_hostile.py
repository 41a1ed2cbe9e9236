"""How the text scanners scale on hostile model output: time at 4x the length against time at 1x.

    python benchmarks/bench_hostile.py [--chars 4000] [--repeats 3]

The reward reads whatever a model writes, so `extract_answer` (permix_plugins.answers) and OpenRLHF's
`split_completion` (permix_plugins.adapters.openrlhf) must stay linear on degenerate text: thousands of unclosed
boxes, braces, backslashes, answer phrases, number words. For each pattern the script times the scanner on a text of
``--chars`` characters and on one four times as long (the anchor is the 1x run, measured in the same process) and
prints the ratio: about 4 for a linear scan, 16 for a quadratic one. (`extract_answer` reads only the last
`TAIL_CHARS` = 16,000 characters, so the 4x text should stay within them.) The tests check these inputs are handled (an
answer or none, never an exception); the speed is measured here, not asserted there.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from permix_plugins.adapters.openrlhf import split_completion
from timing import best_of

from permix_plugins.answers import extract_answer

# (name, repeated unit) for extract_answer; each text is the unit repeated up to the requested length
ANSWER_PATTERNS = [
    ("open boxes", "\\boxed{"),
    ("open braces", "{"),
    ("backslashes", "\\"),
    ("dollars", "$"),
    ("answer phrases", "the answer is "),
    ("hash lines", "#### "),
    ("answer tags", "<answer>"),
    ("digits", "1"),
    ("boxes joined by and", "\\boxed{1} and "),
    ("open math spans", "\\("),
    ("number words", "one hundred and "),
    ("space thousands", "1 000 "),
    ("decimal commas", "1,1"),
    ("scientific notation", "4.5 \\times 10^"),
    ("zero-width spaces", "\u200b"),
]
TEMPLATE = "<|im_start|>user\nWhat is 40 + 2?<|im_end|>\n<|im_start|>assistant\n"
SPLIT_PATTERNS = [("open parentheses", "("), ("end tokens", "</s>"), ("spaces", " ")]


def _ratio(
    make: Callable[[int], str], scan: Callable[[str], object], chars: int, repeats: int
) -> tuple[float, float]:
    short, long = make(chars), make(4 * chars)
    base = best_of(repeats, lambda: scan(short))
    return base, best_of(repeats, lambda: scan(long)) / max(base, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, default=4000, help="length of the 1x text (default 4000)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per text, best kept (default 3)")
    args = parser.parse_args()

    def repeat(unit: str) -> Callable[[int], str]:
        return lambda n: (unit * (n // len(unit) + 1))[:n]

    rows = [
        (f"extract_answer: {name}", *_ratio(repeat(unit), extract_answer, args.chars, args.repeats))
        for name, unit in ANSWER_PATTERNS
    ]
    rows += [
        (
            f"split_completion: {name}",
            *_ratio(
                lambda n, unit=unit: TEMPLATE + repeat(unit)(n),
                lambda query: split_completion(query, TEMPLATE),
                args.chars,
                args.repeats,
            ),
        )
        for name, unit in SPLIT_PATTERNS
    ]
    print(f"{'scanner: pattern':<42} {'1x (ms)':>9} {'4x / 1x':>8}")
    for name, base, ratio in rows:
        print(f"{name:<42} {1000 * base:>9.2f} {ratio:>7.1f}x")
    worst = max(ratio for _, _, ratio in rows)
    print(f"worst ratio {worst:.1f}x (linear: about 4x, quadratic: about 16x)")


if __name__ == "__main__":
    main()
