r"""Final-answer extraction: find the answer a completion commits to, as a string (pure string code).

Rules, tried in order on the text after the last ``</think>`` (inside the last ``<answer>…</answer>`` if any):

    boxed        the last balanced ``\boxed{…}`` / ``\boxed …`` / ``\fbox{…}``; boxes joined by a list separator
                 ("," / ";" / "and" / "or" / ``\quad``, also in ``\text{}``, after a short label such as "papers and")
                 stay together: ``\boxed{41} or \boxed{42}`` -> ``41, 42`` (a hedge is not an answer of 42). A later
                 "the final answer is …" that gives a value overrides the box.
    hash         the last ``#### …`` line (GSM8K)
    phrase       the last "the answer is …" / "Final answer: …" / "Answer: …" that captures a value, never a
                 sentence ("the answer is within \boxed{}" is no answer)
    answer_tag   the whole content of a short ``<answer>…</answer>`` block
    math         the last inline or display math (``$…$``, ``$$…$$``, ``\(…\)``, ``\[…\]``) near the end, joined
                 like boxes, when no bare number follows it: ``$(2,5)$`` -> ``(2,5)``, not ``5``
    last_number  the last number in the final ``LAST_NUMBER_CHARS`` characters (``1 000``, ``3,75``, ``¾``,
                 ``4.5e6``, ``4.5 \times 10^6``; "2 or 3" -> ``2, 3``); with no digit and no math there, the last
                 number word ("nine"), except "one" (more often a pronoun than an answer)
    none         nothing found (``answer`` is ``None``)

Invisible characters (zero-width spaces, soft hyphens) are dropped and no-break spaces read as spaces first.
Work is bounded: only the last ``TAIL_CHARS`` characters are scanned, and every scan is linear.
Golds go through `extract_gold`, which also accepts plain values and golds that are only math (``$[0,1)$``).

Example:
    >>> extract_answer(r"So $x=2$, hence \boxed{\frac{1}{2}}.")
    Extraction(answer='\\frac{1}{2}', source='boxed')
    >>> extract_answer(r"The roots are $x = 2$ and $x = 3$.")
    Extraction(answer='x = 2, x = 3', source='math')
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

from permix_plugins._text import NUMBER_WORDS_RE, VULGAR_FRACTIONS, normalize_unicode, number_from_words

__all__ = [
    "LAST_NUMBER_CHARS",
    "TAIL_CHARS",
    "Extraction",
    "Source",
    "after_thinking",
    "extract_answer",
    "extract_gold",
]

Source = Literal["boxed", "hash", "phrase", "answer_tag", "math", "last_number", "none"]

TAIL_CHARS = 16_000
"""Only this many trailing characters of a completion are scanned (the answer sits at the end)."""

LAST_NUMBER_CHARS = 500
"""The `math` and `last_number` rules only look this far back from the end: earlier is reasoning, not an answer."""

_PLAIN_GOLD_CHARS = 300  # a longer gold with spaces but no box / #### / phrase is a solution we cannot read
_ANSWER_TAG_CHARS = 200  # an <answer> block longer than this is prose: fall back to its last number
_PHRASE_CHARS = 400  # how far after "the answer is" / "####" the answer may run
_GAP_CHARS = 80  # two boxes (or math spans) further apart than this are never one answer
_MAX_ANCHORS = 20  # only the last few anchors are tried (bounds the work on adversarial text)

_BOX_RE = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")
_BOX_TOKEN_RE = re.compile(r"[^\s$]+")
_BRACE_RE = re.compile(r"\\.|[{}]", re.DOTALL)
_HASH_RE = re.compile(r"####[ \t]*([^\n]*)")
_PHRASE_RE = re.compile(
    r"(?:\b(?:the|my|our)\s+(?:final\s+|correct\s+)?answer\s*(?:is\b|=|:)"
    r"|\bfinal\s+answer\b\s*(?:is\b|=|:)?"
    r"|^[^\w\n]*answer\s*[:=])",
    re.IGNORECASE | re.MULTILINE,
)
_LEAD_IN_RE = re.compile(
    r"^(?:as follows|given (?:by|below)|shown below|as shown below|below|the following)\b\W*", re.IGNORECASE
)
# A phrase capture starting with one of these words is a sentence about the answer, not the answer.
_NOT_AN_ANSWER = frozenset((
    "within", "in", "inside", "as", "that", "not", "below", "above", "following", "given", "shown", "to", "clear",
    "correct", "incorrect", "wrong", "obvious", "simple", "straightforward", "therefore", "thus", "then", "now",
    "here", "there",
))  # fmt: skip
# Words between an answer phrase and its value that carry no value: "the answer is indeed 36", "should be 194".
_FILLER_RE = re.compile(
    r"^(?:(?:indeed|actually|really|clearly|simply|just|exactly|precisely|definitely|certainly|still|then|now)\s+"
    r"|(?:should|would|must|will|shall|could|might|may)\s+be\s+)+(?=\S)",
    re.IGNORECASE,
)
_QUOTES_RE = re.compile(r"^\\?[\"\u201c]|\\?[\"\u201d]$")  # "the answer is \"$12$\""
_EMPTY_BOX_RE = re.compile(r"\\(?:boxed|fbox)\s*\{\s*\}")
_SENTENCE_END_RE = re.compile(
    r"[.!?;]+(?=\s|$)|,\s+(?!(?:and|or)\b)[A-Za-z]{2,}|\s(?:because|since|which)\b", re.IGNORECASE
)
_NUMBER_RE = re.compile(
    rf"(?=[-.\d\\{VULGAR_FRACTIONS}])(?<![\w.])-?(?:"  # the look-ahead skips most positions cheaply
    r"\d{1,3}(?:(?:,|\{,\})\d{3})+(?![\d,])(?:\.\d+)?"  # 1,000,000.5
    r"|\d{1,3}(?:(?:\\,|\\ | )\d{3})+(?:\.\d+)?(?![\d,])"  # 1 000 000, 2\,500\,000
    r"|(?<![(\[{,])\d+,\d+(?![\d,])"  # 3,75 (a decimal comma; exact.py decides)
    r"|\d+(?:\.\d+)?(?:[eE][-+]?\d{1,3}(?![\w.])|\s*(?:\\times|\\cdot|×)\s*10\s*\^\s*(?:\{\s*-?\d+\s*\}|-?\d+)"
    rf"|/\d+|\s*\\[dtc]?frac\{{\d+\}}\{{\d+\}}|[{VULGAR_FRACTIONS}])?"  # 42, 3.5, 4.5e6, 4.5 \times 10^6, 3/4, 2\frac12, 2½
    rf"|\\[dtc]?frac\{{-?\d+\}}\{{\d+\}}|[{VULGAR_FRACTIONS}]|\.\d+)"  # \frac{3}{4}, ¾, .5
    r"(?:\s*\\?%)?"  # 25%  25\%
)
_OR_RE = re.compile(r"\s*,?\s*or\s*")
_WORD_RE = re.compile(r"(?<!\\)\b[A-Za-z]{2,}\b")
_DIGIT_RE = re.compile(r"\d")
# Math delimiters; "\\" and "\$" come first so that a line break or an escaped dollar never opens or closes math.
_MATH_TOKEN_RE = re.compile(r"\\\\|\\\$|\$\$|\$|\\\(|\\\)|\\\[|\\\]|\n")
_MATH_CLOSER = {"$$": "$$", "$": "$", "\\(": "\\)", "\\[": "\\]"}
_TEXT_ARG_RE = re.compile(r"\\(?:text\w*|mathrm|mbox|operatorname)\s*\{[^{}]*\}")
_PROSE_RE = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{2,}\s+[A-Za-z]{2,}\b")  # two words in a row: prose, not math
# Between two boxes or math spans of one answer: a few label words ("papers", "for part (a)"), then a separator,
# then at most a label such as "y_2 =" ("or" may also be followed by a few words: "or maybe").
_GAP_NOISE_RE = re.compile(r"\\(?:quad|qquad|[,;:! ])|~|\$|\\[()\[\]]|\\(?:text\w*|mathrm|mbox)\s*\{|[{}]")
_JOINED_GAP_RE = re.compile(
    r"\s*(?:(?:(?:[A-Za-z]+|\([a-z]\))\s+){0,4}"
    r"(?:(?:,|;|\band\b|\bor\b)\s*(?:[A-Za-z](?:_\w+)?\s*=)?|\bor(?:\s+[A-Za-z]+){1,3})\s*)?"
)


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
        >>> extract_answer(r"\boxed{(2, 2)} \quad \text{and} \quad \boxed{(6, 2)}")
        Extraction(answer='(2, 2), (6, 2)', source='boxed')
        >>> extract_answer("14 * 7 = 98\n\nThe answer is within \\boxed{}.")
        Extraction(answer='98', source='last_number')
        >>> extract_answer("no digits here")
        Extraction(answer=None, source='none')
    """
    text = after_thinking(text)
    if not text:
        return NO_ANSWER
    text = normalize_unicode(text[-tail_chars:])

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
        return _unanchored(rest)

    found, rest = _anchored(text)
    return found if found is not None else _unanchored(rest)


