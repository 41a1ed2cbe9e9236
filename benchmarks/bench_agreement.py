r"""Agreement of our math reward with verdicts written by others, next to raw math-verify, verl and TRL.

    python benchmarks/bench_agreement.py --math-verify-tests DIR [--gsm8k-dir DIR] [--workers N] [--skip trl,verl,raw]

``--math-verify-tests DIR``: a checkout of huggingface/Math-Verify. Every literal ``(gold, pred, expected)`` case
parametrized in ``tests/test_all.py``, ``test_numina_cases.py``, ``test_open_thoughts.py`` and ``test_boxed.py`` is
read with ``ast`` (the files are never imported): 252 cases at commit 5d148cf, many of them real NuminaMath and
OpenThoughts model outputs. A case's id is ``file::test[k]``, its k-th parametrized entry.

``--gsm8k-dir DIR``: openai/grade-school-math's ``grade_school_math/data`` (``test.jsonl`` and
``example_model_solutions.jsonl``). Three sets: the 5,276 GPT-3 solutions against OpenAI's ``is_correct`` labels; each
gold worked solution as a completion (all correct); each gold solution against the *next* question's answer (shifted
pairs: correct only where the two answers are equal).

Every scorer sees the same strings: the gold as written (GSM8K: the number after ``####``) and the completion.

    permix    permix_plugins.verifier.MathVerifier (what permix_plugins.math uses), workers warm before timing
    raw       math_verify.verify(parse(gold), parse(pred)), default configs, in-process
    verl      verl.utils.reward_score.math_verify.compute_score(pred, gold)
    trl       trl.rewards.accuracy_reward (conversational completion, ``solution=`` column)

Deliberate disagreements with Math-Verify's expected verdict are listed in `DELIBERATE` (and in the README) with
the reason; any other disagreement is printed as ``UNEXPECTED``.
"""

from __future__ import annotations

import argparse
import ast
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from permix_plugins.verifier import MathVerifier, Verdict

MATH_VERIFY_FILES = ("test_all.py", "test_numina_cases.py", "test_open_thoughts.py", "test_boxed.py")

_EXACT = "exact numbers: a rounded decimal is not the closed form"
DELIBERATE: dict[str, str] = {
    "test_all.py::test_latex_notation[5]": "a line break inside $...$ does not hide the answer 9",
    "test_all.py::test_latex_notation[6]": "a line break inside \\(...\\) does not hide the answer 9",
    "test_all.py::test_complex_math_expressions[0]": f"{_EXACT} (0.0833333333333333 != 1/12)",
    "test_all.py::test_complex_math_expressions[7]": f"{_EXACT} (0.33 != 1/3; the test rounds to 2 digits)",
    "test_all.py::test_complex_math_expressions[13]": f"{_EXACT} (2.6667 != 8/3; the test rounds to 2 digits)",
    "test_all.py::test_set_rel_assymetry[2]": "a gold interval does not accept a predicted inequality (math-verify's "
    "default; this case turns on allow_set_relation_comp, and case [3], the same pair with the default, expects 0)",
    "test_numina_cases.py::test_numina_cases[24]": "a malformed gold (an unclosed \\boxed{, escaped twice) is no "
    "gold: scored bad_gold (skipped by TRL), not guessed",
    "test_boxed.py::test_boxed[0]": "boxes apart by '++++++' are not one answer: only list separators join boxes, "
    "for golds as for completions",
}
"""Math-Verify cases where we knowingly give the other verdict, by case id, with the reason."""


@dataclass(frozen=True)
class Case:
    id: str
    gold: str
    pred: str
    expected: bool


# --------------------------------------------------------------------------------------------------------------------
# Case sets
# --------------------------------------------------------------------------------------------------------------------


