from __future__ import annotations

import json
import re
from fractions import Fraction

import pytest
from datasets import Dataset

from permix_plugins.cli import main
from permix_plugins.errors import ConfigError
from permix_plugins.problems import load_problems, normalize_problems, source_kind, synthetic_problems


def _arithmetic(expr: str) -> Fraction:
    """Evaluate a level-1/2 problem's expression (only integers, + - * / and parentheses) without eval()."""
    tokens = re.findall(r"\d+|[()+\-*/]", expr)
    pos = 0

    def atom() -> Fraction:
        nonlocal pos
        tok = tokens[pos]
        pos += 1
        if tok == "(":
            value = add()
            pos += 1  # ")"
            return value
        return Fraction(int(tok))

    def mul() -> Fraction:
        nonlocal pos
        value = atom()
        while pos < len(tokens) and tokens[pos] in "*/":
            op = tokens[pos]
            pos += 1
            value = value * atom() if op == "*" else value / atom()
        return value

    def add() -> Fraction:
        nonlocal pos
        value = mul()
        while pos < len(tokens) and tokens[pos] in "+-":
            op = tokens[pos]
            pos += 1
            value = value + mul() if op == "+" else value - mul()
        return value

    return add()


def test_synthetic_answers_are_exact():
    ds = synthetic_problems(300, split="train", seed=3, levels=[1, 2])
    for row in ds:
        expr = row["problem"].removeprefix("What is ").removeprefix("Compute ").rstrip("?.")
        assert Fraction(row["answer"]) == _arithmetic(expr), row


def test_synthetic_word_problem_answers():
    ds = synthetic_problems(400, split="train", seed=0, levels=[3, 4])
    for row in ds:
        text, answer = row["problem"], Fraction(row["answer"])
        if m := re.match(r"(\w+) has (\d+) \w+\. \w+ gives away (\d+) and then buys (\d+) more", text):
            assert answer == int(m[2]) - int(m[3]) + int(m[4])
        elif m := re.match(r"\w+ has (\d+) \w+ and \w+ has (\d+) more than", text):
            assert answer == 2 * int(m[1]) + int(m[2])
        elif m := re.match(r"There are (\d+) \w+ with (\d+) \w+ in each\. (\d+)/(\d+) of all", text):
            assert answer == Fraction(int(m[1]) * int(m[2]) * int(m[3]), int(m[4]))
        elif m := re.match(r"A jacket costs (\d+) dollars and is discounted by (\d+)%", text):
            assert answer == Fraction(int(m[1]) * (100 - int(m[2])), 100)
        elif m := re.match(r"What is (\d+)/(\d+) \+ (\d+)/(\d+)\?", text):
            assert answer == Fraction(int(m[1]), int(m[2])) + Fraction(int(m[3]), int(m[4]))
        elif m := re.match(
            r"A train travels at (\d+) km per hour for (\d+) hours and then another (\d+) km", text
        ):
            assert answer == int(m[1]) * int(m[2]) + int(m[3])
        else:
            pytest.fail(f"unexpected template: {text}")


def test_synthetic_number_sense_answers():
    ds = synthetic_problems(300, split="train", seed=0, levels=[0])
    for row in ds:
        text, answer = row["problem"], int(row["answer"])
        numbers = [int(n) for n in re.findall(r"\d+", text)]
        if text.startswith("Which is larger"):
            assert answer == max(numbers)
        elif text.startswith("What is the smallest"):
            assert answer == min(numbers) and len(numbers) == 3
        elif "right after" in text:
            assert answer == numbers[0] + 1
        else:
            assert "right before" in text and answer == numbers[0] - 1


def test_synthetic_is_seeded_stable_and_split_disjoint():
    a = synthetic_problems(50, seed=7)
    assert a.to_list() == synthetic_problems(50, seed=7).to_list()
    assert a["problem"] != synthetic_problems(50, seed=8)["problem"]
    # A larger request starts with the smaller one, so ids are stable under `limit`.
    assert synthetic_problems(80, seed=7)["id"][:50] == a["id"]
    train = set(synthetic_problems(2000, split="train", seed=0)["problem"])
    test = set(synthetic_problems(500, split="test", seed=0)["problem"])
    assert len(test) == 500 and not train & test
    levels = synthetic_problems(400, seed=1)["level"]
    assert set(levels) == {1, 2, 3, 4}
    assert len(set(a["id"])) == 50


def test_synthetic_errors():
    with pytest.raises(ConfigError, match="'train' and 'test'"):
        synthetic_problems(5, split="validation")
    with pytest.raises(ConfigError, match="unknown synthetic difficulty levels \\[7\\]"):
        synthetic_problems(5, levels=[1, 7])
    with pytest.raises(ConfigError, match="ask for fewer"):
        synthetic_problems(10**6, levels=[1])


