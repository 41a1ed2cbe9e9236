"""The stability report: hand-computed values, bootstrap behaviour, paired comparison, JSON/markdown/PNG."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from permix_plugins.errors import ConfigError, MissingDependencyError
from permix_plugins.stability import (
    PSS_DEFINITION,
    Comparison,
    StabilityReport,
    best_of_k,
    compare,
    mean_delta_pss,
)

# Four paired items under three personas; q4 has two samples under `b` (one right, one without an answer).
#            q1  q2  q3  q4          acc
#   none      1   1   0   1          3/4
#   a         1   0   0   1          2/4   (q3: no answer)
#   b         1   0   0   1,0        1.5/4
# q5 has an unparseable gold (None) and q6 was only scored under `none`: both are left out.
ROWS = [
    ("none", "q1", True), ("none", "q2", True), ("none", "q3", False), ("none", "q4", True),
    ("a", "q1", True), ("a", "q2", False), ("a", "q3", False, True), ("a", "q4", True),
    {"persona_id": "b", "item_id": "q1", "correct": 1}, {"persona_id": "b", "item_id": "q2", "correct": 0},
    {"persona_id": "b", "item_id": "q3", "correct": 0},
    {"persona_id": "b", "item_id": "q4", "correct": 1},
    {"persona_id": "b", "item_id": "q4", "correct": 0, "no_answer": True},
    ("none", "q5", None), ("a", "q5", None), ("b", "q5", None),
    ("none", "q6", True),
]  # fmt: skip


@pytest.fixture(scope="module")
def report() -> StabilityReport:
    return StabilityReport.from_results(ROWS, n_bootstrap=500, seed=3, meta={"model": "hand"})


def test_hand_computed_values(report):
    acc = {"none": 0.75, "a": 0.5, "b": 0.375}
    assert report.accuracy == acc
    mean = (0.75 + 0.5 + 0.375) / 3  # 0.541667
    std = math.sqrt(sum((v - mean) ** 2 for v in acc.values()) / 3)  # population std: 0.155902
    assert report.mean == pytest.approx(mean) and report.std == pytest.approx(std)
    assert report.pss == pytest.approx(mean - std) == pytest.approx(0.385765, abs=1e-6)
    assert (report.worst, report.worst_persona, report.best, report.best_persona) == (
        0.375,
        "b",
        0.75,
        "none",
    )
    assert report.range == 0.375
    assert report.gap_to_none == -0.375  # min(0.5, 0.375) - 0.75
    # q1 all right, q3 all wrong; q2 disagrees; q4 has a fractional cell (0.5), never unanimous
    assert (report.unanimity, report.all_correct, report.all_wrong) == (0.5, 0.25, 0.25)
    # per item, sorted cells: q1 [1,1,1], q2 [0,0,1], q3 [0,0,0], q4 [.5,1,1]
    # k=1: (1 + 1/3 + 0 + 5/6)/4 = 13/24 (= mean); k=2: (1 + 2/3 + 0 + 1)/4 = 2/3; k=3 (oracle): 3/4
    assert report.best_of_k == pytest.approx((13 / 24, 2 / 3, 0.75))
    assert report.best_of_k[0] == pytest.approx(report.mean)
    assert [p.no_answer_rate for p in report.personas] == [0.0, 0.25, 0.125]
    assert [p.samples for p in report.personas] == [4, 4, 5]
    assert (report.n_items, report.n_bad_gold, report.n_incomplete) == (4, 1, 1)
    assert report.item_ids == ("q1", "q2", "q3", "q4")
    assert report.cells[3] == (1.0, 1.0, 0.5)


def test_gap_to_none_is_none_without_the_none_persona():
    report = StabilityReport.from_results([("a", "q", 1), ("b", "q", 0)], n_bootstrap=10)
    assert report.gap_to_none is None
    assert report.pss == 0.0 and report.std == 0.5


def test_best_of_k_matches_brute_force_over_subsets():
    import itertools

    cells = np.random.default_rng(0).random((30, 6)).round(1)
    expected = [
        np.mean([[max(row[list(subset)]) for subset in itertools.combinations(range(6), k)] for row in cells])
        for k in range(1, 7)
    ]
    assert best_of_k(cells) == pytest.approx(expected)


def _random_rows(n_items=120, personas=8, seed=0, base=0.6, spread=0.3):
    rng = np.random.default_rng(seed)
    difficulty = rng.random(n_items)
    return [
        (
            f"p{p}",
            f"q{i}",
            bool(rng.random() < base * (1 - spread * p / personas) + 0.3 * (difficulty[i] - 0.5)),
        )
        for p in range(personas)
        for i in range(n_items)
    ]


def test_bootstrap_is_seeded_and_contains_the_point_estimate():
    rows = _random_rows()
    one = StabilityReport.from_results(rows, n_bootstrap=400, seed=7)
    assert StabilityReport.from_results(rows, n_bootstrap=400, seed=7) == one
    other = StabilityReport.from_results(rows, n_bootstrap=400, seed=8)
    assert other.pss_ci != one.pss_ci and other.pss == one.pss
    for value, (low, high) in [(one.pss, one.pss_ci), (one.mean, one.mean_ci)]:
        assert low < value < high
        assert high - low < 0.2
    for line in one.personas:
        assert line.ci[0] <= line.accuracy <= line.ci[1]


def test_large_table_matches_the_formula():
    # The speed of large reports is measured by benchmarks/bench_report.py; here, their values.
    rows = _random_rows(n_items=500, personas=40)
    report = StabilityReport.from_results(rows, n_bootstrap=1000)
    accuracy = np.array([np.mean([c for p, _, c in rows if p == f"p{k}"]) for k in range(40)])
    assert report.accuracy == pytest.approx({f"p{k}": a for k, a in enumerate(accuracy)})
    assert report.pss == pytest.approx(accuracy.mean() - accuracy.std())
    assert report.pss_ci[0] <= report.pss <= report.pss_ci[1]


def test_compare_clearly_better_model():
    worse = StabilityReport.from_results(_random_rows(seed=1, base=0.5, spread=0.8), n_bootstrap=500)
    better = StabilityReport.from_results(_random_rows(seed=2, base=0.9, spread=0.05), n_bootstrap=500)
    result = compare(worse, better, labels=("rlvr", "permix"))
    assert result.delta_pss == pytest.approx(better.pss - worse.pss) and result.delta_pss > 0.2
    assert result.delta_pss_ci[0] > 0 and result.delta_mean_ci[0] > 0
    assert result.p_pss == pytest.approx(2 / 501) and result.p_pss < 0.01
    reverse = compare(better, worse)
    assert reverse.delta_pss == pytest.approx(-result.delta_pss) and reverse.delta_pss_ci[1] < 0
    assert "| PSS |" in result.to_markdown() and "permix − rlvr" in result.to_markdown()


def test_compare_identical_inputs():
    report = StabilityReport.from_results(_random_rows(), n_bootstrap=300)
    result = compare(report, StabilityReport.from_json(report.to_json()))
    assert (result.delta_pss, result.delta_mean) == (0.0, 0.0)
    assert result.delta_pss_ci == (0.0, 0.0) and result.p_pss == 1.0 and result.p_mean == 1.0
    assert Comparison.from_json(result.to_json()) == result


def test_compare_pairs_shared_items_and_personas_only():
    a = StabilityReport.from_results(
        [(p, f"q{i}", i % 2 == 0) for p in "xyz" for i in range(10)], n_bootstrap=50
    )
    b = StabilityReport.from_results(
        [(p, f"q{i}", True) for p in "yzw" for i in range(5, 15)], n_bootstrap=50
    )
    result = compare(a, b)
    assert result.n_items == 5 and result.persona_ids == ("y", "z")
    assert result.mean_a == pytest.approx(2 / 5) and result.mean_b == 1.0  # a on q5..q9: q6, q8 right
    with pytest.raises(ConfigError, match="share 0 item"):
        compare(a, StabilityReport.from_results([("x", "other", 1)], n_bootstrap=10))


def test_mean_delta_pss_resamples_the_shared_items_once_for_every_pair():
    worse_rows, better_rows = (
        _random_rows(seed=1, base=0.5, spread=0.8),
        _random_rows(seed=2, base=0.9, spread=0.05),
    )
    worse, better = StabilityReport.from_results(worse_rows), StabilityReport.from_results(better_rows)
    alone = compare(worse, better, n_bootstrap=500, seed=3)
    one = mean_delta_pss([(worse, better)], n_bootstrap=500, seed=3)
    assert (one["delta_pss"], one["ci"], one["p"], one["items"]) == (
        alone.delta_pss,
        list(alone.delta_pss_ci),
        alone.p_pss,
        120,
    )
    # items are matched by id, not position: the same reports with their items read in reverse give the same answer
    reversed_pair = (
        StabilityReport.from_results(worse_rows[::-1]),
        StabilityReport.from_results(better_rows[::-1]),
    )
    assert reversed_pair[0].item_ids != worse.item_ids
    twice = mean_delta_pss([(worse, better), reversed_pair], n_bootstrap=500, seed=3)
    assert twice["ci"] == pytest.approx(one["ci"]) and twice["pairs"] == 2
    # the mean of the pairs' Δs, the second pair reversed: (Δ + (−Δ)) / 2
    opposite = mean_delta_pss([(worse, better), (better, worse)], n_bootstrap=500, seed=3)
    assert opposite["delta_pss"] == pytest.approx(0.0, abs=1e-12) and opposite["ci"] == pytest.approx(
        [0.0, 0.0]
    )
    with pytest.raises(ConfigError, match="share no item"):
        mean_delta_pss([(worse, better), (StabilityReport.from_results([("p0", "other", 1)]),) * 2])


def test_json_round_trip_markdown_and_plot(report, tmp_path):
    text = report.to_json()
    assert StabilityReport.from_json(text) == report
    assert report.definition == PSS_DEFINITION and "permix-plugins' definition" in text
    markdown = report.to_markdown()
    assert "| PSS (mean − std) | 0.386 |" in markdown
    assert "| `none` | 0.750 |" in markdown and "permix-plugins' definition" in markdown
    assert "| best-of-k | 0.542 | 0.667 | 0.750 |" in markdown
    assert "Left out: 1 item(s) whose gold answer cannot be parsed, 1 item(s)" in markdown
    png = report.plot(tmp_path / "sub" / "stability.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


def test_plot_without_matplotlib_names_the_extra(report, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'permix-plugins\[plot\]'"):
        report.plot(tmp_path / "x.png")


def test_bad_json_is_a_config_error():
    with pytest.raises(ConfigError, match="not valid JSON"):
        StabilityReport.from_json("{")
    with pytest.raises(ConfigError, match="pss"):
        StabilityReport.from_json('{"pss": "high"}')


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([], "rows are empty"),
        ([("a", "q")], r"use \(persona_id, item_id, correct\)"),
        ([("a", "q", 2)], r"must be in \[0, 1\]"),
        ([("a", "q", "yes")], "must be a bool"),
        ([{"persona_id": "a", "correct": 1}], "has no 'item_id'"),
        ([("a", "q1", 1), ("b", "q2", 1)], "no item was scored under every persona"),
    ],
)
def test_bad_rows_raise_config_errors(rows, message):
    with pytest.raises(ConfigError, match=message):
        StabilityReport.from_results(rows, n_bootstrap=10)


def test_bad_bootstrap_options():
    with pytest.raises(ConfigError, match="n_bootstrap must be a positive integer"):
        StabilityReport.from_results([("a", "q", 1)], n_bootstrap=0)
    with pytest.raises(ConfigError, match="confidence must be between 0 and 1"):
        StabilityReport.from_results([("a", "q", 1)], confidence=95)