def math_verify_cases(tests_dir: Path) -> tuple[list[Case], int]:
    """The literal (gold, pred, expected) parametrized cases of Math-Verify's test files, and how many were skipped."""
    cases: list[Case] = []
    skipped = 0
    for name in MATH_VERIFY_FILES:
        path = tests_dir / name
        if not path.is_file():
            raise SystemExit(
                f"--math-verify-tests: {path} not found (expected a checkout of huggingface/Math-Verify)"
            )
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if not (isinstance(node, ast.FunctionDef) and node.name.startswith("test_")):
                continue
            for decorator in node.decorator_list:
                if not (
                    isinstance(decorator, ast.Call) and getattr(decorator.func, "attr", "") == "parametrize"
                ):
                    continue
                names = [n.strip() for n in ast.literal_eval(decorator.args[0]).split(",")]
                if not {"gold", "pred", "expected"} <= set(names):
                    continue
                for k, entry in enumerate(decorator.args[1].elts):
                    try:
                        row = dict(zip(names, ast.literal_eval(entry), strict=True))
                    except ValueError:  # e.g. an f-string computed at import time
                        skipped += 1
                        continue
                    cases.append(
                        Case(f"{name}::{node.name}[{k}]", row["gold"], row["pred"], bool(row["expected"]))
                    )
    return cases, skipped


def gsm8k_sets(data_dir: Path) -> dict[str, list[Case]]:
    """The labelled GPT-3 solutions, the gold solutions, and the shifted (mismatched) pairs."""
    paths = {name: data_dir / name for name in ("test.jsonl", "example_model_solutions.jsonl")}
    for path in paths.values():
        if not path.is_file():
            raise SystemExit(
                f"--gsm8k-dir: {path} not found (expected grade-school-math's grade_school_math/data)"
            )
    tests = [
        json.loads(line) for line in paths["test.jsonl"].read_text(encoding="utf-8").splitlines() if line
    ]
    value = {row["question"]: row["answer"].rsplit("####", 1)[1].strip() for row in tests}
    labelled = []
    for row in map(
        json.loads, paths["example_model_solutions.jsonl"].read_text(encoding="utf-8").splitlines()
    ):
        for model, result in row.items():
            if isinstance(result, dict) and "is_correct" in result:
                labelled.append(
                    Case(
                        f"{model}:{len(labelled)}",
                        value[row["question"]],
                        result["solution"],
                        result["is_correct"],
                    )
                )
    golds = [Case(f"gold:{i}", value[r["question"]], r["answer"], True) for i, r in enumerate(tests)]
    shifted = [
        Case(f"shifted:{i}", value[a["question"]], b["answer"], value[a["question"]] == value[b["question"]])
        for i, (a, b) in enumerate(zip(tests, tests[1:] + tests[:1], strict=True))
    ]
    return {
        "GSM8K labelled solutions": labelled,
        "GSM8K gold solutions": golds,
        "GSM8K shifted pairs": shifted,
    }


# --------------------------------------------------------------------------------------------------------------------
# Scorers: (golds, preds) -> verdicts
# --------------------------------------------------------------------------------------------------------------------

Scorer = Callable[[list[str], list[str]], list[bool]]


def raw_scorer() -> Scorer:
    from math_verify import parse, verify

    return lambda golds, preds: [bool(verify(parse(g), parse(p))) for g, p in zip(golds, preds, strict=True)]


def verl_scorer() -> Scorer:
    from verl.utils.reward_score.math_verify import compute_score

    return lambda golds, preds: [compute_score(p, g) == 1.0 for g, p in zip(golds, preds, strict=True)]


def trl_scorer() -> Scorer:
    from trl.rewards import accuracy_reward

    def run(golds: list[str], preds: list[str]) -> list[bool]:
        completions = [[{"role": "assistant", "content": p}] for p in preds]
        return [r == 1.0 for r in accuracy_reward(completions, solution=golds)]

    return run


def timed(fn: Callable[[], list], n: int) -> tuple[list, float]:
    start = time.perf_counter()
    out = fn()
    return out, n / max(time.perf_counter() - start, 1e-9)


# --------------------------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------------------------


