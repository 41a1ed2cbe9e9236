"""How answers read as plain text, shared by extraction (`answers`) and comparison (`exact`).

Unicode clean-up (dashes and minus signs, invisible characters, unusual spaces), the vulgar fractions both modules
recognise, and English number words. Pure string code with no permix import, so neither module depends on the
other for it.

Example:
    >>> normalize_unicode("\u2212 1\u00a0000\u200b")
    '- 1 000'
    >>> [number_from_words(w) for w in NUMBER_WORDS_RE.findall("nine ducks and one hundred and five geese")]
    [9, 105]
"""

from __future__ import annotations

import re

__all__ = [
    "NUMBER_WORDS_RE",
    "PLAIN_TEXT_TABLE",
    "VULGAR_FRACTIONS",
    "normalize_unicode",
    "number_from_words",
    "number_to_words",
]

VULGAR_FRACTIONS = "¼½¾⅐⅑⅒⅓⅔⅕⅖⅗⅘⅙⅚⅛⅜⅝⅞"
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad\x00"  # zero-width spaces, joiners, BOM, soft hyphen, NUL
_SPACES = "\u00a0\u2007\u2008\u2009\u200a\u202f"  # no-break, figure and thin spaces

PLAIN_TEXT_TABLE = str.maketrans(
    {
        "\u2212": "-",
        "\u2013": "-",
        "\u2044": "/",
        **dict.fromkeys(_INVISIBLE, None),
        **dict.fromkeys(_SPACES, " "),
    }
)
"""The `str.translate` table of `normalize_unicode` (the comparison extends it with unicode math)."""

# Number words ("nine", "twenty-four", "three hundred and five"); "and" only after a scale word.
_SMALL_NUMBERS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
)  # fmt: skip
_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_NUMBER_WORD_VALUES = {w: i for i, w in enumerate(_SMALL_NUMBERS)} | {
    w: 20 + 10 * i for i, w in enumerate(_TENS)
}
_SCALE_WORD_VALUES = {"hundred": 100, "thousand": 10**3, "million": 10**6, "billion": 10**9}
_NUMBER_WORD = "|".join(sorted(_NUMBER_WORD_VALUES, key=len, reverse=True))
NUMBER_WORDS_RE = re.compile(
    rf"\b(?:{_NUMBER_WORD})(?:[ -](?:{_NUMBER_WORD}|hundred|thousand|million|billion)"
    rf"|(?:(?<=hundred)|(?<=thousand)|(?<=million)|(?<=billion))\s+and\s+(?:{_NUMBER_WORD}))*\b(?!-)",
    re.IGNORECASE,
)
"""A run of English number words, found by extraction and read by `number_from_words`."""


def normalize_unicode(text: str) -> str:
    """Minus signs and dashes to ``-``, invisible characters dropped, no-break and thin spaces to spaces."""
    return text.translate(PLAIN_TEXT_TABLE)


def number_from_words(words: str) -> int | None:
    """The value of a run of number words (``"twenty-four"`` -> 24), None if it is not one number ("one two")."""
    total, current, last = 0, 0, ""
    for word in re.split(r"[\s-]+", words.lower()):
        if word == "and":
            continue
        value = _NUMBER_WORD_VALUES.get(word)
        if value is not None:
            # a word below 10 may follow a tens word or a scale word, a tens or teen word only a scale word
            if last and not (last in _SCALE_WORD_VALUES or (value < 10 and last.endswith("ty"))):
                return None
            current += value
        elif word in _SCALE_WORD_VALUES:
            if not last or (
                last in _SCALE_WORD_VALUES and _SCALE_WORD_VALUES[word] <= _SCALE_WORD_VALUES[last]
            ):
                return None
            if word == "hundred":
                current *= 100
            else:
                total, current = total + current * _SCALE_WORD_VALUES[word], 0
        else:
            return None
        last = word
    return total + current


def number_to_words(number: int) -> str:
    """An integer in words, the inverse of `number_from_words` ("minus" for negatives); below 10**12.

    Example:
        >>> number_to_words(3405), number_from_words(number_to_words(3405))
        ('three thousand four hundred five', 3405)
    """
    if number < 0:
        return "minus " + number_to_words(-number)
    if number < 20:
        return _SMALL_NUMBERS[number]
    if number < 100:
        tens, unit = divmod(number, 10)
        return _TENS[tens - 2] + (f"-{_SMALL_NUMBERS[unit]}" if unit else "")
    if number < 1000:
        hundreds, rest = divmod(number, 100)
        return f"{_SMALL_NUMBERS[hundreds]} hundred" + (f" {number_to_words(rest)}" if rest else "")
    if number >= 10**12:
        raise ValueError(f"{number} is too large to write in words here (below 10**12)")
    word, scale = next(
        (w, v) for w, v in (("billion", 10**9), ("million", 10**6), ("thousand", 10**3)) if number >= v
    )
    high, rest = divmod(number, scale)
    return f"{number_to_words(high)} {word}" + (f" {number_to_words(rest)}" if rest else "")
