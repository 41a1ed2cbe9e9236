"""Final-answer extraction: each rule and its source, golds, and bounded work on hostile input."""

from __future__ import annotations

import pytest

from permix_plugins.answers import LAST_NUMBER_CHARS, TAIL_CHARS, Extraction, extract_answer, extract_gold


@pytest.mark.parametrize(
    ("text", "answer", "source"),
    [
        # boxed
        (r"so the total is \boxed{72}.", "72", "boxed"),
        (r"\boxed{\frac{1}{2}}", r"\frac{1}{2}", "boxed"),
        (r"\fbox{3}", "3", "boxed"),  # \fbox (math-verify misses it)
        (r"so \boxed 5 done", "5", "boxed"),  # "\boxed 5" with a space
        (r"\boxed{\text{B}}", r"\text{B}", "boxed"),  # MCQ letter
        (r"\boxed{\{1,2\}}", r"\{1,2\}", "boxed"),  # escaped braces do not close the box
        (r"I guessed \boxed{41} but it is \boxed{42}", "42", "boxed"),  # last box wins
        (r"\boxed{41} or \boxed{42}", "41, 42", "boxed"),  # a hedge stays a hedge
        (r"$\boxed{3}$ and $\boxed{5}$", "3, 5", "boxed"),  # an answer list
        (r"Put it in \boxed{}. Then \boxed{9}", "9", "boxed"),  # empty box skipped
        (r"The answer is 7. \boxed{9} is not", "9", "boxed"),  # a box beats a phrase
        # hash
        ("48+24 = 72\n#### 72", "72", "hash"),
        ("#### 1,000\n", "1,000", "hash"),
        ("#### 72.", "72", "hash"),
        # phrase
        ("The final answer is $\\frac{3}{4}$. I hope it is correct.", r"\frac{3}{4}", "phrase"),
        ("Final Answer:\n\n**42**", "42", "phrase"),
        ("**Final answer:** 17", "17", "phrase"),
        ("Answer: (C)", "(C)", "phrase"),
        ("the answer is 42 doubloons, matey", "42 doubloons", "phrase"),
        # filler between the phrase and the value (SmolLM2-135M-Instruct writes these)
        ("The answer is indeed 36.", "36", "phrase"),
        ("The final answer should be 194.", "194", "phrase"),
        ("The answer is that there are 42 apples in total.", "42", "phrase"),  # prose around a number
        ("The answer is 3, since 3+0=3.", "3", "phrase"),
        ("The answer is (1, 2).", "(1, 2)", "phrase"),
        ("The answer is 3.5.", "3.5", "phrase"),
        ("The answer is 1, 2, and 3.", "1, 2, and 3", "phrase"),
        # answer tags
        ("<answer>7</answer>", "7", "answer_tag"),  # math-verify misses it without spaces
        ("<answer> \\frac{1}{2} </answer>", r"\frac{1}{2}", "answer_tag"),
        ("<answer>So the answer is 8.</answer>", "8", "phrase"),
        # last number
        ("Arr matey, the treasure count be 42 doubloons!", "42", "last_number"),
        ("so the probability is $\\frac{3}{4}$", r"\frac{3}{4}", "math"),
        ("we get \u22125", "-5", "last_number"),  # unicode minus
        ("x-5 = 0, so 5", "5", "last_number"),
        ("It costs \\$1{,}000.", "1{,}000", "last_number"),
        ("That's 25% of it.", "25%", "last_number"),
        ("the ratio is 3/4 overall", "3/4", "last_number"),
        # several boxes: list separators written in LaTeX or words join them; anything else does not
        (r"\boxed{(2, 2)} \quad \text{and} \quad \boxed{(6, 2)}", "(2, 2), (6, 2)", "boxed"),
        (r"\boxed{1} \text{ or } \boxed{2}", "1, 2", "boxed"),
        (r"\boxed{4}; \boxed{5}", "4, 5", "boxed"),
        (r"\boxed{1}\boxed{2}", "1, 2", "boxed"),
        (r"\boxed{(3, 3)} \text{ for part (a) and } \boxed{(1, 1)}", "(3, 3), (1, 1)", "boxed"),
        (r"\( y_1 = \boxed{5} \) and \( y_2 = \boxed{7} \)", "5, 7", "boxed"),
        (r"\boxed{41} or maybe \boxed{42}", "41, 42", "boxed"),  # a hedge stays a hedge
        (r"\boxed{41}. Then \boxed{42}", "42", "boxed"),  # a new sentence
        (r"\boxed{41} and then I got \boxed{42}", "42", "boxed"),  # a correction
        (r"\boxed{255}. Final Answer: The final answer is $10,455$. I hope so.", "10,455", "phrase"),
        (r"\boxed{5}. I hope the answer is clear.", "5", "boxed"),  # a later phrase without a value
        (r"\boxed{12}. So the final answer is 3 times larger than 4", "12", "boxed"),  # a number in prose
        # phrases capture values, never sentences
        ("14 * 7 = 98\n\nThe answer is within \\boxed{}.", "98", "last_number"),
        ("The answer is as follows:\n\n$x = 3$", "x = 3", "phrase"),
        ("The answer is not obvious at first, but 3 works.", "3", "last_number"),
        ("The answer is $x = 2$ and $x = 3$.", "x = 2, x = 3", "phrase"),
        (r"The final answer is \"$12$ and $13$\".", "12, 13", "phrase"),
        ("The answer is twenty-four, dear!", "twenty-four", "phrase"),
        ("The answer is that there are twenty-four eggs.", "twenty-four", "phrase"),
        # math: the last span near the end, unless a bare number follows it
        ("So the vertex is at $(2,5)$.", "(2,5)", "math"),
        ("Hence $x \\in [0,1)$ is the solution.", r"x \in [0,1)", "math"),
        ("The distance is \\(2\\sqrt5\\).", r"2\sqrt5", "math"),
        ("Thus\n\\[ x^2 + 1 \\]\nwhich is what we wanted.", "x^2 + 1", "math"),
        ("Thus\n$$\n\\frac{1}{3}\n$$", r"\frac{1}{3}", "math"),
        ("The roots are $x = 2$ and $x = 3$.", "x = 2, x = 3", "math"),
        ("With $a = 3$ and $b = 5$ we get 8 marbles.", "8", "last_number"),
        ("He paid $5 for the apples and $7 for the pears.", "7", "last_number"),  # currency, not math
        ("Costs: $5 and $7", "7", "last_number"),
        ("Answer $ \n 9 \n $", "9", "last_number"),  # inline $ stays on one line
        # number formats
        ("The total is 1 000.", "1 000", "last_number"),
        (r"about 2\,500\,000 stars", r"2\,500\,000", "last_number"),
        ("Soucis : 2,74 $ a..", "2,74", "last_number"),
        ("the point (3,4)", "4", "last_number"),  # not a decimal comma
        ("roughly 4.5e6 cells", "4.5e6", "last_number"),
        ("roughly 4.5 × 10^6 cells", "4.5 × 10^6", "last_number"),
        ("Mix in ¾ of a cup", "¾", "last_number"),
        ("Bake 2½ pies", "2½", "last_number"),
        ("It is 2 or 3.", "2, 3", "last_number"),  # a hedge
        ("AZYUK2A", None, "none"),
        # persona-styled: number words only when nothing else is near the end, and never a lone "one"
        ("so there are nine ducks now!", "nine", "last_number"),
        ("Three of us. Three.", "Three", "last_number"),
        ("There were 36 coins, and then two parrots flew off.", "36", "last_number"),
        ("Only one cookie left!", None, "none"),
        ("one two three, here I come!", None, "none"),  # counting is not a number
        # none
        ("I do not know.", None, "none"),
        ("", None, "none"),
        (r"The answer is \boxed{4", None, "none"),  # an unclosed box is a botched answer, not "4"
    ],
)
def test_rules_and_sources(text, answer, source):
    assert extract_answer(text) == Extraction(answer, source)


