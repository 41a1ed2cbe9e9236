"""MathVerifier against the golden table (tests/golden_cases.py), and the table's flags re-derived from raw
math-verify."""

from __future__ import annotations

import logging

import pytest
from golden_cases import CASES, Case


def test_golden_table_covers_the_issue():
    assert len(CASES) >= 150
    categories = {case.category for case in CASES}
    assert {"integer", "negative", "decimal", "fraction", "radical", "pi", "interval", "tuple", "set", "text",
            "choice", "percent", "unit", "thousands", "hash", "persona", "boxes", "near_miss"} <= categories  # fmt: skip
    assert all(case.note for case in CASES if case.ours_differs), (
        "every deviation from the truth is explained"
    )


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_golden_case(verifier, case: Case):
    verdict = verifier.verify(case.gold, case.completion)
    assert verdict.correct == case.expected, (verdict, case.note)
    if case.reason is not None:
        assert verdict.reason == case.reason
    assert verdict.reason not in ("timeout", "error")


def test_math_verify_wrong_flags():
    """Re-derive `math_verify_wrong`: raw math-verify (default configs, bare golds in $…$) against the truth."""
    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    from math_verify import parse, verify

    for case in CASES:
        if case.truth is None:
            continue
        gold = case.gold
        if isinstance(gold, str) and not any(marker in gold for marker in ("$", "\\boxed", "####")):
            gold = f"${gold}$"
        raw = bool(verify(parse(str(gold), parsing_timeout=None), parse(case.completion, parsing_timeout=None),
                          timeout_seconds=None))  # fmt: skip
        assert (raw != case.truth) == case.math_verify_wrong, case