def after_thinking(text: object) -> str | None:
    """The reply a completion gives after its reasoning: the text after the last ``</think>`` (all of it without
    one); None when a ``<think>`` is never closed (the reasoning never finished) or the text is not a string.

    Example:
        >>> after_thinking("<think>hmm, 3?</think>Arr! It be 4."), after_thinking("<think>still thinking")
        ('Arr! It be 4.', None)
    """
    if not isinstance(text, str):
        return None
    end_think = text.rfind("</think>")
    if end_think >= 0:
        return text[end_think + len("</think>") :]
    return None if "<think>" in text else text


def extract_gold(gold: object) -> str | None:
    r"""Return the answer inside a reference solution, or ``None`` if there is none (a bad gold).

    Accepts plain values (``"72"``, ``72``, ``"\frac{1}{3}"``, ``"$[0,1)$"``), ``\boxed{}``-wrapped values, GSM8K
    solutions ending in ``#### 72`` and full worked solutions (their boxes, "#### …" line or "The answer is …").
    Boxes joined as in `extract_answer` are one multi-part gold (``\boxed{1} and \boxed{-2}``).

    Example:
        >>> extract_gold(r"\boxed{\frac{1}{3}}"), extract_gold(3), extract_gold("  ")
        ('\\frac{1}{3}', '3', None)
        >>> extract_gold(r"\boxed{1} papers and \boxed{2} bins"), extract_gold("$21,16$ or $11$")
        ('1, 2', '21,16, 11')
    """
    if isinstance(gold, bool) or gold is None:
        return None
    if isinstance(gold, numbers.Number):  # a numeric dataset column (int, float, numpy scalar)
        gold = str(gold)
    if not isinstance(gold, str):
        return None
    text = normalize_unicode(gold).strip()
    if not text:
        return None
    found, _ = _anchored(text)
    if found is not None:
        return found.answer
    if _BOX_RE.search(text):  # a box, but empty or unbalanced: the gold's answer is missing
        return None
    if len(text) <= _PLAIN_GOLD_CHARS:
        math = _last_math(text, 0)
        if math is not None and not text[: math[0]].strip() and not text[math[1] :].strip(" \t\n."):
            return math[2]  # the gold is math only ("$[0,1)$", "$x=2$ or $x=3$")
        return text
    if not any(ch.isspace() for ch in text):  # one long token
        return text
    return None


