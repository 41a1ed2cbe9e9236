r"""Final-answer extraction: find the answer a completion commits to, as a string (pure string code).

Rules, tried in order on the text after the last ``</think>`` (inside the last ``<answer>…</answer>`` if any):

    boxed        the last balanced ``\boxed{…}`` / ``\boxed …`` / ``\fbox{…}``; boxes chained by "," / "and" / "or"
                 stay together (``\boxed{41} or \boxed{42}`` -> ``41, 42``: a hedge is not an answer of 42)
    hash         the last ``#### …`` line (GSM8K)
    phrase       the last "the answer is …" / "Final answer: …" / "Answer: …"
    answer_tag   the whole content of a short ``<answer>…</answer>`` block
    last_number  the last number in the final ``LAST_NUMBER_CHARS`` characters
    none         nothing found (``answer`` is ``None``)

Work is bounded: only the last ``TAIL_CHARS`` characters are scanned, and every scan is linear.
Golds go through `extract_gold`, which also accepts plain values.

Example:
    >>> extract_answer(r"So $x=2$, hence \boxed{\frac{1}{2}}.")
    Extraction(answer='\\frac{1}{2}', source='boxed')
    >>> extract_answer("Arr matey, the treasure count be 42 doubloons!")
    Extraction(answer='42', source='last_number')
    >>> extract_gold("Natalia sold 48 clips in April...\n#### 72")
    '72'
"""

from __future__ import annotations

import numbers
import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["LAST_NUMBER_CHARS", "TAIL_CHARS", "Extraction", "Source", "extract_answer", "extract_gold"]

Source = Literal["boxed", "hash", "phrase", "answer_tag", "last_number", "none"]

TAIL_CHARS = 16_000
"""Only this many trailing characters of a completion are scanned (the answer sits at the end)."""

LAST_NUMBER_CHARS = 500
"""The `last_number` rule only looks this far back from the end: a number earlier is reasoning, not an answer."""

_PLAIN_GOLD_CHARS = 300  # a longer gold with spaces but no box / #### / phrase is a solution we cannot read
_ANSWER_TAG_CHARS = 200  # an <answer> block longer than this is prose: fall back to its last number
_PHRASE_CHARS = 400  # how far after "the answer is" / "####" the answer may run
_MAX_ANCHORS = 20  # only the last few anchors are tried (bounds the work on adversarial text)

_BOX_RE = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")
_BOX_JOINER_RE = re.compile(r"\s*\$*\s*(?:,|,?\s*and|,?\s*or)\s*\$*\s*")
_BOX_TOKEN_RE = re.compile(r"[^\s$]+")
_BRACE_RE = re.compile(r"\\.|[{}]", re.DOTALL)
_HASH_RE = re.compile(r"####[ \t]*([^\n]*)")
_PHRASE_RE = re.compile(
    r"(?:\b(?:the|my|our)\s+(?:final\s+|correct\s+)?answer\s*(?:is\b|=|:)"
    r"|\bfinal\s+answer\b\s*(?:is\b|=|:)?"
    r"|^[^\w\n]*answer\s*[:=])",
    re.IGNORECASE | re.MULTILINE,
)
_SENTENCE_END_RE = re.compile(
    r"[.!?;]+(?=\s|$)|,\s+(?!(?:and|or)\b)[A-Za-z]{2,}|\s(?:because|since|which)\b", re.IGNORECASE
)
_NUMBER_RE = re.compile(
    r"(?<![\w.])-?(?:\\[dt]?frac\{-?\d+\}\{\d+\}"  # \frac{3}{4}
    r"|\d{1,3}(?:,\d{3})+(?:\.\d+)?"  # 1,000,000.5
    r"|\d+(?:\.\d+)?(?:/\d+)?"  # 42, 3.5, 3/4
    r"|\.\d+)"  # .5
    r"(?:\s*\\?%)?"  # 25%  25\%
)
_WORD_RE = re.compile(r"(?<!\\)\b[A-Za-z]{2,}\b")
_UNICODE_MINUS = str.maketrans({"\u2212": "-", "\u2013": "-", "\x00": None})


@dataclass(frozen=True)
class Extraction:
    """An extracted final answer (raw text, not normalised) and the rule that found it."""

    answer: str | None
    source: Source


NO_ANSWER = Extraction(None, "none")


def extract_answer(text: object, *, tail_chars: int = TAIL_CHARS) -> Extraction:
    r"""Return the final answer of a model completion; never raises.

    Text inside ``<think>…</think>`` is ignored; an unclosed ``<think>`` means the reasoning never finished, so there
    is no answer.

    Example:
        >>> extract_answer(r"<think>maybe \boxed{3}</think>The answer is 4.")
        Extraction(answer='4', source='phrase')
        >>> extract_answer(r"\fbox{7}").source
        'boxed'
        >>> extract_answer("no digits here")
        Extraction(answer=None, source='none')
    """
    if not isinstance(text, str) or not text:
        return NO_ANSWER
    end_think = text.rfind("</think>")
    if end_think >= 0:
        text = text[end_think + len("</think>") :]
    elif "<think>" in text:
        return NO_ANSWER
    text = text[-tail_chars:].translate(_UNICODE_MINUS)

    tag = text.rfind("<answer>")
    if tag >= 0:
        inner = text[tag + len("<answer>") :]
        close = inner.find("</answer>")
        inner = inner[:close] if close >= 0 else inner
        found, rest = _anchored(inner)
        if found is not None:
            return found
        stripped = rest.strip()
        if stripped and len(stripped) <= _ANSWER_TAG_CHARS:
            return Extraction(stripped, "answer_tag")
        return _last_number(rest)

    found, rest = _anchored(text)
    return found if found is not None else _last_number(rest)