def test_think_blocks():
    assert extract_answer(r"<think>maybe \boxed{3}</think>So \boxed{4}.") == Extraction("4", "boxed")
    # nothing after the reasoning, and a reasoning that never finished: no answer
    assert extract_answer("<think>3*4 = 12, so 12</think>") == Extraction(None, "none")
    assert extract_answer("<think>still working on 3*4 = 12") == Extraction(None, "none")
    # the chat template opened <think> in the prompt
    assert extract_answer("</think>42") == Extraction("42", "last_number")


def test_non_text_completions_have_no_answer():
    for value in (None, 42, b"\\boxed{1}", ["\\boxed{1}"]):
        assert extract_answer(value) == Extraction(None, "none")


def test_null_bytes_are_ignored():
    assert extract_answer("\x00" * 100 + r"\boxed{7}" + "\x00") == Extraction("7", "boxed")
    assert extract_answer("4\x002") == Extraction("42", "last_number")


def test_invisible_characters_and_unicode_spaces():
    for invisible in ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"):
        assert extract_answer(f"The treasure: 4{invisible}2 doubloons.") == Extraction("42", "last_number")
    for space in ("\u00a0", "\u202f", "\u2009"):
        assert extract_answer(f"Exactly 1{space}000 stars.") == Extraction("1 000", "last_number")