def _anchored(text: str) -> tuple[Extraction | None, str]:
    """The boxed, hash and phrase rules, in that order; also the text left for the later rules."""
    boxes, unclosed = _boxes(text)
    if boxes:
        _, end, boxed = _joined_spans(boxes, text, last=True)
        later = _last_phrase(text, end, after_box=True)  # "\boxed{255} ... The final answer is $10,455$."
        return (Extraction(later, "phrase") if later else Extraction(boxed, "boxed")), text
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


def _joined(text: str, end: int, start: int) -> bool:
    """Whether text[end:start], the gap between two boxes or math spans, joins them into one answer."""
    if start - end > _GAP_CHARS:
        return False
    gap = text[end:start]
    return "\n\n" not in gap and _JOINED_GAP_RE.fullmatch(_GAP_NOISE_RE.sub(" ", gap)) is not None


def _joined_spans(spans: list[tuple[int, int, str]], text: str, *, last: bool) -> tuple[int, int, str]:
    """The last (or first) span with the spans joined to it, at most `_MAX_ANCHORS`: (start, end, "a, b, c")."""
    order = spans[: -_MAX_ANCHORS - 1 : -1] if last else spans[:_MAX_ANCHORS]
    run = [order[0]]
    for span in order[1:]:
        left, right = (span, run[-1]) if last else (run[-1], span)
        if left[1] > right[0] or not _joined(text, left[1], right[0]):
            break
        run.append(span)
    run.sort()
    return run[0][0], run[-1][1], ", ".join(content for _, _, content in run)


def _last_hash(text: str) -> str | None:
    for match in reversed(list(_HASH_RE.finditer(text))[-_MAX_ANCHORS:]):
        answer = _clean_phrase(match.group(1)[:_PHRASE_CHARS])
        if answer:
            return answer
    return None