def test_a_hub_source_offline_is_one_error_naming_the_way_out(tmp_path, capsys):
    """The tests run with the Hub offline (conftest): datasets' real failure becomes one line, not a traceback."""
    out = tmp_path / "gsm8k.jsonl"
    assert main(["export", "openrlhf", "--problems", "gsm8k", "--out", str(out)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(
        "permix export openrlhf: error: cannot load 'gsm8k' (openai/gsm8k) from the Hugging Face"
    )
    assert "pass a local copy" in error and "\n" not in error and not out.exists()


def test_gsm8k_loader_on_a_local_file(tmp_path):
    path = tmp_path / "gsm8k_test.jsonl"
    rows = [
        {"question": "Tom has 3 apples and buys 4. How many?", "answer": "3 + 4 = <<3+4=7>>7\n#### 7"},
        {"question": "A farm sells 1200 eggs twice.", "answer": "1200 * 2 = 2400\n#### 2,400"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    ds = load_problems("gsm8k", split="test", data_files=path)
    assert ds["answer"] == ["7", "2,400"]  # the verifier reads thousands separators
    assert ds["id"] == ["gsm8k-test-0", "gsm8k-test-1"]
    assert ds["problem"][0] == rows[0]["question"]
    assert ds["solution"][1] == rows[1]["answer"]  # the worked solution is kept


def test_math500_and_aime_loaders_on_local_parquet(tmp_path):
    math500 = tmp_path / "math500.parquet"
    Dataset.from_list(
        [
            {
                "problem": "Simplify 4/6.",
                "solution": "... so \\boxed{\\frac{2}{3}}",
                "answer": "\\frac{2}{3}",
                "subject": "Algebra",
                "level": 1,
                "unique_id": "test/algebra/1.json",
            },
        ]
    ).to_parquet(math500)
    ds = load_problems("math500", data_files=math500)
    assert (
        ds[0]["id"] == "test/algebra/1.json"
        and ds[0]["answer"] == "\\frac{2}{3}"
        and ds[0]["subject"] == "Algebra"
    )

    aime = tmp_path / "aime.parquet"
    Dataset.from_list(
        [
            {
                "id": 60,
                "problem": "Find x.",
                "solution": "x is \\boxed{204}.",
                "answer": "204",
                "url": "u",
                "year": "2024",
            }
        ]
    ).to_parquet(aime)
    ds = load_problems("aime24", data_files=aime, limit=5)
    assert ds[0]["id"] == "60" and ds[0]["answer"] == "204"


def test_generic_file_column_detection_and_naming(tmp_path):
    path = tmp_path / "mine.jsonl"
    path.write_text(json.dumps({"prompt": "2+2?", "solution": "We add. \\boxed{4}"}) + "\n")
    ds = load_problems(path)
    assert ds[0] == {"id": "mine-0", "problem": "2+2?", "answer": "4", "solution": "We add. \\boxed{4}"}

    named = tmp_path / "named.jsonl"
    named.write_text(json.dumps({"q": "3+3?", "gold": "6", "key": "k1"}) + "\n")
    ds = load_problems(named, problem_column="q", answer_column="gold", id_column="key")
    assert (ds[0]["id"], ds[0]["problem"], ds[0]["answer"]) == ("k1", "3+3?", "6")


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("synthetic", "synthetic"),
        ("math500", "hub"),
        ("aime24", "hub"),
        ("runs/problems.JSONL", "file"),  # suffixes in any case
        ("problems.parquet", "file"),
        ("gsm8k.csv", "file"),  # a file named like a benchmark is a file
    ],
)
def test_source_kind(source, kind):
    assert source_kind(source) == kind


def test_problem_source_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown problem source 'data\.txt': use 'synthetic', one of \["):
        source_kind("data.txt")
    with pytest.raises(ConfigError, match="unknown problem source 'mnist'"):
        load_problems("mnist")
    with pytest.raises(ConfigError, match="does not exist"):
        load_problems(tmp_path / "missing.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"text": "x", "gold": "1"}) + "\n")
    with pytest.raises(
        ConfigError, match=r"no problem column found .*looked for \['problem', 'question', 'prompt'\]"
    ):
        load_problems(bad)
    with pytest.raises(ConfigError, match="answer column 'nope' is not in"):
        normalize_problems([{"problem": "x", "answer": "1"}], answer_column="nope")
    with pytest.raises(ConfigError, match="not unique"):
        normalize_problems(
            [{"id": 1, "problem": "x", "answer": "1"}, {"id": 1, "problem": "y", "answer": "2"}]
        )
    with pytest.raises(ConfigError, match="empty"):
        normalize_problems([])
