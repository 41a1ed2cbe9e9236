"""The fidelity report (`permix_plugins.fidelity.report`): values computed by hand, confidence intervals, JSON,
Markdown, the plot, and the rows it refuses."""

from __future__ import annotations

import re

import numpy as np
import pytest

from permix_plugins.errors import ConfigError
from permix_plugins.fidelity.report import FidelityReport
from permix_plugins.stability import percentile_interval, resample_counts

#              EA          AJ        LH               TC
#   owl        4, 2, 3     5         (fail, fail)      5, 4        tasks: 3, 5, -, 4.5  -> PersonaScore 12.5/3
#   cat        1           -         2                 (fail)      tasks: 1, 2, -      -> PersonaScore 1.5
#   mute       (fail)                                              no valid grade      -> None
ROWS = [
    ("owl", "expected_action", "q1", 4), ("owl", "expected_action", "q2", 2), ("owl", "expected_action", "q3", 3),
    ("owl", "action_justification", "q1", 5),
    ("owl", "linguistic_habits", "q1", None, "ambiguous"), ("owl", "linguistic_habits", "q2", None),
    ("owl", "Toxicity", "q1", 5), {"persona_id": "owl", "task": "toxicity_control", "question_id": "q2", "score": 4},
    ("cat", "expected_action", "q1", 1), ("cat", "linguistic_habits", "q1", 2.0),
    ("cat", "toxicity_control", "q1", None, "out_of_range"),
    ("mute", "persona_consistency", "q1", None, "no_score"),
]  # fmt: skip


@pytest.fixture(scope="module")
def report():
    return FidelityReport.from_grades(ROWS, n_bootstrap=400, seed=7, meta={"model": "m", "judge": "j"})


def test_report_hand_computed_values(report):
    owl, cat, mute = (report.persona(p) for p in ("owl", "cat", "mute"))
    assert [(t.task, t.mean, t.graded, t.failed) for t in owl.tasks] == [
        ("expected_action", 3.0, 3, 0), ("action_justification", 5.0, 1, 0),
        ("linguistic_habits", None, 0, 2), ("toxicity_control", 4.5, 2, 0),
    ]  # fmt: skip
    assert owl.persona_score == pytest.approx(12.5 / 3) and owl.missing_tasks == ("linguistic_habits",)
    assert cat.persona_score == 1.5 and cat.missing_tasks == ("toxicity_control",) and cat.failed == 1
    assert mute.persona_score is None and mute.ci is None and mute.failed == 1
    assert report.persona_score == pytest.approx((12.5 / 3 + 1.5) / 2)  # personas without a score left out
    assert report.task_means == pytest.approx(
        {"expected_action": 2.0, "action_justification": 5.0, "linguistic_habits": 2.0,
         "persona_consistency": None, "toxicity_control": 4.5}
    )  # fmt: skip
    assert report.failures == {"no_score": 2, "ambiguous": 1, "not_integer": 0, "out_of_range": 1}
    assert (report.n_grades, report.n_failed) == (12, 4)
    assert report.persona_ids == ("owl", "cat", "mute")


def test_report_confidence_intervals(report):
    for ci, point in [
        (report.persona_score_ci, report.persona_score),
        *((p.ci, p.persona_score) for p in report.personas[:2]),
    ]:
        assert ci[0] <= point <= ci[1]
    owl = report.persona("owl")
    assert owl.task("action_justification").ci == (5.0, 5.0)  # one question: nothing to resample
    low, high = owl.task("expected_action").ci
    assert 2.0 <= low < 3.0 < high <= 4.0
    # the cell's interval is exactly the percentile interval of its resampled means (seeded per persona/task)
    from permix_plugins.fidelity.questions import stable_seed

    values = np.array([4.0, 2.0, 3.0])
    boots = np.concatenate(
        [c @ values / 3 for c in resample_counts(3, 400, stable_seed(7, "owl", "expected_action"))]
    )
    assert owl.task("expected_action").ci == percentile_interval(boots, 0.95)
    # seeded: same seed, same intervals; a persona's interval does not depend on the other personas
    again = FidelityReport.from_grades(ROWS, n_bootstrap=400, seed=7, meta={"model": "m", "judge": "j"})
    assert again == report
    owl_rows = [r for r in ROWS if (r["persona_id"] if isinstance(r, dict) else r[0]) == "owl"]
    alone = FidelityReport.from_grades(owl_rows, n_bootstrap=400, seed=7)
    assert alone.persona("owl") == owl and alone.persona_score_ci == owl.ci
    other_seed = FidelityReport.from_grades(ROWS, n_bootstrap=400, seed=8)
    assert other_seed.persona("owl").ci != owl.ci


def test_report_json_markdown_and_plot(report, tmp_path):
    assert FidelityReport.from_json(report.to_json()) == report
    path = tmp_path / "fidelity.json"
    path.write_text(report.to_json())
    assert FidelityReport.read(path) == report
    with pytest.raises(ConfigError, match="not a valid fidelity report"):
        FidelityReport.from_dict({"persona_score": 3})
    md = report.to_markdown()
    assert md.startswith("## Persona fidelity: m")
    assert "3 personas x 5 tasks, 12 answers graded by `j`, 4 parse failure(s)" in md
    assert (
        "| Linguistic Habits (LH) | 2.000 |" in md
        and "| Persona Consistency (PC) | n/a | n/a | 0 | 1 |" in md
    )
    assert "| `owl` | 4.167 |" in md and "| 3.00 | 5.00 | n/a | - | 4.50 | 2 |" in md
    assert "| `mute` | n/a | n/a | - | - | - | n/a | - | 1 |" in md
    assert md.index("`owl`") < md.index("`cat`") < md.index("`mute`")  # sorted by PersonaScore, None last
    assert "Parse failures by kind (not scored): no_score 2, ambiguous 1, out_of_range 1." in md
    assert "`owl` (LH); `cat` (TC)" in md and "No valid grade at all" in md and "`mute`" in md
    assert "not PersonaGym's published scores" in md
    png = report.plot(tmp_path / "fidelity.png")
    assert png.stat().st_size > 5000
    empty = FidelityReport.from_grades([("a", "expected_action", "q", None)], n_bootstrap=10)
    assert empty.persona_score is None and empty.plot(tmp_path / "empty.png").stat().st_size > 3000


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([], "the rows are empty"),
        ([("a", "expected_action", "q", 6)], "whole number 1-5 or None, got 6"),
        ([("a", "expected_action", "q", 2.5)], "whole number 1-5"),
        ([("a", "expected_action", "q", True)], "whole number 1-5"),
        ([("a", "expected_action", "q", 3), ("a", "Expected Action", "q", 4)], "graded twice"),
        ([("a", "expected_action", "q", None, "ok")], "needs a failure status"),
        ([("a", "expected_action", "q", 3, "no_score")], "a scored row has status 'ok'"),
        ([("a", "humour", "q", 3)], "unknown fidelity task 'humour'"),
        ([("a", "expected_action", 3)], "use (persona_id, task, question_id, score[, status])"),
        ([{"persona_id": "a", "task": "expected_action", "score": 3}], "has no 'question_id'"),
    ],
)
def test_report_rejects_bad_rows(rows, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        FidelityReport.from_grades(rows, n_bootstrap=10)
