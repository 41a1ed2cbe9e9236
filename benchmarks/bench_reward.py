r"""Speed and agreement of `permix_plugins.math.accuracy_reward` against the rewards people use today.

    python benchmarks/bench_reward.py [--n 1000] [--seed 0] [--workers N] [--skip-verl]

One seeded, project-written batch (mostly numeric answers, some LaTeX, some long persona-styled reasoning, a few
GSM8K "####" lines and unboxed persona prose) goes through:

    permix      permix_plugins.math.accuracy_reward (warm: worker start-up is timed separately)
    trl         trl.rewards.accuracy_reward (conversational completions, `solution=` column)
    verl        verl.utils.reward_score.math_verify.compute_score, one call per item (if verl is installed)
    raw         math_verify.parse + verify, default configs, in-process

Golds are plain strings for permix and verl (verl boxes them itself) and ``$…$``-wrapped for trl and raw math-verify
(bare LaTeX such as ``\sqrt{2}`` does not parse otherwise). Each scorer is warmed first, twice, on a few items and
every LaTeX pair of the batch (SymPy imports its set and polynomial code on first use, in each permix worker
process too); imports and warm-up are not timed. Agreement is reported on all items and on the items that end in ``\boxed{}`` with well-formed
LaTeX — the others (``#### 72``, "Arr, 'tis 42 doubloons", ``\sqrt3``) are outside TRL's strict extraction by design.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from permix_plugins.math import accuracy_reward
from permix_plugins.verifier import configure


@dataclass(frozen=True)
class Item:
    kind: str  # numeric | latex | long | hash | prose
    gold: str
    completion: str

    @property
    def comparable(self) -> bool:
        """Ends in a box with well-formed LaTeX: inside TRL's strict extraction (no "####", no ``\\sqrt3``)."""
        return "\\boxed" in self.completion and not re.search(r"\\(?:sqrt|frac)\d", self.completion)


# --------------------------------------------------------------------------------------------------------------------
# The batch
# --------------------------------------------------------------------------------------------------------------------

PERSONA_LINES = [
    "Arr, matey, let us count the doubloons in the hold one chest at a time.",
    "As your kindergarten teacher, I want us to take this slowly and check every step together.",
    "Listen up, rookie: we do this by the book, no shortcuts, no excuses.",
    "My dear student, as the old philosophers would say, first define your terms.",
    "Beep boop. Initialising arithmetic subroutine. Loading operands into memory.",
    "In my professional opinion as a pastry chef, precision is everything in this kitchen.",
    "The detective steepled his fingers and considered the evidence before him.",
    "Yo, so like, this one is actually pretty chill if you break it down.",
]
NAMES = ["Natalia", "Weng", "Betty", "Julie", "James", "Mark", "Albert", "Ken", "Alexis", "Tina"]
THINGS = ["clips", "apples", "marbles", "pages", "cookies", "stickers", "books", "coins"]


def numeric_item(rng: random.Random) -> Item:
    a, b = rng.randint(2, 400), rng.randint(2, 60)
    gold = a * b if rng.random() < 0.5 else a + b * rng.randint(2, 9)
    if rng.random() < 0.15:
        gold *= 25  # some answers in the thousands
    name, thing = rng.choice(NAMES), rng.choice(THINGS)
    answer = gold if rng.random() < 0.6 else gold + rng.choice([-10, -2, -1, 1, 3, 12, gold])
    shown = rng.choice(
        [str(answer), f"{answer:,}", f"{answer}.0", f"\\${answer}", f"{answer:,}".replace(",", "{,}")]
    )
    steps = (
        f"{name} starts with {a} {thing}. Each day adds {b} more, so we compute {a} and {b} step by step. "
    )
    ending = rng.choice([f"The answer is $\\boxed{{{shown}}}$.", f"So {name} has \\boxed{{{shown}}} {thing}.",
                         f"\\boxed{{{shown}}}"])  # fmt: skip
    return Item("numeric", str(gold), steps + ending)


