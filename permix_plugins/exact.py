r"""Exact comparison of closed-form answers, without SymPy and without floats (MathVerifier's fast path).

`fast_match(gold, pred)` decides integers, decimals (also ``3,75``), fractions (also ``¾``), ``1,000`` / ``1{,}000`` /
``1 000``, signs, ``\$``, percent, units, scale and number words ("twenty-four"), scientific notation, ``+ - * / ^ !``,
and sums of rational multiples of square roots and powers of π (``2\sqrt{2} = \sqrt{8}``, ``\frac{\pi}{3}``), within
size bounds, and the value side of an equation against a bare value (``k = 12``); identical normalised strings,
multiple-choice letters and plain words are compared as text. It returns ``None`` for anything it cannot decide exactly, which
then goes to math-verify. Being exact, it avoids math-verify's rounding false positives:
``\frac{1}{2^{99}} != \frac{1}{2^{98}}`` and ``0.333333 != \frac{1}{3}``.

Percent rule: ``p%`` equals ``p/100`` and also the bare ``p`` (GSM8K golds drop the sign); both sides with ``%``
compare their numbers.

Example:
    >>> fast_match("1000", r"1{,}000"), fast_match("25\\%", "0.25"), fast_match("(1,2)", "(1,2]") is None
    (True, True, True)
"""

from __future__ import annotations

import math
import re
import unicodedata
from fractions import Fraction
from typing import Any

# NUMBER_WORDS_RE, VULGAR_FRACTIONS, normalize_unicode and number_from_words were public here first: still exported
from permix_plugins._text import (
    NUMBER_WORDS_RE,
    PLAIN_TEXT_TABLE,
    VULGAR_FRACTIONS,
    normalize_unicode,
    number_from_words,
)

__all__ = [
    "NUMBER_WORDS_RE",
    "VULGAR_FRACTIONS",
    "fast_match",
    "normalize_unicode",
    "number_from_words",
    "to_latex",
]


def _vulgar_latex(fraction: str) -> str:
    numerator, denominator = unicodedata.normalize("NFKC", fraction).split("\u2044")  # "¾" -> "3⁄4"
    return rf"\frac{{{numerator}}}{{{denominator}}}"


_UNICODE = str.maketrans(
    {
        **PLAIN_TEXT_TABLE,
        "\u03c0": r"\pi ", "\u00d7": r"\times ", "\u00b7": r"\cdot ", "\u00f7": r"\div ", "\u221a": r"\sqrt",
        "\u221e": r"\infty ", "\u00b0": r"^\circ",
        **{ch: _vulgar_latex(ch) for ch in VULGAR_FRACTIONS},
    }
)  # fmt: skip
_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹⁻"
_SUPERSCRIPT_RE = re.compile(f"[{_SUPERSCRIPTS}]+")
_SUPERSCRIPT_DIGITS = str.maketrans(_SUPERSCRIPTS, "0123456789-")

_LEADING_NUMBER_WORDS_RE = re.compile(rf"^(?:(minus|negative)\s+)?({NUMBER_WORDS_RE.pattern})", re.IGNORECASE)

