"""Expressivity in the stability report: per styled persona, the mean over styled personas, and compare()."""

from __future__ import annotations

import json

import pytest

from permix_plugins.errors import ConfigError
from permix_plugins.stability import StabilityReport, compare


def _rows(held: dict[str, list[bool | None]], correct: int = 1) -> list[tuple]:
    """Rows over items q0..qn: each persona's style verdicts (None: an unstyled persona)."""
    return [
        (persona, f"q{i}", bool(correct), False, verdict)
        for persona, verdicts in held.items()
        for i, verdict in enumerate(verdicts)
    ]


def test_expressivity_per_styled_persona_and_null_for_the_others():
    rows = _rows(
        {"none": [None] * 4, "pirate": [True, False, True, True], "cowboy": [True, True, False, False]}
    )
    report = StabilityReport.from_results(rows, n_bootstrap=200)
    assert report.persona("pirate").expressivity == 0.75
    assert report.persona("cowboy").expressivity == 0.5
    assert report.persona("none").expressivity is None
    assert report.persona("none").expressivity_ci is None
    assert report.styled_ids == ("pirate", "cowboy")
    assert report.expressivity == 0.625  # the mean over the styled personas, never over the unstyled ones
    low, high = report.expressivity_ci
    assert 0.25 <= low <= 0.625 <= high <= 1.0
    assert report.accuracy == {"none": 1.0, "pirate": 1.0, "cowboy": 1.0}  # accuracy is untouched


def test_expressivity_is_null_in_json_and_n_a_in_markdown():
    rows = _rows({"none": [None, None], "pirate": [True, False]})
    report = StabilityReport.from_results(rows, n_bootstrap=50)
    data = json.loads(report.to_json())
    lines = {line["persona_id"]: line for line in data["personas"]}
    assert lines["none"]["expressivity"] is None and lines["pirate"]["expressivity"] == 0.5
    assert StabilityReport.from_json(report.to_json()) == report
    markdown = report.to_markdown()
    assert "| expressivity (mean over 1 styled personas, 2 items) | 0.500 |" in markdown
    assert "| `none` | 1.000 | [1.000, 1.000] | 0.000 | 2 | n/a | n/a |" in markdown


def test_rows_without_styles_give_the_report_as_before():
    report = StabilityReport.from_results([("none", "q", 1, False), ("owl", "q", 0, True)], n_bootstrap=10)
    assert report.expressivity is None and report.styled_ids == () and report.style_cells == ()
    assert "style held" not in report.to_markdown()
    old = json.loads(report.to_json())
    for key in ("expressivity", "expressivity_ci", "style_item_ids", "style_cells"):
        old.pop(key)
    for line in old["personas"]:
        line.pop("expressivity"), line.pop("expressivity_ci")
    assert StabilityReport.from_dict(old) == report  # a report.json written before styles still reads


def test_items_without_a_style_verdict_are_left_out_of_expressivity_only():
    # q0 was scored before the persona had a style (a resumed run): its accuracy counts, its style does not
    rows = _rows({"none": [None] * 3, "pirate": [None, False, True]})
    report = StabilityReport.from_results(rows, n_bootstrap=50)
    assert report.n_items == 3
    assert report.style_item_ids == ("q1", "q2")
    assert report.persona("pirate").expressivity == 0.5


def test_samples_of_a_cell_are_averaged_like_accuracy():
    rows = [("pirate", "q0", True, False, held) for held in (True, True, False, True)]
    rows += [("pirate", "q1", True, False, False)]
    report = StabilityReport.from_results(rows, n_bootstrap=20)
    assert report.style_cells == ((0.75,), (0.0,))
    assert report.persona("pirate").expressivity == 0.375


@pytest.mark.parametrize("bad", ["yes", 2, -0.5])
def test_a_bad_style_value_names_the_row(bad):
    with pytest.raises(ConfigError, match="result row 0: style must be"):
        StabilityReport.from_results([{"persona_id": "a", "item_id": "q", "correct": 1, "style": bad}])


def test_compare_gives_delta_expressivity_with_ci_and_p():
    items = 40
    start = _rows(
        {"none": [None] * items, "pirate": [True] * items, "cowboy": [i % 2 == 0 for i in range(items)]}
    )
    eroded = _rows(
        {"none": [None] * items, "pirate": [i % 4 == 0 for i in range(items)], "cowboy": [False] * items}
    )
    a = StabilityReport.from_results(start, n_bootstrap=400, meta={"model": "start"})
    b = StabilityReport.from_results(eroded, n_bootstrap=400, meta={"model": "rlvr"})
    result = compare(a, b)
    assert result.expressivity_a == 0.75 and result.expressivity_b == 0.125
    assert result.delta_expressivity == -0.625
    assert result.delta_expressivity_ci[1] < 0 and result.p_expressivity < 0.01
    assert result.styled_ids == ("pirate", "cowboy") and result.n_style_items == items
    assert result.delta_pss == 0.0  # styles never move accuracy
    assert "| expressivity (2 styled personas, 40 items) | 0.750 | 0.125 | -0.625 |" in result.to_markdown()


def test_compare_without_shared_styled_personas_has_no_expressivity():
    a = StabilityReport.from_results(_rows({"none": [None] * 3, "pirate": [True] * 3}), n_bootstrap=20)
    b = StabilityReport.from_results(_rows({"none": [None] * 3, "pirate": [None] * 3}), n_bootstrap=20)
    result = compare(a, b)
    assert result.delta_expressivity is None and result.p_expressivity is None
    assert "expressivity" not in result.to_markdown()