LATEX = [
    # (gold, equal forms, unequal forms)
    (r"\frac{1}{2}", [r"\dfrac{1}{2}", "0.5", r"\frac{2}{4}"], [r"\frac{1}{3}", "0.52"]),
    (r"\frac{3}{4}", [r"\frac34", "0.75"], [r"\frac{4}{3}"]),
    (r"2\sqrt{2}", [r"\sqrt{8}", r"2\sqrt2"], [r"\sqrt{2}", r"4\sqrt{2}"]),
    (r"\frac{\sqrt{3}}{2}", [r"\frac{1}{2}\sqrt{3}", r"\frac{\sqrt3}{2}"], [r"\frac{\sqrt{2}}{2}"]),
    (r"\pi", [r"\pi"], ["3.14", r"2\pi"]),
    (r"\frac{\pi}{3}", [r"\frac{1}{3}\pi"], [r"\frac{\pi}{6}"]),
    (r"(1, 2)", ["(1,2)"], ["(2, 1)", "[1, 2]"]),
    (r"[-3, 5)", ["[-3,5)"], ["(-3, 5)"]),
    (r"x^2+2x+1", [r"(x+1)^2"], [r"(x-1)^2"]),
    (r"3x-2", ["-2+3x"], ["3x+2"]),
    (r"\{1, 2, 3\}", [r"\{3, 2, 1\}"], [r"\{1, 2\}"]),
    (r"10\sqrt{5}", [r"\sqrt{500}"], [r"5\sqrt{10}"]),
]


def latex_item(rng: random.Random) -> Item:
    gold, equal, unequal = rng.choice(LATEX)
    shown = rng.choice(equal) if rng.random() < 0.6 else rng.choice(unequal)
    text = rng.choice(["Simplifying, we obtain ", "Therefore the result is ", "Putting it together: "])
    return Item("latex", gold, f"{text}$\\boxed{{{shown}}}$.")


def long_item(rng: random.Random) -> Item:
    inner = numeric_item(rng) if rng.random() < 0.7 else latex_item(rng)
    persona = rng.choice(PERSONA_LINES)
    filler = " ".join(
        f"{rng.choice(PERSONA_LINES)} Step {i}: {rng.randint(1, 99)} + {rng.randint(1, 99)} = {rng.randint(2, 198)}."
        for i in range(rng.randint(20, 60))
    )
    return Item("long", inner.gold, f"{persona}\n{filler}\n{inner.completion}")


def hash_item(rng: random.Random) -> Item:
    inner = numeric_item(rng)
    answer = inner.gold if rng.random() < 0.6 else str(int(inner.gold) + 1)
    return Item(
        "hash", inner.gold, f"Working it out line by line.\n{inner.gold} is what we need.\n#### {answer}"
    )


def prose_item(rng: random.Random) -> Item:
    gold = rng.randint(3, 500)
    said = gold if rng.random() < 0.6 else gold + rng.randint(1, 9)
    return Item("prose", str(gold), rng.choice([
        f"Arr matey, the treasure count be {said} doubloons!",
        f"As your teacher, I counted them with you: there are {said} crayons in the box!",
        f"Listen up, rookie. Final answer: {said}, no excuses.",
    ]))  # fmt: skip


def make_batch(n: int, seed: int) -> list[Item]:
    rng = random.Random(seed)
    makers = [
        (numeric_item, 0.55),
        (latex_item, 0.20),
        (long_item, 0.15),
        (hash_item, 0.05),
        (prose_item, 0.05),
    ]
    return [rng.choices([m for m, _ in makers], [w for _, w in makers])[0](rng) for _ in range(n)]


# --------------------------------------------------------------------------------------------------------------------
# Scorers: each maps a batch to a list of 1.0 / 0.0 / None
# --------------------------------------------------------------------------------------------------------------------


def permix_scorer(items: list[Item]) -> list[float | None]:
    return accuracy_reward(
        [[{"role": "assistant", "content": i.completion}] for i in items], solution=[i.gold for i in items]
    )


def trl_scorer() -> Callable[[list[Item]], list[float | None]]:
    from trl.rewards import accuracy_reward as trl_accuracy_reward

    def run(items: list[Item]) -> list[float | None]:
        completions = [[{"role": "assistant", "content": i.completion}] for i in items]
        return trl_accuracy_reward(completions, solution=[f"${i.gold}$" for i in items])

    return run