_SPACING_RE = re.compile(r"\\(?:left|right|displaystyle|quad|qquad|[!,;: ])|~")
_TEXT_CMD_RE = re.compile(r"\\(?:text|textbf|textit|textrm|mathrm|mathbf|mathit|mbox|operatorname)\s*\{")
_FRAC_DIGITS_RE = re.compile(r"\\frac\s*(\d)\s*(\d)")
_FRAC_DIGIT_BRACE_RE = re.compile(r"\\frac\s*(\d)\s*\{")
_FRAC_BRACE_DIGIT_RE = re.compile(r"\\frac\s*(\{[^{}]*\})\s*(\d)")
_DOLLAR_RE = re.compile(r"(?<!\\)\$")
_PERCENT_RE = re.compile(r"\s*(?:\\%|%|percent)$")
_DEGREE_RE = re.compile(r"\s*\^\s*(?:\\circ|\{\\circ\})$")
_UNIT_RE = re.compile(r"^(.*?[\d}])\s+([A-Za-z]{2,}(?:\s+[A-Za-z]{2,})*)$")
_MIXED_RE = re.compile(r"^([-+]?)(\d+)\s*\\frac\{(\d+)\}\{(\d+)\}$")
_RELATION_RE = re.compile(r"[<>]|!=|\\(?:[lg]eq?|neq?|[lg]t|approx|in|sim|equiv)(?![A-Za-z])")
# What may surround names on a left side (subscripts, fractions, tuples, ratios, accents), and the names.
_NAME_PARTS_RE = re.compile(r"\\(?:[dt]?frac|overline|bar|hat|vec|angle|mathrm|text)|_\{?\w+\}?|[\s(){},:]")
_NAMES_RE = re.compile(
    r"(?:[A-Za-z]|\\(?:alpha|beta|gamma|delta|epsilon|varepsilon|zeta|eta|theta|vartheta|iota|kappa|lambda|mu|nu"
    r"|xi|rho|sigma|tau|upsilon|phi|varphi|chi|psi|omega|Gamma|Delta|Theta|Lambda|Xi|Sigma|Phi|Psi|Omega)"
    r"(?![A-Za-z]))+"
)
_DECIMAL_COMMA_RE = re.compile(r"^([-+]?\d+),(\d+)(?=\s*(?:\\?%)?$)")
_SPACE_THOUSANDS_RE = re.compile(r"(?<![\d.,])\d{1,3}(?: \d{3})+(?!\d)")
_TIMES_TEN_RE = re.compile(r"(\d)\s*[xX]\s*(?=10\s*\^)")  # 4.5 x 10^6
_CHOICE_RE = re.compile(r"^\(?([A-J])\)?[.:]?$")
_PRED_CHOICE_RE = re.compile(r"^\(?([A-Ja-j])(?:\)|[.:](?=\s|$)|(?=\s)|$)")
_WORDS_RE = re.compile(r"^[A-Za-z]{2,}(?: [A-Za-z]+)*$")
_TOKEN_RE = re.compile(
    r"\s*(?:(?P<num>(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.?\d*|\.\d+)(?:[eE][-+]?\d{1,3}(?![\d.]))?)"
    r"|(?P<cmd>\\(?:frac|sqrt|pi|cdot|times|div)(?![A-Za-z]))|(?P<op>[-+*/^()!{}]))"
)
_SQRT_DIGIT_RE = re.compile(r"\\sqrt\s*(\d)")
# Words after a number that change its value or meaning: never strip them as units.
_NOT_UNITS = frozenset((
    "pi", "sqrt", "root", "roots", "infinity", "inf", "ln", "log", "exp", "sin", "cos", "tan", "cot", "sec", "csc",
    "percent", "half", "halves", "third", "thirds", "quarter", "quarters", "fourth", "fourths", "squared", "cubed",
    "times", "over", "and", "or", "to", "plus", "minus",
))  # fmt: skip
_SCALES = {
    "dozen": 12,
    "hundred": 100,
    "thousand": 10**3,
    "million": 10**6,
    "billion": 10**9,
    "trillion": 10**12,
}
_SCALE_RE = re.compile(
    r"^(.*?\d)\s+(dozen|hundred|thousand|million|billion|trillion)s?\b\s*(.*)$", re.IGNORECASE
)

# Bounds that keep exact arithmetic in the millisecond range (larger values go to math-verify, in a worker).
_MAX_TOKENS = 2000
_MAX_DIGITS = 1000  # also keeps clear of Python's int-from-string limit (4300 digits)
_MAX_BITS = 70_000
_MAX_EXPONENT = 70_000
_MAX_FACTORIAL = 4000
_MAX_TERMS = 16
_MAX_PI_POWER = 20


def _unwrap_text_commands(text: str) -> str:
    """``\\text{abc}`` -> ``abc`` for the font/text commands (one linear pass per wrapper, bounded)."""
    for _ in range(20):
        match = _TEXT_CMD_RE.search(text)
        if match is None:
            return text
        depth, i = 1, match.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth:
            return text
        text = text[: match.start()] + text[match.end() : i - 1] + text[i:]
    return text