def test_math_span_only_near_the_end():
    text = "So $x = 5$. " + "Then we rest and sing songs of the sea. " * (LAST_NUMBER_CHARS // 30)
    assert extract_answer(text) == Extraction(None, "none")


def test_last_number_only_near_the_end():
    text = "The count is 42. " + "Then we rest and sing songs of the sea. " * (LAST_NUMBER_CHARS // 30)
    assert extract_answer(text) == Extraction(None, "none")


def test_only_the_tail_is_scanned():
    early_box = r"\boxed{1}" + "x" * (TAIL_CHARS + 10)
    assert extract_answer(early_box).answer is None
    assert extract_answer("y" * 200_000 + r"\boxed{9}") == Extraction("9", "boxed")


def test_tail_starting_inside_a_box_is_sane():
    text = r"\boxed{" + "1" * TAIL_CHARS + r"} so the answer is \boxed{5}"
    assert extract_answer(text) == Extraction("5", "boxed")
    cut_open = r"\boxed{" + "z" * (TAIL_CHARS - 3) + "}} done"  # the tail starts mid-box: stray "}" ignored
    assert extract_answer(cut_open) == Extraction(None, "none")


@pytest.mark.parametrize(
    "hostile",
    [
        "\\boxed{" * 40_000,
        "{" * 200_000,
        "}" * 200_000,
        "\\" * 200_000,
        "$" * 200_000,
        "the answer is " * 20_000,
        "#### " * 40_000,
        "<answer>" * 20_000,
        "1" * 200_000,
        "1," * 100_000,
        "\\boxed " * 30_000,
        "\\boxed{\\frac{1}{" * 10_000,
        "$$x$$ and " * 20_000,
        "\\(" * 100_000,
        "\\[" * 100_000,
        "\\boxed{1} and " * 20_000,
        "\\boxed{1} or maybe " * 15_000,
        "the answer is $" * 20_000,
        "nine " * 40_000,
        "twenty-" * 40_000,
        "one hundred and " * 20_000,
        "1 000 " * 40_000,
        "1,1" * 70_000,
        "4.5 \\times 10^" * 20_000,
        "¾" * 200_000,
        "\u200b" * 200_000,
        "a $b c$ " * 30_000,
    ],
    ids=lambda s: repr(s[:10]),
)
def test_hostile_input_gives_an_answer_or_none(hostile):
    # How the scan scales on such text is measured by benchmarks/bench_hostile.py, not asserted here.
    result = extract_answer(hostile)
    assert (result.answer is None) == (result.source == "none")
    assert result.answer is None or 0 < len(result.answer) <= TAIL_CHARS


@pytest.mark.parametrize(
    ("gold", "answer"),
    [
        ("72", "72"),
        (72, "72"),
        (0.5, "0.5"),
        (r"\frac{1}{3}", r"\frac{1}{3}"),
        (r"\boxed{\frac{1}{3}}", r"\frac{1}{3}"),
        ("Natalia sold 48/2 = <<48/2=24>>24 clips.\n#### 72", "72"),
        (r"We have $x^2=4$, so $x=\pm 2$. Since $x>0$, the answer is $\boxed{2}$.", "2"),
        ("The answer is 12.", "12"),
        ("(1, 2)", "(1, 2)"),
        ("\u22123", "-3"),
        ("", None),
        ("   ", None),
        (None, None),
        (True, None),
        (["72"], None),
        (r"\boxed{}", None),  # a box without content: the answer is missing
        ("We compare the coefficients term by term. " * 10, None),  # a long solution with no final answer
        ("$[0,1)$", "[0,1)"),  # math only: its content
        ("$$(2, 2), (6, 2)$$", "(2, 2), (6, 2)"),
        ("$21,16$ or $11$", "21,16, 11"),
        ("So $x = 2$.", "So $x = 2$."),  # not math only: the whole short gold
        (r"\(\boxed{1}\) and \(\boxed{-2}\).", "1, -2"),  # several boxes: one multi-part gold
        (r"\boxed{1} papers and \boxed{2} bins", "1, 2"),
        (r"\boxed{1} no no no no no \boxed{2}", "2"),  # not joined: the last box
        ("so the answer is \\boxed{004}. Check: \\boxed{004}.\n**Final Answer**\n\\boxed{004}", "004"),
    ],
)
def test_extract_gold(gold, answer):
    assert extract_gold(gold) == answer