def report(
    title: str,
    cases: list[Case],
    verifier: MathVerifier,
    others: dict[str, Scorer],
    *,
    list_disagreements: bool,
) -> None:
    golds, preds = [c.gold for c in cases], [c.pred for c in cases]
    verdicts, ours_rate = timed(lambda: verifier.verify_batch(golds, preds), len(cases))
    results: dict[str, tuple[list[bool], float]] = {
        "permix": ([v.correct is True for v in verdicts], ours_rate)
    }
    for name, scorer in others.items():
        results[name] = timed(lambda scorer=scorer: scorer(golds, preds), len(cases))

    print(f"\n{title}: {len(cases)} cases")
    print(f"{'scorer':<10}{'agree':>9}{'false neg':>11}{'false pos':>11}{'items/s':>10}")
    for name, (scores, rate) in results.items():
        agree = sum(s == c.expected for s, c in zip(scores, cases, strict=True))
        fn = sum(c.expected and not s for s, c in zip(scores, cases, strict=True))
        fp = sum(s and not c.expected for s, c in zip(scores, cases, strict=True))
        print(f"{name:<10}{agree / len(cases):>9.1%}{fn:>11}{fp:>11}{rate:>10.0f}")
    differ = [(c, v) for c, v in zip(cases, verdicts, strict=True) if (v.correct is True) != c.expected]
    if differ and list_disagreements:
        print(f"\npermix disagrees with the expected verdict on {len(differ)}:")
        for case, verdict in differ:
            print(_disagreement(case, verdict))
    elif differ:
        print(f"permix disagrees on {len(differ)}: " + ", ".join(c.id for c, _ in differ[:20]))


def _disagreement(case: Case, verdict: Verdict) -> str:
    note = DELIBERATE.get(case.id)
    head = f"  {case.id}: expected {int(case.expected)}, permix {int(verdict.correct is True)} ({verdict.reason})"
    return (
        f"{head}  {'deliberate: ' + note if note else 'UNEXPECTED'}\n"
        f"      gold {_short(case.gold)}\n      pred {_short(case.pred)}\n"
        f"      extracted {_short(verdict.extracted or '')} ({verdict.source})"
    )


def _short(text: str, limit: int = 110) -> str:
    text = repr(text)
    return text if len(text) <= limit else text[: limit // 2 - 2] + " … " + text[-limit // 2 :]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--math-verify-tests", type=Path, help="a Math-Verify checkout, or its tests/ folder")
    parser.add_argument("--gsm8k-dir", type=Path, help="grade-school-math's grade_school_math/data folder")
    parser.add_argument(
        "--workers", type=int, default=None, help="permix verifier workers (default min(4, cpus))"
    )
    parser.add_argument("--skip", default="", help="comma-separated scorers to leave out: trl, verl, raw")
    args = parser.parse_args()
    if args.math_verify_tests is None and args.gsm8k_dir is None:
        parser.error("give --math-verify-tests DIR and/or --gsm8k-dir DIR")
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    unknown = skip - {"trl", "verl", "raw"}
    if unknown:
        parser.error(f"--skip accepts trl, verl, raw; got {sorted(unknown)}")
    logging.disable(logging.WARNING)  # math-verify's per-item warnings would drown the tables

    others: dict[str, Scorer] = {}
    for name, build in (("raw", raw_scorer), ("verl", verl_scorer), ("trl", trl_scorer)):
        if name not in skip:
            try:
                others[name] = build()
            except ImportError as exc:
                print(f"{name}: not available ({exc})")
    print(f"cpus={os.cpu_count()} python={sys.version.split()[0]}")
    with MathVerifier(workers=args.workers) as verifier:
        verifier.warm_up()
        if args.math_verify_tests is not None:
            tests_dir = args.math_verify_tests
            tests_dir = tests_dir / "tests" if (tests_dir / "tests").is_dir() else tests_dir
            cases, skipped = math_verify_cases(tests_dir)
            title = f"Math-Verify tests ({', '.join(MATH_VERIFY_FILES)}; {skipped} non-literal case skipped)"
            report(title, cases, verifier, others, list_disagreements=True)
        if args.gsm8k_dir is not None:
            data_dir = args.gsm8k_dir
            for sub in ("grade_school_math/data", "data"):
                data_dir = data_dir / sub if (data_dir / sub).is_dir() else data_dir
            for title, cases in gsm8k_sets(data_dir).items():
                report(title, cases, verifier, others, list_disagreements=False)
        stats = verifier.stats()
    print(
        f"\npermix: decided in-process {stats.get('fast', 0)}, by math-verify {stats.get('math_verify', 0)} "
        f"(unique jobs); timeouts {stats.get('timeout', 0)}, errors {stats.get('error', 0)}"
    )


if __name__ == "__main__":
    main()