def _clean(answer: str) -> str:
    """Meaning-preserving cleanup: unicode, ``$``, spacing commands, ``\\text{}``, ``\\dfrac``, ``{,}``, markdown."""
    text = _unicode_to_latex(answer).replace(r"\$", "").replace("$", "").replace("**", "").replace("{,}", ",")
    text = _SPACING_RE.sub("", text)
    if "\\" in text:  # the LaTeX rewrites, only where there is LaTeX (most answers are plain numbers)
        text = text.replace(r"\dfrac", r"\frac").replace(r"\tfrac", r"\frac").replace(r"\cfrac", r"\frac")
        text = _unwrap_text_commands(text)
        text = _FRAC_DIGITS_RE.sub(r"\\frac{\1}{\2}", text)
        text = _FRAC_DIGIT_BRACE_RE.sub(r"\\frac{\1}{", text)
        text = _FRAC_BRACE_DIGIT_RE.sub(r"\\frac\1{\2}", text)
        text = _SQRT_DIGIT_RE.sub(r"\\sqrt{\1}", text)
    if "^" in text:
        text = _TIMES_TEN_RE.sub(r"\1\\times ", text)
    text = " ".join(text.split()).rstrip(".").strip()
    if " " in text:
        text = _SPACE_THOUSANDS_RE.sub(lambda m: m.group().replace(" ", ""), text)  # 1 000 000
    for opener, closer in (("\\(", "\\)"), ("\\[", "\\]")):
        if text.startswith(opener) and text.endswith(closer):
            text = text[2:-2].strip()
    return text


def _canonical(clean: str) -> str:
    """The string compared for identity: no spaces; plain words case-folded."""
    return clean.lower() if _WORDS_RE.match(clean) else clean.replace(" ", "")


def _to_rpn(text: str) -> list[Any] | None:
    """Tokenise and reorder (shunting-yard, no recursion) an arithmetic expression; None if it is anything else.

    Operands: numbers, ``\\pi``, ``\\frac{}{}``, ``\\sqrt{}``, groups. Implicit multiplication only before ``\\sqrt``,
    ``\\pi`` and ``(`` (``2\\sqrt{2}``, ``\\frac{1}{2}\\pi``, ``3(4)``), never after a ``/`` (``1/2\\sqrt3`` is ambiguous).
    """
    out: list[Any] = []
    ops: list[str] = []
    braces: list[str] = []  # role of each open group: "num", "den", "sqrt", "group" or "paren"
    expect = "operand"
    pending = ""  # "frac" / "num" / "sqrt": the next token must open that command's braced argument
    prec = {"+": 1, "-": 1, "*": 2, "/": 2, "neg": 3, "pos": 3, "^": 4}

    def push_op(op: str) -> None:
        if op not in ("neg", "pos"):  # a prefix operator pops nothing
            while (
                ops
                and ops[-1] in prec
                and (prec[ops[-1]] > prec[op] or (prec[ops[-1]] == prec[op] and op != "^"))
            ):
                out.append(ops.pop())
        ops.append(op)

    def close_paren() -> bool:
        while ops and ops[-1] != "(":
            out.append(ops.pop())
        return bool(ops) and ops.pop() == "("

    pos, n_tokens = 0, 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        n_tokens += 1
        if match is None or n_tokens > _MAX_TOKENS:
            return None
        pos = match.end()
        tok = match.group("num") or match.group("cmd") or match.group("op")
        if pending and tok != "{":
            return None  # \frac and \sqrt take braced arguments
        if expect == "operator" and tok in (r"\sqrt", r"\pi", "("):
            if ops and ops[-1] == "/":
                return None
            push_op("*")  # implicit multiplication
            expect = "operand"
        if match.group("num"):
            if expect != "operand" or len(tok) > _MAX_DIGITS:
                return None
            out.append(_const(Fraction(tok.replace(",", ""))))
            expect = "operator"
        elif tok == r"\pi":
            if expect != "operand":
                return None
            out.append({(1, 1): Fraction(1)})
            expect = "operator"
        elif tok in (r"\frac", r"\sqrt"):
            if expect != "operand":
                return None
            ops.extend(["(", "("] if tok == r"\frac" else ["sqrt"])
            pending = "frac" if tok == r"\frac" else "sqrt"
        elif tok in (r"\cdot", r"\times", r"\div", "*", "/", "^"):
            if expect != "operator":
                return None
            push_op({r"\cdot": "*", r"\times": "*", r"\div": "/"}.get(tok, tok))
            expect = "operand"
        elif tok in ("+", "-"):
            push_op(tok if expect == "operator" else {"+": "pos", "-": "neg"}[tok])
            expect = "operand"
        elif tok == "!":
            if expect != "operator":
                return None
            out.append("!")
        elif tok in ("(", "{"):
            if expect != "operand":
                return None
            role = {"frac": "num", "num": "den", "sqrt": "sqrt"}.get(
                pending, "group" if tok == "{" else "paren"
            )
            pending = ""
            braces.append(role)
            if role in ("group", "paren", "sqrt"):
                ops.append("(")
        else:  # ")" or "}"
            if expect != "operator" or not braces or (braces[-1] == "paren") != (tok == ")"):
                return None
            role = braces.pop()
            if not close_paren():
                return None
            if role == "num":
                push_op("/")
                ops.append("(")
                pending, expect = "num", "operand"
            elif role == "den" and not close_paren():
                return None
            elif role == "sqrt":
                out.append(ops.pop())  # the "sqrt" under the argument's parenthesis
    if expect != "operator" or braces or pending:
        return None
    while ops:
        if ops[-1] == "(":
            return None
        out.append(ops.pop())
    return out


