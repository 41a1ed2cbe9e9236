"""Exact comparison: number formats, the value side of equations, unicode (issue 12's classes)."""

from __future__ import annotations

import pytest

from permix_plugins.exact import fast_match, to_latex


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