def _last_phrase(text: str, start: int = 0, *, after_box: bool = False) -> str | None:
    """The last phrase capture after `start` that is an answer.

    With `after_box`, only a "final answer" phrase whose capture is itself a value (a digit or LaTeX, not a number
    picked out of a sentence) counts: it may override the box before it.
    """
    for match in reversed(list(_PHRASE_RE.finditer(text, start))[-_MAX_ANCHORS:]):
        if after_box and "final" not in match.group().lower():
            continue
        lines = text[match.end() : match.end() + _PHRASE_CHARS].split("\n")
        line = _LEAD_IN_RE.sub("", lines[0].strip(" \t*_:"))
        if not line.strip(" \t*_:"):  # "Final answer:\n\n42": the answer is on the next non-empty line
            line = next((ln for ln in lines[1:4] if ln.strip()), "")
        answer = _clean_phrase(line, from_prose=not after_box)
        if answer and (not after_box or any(ch.isdigit() or ch == "\\" for ch in answer)):
            return answer
    return None


def _clean_phrase(raw: str, *, from_prose: bool = True) -> str | None:
    """Trim a phrase capture to the answer: markdown, math delimiters, the rest of the sentence; None for prose.

    With `from_prose`, a sentence with a number in it gives that number ("that there are 42 apples" -> ``42``).
    """
    text = _QUOTES_RE.sub("", raw.strip().strip("*_").strip())
    if _EMPTY_BOX_RE.search(text):  # "the answer is within \boxed{}": an echo of the prompt
        return None
    spans = [span for span in _math_spans(text) if span[2]]
    if spans and spans[0][0] == 0:  # "$x = 2$ and $x = 3$.": the math right after the phrase, joined
        return _joined_spans(spans, text, last=False)[2] or None
    for opener in ("$$", "$", "\\(", "\\["):
        if text.startswith(opener):  # an unclosed delimiter
            text = text[len(opener) :]
            break
    end = _SENTENCE_END_RE.search(text)
    if end is not None:
        text = text[: end.start()]
    text = _FILLER_RE.sub("", text.strip().strip("*_").rstrip(".").strip())
    words = _WORD_RE.findall(text)
    if len(words) - sum(len(_WORD_RE.findall(m.group())) for m in NUMBER_WORDS_RE.finditer(text)) >= 3:
        # prose around a number: digits first, else number words
        found = (_NUMBER_RE.findall(text) or NUMBER_WORDS_RE.findall(text)) if from_prose else []
        return found[-1].strip() if found else None
    if words and words[0].lower() in _NOT_AN_ANSWER and not _DIGIT_RE.search(text):
        return None
    return text or None


def _math_spans(text: str) -> list[tuple[int, int, str]]:
    """Inline and display math as (start, end, content), left to right, in one pass; inline ``$`` stays on one line."""
    spans = []
    opener: tuple[str, int, int] | None = None
    for match in _MATH_TOKEN_RE.finditer(text):
        token = match.group()
        if token in ("\\\\", "\\$"):
            continue
        if opener is None:
            if token in _MATH_CLOSER:
                opener = (token, match.start(), match.end())
        elif token == _MATH_CLOSER[opener[0]] or (opener[0] == "$" and token == "$$"):
            spans.append((opener[1], match.end(), text[opener[2] : match.start()].strip()))
            opener = None
        elif token == "\n" and opener[0] == "$":
            opener = None
    return spans


def _last_math(text: str, window: int) -> tuple[int, int, str] | None:
    """The last math span ending after `window` whose content is math, not prose, with the spans joined to it."""
    if "$" not in text and "\\(" not in text and "\\[" not in text:
        return None
    spans = [
        (start, end, content)
        for start, end, content in _math_spans(text)[-_MAX_ANCHORS:]
        if end > window and content and not _PROSE_RE.search(_TEXT_ARG_RE.sub("", content))
    ]
    return _joined_spans(spans, text, last=True) if spans else None


def _unanchored(text: str) -> Extraction:
    """The math and last_number rules: whichever comes last near the end; number words only when nothing else."""
    window = max(0, len(text) - LAST_NUMBER_CHARS)
    math = _last_math(text, window)
    tail = text[math[1] if math is not None else window :]
    found = list(_NUMBER_RE.finditer(tail))
    if found:
        last = found[-1].group().strip()
        if len(found) > 1 and _OR_RE.fullmatch(tail, found[-2].end(), found[-1].start()):  # "2 or 3": a hedge
            return Extraction(f"{found[-2].group().strip()}, {last}", "last_number")
        return Extraction(last, "last_number")
    if math is not None:
        return Extraction(math[2], "math")
    if _DIGIT_RE.search(tail):  # digits but no number ("AZYUK2A"): not a place for number words either
        return NO_ANSWER
    words = [
        w for w in NUMBER_WORDS_RE.findall(tail) if w.lower() != "one" and number_from_words(w) is not None
    ]
    return Extraction(words[-1], "last_number") if words else NO_ANSWER