# An exact value is a sum of terms coefficient * sqrt(radicand) * pi^power, kept as {(radicand, power): coefficient}
# with square-free radicands and non-zero coefficients. Square roots of distinct square-free integers times powers
# of pi are linearly independent over the rationals, so two values are equal exactly when their dicts are.
Value = dict[tuple[int, int], Fraction]


def _const(q: Fraction) -> Value:
    return {(1, 0): q} if q else {}


def _rational(value: Value) -> Fraction | None:
    if not value:
        return Fraction(0)
    return value.get((1, 0)) if len(value) == 1 else None


def _checked(value: Value) -> Value | None:
    if len(value) > _MAX_TERMS:
        return None
    for (_radicand, power), c in value.items():
        if (
            abs(power) > _MAX_PI_POWER
            or max(c.numerator.bit_length(), c.denominator.bit_length()) > _MAX_BITS
        ):
            return None
    return value


def _add(a: Value, b: Value, sign: int = 1) -> Value | None:
    out = dict(a)
    for key, c in b.items():
        out[key] = out.get(key, 0) + sign * c
    return _checked({k: c for k, c in out.items() if c})


def _mul(a: Value, b: Value) -> Value | None:
    out: dict[tuple[int, int], Fraction] = {}
    for (r1, k1), c1 in a.items():
        for (r2, k2), c2 in b.items():
            g = math.gcd(r1, r2)  # sqrt(r1) * sqrt(r2) = g * sqrt(r1 r2 / g^2), square-free again
            key = ((r1 // g) * (r2 // g), k1 + k2)
            out[key] = out.get(key, 0) + c1 * c2 * g
    return _checked({k: c for k, c in out.items() if c})


def _power(base: Value, exponent: Value) -> Value | None:
    e = _rational(exponent)
    if e is None or e.denominator != 1 or abs(e) > _MAX_EXPONENT or (not base and e <= 0):
        return None
    e_int = int(e)
    if len(base) == 1:  # c * sqrt(r) * pi^k, any integer power
        (((r, k), c),) = base.items()
        if max(c.numerator.bit_length(), c.denominator.bit_length(), r.bit_length()) * abs(e_int) > _MAX_BITS:
            return None
        # sqrt(r)^e = r^(e // 2) * sqrt(r)^(e % 2): floor division keeps this exact for e < 0 too
        coefficient = c**e_int * Fraction(r) ** (e_int // 2)
        return _checked({(r if e_int % 2 else 1, k * e_int): coefficient})
    if not 0 <= e_int <= 8:
        return None
    result: Value | None = _const(Fraction(1))
    for _ in range(e_int):
        result = _mul(result, base) if result is not None else None
    return result


def _sqrt(value: Value) -> Value | None:
    q = _rational(value)
    if q is None or q < 0:
        return None
    square, radicand = _square_part(q.numerator * q.denominator)  # sqrt(n/d) = sqrt(n d) / d
    if radicand is None:
        return None
    return (
        _const(Fraction(square, q.denominator))
        if radicand == 1
        else {(radicand, 0): Fraction(square, q.denominator)}
    )


def _square_part(n: int) -> tuple[int, int | None]:
    """n = s^2 * r with r square-free: (s, r), or (0, None) when n is too large to factor cheaply."""
    if n.bit_length() > 64:
        return 0, None
    square, radicand, p = 1, 1, 2
    while p < 1000 and p * p <= n:
        while n % (p * p) == 0:
            n //= p * p
            square *= p
        if n % p == 0:
            n //= p
            radicand *= p
        p += 1
    if p * p > n:  # what is left is 1 or a prime
        return square, radicand * n
    root = math.isqrt(n)
    if root * root == n:
        return square * root, radicand
    if n < 1000**3:  # no factor below 1000, so at most two prime factors, and not a square: square-free
        return square, radicand * n
    return 0, None


def _evaluate(rpn: list[Any]) -> Value | None:
    """Evaluate RPN exactly; None when a bound would be exceeded or the value is undefined."""
    stack: list[Value] = []
    for item in rpn:
        if isinstance(item, dict):
            stack.append(item)
            continue
        if item in ("neg", "pos", "!", "sqrt"):
            if not stack:
                return None
            x: Value | None = stack.pop()
            if item == "neg":
                x = {k: -c for k, c in x.items()}
            elif item == "sqrt":
                x = _sqrt(x)
            elif item == "!":
                n = _rational(x)
                if n is None or n.denominator != 1 or not 0 <= n <= _MAX_FACTORIAL:
                    return None
                x = _const(Fraction(math.factorial(int(n))))
            if x is None:
                return None
            stack.append(x)
            continue
        if len(stack) < 2:
            return None
        b, a = stack.pop(), stack.pop()
        if item in ("+", "-"):
            result = _add(a, b, 1 if item == "+" else -1)
        elif item == "*":
            result = _mul(a, b)
        elif item == "/":
            if len(b) != 1:
                return None  # division by zero or by a sum of surds: left to math-verify
            (((r, k), c),) = b.items()
            result = _mul(a, {(r, -k): 1 / (c * r)})  # 1 / (c sqrt(r) pi^k) = sqrt(r) pi^-k / (c r)
        else:
            result = _power(a, b)
        if result is None:
            return None
        stack.append(result)
    return stack[0] if len(stack) == 1 else None


def _exact_value(answer: str) -> tuple[Value, bool] | None:
    r"""The exact value of a numeric answer (``-\$1{,}000``, ``12.5\%``, ``2\sqrt{2}``, ``\frac{\pi}{3}``, ``5!``) and
    whether it carried a percent sign; None if it is not a closed-form number this path can evaluate."""
    return _clean_value(_clean(answer))


def _clean_value(text: str) -> tuple[Value, bool] | None:
    """`_exact_value` of an answer already through `_clean`."""
    words = _LEADING_NUMBER_WORDS_RE.match(text)
    if words:  # "nine ducks", "minus twenty-four"
        number = number_from_words(words.group(2))
        if number is None:
            return None
        text = f"{'-' if words.group(1) else ''}{number}{text[words.end() :]}"
    percent = bool(_PERCENT_RE.search(text))
    text = _PERCENT_RE.sub("", text)
    text = _DEGREE_RE.sub("", text)
    scale = 1
    scaled = _SCALE_RE.match(text)
    if scaled:  # "5 million" is 5000000, "2 dozen eggs" is 24
        text, scale = f"{scaled.group(1)} {scaled.group(3)}".strip(), _SCALES[scaled.group(2).lower()]
    unit = _UNIT_RE.match(text)
    if unit and not any(word.lower() in _NOT_UNITS for word in unit.group(2).split()):
        text = unit.group(1)
    mixed = _MIXED_RE.match(text)
    if mixed:  # "3\frac{1}{2}" is the mixed number 7/2 (MATH's notation), not 3 * 1/2
        sign, whole, num, den = mixed.groups()
        if not 0 < int(num) < int(den):
            return None
        number = (int(whole) + Fraction(int(num), int(den))) * scale
        return _const(-number if sign == "-" else number), percent
    rpn = _to_rpn(text)
    value = None if rpn is None else _evaluate(rpn)
    if value is None:
        return None
    return (value if scale == 1 else {k: c * scale for k, c in value.items()}), percent


def _values_equal(gold: tuple[Value, bool], pred: tuple[Value, bool]) -> bool:
    (g, g_pct), (p, p_pct) = gold, pred
    if g_pct == p_pct:
        return g == p
    number, percent_of = (p, g) if g_pct else (g, p)  # percent_of is the value written with "%"
    return number == percent_of or number == {k: c / 100 for k, c in percent_of.items()}


def fast_match(gold: str, pred: str) -> bool | None:
    r"""Decide gold == pred without SymPy when that is certain; ``None`` means "ask math-verify".

    Gold first, prediction second. Against a bare value, a gold equation whose left side is only names (``k = 12``,
    ``(p,q) = (3,2)``, ``V_1:V_2 = 11:21``) counts by its value side, and a predicted chain by its last side
    (``3 \times 4 = 12``), as math-verify does; two equations are compared whole (by math-verify). A decimal
    comma (``3,75``, ``0,111``) reads as a point when only one side has it and it cannot separate thousands.

    Example:
        >>> fast_match("1000", r"\$1{,}000"), fast_match("0.25", r"25\%"), fast_match("B", r"\text{(B)}")
        (True, True, True)
        >>> fast_match(r"\frac1{2^{99}}", r"\frac1{2^{98}}"), fast_match(r"2\sqrt{2}", r"\sqrt8")
        (False, True)
        >>> fast_match("k = 12", "12"), fast_match("3.75", "3,75"), fast_match("9", "nine")
        (True, True, True)
        >>> fast_match("(1, 2)", "(1,2]") is None  # intervals, sets, expressions: math-verify decides
        True
    """
    g_clean, p_clean = _clean(gold), _clean(pred)
    if not g_clean or not p_clean:
        return None
    if "=" in g_clean and "=" not in p_clean:
        g_clean = _value_side(g_clean, chain=False)
    elif "=" in p_clean and "=" not in g_clean:
        p_clean = _value_side(p_clean, chain=True)
    if bool(_DECIMAL_COMMA_RE.match(g_clean)) != bool(_DECIMAL_COMMA_RE.match(p_clean)):
        g_clean, p_clean = _decimal_point(g_clean), _decimal_point(p_clean)
    if _canonical(g_clean) == _canonical(p_clean):
        return True
    choice = _CHOICE_RE.match(g_clean)
    if choice:
        picked = _PRED_CHOICE_RE.match(p_clean)
        return picked.group(1).upper() == choice.group(1) if picked else None
    g_value = _clean_value(g_clean)
    if g_value is not None:
        p_value = _clean_value(p_clean)
        return None if p_value is None else _values_equal(g_value, p_value)
    if _is_word(g_clean) and _is_word(p_clean):
        return False  # two different plain words ("Monday" vs "Tuesday"); equal ones matched above
    return None


def _is_word(text: str) -> bool:
    return bool(_WORDS_RE.match(text)) and not any(w.lower() in _NOT_UNITS for w in text.split())


def _value_side(answer: str, *, chain: bool) -> str:
    r"""``k = 12`` -> ``12`` when the left side is only names; with `chain`, the last side of ``3 \times 4 = 12``."""
    sides = answer.split("=")
    if len(sides) < 2 or not sides[-1].strip() or _RELATION_RE.search(answer):
        return answer
    if chain and "," not in answer and ";" not in answer:
        return sides[-1].strip()
    if len(sides) == 2 and _NAMES_RE.fullmatch(_NAME_PARTS_RE.sub("", sides[0])):
        return sides[1].strip()
    return answer


def _decimal_point(answer: str) -> str:
    """``3,75`` -> ``3.75`` and ``0,111`` -> ``0.111``; ``1,000`` (a thousands separator) unchanged."""
    match = _DECIMAL_COMMA_RE.match(answer)
    if match is None or (
        len(match[2]) == 3 and len(match[1].lstrip("+-")) <= 3 and match[1].lstrip("+-")[0] != "0"
    ):
        return answer
    return f"{match[1]}.{match[2]}{answer[match.end() :]}"


def _unicode_to_latex(text: str) -> str:
    if text.isascii():
        return text
    superscripts = _SUPERSCRIPT_RE.sub(lambda m: "^{" + m.group().translate(_SUPERSCRIPT_DIGITS) + "}", text)
    return superscripts.translate(_UNICODE)


def to_latex(answer: str) -> str:
    """The answer with unicode math and bare ``$`` delimiters turned into plain LaTeX (what math-verify receives)."""
    return _DOLLAR_RE.sub("", _unicode_to_latex(answer)).strip()
