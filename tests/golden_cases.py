r"""Golden verdicts for `MathVerifier` — written for this project; `truth` is the mathematically right verdict.

Fields of a `Case`:
    truth               True / False, or None when the gold itself has no answer (scored ``bad_gold``).
    reason              the reason code expected when it matters (``no_answer``, ``bad_gold``).
    math_verify_wrong   raw math-verify 0.9.0 gives the other verdict: ``verify(parse(gold), parse(completion))`` with
                        default configs, a bare gold string wrapped in ``$…$``. Re-derived by
                        ``tests/test_verifier_golden.py::test_math_verify_wrong_flags``.
    ours_differs        a documented limitation: MathVerifier returns ``not truth`` on purpose (see the note).

Project decisions the table pins down:
    * exact numbers: ``\frac{1}{2^{99}} != \frac{1}{2^{98}}``, ``0.333333 != 1/3`` (no float tolerance);
    * percent: ``p%`` equals ``p/100`` and the bare ``p`` (sign dropped, as GSM8K golds do); ``4% != 0.4``;
    * boxes (and math spans) joined by "or" / "and" / "," / ";" / ``\quad`` are one answer, for golds too (a hedge
      does not match a single gold); without a box, the last math span near the end beats an earlier last number;
    * against a bare value, an equation counts by its value side (``k = 12``); two equations are compared whole;
    * a decimal comma reads as a point only where it cannot separate thousands (``3,75``; ``1,000`` is 1000);
    * a botched (unclosed) box or an unclosed ``<think>`` is no answer; "the answer is within \boxed{}" is no answer;
    * number words are read in an answer phrase or box, and at the end when there is no digit or math there (not
      "one"); a number word earlier in the story is not the answer.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    category: str
    gold: object
    completion: str
    truth: bool | None
    note: str = ""
    reason: str | None = None
    math_verify_wrong: bool = False
    ours_differs: bool = False

    @property
    def expected(self) -> bool | None:
        """What MathVerifier returns: the truth, except for documented limitations."""
        return (not self.truth) if self.ours_differs else self.truth

    @property
    def id(self) -> str:
        """The same in every process (`hash` of a str is salted per process), so test ids are stable."""
        return f"{self.category}-{zlib.crc32(repr((repr(self.gold), self.completion)).encode()) % 10**6:06d}"


GSM8K_SOLUTION = (
    "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n"
    "Natalia sold 48+24 = <<48+24=72>>72 clips altogether in April and May.\n#### 72"
)
MATH_SOLUTION = r"We have $x^2 = 4$, so $x = \pm 2$. Since $x > 0$, the answer is $\boxed{2}$."
LONG_SOLUTION_WITHOUT_ANSWER = "We expand both sides and compare the coefficients term by term. " * 8

# fmt: off
CASES: list[Case] = [
    # --- integers
    Case("integer", "72", r"Natalia sold 48/2 = 24 clips in May, so 48+24 = \boxed{72} clips.", True),
    Case("integer", "72", r"So she sold \boxed{73} clips.", False),
    Case("integer", "0", r"\boxed{0}", True),
    Case("integer", "5", r"The answer is $\boxed{5}$.", True),
    Case("integer", "100", r"\boxed{100.0}", True, "integer written as a decimal"),
    Case("integer", "7", r"\boxed{07}", True, "leading zero"),
    Case("integer", "12", r"\boxed{+12}", True, "explicit plus sign"),
    Case("integer", "18", r"\boxed{18}.", True),
    Case("integer", "3", r"\boxed{3.5}", False),
    Case("integer", "1", r"\boxed{ 1 }", True, "spaces inside the box"),
    # --- negatives
    Case("negative", "-5", r"\boxed{-5}", True),
    Case("negative", "-5", r"\boxed{5}", False, "sign dropped"),
    Case("negative", "-3", "so $x = \u22123$", True, "unicode minus, last number"),
    Case("negative", r"-\frac{1}{2}", r"\boxed{-0.5}", True),
    Case("negative", "-2", r"\boxed{-(2)}", True),
    Case("negative", "-7", r"\boxed{- 7}", True),
    # --- decimals
    Case("decimal", "0.5", r"\boxed{.5}", True),
    Case("decimal", "3.14", r"\boxed{3.140}", True),
    Case("decimal", "2.5", r"\boxed{2.50}", True),
    Case("decimal", "0.1", r"\boxed{0.01}", False),
    Case("decimal", "1.25", r"\boxed{\frac{5}{4}}", True),
    Case("decimal", "0.333", r"\boxed{\frac{1}{3}}", False, "a rounded gold is not 1/3"),
    Case("decimal", r"\frac{1}{3}", r"\boxed{0.333333}", False, "exact: 6 digits of 1/3 are not 1/3", math_verify_wrong=True),
    Case("decimal", "4.0", r"\boxed{4}", True),
    # --- fractions
    Case("fraction", r"\frac{1}{3}", r"The answer is \boxed{\frac{1}{3}}", True),
    Case("fraction", r"\frac{1}{3}", r"\boxed{\frac{1}{2}}", False),
    Case("fraction", r"\frac{2}{4}", r"\boxed{\frac{1}{2}}", True, "unreduced gold"),
    Case("fraction", r"\frac{3}{4}", r"\boxed{\dfrac{3}{4}}", True),
    Case("fraction", r"\frac{3}{4}", r"\boxed{3/4}", True),
    Case("fraction", r"\frac{3}{4}", r"\boxed{0.75}", True),
    Case("fraction", r"\frac{7}{2}", r"\boxed{3\frac{1}{2}}", True, "mixed number"),
    Case("fraction", r"\frac{1}{2}", r"\boxed{\frac12}", True),
    Case("fraction", r"\frac{10}{3}", r"\boxed{\tfrac{10}{3}}", True),
    Case("fraction", r"-\frac{2}{3}", r"\boxed{\frac{-2}{3}}", True),
    Case("fraction", r"\frac{5}{8}", r"\boxed{\frac{8}{5}}", False),
    Case("fraction", "1/2", r"\boxed{\frac{1}{3}}", False),
    # --- radicals
    Case("radical", r"2\sqrt{2}", r"\boxed{\sqrt{8}}", True),
    Case("radical", r"\sqrt{2}", r"\boxed{\sqrt2}", True),
    Case("radical", r"\frac{\sqrt{3}}{2}", r"\boxed{\frac{1}{2}\sqrt{3}}", True),
    Case("radical", r"\sqrt{3}", r"\boxed{\sqrt{2}}", False),
    Case("radical", r"3\sqrt{5}", r"\boxed{\sqrt{45}}", True),
    Case("radical", r"\sqrt{2}", r"\boxed{1.414}", False, "an approximation is not the value"),
    Case("radical", r"2+\sqrt{3}", r"\boxed{\sqrt{3}+2}", True),
    Case("radical", r"\sqrt[3]{2}", r"\boxed{2^{1/3}}", True),
    # --- pi
    Case("pi", r"\pi", r"\boxed{\pi}", True),
    Case("pi", r"2\pi", "\\boxed{2\u03c0}", True, "unicode pi"),
    Case("pi", r"\frac{\pi}{4}", r"\boxed{\frac{1}{4}\pi}", True),
    Case("pi", r"\pi", r"\boxed{3.14}", False, "an approximation is not the value"),
    Case("pi", r"4\pi", r"\boxed{2\pi}", False),
    Case("pi", r"6\pi", r"\boxed{6 \pi}", True),
    # --- intervals
    Case("interval", "(1,2)", r"\boxed{(1, 2)}", True),
    Case("interval", "[1,2)", r"\boxed{[1,2)}", True),
    Case("interval", "[1,2)", r"\boxed{(1,2]}", False),
    Case("interval", r"(-\infty, 3]", r"\boxed{(-\infty,3]}", True),
    Case("interval", r"(-\infty,0)\cup(1,\infty)", r"\boxed{(-\infty, 0) \cup (1, \infty)}", True),
    Case("interval", "(1,2)", r"\boxed{1<x<2}", True,
         "math-verify's designed asymmetry (a gold interval does not accept a predicted inequality) is kept",
         math_verify_wrong=True, ours_differs=True),
    # --- tuples and points
    Case("tuple", "(3, -2)", r"\boxed{(3,-2)}", True),
    Case("tuple", "(3, -2)", r"\boxed{(-2, 3)}", False, "order matters in a point"),
    Case("tuple", "(1, 2, 3)", r"\boxed{(1,2,3)}", True),
    Case("tuple", r"(0, \frac{1}{2})", r"\boxed{(0, 0.5)}", True),
    Case("tuple", "(2, 5)", "The answer is $(2,5)$.", True),
    Case("tuple", "(2, 5)", r"\boxed{(2, 6)}", False),
    # --- sets and lists
    Case("set", r"\{1,2,3\}", r"\boxed{\{3,2,1\}}", True),
    Case("set", r"\{1,2\}", r"\boxed{\{1,2,3\}}", False),
    Case("set", "1, 2, 3", r"\boxed{1, 2, 3}", True),
    Case("set", "3, 5", r"$\boxed{3}$ and $\boxed{5}$", True, "chained boxes form the answer list"),
    Case("set", "2, 3", r"The solutions are $x=2$ and $x=3$, so \boxed{3, 2}", True, "solution sets are unordered"),
    # --- text answers
    Case("text", "Monday", r"\boxed{\text{Monday}}", True),
    Case("text", "Monday", r"\boxed{Tuesday}", False),
    Case("text", r"\text{even}", r"\boxed{\text{even}}", True),
    Case("text", "yes", r"\boxed{\text{Yes}}", True, "case of a word"),
    Case("text", "no", r"\boxed{\text{yes}}", False),
    Case("text", "Alice", "Bob came second. Final answer: Alice", True, math_verify_wrong=True),
    # --- multiple choice
    Case("choice", "B", r"\boxed{B}", True),
    Case("choice", "B", r"\boxed{\text{B}}", True),
    Case("choice", r"\text{(B)}", r"\boxed{B}", True),
    Case("choice", "C", r"\boxed{(C)}", True),
    Case("choice", "C", r"\boxed{D}", False),
    Case("choice", "A", "Answer: (A)", True, math_verify_wrong=True),
    Case("choice", "D", r"\boxed{D: 12}", True, "letter with the option's text", math_verify_wrong=True),
    Case("choice", "E", r"The correct option is \boxed{\text{(E) } 5}", True, math_verify_wrong=True),
    Case("choice", "A", r"\boxed{B}", False),
    # --- percent (rule: p% == p/100 and p% == p)
    Case("percent", "25", r"\boxed{25\%}", True, "sign dropped in the gold ('what percent...? #### 25')",
         math_verify_wrong=True),
    Case("percent", "0.25", r"\boxed{25\%}", True, "25% = 0.25", math_verify_wrong=True),
    Case("percent", r"25\%", r"\boxed{25}", True),
    Case("percent", r"25\%", r"\boxed{0.25}", True, math_verify_wrong=True),
    Case("percent", r"50\%", r"\boxed{50\%}", True),
    Case("percent", "20", r"\boxed{25\%}", False),
    Case("percent", r"12.5\%", r"\boxed{\frac{1}{8}}", True, math_verify_wrong=True),
    Case("percent", "40", "That's 40% of the class.", True),
    Case("percent", "0.4", r"\boxed{4\%}", False, "4% is 0.04"),
    # --- units and currency
    Case("unit", "10", r"\boxed{10\text{ cm}}", True),
    Case("unit", "10", r"\boxed{10 \text{ cm}^2}", True),
    Case("unit", "18", r"She makes \boxed{\$18} every day.", True),
    Case("unit", "18", r"She makes \$18 every day.", True, math_verify_wrong=True),
    Case("unit", "30", r"\boxed{30^\circ}", True),
    Case("unit", "5", r"\boxed{5 \text{ apples}}", True),
    Case("unit", "5", r"\boxed{5 \text{ million}}", False, "a scale word is not a unit", math_verify_wrong=True),
    Case("unit", "12", "The answer is 12 meters.", True),
    # --- thousands separators
    Case("thousands", "1000", r"\boxed{1,000}", True),
    Case("thousands", "1000", r"\boxed{1{,}000}", True),
    Case("thousands", "1000000", r"\boxed{1,000,000}", True),
    Case("thousands", "1,234", r"\boxed{1234}", True),
    Case("thousands", "1000", r"\boxed{1\,000}", True, "thin-space separator", math_verify_wrong=True),
    Case("thousands", "10000", r"\boxed{1,000}", False),
    Case("thousands", "1234.5", r"\boxed{1,234.5}", True),
    Case("thousands", "70000", "#### 70,000", True),
    # --- GSM8K "####"
    Case("hash", "72", "48/2 = 24\n48+24 = 72\n#### 72", True),
    Case("hash", "72", "#### 72.", True),
    Case("hash", "5", "#### $5", True),
    Case("hash", "5", "#### 6", False),
    Case("hash", "-3", "#### -3", True),
    Case("hash", GSM8K_SOLUTION, r"\boxed{72}", True, "gold is a full GSM8K solution"),
    # --- persona-styled prose without \boxed
    Case("persona", "42", "Arr matey, the treasure count be 42 doubloons!", True),
    Case("persona", "42", "Arr matey, the treasure count be 41 doubloons!", False),
    Case("persona", "42", "Woohoo, the answer is 42!!", True, "an exclamation run is punctuation, not 42!"),
    Case("persona", "42", "The answer is 42" + "!" * 2000, True, "a long exclamation run is punctuation too"),
    Case("persona", "12", "As your kindergarten teacher, I counted with you: there are 12 crayons in the box!", True),
    Case("persona", "9", "Verily, good sir, the sum thou seekest is nine and no more.", True,
         "number words are read when no digit or math is near the end", math_verify_wrong=True),
    Case("persona", "3.5", "Listen up, rookie. Final answer: 3.5 miles, no excuses.", True),
    Case("persona", "7", "Beep boop. Computation complete. Result = 7.", True),
    Case("persona", "15", "In my professional opinion as a chef, you'll need 15 eggs for the whole batch.", True),
    Case("persona", "250", "Yo, so like, the total comes out to $250, no cap.", True),
    Case("persona", "8", "The detective steepled his fingers. 'Elementary. The thief took exactly 8 pearls.'", True),
    Case("persona", "100", "Dude, it's like, totally wild... I mean the answer is 100.", True),
    Case("persona", "64", "My dear student, as Socrates would say: the answer is sixty-four, or 64 in numerals.", True),
    Case("persona", "64", "My dear student, as Socrates would say: the answer is sixty-three, or 63 in numerals.", False),
    # --- several boxes
    Case("boxes", "42", r"I first guessed \boxed{41} but actually it is \boxed{42}", True, "last box wins"),
    Case("boxes", "42", r"\boxed{41} or \boxed{42}", False, "a hedge is not an answer"),
    Case("boxes", "41, 42", r"\boxed{41}, \boxed{42}", True),
    Case("boxes", "5", r"Check: \boxed{5}. Verified: \boxed{5}", True),
    Case("boxes", "3", r"Put your final answer within \boxed{}. Working it out, the answer is \boxed{3}", True,
         "empty box (prompt echo) ignored", math_verify_wrong=True),
    Case("boxes", "10", r"First \boxed{5} ... wait, doubling gives \boxed{10}", True, math_verify_wrong=True),
    # --- near misses
    Case("near_miss", "72", r"\boxed{72.1}", False),
    Case("near_miss", r"\frac{1}{2^{99}}", r"\boxed{\frac{1}{2^{98}}}", False, "float rounding", math_verify_wrong=True),
    Case("near_miss", r"\frac{1}{2004!}", r"\boxed{\frac{1}{2006!}}", False, "float rounding", math_verify_wrong=True),
    Case("near_miss", r"\frac{1}{2^{99}}", r"\boxed{2^{-99}}", True),
    Case("near_miss", "2^{100}", r"\boxed{2^{100}+1}", False, "differs in the last digit"),
    Case("near_miss", "10^{20}", r"\boxed{10^{20}+1}", False, "differs in the last digit"),
    Case("near_miss", "1000000", r"\boxed{1000001}", False),
    Case("near_miss", "3", r"\boxed{3.0000001}", False),
    Case("near_miss", r"\frac{1}{10^{7}}", r"\boxed{0}", False),
    Case("near_miss", "12", r"\boxed{21}", False),
    Case("near_miss", "x^2", r"\boxed{x^3}", False),
    # --- exact arithmetic
    Case("arithmetic", "2^{10}", r"\boxed{1024}", True),
    Case("arithmetic", "5!", r"\boxed{120}", True),
    Case("arithmetic", r"\binom{5}{2}", r"\boxed{10}", True),
    Case("arithmetic", "2^{-3}", r"\boxed{\frac18}", True),
    Case("arithmetic", r"\frac{2004!}{2003!}", r"\boxed{2004}", True),
    Case("arithmetic", r"3\cdot 10^{5}", r"\boxed{300000}", True),
    Case("arithmetic", r"1.5\times10^{3}", r"\boxed{1500}", True),
    # --- expressions and equations
    Case("expression", "x^2+2x+1", r"\boxed{(x+1)^2}", True),
    Case("expression", "2x+3", r"\boxed{3+2x}", True),
    Case("expression", "2x+3", r"\boxed{2x-3}", False),
    Case("expression", "y=2x+1", r"\boxed{y=2x+1}", True),
    Case("expression", "5", r"\boxed{x=5}", True, "a gold number accepts an assignment"),
    Case("expression", r"\frac{x+1}{2}", r"\boxed{\frac{x}{2}+\frac{1}{2}}", True),
    Case("expression", r"\sin^2 x + \cos^2 x", r"\boxed{1}", True),
    Case("expression", r"\begin{pmatrix}1\\2\end{pmatrix}", r"\boxed{\begin{pmatrix}1\\2\end{pmatrix}}", True),
    # --- gold formats
    Case("gold", r"\boxed{\frac{1}{3}}", r"\boxed{\frac13}", True, "boxed gold"),
    Case("gold", r"The answer is $\boxed{12}$.", "12", True, "gold sentence, bare completion"),
    Case("gold", MATH_SOLUTION, r"\boxed{2}", True, "gold is a worked solution"),
    Case("gold", 72, "#### 72", True, "integer gold"),
    Case("gold", 0.5, r"\boxed{\frac{1}{2}}", True, "float gold"),
    Case("gold", "  \n", r"\boxed{3}", None, "blank gold", reason="bad_gold"),
    Case("gold", "", "the answer is 3", None, "empty gold", reason="bad_gold"),
    Case("gold", None, r"\boxed{3}", None, "missing gold", reason="bad_gold"),
    Case("gold", r"\boxed{}", r"\boxed{3}", None, "empty boxed gold", reason="bad_gold"),
    Case("gold", LONG_SOLUTION_WITHOUT_ANSWER, r"\boxed{3}", None, "solution without a final answer",
         reason="bad_gold"),
    # --- issue 12, class 1: unboxed final math (the last math span near the end, unless a number follows it)
    Case("unboxed_math", "(2, 5)", r"So the vertex of the parabola is at $(2,5)$.", True),
    Case("unboxed_math", "[0, 1)", r"Hence the range of $f$ is $[0,1)$.", True),
    Case("unboxed_math", "[0, 1)", r"Hence the range of $f$ is $[0,1]$.", False),
    Case("unboxed_math", r"2\sqrt{5}", r"The distance between the points is \(2\sqrt5\).", True),
    Case("unboxed_math", r"\frac{1}{3}", r"Hence the probability is $\frac13$.", True),
    Case("unboxed_math", r"\frac{1}{3}", r"Hence the probability is $\frac14$.", False),
    Case("unboxed_math", "x^2+2x+1", "Expanding, the polynomial is\n$$(x+1)^2$$", True),
    Case("unboxed_math", "8", r"With $a = 3$ and $b = 5$, adding them gives 8 marbles.", True,
         "a number after the last math span is the answer"),
    Case("unboxed_math", "5", r"Solving, we find $x=5$. Hope this helps, friend!", True),
    Case("unboxed_math", "12", "He paid $5 for the apples and $7 for the pears, so 12 dollars in all.", True,
         "dollar signs as currency are not math"),
    Case("unboxed_math", r"\begin{pmatrix}1&2\\3&4\end{pmatrix}",
         r"The product is $\begin{pmatrix}1 & 2 \\ 3 & 4\end{pmatrix}$.", True),
    Case("unboxed_math", r"\begin{pmatrix}1&2\\3&4\end{pmatrix}",
         r"The product is $\left[\begin{array}{cc}1 & 2 \\ 3 & 5\end{array}\right]$.", False),
    Case("unboxed_math", "2, 3", r"The roots are $x = 2$ and $x = 3$.", True),
    Case("unboxed_math", "3", r"So either $x = 2$ or $x = 3$.", False, "math spans joined by 'or' are a hedge"),
    Case("unboxed_math", "3", "It is 2 or 3.", False, "two last numbers joined by 'or' are a hedge",
         math_verify_wrong=True),
    # --- class 2: several boxes as one answer; a gold of several boxes
    Case("multi_part", "(2, 2), (6, 2)", r"\boxed{(2, 2)} \quad \text{and} \quad \boxed{(6, 2)}", True),
    Case("multi_part", "(2, 2), (6, 2)", r"\boxed{(2, 2)} \quad \text{and} \quad \boxed{(6, 3)}", False),
    Case("multi_part", "(6, 2)", r"\boxed{(2, 2)} \quad \text{and} \quad \boxed{(6, 2)}", False,
         "a list is not one of its parts"),
    Case("multi_part", "1, -2", r"so $n = \boxed{1}$ or $n = \boxed{-2}$", True, "a label between the boxes"),
    Case("multi_part", r"\boxed{3} \text{ and } \boxed{7}", r"\boxed{7, 3}", True, "a gold of two boxes"),
    Case("multi_part", r"\boxed{3} \text{ and } \boxed{7}", r"\boxed{7}", False, "half of a two-box gold"),
    Case("multi_part", "4, 5", r"\boxed{4}; \boxed{5}", True),
    Case("multi_part", "5", r"\boxed{4}; \boxed{5}", False, "a semicolon joins too: a hedge"),
    Case("multi_part", "12", r"\boxed{11} \text{ or } \boxed{12}", False, "a hedge written in LaTeX"),
    Case("multi_part", "12", r"I first wrote \boxed{11}, but rechecking the sum gives \boxed{12}", True,
         "a correction is not a list", math_verify_wrong=True),
    Case("multi_part", "3, -1", r"\( x_1 = \boxed{3} \) and \( x_2 = \boxed{-1} \)", True),
    # --- class 3: equation-form golds and answers
    Case("equation", "k = 12", r"\boxed{12}", True),
    Case("equation", "k = 12", r"\boxed{13}", False),
    Case("equation", "(p, q) = (3, 2)", r"So \boxed{(3, 2)}.", True),
    Case("equation", "(p, q) = (3, 2)", r"So \boxed{(2, 3)}.", False),
    Case("equation", r"V_1 : V_2 = 11 : 21", r"The ratio of the volumes is $11:21$.", True),
    Case("equation", r"\frac{AB}{CD} = \frac{2}{3}", r"\boxed{\frac{2}{3}}", True),
    Case("equation", "x = 4", r"\boxed{y = 4}", False, "two equations are compared whole"),
    Case("equation", "12", r"Altogether $3 \times 4 = 12$.", True, "a chain counts by its last side"),
    Case("equation", "5", r"Thus $2x = 10$.", False, "an equation left unsolved is not its root"),
    Case("equation", "y = 2x + 1", r"\boxed{2x + 1}", True),
    Case("equation", "2x + 3y = 6", r"\boxed{6}", False, "the left side matters when it is more than names"),
    # --- class 4: structures
    Case("structure", "-5 < a < 10", r"\boxed{(-5, 10)}", True, "a gold inequality accepts its interval"),
    Case("structure", r"\{1, 2, 3\}", r"The set is $\{3, 1, 2\}$.", True),
    Case("structure", "(1, 2, 3)", r"\boxed{(3, 2, 1)}", False, "tuples are ordered"),
    Case("structure", r"\begin{pmatrix} 1 & 0 \\ 0 & 1 \end{pmatrix}",
         r"\boxed{\begin{bmatrix} 1 & 0 \\ 0 & 1 \end{bmatrix}}", True),
    Case("structure", r"\text{odd}", r"So the function is $odd$.", True),
    Case("structure", r"\text{even}", r"\boxed{\text{Even}}", True, "text answers ignore case"),
    Case("structure", r"\text{even}", r"\boxed{\text{odd}}", False),
    # --- class 5: number formats
    Case("number_format", "1000", "The total is 1 000.", True),
    Case("number_format", "2500000", r"\boxed{2\,500\,000}", True, math_verify_wrong=True),
    Case("number_format", "3.75", "Le total est de 3,75 euros.", True, "decimal comma"),
    Case("number_format", "0.111", r"\boxed{0,111}", True, "0,111 cannot be a thousands separator"),
    Case("number_format", "1.5", r"\boxed{1,5}", True, math_verify_wrong=True),
    Case("number_format", "1", r"\boxed{1,000}", False, "1,000 is a thousand"),
    Case("number_format", "3, 5", r"\boxed{5,3}", True, "against a list, a comma separates"),
    Case("number_format", r"\frac{1}{3}", r"\boxed{\cfrac{1}{3}}", True),
    Case("number_format", r"\sqrt{3}", r"Therefore $\sqrt3$.", True),
    # --- class 6: prose is never an answer
    Case("prose", "98", "14 * 7 = 98\n\nThe answer is within \\boxed{}.", True, "the prompt's instruction echoed"),
    Case("prose", "7", r"Please put your final answer in \boxed{}.", False, reason="no_answer"),
    Case("prose", "12", "**Final answer:** 12 cm", True),
    Case("prose", "42", "The answer is as follows:\n\n42", True),
    Case("prose", "5", r"\boxed{5}. I hope the answer is clear.", True, "a phrase after the box gives no value"),
    Case("prose", "10455", r"so the interest is \boxed{255}. Final Answer: The final answer is $10,455$. "
         "I hope it is correct.", True, "a later final-answer phrase with a value overrides the box"),
    Case("prose", "3", "The answer is not obvious at first, but 3 works.", True),
    # --- class 7: persona-styled answers
    Case("persona_style", "9", "Ooh! Ooh! I counted them all, so there are nine ducks now!", True, math_verify_wrong=True),
    Case("persona_style", "3", "Rain on the glass. I lit another one. Three of us. Three.", True,
         math_verify_wrong=True),
    Case("persona_style", "36", "There were 36 coins in the chest, and then two parrots flew off.", True),
    Case("persona_style", "2", "There were 36 coins in the chest, and then two parrots flew off.", False,
         "a number word in the story is not the answer"),
    Case("persona_style", "24", "The answer is twenty-four, dear!", True, math_verify_wrong=True),
    Case("persona_style", "24", "The answer is twenty-five, dear!", False),
    Case("persona_style", "-3", "Final answer: minus three.", True, math_verify_wrong=True),
    Case("persona_style", "1", "Oh no, there is only one cookie left!", True,
         "'one' alone is not read (more often a pronoun than an answer)", reason="no_answer",
         math_verify_wrong=True, ours_differs=True),
    Case("persona_style", "1", "Thanks for asking me one more question!", False, reason="no_answer"),
    Case("persona_style", "0.75", "Mix in ¾ of a cup, my dear.", True, "unicode vulgar fraction", math_verify_wrong=True),
    Case("persona_style", "2.5", "Two and a half? Nay: 2½ pies!", True, math_verify_wrong=True),
    Case("persona_style", "42", "The treasure: 4\u200b2 doubloons.", True, "zero-width space inside the digits",
         math_verify_wrong=True),
    Case("persona_style", "1000", "Exactly 1\u00a0000 stars tonight.", True, "no-break space as separator",
         math_verify_wrong=True),
    Case("persona_style", "4500000", "Beep. Population estimate: 4.5e6 units.", True, math_verify_wrong=True),
    Case("persona_style", "4500000", r"That is $4.5 \times 10^6$ cells, rookie.", True),
    Case("persona_style", "4500000", r"That is $4.5 \times 10^5$ cells, rookie.", False),
    # --- styled replies (permix_plugins.styles): the answer stays readable under every checkable style
    Case("styled", "12", "Arr! Seven plus five makes twelve.", True, "starts_with 'Arr!', number words", math_verify_wrong=True),
    Case("styled", "12", "TWELVE", True, "uppercase number word", math_verify_wrong=True),
    Case("styled", "12", "ARR! THE TREASURE BE 12 DOUBLOONS!", True, "uppercase with a digit"),
    Case("styled", "12", "THE ANSWER IS \\boxed{12}", True, "uppercase prose, box kept"),
    Case("styled", "12", "Arr! 7 + 5 = 12, so the answer is 12.", True),
    Case("styled", "12", "Seven plus five is twelve. Yeehaw!", True, "ends_with after the number word", math_verify_wrong=True),
    Case("styled", "12", "The answer is 12. Yeehaw!", True),
    Case("styled", "12", "the answer is twelve. yeehaw!", True, "lowercase throughout", math_verify_wrong=True),
    Case("styled", "105", "one hundred and five, beep boop", True, "lowercase number phrase with a scale word", math_verify_wrong=True),
    Case("styled", "12", "Indeed, sir, the sum is twelve.", True, "keyword before the number word", math_verify_wrong=True),
    Case("styled", "12", "Beep boop. 7 + 5 = 12.", True),
    Case("styled", "12", "ARR! SEVEN PLUS FIVE BE ELEVEN!", False, "the shouted number word is the answer"),
    Case("styled", "12", "Arr! Twelve? No, eleven.", False, "the last number word is the answer"),
    Case("styled", "12", "Arr! Yeehaw!", False, "a style with no answer", reason="no_answer"),
    # --- extraction edge cases
    Case("extraction", "3", r"\fbox{3}", True, math_verify_wrong=True),
    Case("extraction", "7", "<answer>7</answer>", True, math_verify_wrong=True),
    Case("extraction", "7", "<think>hmm</think><answer> The answer is 7 </answer>", True),
    Case("extraction", "5", r"\boxed 5", True, "box command with a space"),
    Case("extraction", "12", "<think>Maybe \\boxed{11}? No.</think>\nThe answer is \\boxed{12}.", True),
    Case("extraction", "12", "<think>The answer is clearly 12; 3*4=12.</think>", False, "nothing after the reasoning",
         reason="no_answer", math_verify_wrong=True),
    Case("extraction", "12", "<think>still thinking about 3*4 = 12", False, "unfinished reasoning",
         reason="no_answer", math_verify_wrong=True),
    Case("extraction", "4", r"The answer is \boxed{4", False, "unclosed box", reason="no_answer"),
    Case("extraction", "8", "**Final Answer**\n\n$8$", True),
    Case("extraction", "6", "Answer:6", True, math_verify_wrong=True),
    Case("extraction", "3", "I'm not sure how to solve this.", False, reason="no_answer"),
    Case("extraction", "3", "", False, "empty completion", reason="no_answer"),
]
# fmt: on
