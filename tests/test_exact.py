"""Exact comparison (`permix_plugins.exact`), the verifier's fast path: number formats, the value side of equations,
unicode (issue 12's classes), exact values of surds and pi, and the bounds that refuse huge numbers."""

from __future__ import annotations

import tracemalloc
from fractions import Fraction

import pytest

from permix_plugins.exact import _exact_value, fast_match, to_latex


@pytest.mark.parametrize(
    ("gold", "pred", "expected"),
    [
        # thousands separated by spaces, thin spaces, no-break spaces
        ("1000", "1 000", True),
        ("1000000", "1 000 000.0", True),
        ("2500000", r"2\,500\,000", True),
        ("1000", "1\u202f000", True),
        ("1000", "1\u00a0000", True),
        ("100", "1 000", False),
        # a decimal comma where it cannot separate thousands, on one side only
        ("3.75", "3,75", True),
        ("1,22", "1.22", True),
        ("0,111", "0.111", True),
        ("1000.99", "1000,99", True),
        ("2.74", r"2,74 \$", True),
        ("1000", "1,000", True),  # a thousands separator
        ("1", "1,000", False),
        ("3, 5", "5,3", None),  # against a list, a comma separates: math-verify compares the sets
        ("2,3", "3,2", None),
        # LaTeX shorthand
        (r"\frac{1}{3}", r"\cfrac{1}{3}", True),
        ("1/3", r"\frac13", True),
        ("1", r"\frac3{3}", True),
        (r"\sqrt{3}", r"\sqrt3", True),
        # scientific notation
        ("4500000", "4.5e6", True),
        ("4500000", r"4.5 \times 10^6", True),
        ("4500000", "4.5 x 10^6", True),
        ("4500000", "4.5 × 10⁶", True),
        ("4500000", "4.5e5", False),
        ("0.00012", "1.2e-4", True),
        # unicode vulgar fractions and invisible characters
        ("0.75", "¾", True),
        (r"\frac{11}{4}", "2¾", True),
        ("0.5", "⅓", False),
        ("42", "4\u200b2", True),
        ("42", "4\u2060\u00ad2", True),
        # number words
        ("9", "nine", True),
        ("9", "Nine ducks", True),
        ("24", "twenty-four", True),
        ("305", "three hundred and five", True),
        ("-3", "minus three", True),
        ("9", "ten", False),
        ("nine", "9", True),
        ("6", "one two three", None),  # counting is not a number
        # the value side of an equation
        ("k = 12", "12", True),
        ("12", "k = 12", True),
        ("(p,q)=(3,2)", "(3,2)", True),
        (r"\frac{NO}{BO}=\frac{1}{\sqrt{6}}", r"\frac{\sqrt{6}}{6}", True),
        ("x_{1} = 3", "3", True),
        ("12", r"3 \times 4 = 12", True),  # a predicted chain counts by its last side
        ("5", "2x = 10", False),
        ("2x + 3y = 6", "6", None),  # the left side is more than names: math-verify decides
        ("x = 4", "y = 4", None),  # two equations: compared whole by math-verify
        ("2", "x^2 = 4, x = 2", None),  # several equations are not a chain
        ("5", r"x \geq 5", None),  # a relation is not an assignment
    ],
)
def test_fast_match_formats(gold, pred, expected):
    assert fast_match(gold, pred) is expected


def test_to_latex_turns_unicode_into_latex():
    assert to_latex("$2π$") == r"2\pi"
    assert to_latex("4.5×10⁻³") == r"4.5\times 10^{-3}"
    assert to_latex("2¾ − 1") == r"2\frac{3}{4} - 1"
    assert to_latex("1\u200b0\u00a0000") == "10 000"


