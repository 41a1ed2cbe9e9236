"""Checkable persona styles: small deterministic checks of a reply's form, so expressivity needs no judge.

A persona may carry a `Style`: one or more checks from a closed set (after IFEval's verifiable instructions).
Each check is a pure function of the completion's reply, the text after its last ``</think>`` (a ``<think>`` that
is never closed has no reply, and no style holds on it). A style holds when every one of its checks holds.

=================  ==========================  ================================================================
check              value                       holds when the reply ...
=================  ==========================  ================================================================
``starts_with``    a string or a list of them  starts with one of them
``ends_with``      a string or a list of them  ends with one of them
``contains_any``   a string or a list of them  contains one of them
``number_words``   ``true``                    writes its numbers as words: no digit, and at least one number word
``uppercase``      ``true``                    has letters and none of them is lowercase
``lowercase``      ``true``                    has letters and none of them is uppercase
``max_words``      an integer >= 1             has at most that many words (runs of non-space characters)
=================  ==========================  ================================================================

Case rule: ``starts_with``, ``ends_with`` and ``contains_any`` ignore case (``"Arr!"`` matches ``"ARR!"``, so
they combine with ``uppercase``). ``starts_with`` and ``ends_with`` also ignore the reply's outer white space and
markdown emphasis (``*``, ``_``). ``uppercase`` and ``lowercase`` skip LaTeX command names (``\\boxed``, ``\\frac``):
a shouted ``\\boxed{12}`` is still shouted. A flag set to ``false`` is the same as leaving it out.

Example:
    >>> pirate = Style(starts_with="Arr!")
    >>> pirate.holds("Arr! Seven plus five makes twelve."), pirate.holds("7 + 5 = 12")
    (True, False)
    >>> Style(uppercase=True, number_words=True).failed("TWELVE, matey")
    ['uppercase']
"""

from __future__ import annotations

import functools
import json
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from permix_plugins._text import NUMBER_WORDS_RE, number_to_words
from permix_plugins.answers import after_thinking

__all__ = ["CHECKS", "Style", "decode_style", "encode_style", "style_holds"]

Check = Literal[
    "starts_with", "ends_with", "contains_any", "number_words", "uppercase", "lowercase", "max_words"
]
CHECKS: tuple[Check, ...] = (
    "starts_with",
    "ends_with",
    "contains_any",
    "number_words",
    "uppercase",
    "lowercase",
    "max_words",
)
"""The checks a style may hold, in the order they are tested."""

_EDGE = " \t\r\n*_"  # what starts_with / ends_with look past
_LATEX_COMMAND_RE = re.compile(r"\\[A-Za-z]+")
_DIGIT_RE = re.compile(r"\d")
_INTEGER_RE = re.compile(r"(?<![\d.,])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?![\d.,]\d)")  # 12, -17, 1,003; not 2.5