def verl_scorer() -> Callable[[list[Item]], list[float | None]]:
    from verl.utils.reward_score.math_verify import compute_score as verl_compute_score

    return lambda items: [float(verl_compute_score(i.completion, i.gold)) for i in items]


def raw_scorer() -> Callable[[list[Item]], list[float | None]]:
    from math_verify import parse, verify

    return lambda items: [float(verify(parse(f"${i.gold}$"), parse(i.completion))) for i in items]


def timed(
    fn: Callable[[list[Item]], list[float | None]], items: list[Item]
) -> tuple[list[float | None], float]:
    start = time.perf_counter()
    out = fn(items)
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="batch size (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--workers", type=int, default=None, help="permix verifier workers (default min(4, cpus))"
    )
    parser.add_argument("--skip-verl", action="store_true")
    parser.add_argument("--skip-trl", action="store_true")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # math-verify's per-item warnings would drown the table

    items = make_batch(args.n, args.seed)
    warm = make_batch(20, args.seed + 1) + [
        Item("latex", gold, f"\\boxed{{{form}}}")
        for gold, equal, unequal in LATEX
        for form in equal + unequal
    ]
    kinds = Counter(i.kind for i in items)
    print(f"batch: n={len(items)} seed={args.seed} " + " ".join(f"{k}={v}" for k, v in sorted(kinds.items())))
    print(f"cpus={os.cpu_count()} python={sys.version.split()[0]}\n")

    verifier = configure(workers=args.workers)
    start = time.perf_counter()
    ready = verifier.warm_up()
    startup = time.perf_counter() - start
    for _ in range(2):
        permix_scorer(warm)
    results: dict[str, tuple[list[float | None], float]] = {"permix": timed(permix_scorer, items)}

    others: list[tuple[str, Callable[[], Callable]]] = []
    if not args.skip_trl:
        others.append(("trl", trl_scorer))
    if not args.skip_verl:
        others.append(("verl", verl_scorer))
    others.append(("raw math-verify", raw_scorer))
    for name, build in others:
        try:
            scorer = build()
        except ImportError as exc:
            print(f"{name}: not available ({exc})")
            continue
        for _ in range(2):
            scorer(warm)
        results[name] = timed(scorer, items)

    ours, our_time = results["permix"]
    boxed = [k for k, item in enumerate(items) if item.comparable]
    print(f"{'scorer':<18}{'items/s':>10}{'permix is':>12}{'agree (all)':>14}{'agree (boxed*)':>16}")
    for name, (scores, seconds) in results.items():
        agree_all = sum(a == b for a, b in zip(ours, scores, strict=True)) / len(items)
        agree_boxed = sum(ours[k] == scores[k] for k in boxed) / max(1, len(boxed))
        ratio = "" if name == "permix" else f"{seconds / our_time:.1f}x"
        print(f"{name:<18}{len(items) / seconds:>10.0f}{ratio:>12}{agree_all:>14.1%}{agree_boxed:>16.1%}")
    stats = verifier.stats()
    print(f"\npermix: {ready} workers warm in {startup:.2f}s (paid once, not in items/s); "
          f"decided in-process {stats.get('fast', 0)}, by math-verify {stats.get('math_verify', 0)} "
          f"(unique jobs); timeouts {stats.get('timeout', 0)}, errors {stats.get('error', 0)}")  # fmt: skip
    print(
        f"boxed* = the {len(boxed)} items ending in \\boxed{{}} with well-formed LaTeX (TRL's strict extraction "
        "reads neither '#### 72', unboxed prose, nor shorthand such as \\sqrt3)"
    )

    for name, (scores, _) in results.items():
        differ = [k for k in range(len(items)) if scores[k] != ours[k]]
        if name == "permix" or not differ:
            continue
        by_kind = Counter(items[k].kind for k in differ)
        print(
            f"\n{name}: {len(differ)} disagreements ("
            + ", ".join(f"{k} {v}" for k, v in by_kind.items())
            + ")"
        )
        for k in differ[:8]:
            tail = items[k].completion[-70:].replace("\n", " ")
            print(
                f"  [{items[k].kind}] gold {items[k].gold!r}: permix {ours[k]} vs {name} {scores[k]}  …{tail}"
            )
    verifier.close()


if __name__ == "__main__":
    main()
