"""The plain-text reading shared by extraction and comparison: unicode clean-up and number words."""

from __future__ import annotations

import pytest

from permix_plugins import answers, exact
from permix_plugins._text import NUMBER_WORDS_RE, normalize_unicode, number_from_words


@pytest.mark.parametrize(
    ("words", "value"),
    [
        ("zero", 0),
        ("Seventeen", 17),
        ("twenty four", 24),
        ("ninety-nine", 99),
        ("one hundred and five", 105),
        ("two thousand twenty", 2020),
        ("one hundred thousand", 100_000),
        ("five million three hundred", 5_000_300),
        ("one two", None),
        ("twenty thirty", None),
        ("nineteen ninety", None),
        ("thousand", None),
        ("one thousand hundred", None),
    ],
)
def test_number_from_words(words, value):
    assert number_from_words(words) == value


def test_number_words_are_whole_words():
    text = "Someone saw a tone-deaf ninety-nine-year-old, then nine ducks and one hundred and five geese."
    assert NUMBER_WORDS_RE.findall(text) == ["nine", "one hundred and five"]


def test_normalize_unicode_reads_dashes_spaces_and_invisible_characters():
    assert normalize_unicode("\u2212 3\u2013 4") == "- 3- 4"
    assert normalize_unicode("1\u200b0\u00a0000\u00ad") == "10 000"
    assert normalize_unicode("3\u20444") == "3/4"


def test_extraction_and_comparison_read_numbers_the_same_way():
    # one definition serves both (and the comparison still exports the names it first made public)
    assert exact.number_from_words is number_from_words and exact.NUMBER_WORDS_RE is NUMBER_WORDS_RE
    assert answers.extract_answer("so it is twenty-four").answer == "twenty-four"
    assert exact.fast_match("24", "twenty-four") is True
