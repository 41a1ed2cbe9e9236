r"""Golden verdicts for `MathVerifier` — written for this project; `truth` is the mathematically right verdict.

Fields of a `Case`:
    truth               True / False, or None when the gold itself has no answer (scored ``bad_gold``).
    reason              the reason code expected when it matters (``no_answer``, ``bad_gold``).
    math_verify_wrong   raw math-verify 0.9.0 gives the other verdict: ``verify(parse(gold), parse(completion))`` with
                        default configs, a bare gold string wrapped in ``$…$``. Re-derived by
                        ``tests/test_verifier.py::test_math_verify_wrong_flags``.
    ours_differs        a documented limitation: MathVerifier returns ``not truth`` on purpose (see the note).

Project decisions the table pins down:
    * exact numbers: ``\frac{1}{2^{99}} != \frac{1}{2^{98}}``, ``0.333333 != 1/3`` (no float tolerance);
    * percent: ``p%`` equals ``p/100`` and the bare ``p`` (sign dropped, as GSM8K golds do); ``4% != 0.4``;
    * boxes chained by "or" / "and" / "," are one answer (a hedge does not match a single gold);
    * a botched (unclosed) box or an unclosed ``<think>`` is no answer; number words ("nine") are not read.
"""

from __future__ import annotations

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
        return f"{self.category}-{abs(hash((repr(self.gold), self.completion))) % 10**6:06d}"


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