@pytest.mark.parametrize(
    ("gold", "pred", "expected"),
    [
        ("72", "72.0", True),
        ("1000", r"\$1{,}000", True),
        ("1000", "1 000", True),  # spaces removed for identity
        ("1,2", "12", False),  # not a thousands separator: a decimal comma
        ("0.25", r"25\%", True),
        ("25", "25 percent", True),
        ("0.4", r"4\%", False),
        (r"25\%", r"0.25\%", False),  # both percent: the numbers compare
        ("5000000", r"5\text{ million}", True),
        ("24", "2 dozen", True),
        ("5", r"5\text{ million}", False),
        ("5", "5 apples", True),
        ("2", "2 pi", None),  # not a unit
        (r"\frac{7}{2}", r"3\frac{1}{2}", True),  # mixed number
        (r"\frac{1}{2^{99}}", r"\frac{1}{2^{98}}", False),
        (r"\frac{1}{2004!}", r"\frac{1}{2006!}", False),
        ("-4", "-2^2", True),  # precedence: -(2^2)
        ("0.5", "2^-1", True),
        ("5", "x = 5", True),  # an assignment in the prediction
        ("x = 5", "5", True),  # ... and in the gold: against a bare value, the value side counts
        ("B", "(B) 42", True),
        ("B", "b", True),
        ("B", "C", False),
        ("Monday", "monday", True),
        ("Monday", "Tuesday", False),
        (r"2\sqrt{2}", r"\sqrt8", True),  # surds are exact: square-free radicands
        (r"\frac{\sqrt{3}}{2}", r"\frac{1}{2}\sqrt{3}", True),
        (r"2+\sqrt{3}", r"\sqrt{3}+2", True),
        (r"\sqrt{2}", "1.414", False),
        (r"\frac{\pi}{3}", r"\frac13\pi", True),  # pi is a basis element, not 3.14159...
        (r"\pi", "3.14", False),
        (r"\sqrt[3]{2}", r"2^{1/3}", None),
        ("2^{10^8}", "3^{10^8}", None),  # too big to evaluate here: math-verify (in a worker) decides
        ("1", "1/0", None),
        ("", "1", None),
    ],
)
def test_fast_match(gold, pred, expected):
    assert fast_match(gold, pred) is expected


def test_exact_values():
    assert _exact_value(r"-\$1{,}000.") == ({(1, 0): Fraction(-1000)}, False)
    assert _exact_value(r"12.5\%") == ({(1, 0): Fraction(25, 2)}, True)
    sqrt12 = _exact_value(r"\frac{\sqrt{12}}{3}\pi^2")  # sqrt 12 = 2 sqrt 3
    assert sqrt12 == ({(3, 2): Fraction(2, 3)}, False)
    assert _exact_value(r"\frac{1}{\sqrt{2}}") == ({(2, 0): Fraction(1, 2)}, False)
    assert _exact_value(r"(1+\sqrt{2})^2") == ({(1, 0): Fraction(3), (2, 0): Fraction(2)}, False)
    for undecided in (
        r"\sqrt[3]{2}",
        r"\frac{1}{1+\sqrt{2}}",
        r"\sqrt{-1}",
        r"\sqrt{\pi}",
        "x+1",
        r"1/2\sqrt{3}",
        "e^2",
    ):
        assert _exact_value(undecided) is None, undecided


def test_exact_value_bounds_refuse_before_computing():
    nested = "1+\\frac{1}{" * 200 + "1" + "}" * 200  # a 200-level continued fraction: exact, no recursion
    assert _exact_value(nested) == ({(1, 0): Fraction(fib(202), fib(201))}, False)
    for huge in ("2^{10^8}", "10^{10^{10}}", "9^{9^{9^{9}}}", "99999!", "(2^{60000})^{60000}", "2" * 5000 + "^{99}",
                 r"\sqrt{" + "9" * 30 + "}", r"\pi^{100}", "(1+\\sqrt{2})^{100}"):  # fmt: skip
        tracemalloc.start()
        try:
            assert _exact_value(huge) is None, huge
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        # refused from the exponent's size, before building the number: 99999! alone would be ~190 kB
        assert peak < 150_000, (huge, peak)


def fib(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a