def extract_gold(gold: object) -> str | None:
    r"""Return the answer inside a reference solution, or ``None`` if there is none (a bad gold).

    Accepts plain values (``"72"``, ``72``, ``"\frac{1}{3}"``), ``\boxed{}``-wrapped values, GSM8K solutions
    ending in ``#### 72`` and full worked solutions (their last box, "#### …" line or "The answer is …").

    Example:
        >>> extract_gold(r"\boxed{\frac{1}{3}}"), extract_gold(3), extract_gold("  ")
        ('\\frac{1}{3}', '3', None)
    """
    if isinstance(gold, bool) or gold is None:
        return None
    if isinstance(gold, numbers.Number):  # a numeric dataset column (int, float, numpy scalar)
        gold = str(gold)
    if not isinstance(gold, str):
        return None
    text = gold.translate(_UNICODE_MINUS).strip()
    if not text:
        return None
    found, _ = _anchored(text)
    if found is not None:
        return found.answer
    if _BOX_RE.search(text):  # a box, but empty or unbalanced: the gold's answer is missing
        return None
    if len(text) <= _PLAIN_GOLD_CHARS or not any(ch.isspace() for ch in text):  # short, or one long token
        return text
    return None


def _anchored(text: str) -> tuple[Extraction | None, str]:
    """The boxed, hash and phrase rules, in that order; also the text left for the later rules."""
    boxes, unclosed = _boxes(text)
    boxed = _last_boxed(boxes, text)
    if boxed is not None:
        return Extraction(boxed, "boxed"), text
    if unclosed is not None:  # a botched box: later rules must not read numbers out of it
        text = text[:unclosed]
    hashed = _last_hash(text)
    if hashed is not None:
        return Extraction(hashed, "hash"), text
    phrase = _last_phrase(text)
    if phrase is not None:
        return Extraction(phrase, "phrase"), text
    return None, text


def _brace_pairs(text: str) -> dict[int, int]:
    """Map each ``{`` to its closing ``}`` in one linear pass (escaped ``\\{ \\}`` do not count)."""
    pairs: dict[int, int] = {}
    stack: list[int] = []
    for match in _BRACE_RE.finditer(text):
        token = match.group(0)
        if token == "{":
            stack.append(match.start())
        elif token == "}" and stack:
            pairs[stack.pop()] = match.start()
    return pairs


def _boxes(text: str) -> tuple[list[tuple[int, int, str]], int | None]:
    """Balanced, non-empty boxes as (start, end, content), left to right, and the start of the first unclosed box."""
    pairs = _brace_pairs(text)
    found = []
    unclosed = None
    for match in _BOX_RE.finditer(text):
        i = match.end()
        while i < len(text) and text[i] in " \t":
            i += 1
        if i < len(text) and text[i] == "{":
            close = pairs.get(i)
            if close is None:
                unclosed = match.start() if unclosed is None else unclosed
                continue
            content, end = text[i + 1 : close], close + 1
        elif i > match.end():  # "\boxed 5" is a box, "\boxed5" is not
            token = _BOX_TOKEN_RE.match(text, i)
            if token is None:
                continue
            content, end = token.group(0), token.end()
        else:
            continue
        if content.strip():
            found.append((match.start(), end, content.strip()))
    return found, unclosed


def _last_boxed(boxes: list[tuple[int, int, str]], text: str) -> str | None:
    if not boxes:
        return None
    start, _, content = boxes[-1]
    parts = [content]
    # Boxes chained by "," / "and" / "or" are one answer (a list or a hedge), never just the last one.
    for prev_start, prev_end, prev_content in reversed(boxes[:-1]):
        if prev_end > start or not _BOX_JOINER_RE.fullmatch(text, prev_end, start):
            break
        parts.insert(0, prev_content)
        start = prev_start
    return ", ".join(parts)


def _last_hash(text: str) -> str | None:
    for match in reversed(list(_HASH_RE.finditer(text))[-_MAX_ANCHORS:]):
        answer = _clean_phrase(match.group(1)[:_PHRASE_CHARS])
        if answer:
            return answer
    return None


def _last_phrase(text: str) -> str | None:
    for match in reversed(list(_PHRASE_RE.finditer(text))[-_MAX_ANCHORS:]):
        lines = text[match.end() : match.end() + _PHRASE_CHARS].split("\n")
        line = lines[0]
        if not line.strip(" \t*_:"):  # "Final answer:\n\n42": the answer is on the next non-empty line
            line = next((ln for ln in lines[1:4] if ln.strip()), "")
        answer = _clean_phrase(line)
        if answer:
            return answer
    return None


def _clean_phrase(raw: str) -> str | None:
    """Trim a phrase capture to the answer: markdown, math delimiters, the rest of the sentence."""
    text = raw.strip().strip("*_").strip()
    for opener, closer in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if text.startswith(opener):
            end = text.find(closer, len(opener))
            if end > len(opener):
                return text[len(opener) : end].strip() or None
            text = text[len(opener) :]
            break
    end = _SENTENCE_END_RE.search(text)
    if end is not None:
        text = text[: end.start()]
    text = text.strip().strip("*_").rstrip(".").strip()
    if len(_WORD_RE.findall(text)) >= 3:  # "that there are 42 apples": prose around a number
        numbers = _NUMBER_RE.findall(text)
        return numbers[-1].strip() if numbers else None
    return text or None


def _last_number(text: str) -> Extraction:
    tail = text[-LAST_NUMBER_CHARS:].replace("{,}", ",")
    numbers = _NUMBER_RE.findall(tail)
    return Extraction(numbers[-1].strip(), "last_number") if numbers else NO_ANSWER