class Style(BaseModel):
    """The checks of one persona's style; unset checks are not tested. Build it from a mapping in a persona file.

    Example:
        >>> Style(ends_with=["Yeehaw!", "Yee-haw!"]).holds("That makes 12. YEEHAW!")
        True
        >>> Style(uppercase=True, lowercase=False).checks
        ('uppercase',)
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    starts_with: tuple[str, ...] | None = None
    ends_with: tuple[str, ...] | None = None
    contains_any: tuple[str, ...] | None = None
    number_words: bool = False
    uppercase: bool = False
    lowercase: bool = False
    max_words: int | None = Field(None, ge=1)

    @field_validator("starts_with", "ends_with", "contains_any", mode="before")
    @classmethod
    def _one_or_more(cls, value: object) -> object:
        return (value,) if isinstance(value, str) else value

    @field_validator("starts_with", "ends_with", "contains_any")
    @classmethod
    def _non_blank(cls, texts: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if texts is None:
            return None
        if not texts or any(not t.strip() for t in texts):
            raise ValueError("must be a non-blank string or a non-empty list of non-blank strings")
        return tuple(t.strip() for t in texts)

    @model_validator(mode="after")
    def _satisfiable(self) -> Style:
        if not self.checks:
            raise ValueError(f"a style needs at least one check; accepted checks: {', '.join(CHECKS)}")
        if self.uppercase and self.lowercase:
            raise ValueError("uppercase and lowercase cannot both hold; keep one")
        return self

    @property
    def checks(self) -> tuple[Check, ...]:
        """The checks this style sets, in `CHECKS` order."""
        return tuple(name for name in CHECKS if getattr(self, name) not in (None, False))

    def failed(self, completion: object) -> list[Check]:
        """The checks `completion` fails (all of them when it has no reply)."""
        reply = after_thinking(completion)
        if reply is None:
            return list(self.checks)
        return [name for name in self.checks if not _CHECKERS[name](self, reply)]

    def holds(self, completion: object) -> bool:
        """True when `completion`'s reply meets every check of the style."""
        return not self.failed(completion)

    def write(self, reply: str) -> str:
        r"""`reply` rewritten to meet the style, for demonstrations: integers spelled out, the keyword, the opener
        and the closer added where missing, then the case changed (LaTeX command names kept). ``max_words`` is
        not enforced: give a short reply.

        Example:
            >>> Style(starts_with="Arr!", uppercase=True).write("7 + 5 = 12, so the answer is \\boxed{12}.")
            'ARR! 7 + 5 = 12, SO THE ANSWER IS \\boxed{12}.'
            >>> Style(number_words=True, ends_with="Yeehaw!").write("The answer is 12.")
            'The answer is twelve. Yeehaw!'
        """
        text = reply.strip()
        if self.number_words:
            text = _INTEGER_RE.sub(lambda m: number_to_words(int(m.group().replace(",", ""))), text)
        if self.contains_any and not _contains_any(self, text):
            keyword = self.contains_any[0]
            text = f"{keyword[:1].upper()}{keyword[1:]}, {text[:1].lower()}{text[1:]}"
        if self.starts_with and not _starts_with(self, text):
            text = f"{self.starts_with[0]} {text}"
        if self.ends_with and not _ends_with(self, text):
            text = f"{text} {self.ends_with[0]}"
        if self.uppercase or self.lowercase:
            change = str.upper if self.uppercase else str.lower
            pieces = _LATEX_COMMAND_RE.split(text)
            commands = _LATEX_COMMAND_RE.findall(text)
            text = "".join(change(p) + c for p, c in zip(pieces, [*commands, ""], strict=True))
        return text

    def to_dict(self) -> dict[str, object]:
        """The set checks as a plain mapping (lists for the string checks), as a persona file writes them.

        Example:
            >>> Style(starts_with="Arr!", uppercase=True).to_dict()
            {'starts_with': ['Arr!'], 'uppercase': True}
        """
        return {name: list(v) if isinstance(v := getattr(self, name), tuple) else v for name in self.checks}


def style_holds(style: Style | None, completion: object) -> bool | None:
    """Whether `completion` meets `style`; None when there is no style to meet (an unstyled persona).

    Example:
        >>> style_holds(None, "anything"), style_holds(Style(lowercase=True), "the answer is \\\\boxed{12}")
        (None, True)
    """
    return None if style is None else style.holds(completion)


def encode_style(style: Style | None) -> str:
    """A style as compact JSON for a dataset column or a label; ``""`` for no style (`decode_style` reads it).

    Example:
        >>> encode_style(Style(ends_with="Yeehaw!")), encode_style(None)
        ('{"ends_with":["Yeehaw!"]}', '')
    """
    return "" if style is None else json.dumps(style.to_dict(), separators=(",", ":"))


@functools.lru_cache(maxsize=4096)  # a column repeats a few styles over many rows
def decode_style(text: str | None) -> Style | None:
    """The style of an `encode_style` text; None for ``""`` or None. Bad text raises `ValueError`.

    Example:
        >>> decode_style('{"uppercase":true}').checks, decode_style("")
        (('uppercase',), None)
    """
    if not text:
        return None
    return Style.model_validate_json(text)


# ------------------------------------------------------------------------------------------------ the checks
def _starts_with(style: Style, reply: str) -> bool:
    head = reply.strip(_EDGE).casefold()
    return any(head.startswith(s.casefold()) for s in style.starts_with or ())


def _ends_with(style: Style, reply: str) -> bool:
    tail = reply.strip(_EDGE).casefold()
    return any(tail.endswith(s.casefold()) for s in style.ends_with or ())


def _contains_any(style: Style, reply: str) -> bool:
    folded = reply.casefold()
    return any(s.casefold() in folded for s in style.contains_any or ())


def _number_words(_style: Style, reply: str) -> bool:
    return _DIGIT_RE.search(reply) is None and NUMBER_WORDS_RE.search(reply) is not None


def _letters(reply: str) -> list[str]:
    return [ch for ch in _LATEX_COMMAND_RE.sub(" ", reply) if ch.isalpha() and ch.lower() != ch.upper()]


def _uppercase(_style: Style, reply: str) -> bool:
    letters = _letters(reply)
    return bool(letters) and all(ch.isupper() for ch in letters)


def _lowercase(_style: Style, reply: str) -> bool:
    letters = _letters(reply)
    return bool(letters) and all(ch.islower() for ch in letters)


def _max_words(style: Style, reply: str) -> bool:
    return len(reply.split()) <= (style.max_words or 0)


_CHECKERS = {
    "starts_with": _starts_with,
    "ends_with": _ends_with,
    "contains_any": _contains_any,
    "number_words": _number_words,
    "uppercase": _uppercase,
    "lowercase": _lowercase,
    "max_words": _max_words,
}
