"""The offline lab end to end in a shrunken configuration: every stage runs, every output is written, seeds hold."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("trl")

from permix_plugins.cli import main
from permix_plugins.errors import ConfigError
from permix_plugins.lab import LabConfig, run_lab
from permix_plugins.stability import StabilityReport


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("lab")
    lines: list[str] = []
    result = run_lab(LabConfig.quick(out_dir=str(out)), log=lines.append)
    return result, out, lines


@pytest.mark.slow
def test_every_stage_runs_and_reports(quick_run):
    result, out, lines = quick_run
    assert [line[:5] for line in lines if line.startswith("[")] == ["[1/4]", "[2/4]", "[3/4]", "[4/4]"]
    assert lines[-1].startswith("done in") and "ΔPSS" in lines[-1]
    for name in ("report.md", "summary.json", "lottery.png", "comparison.png"):
        assert (out / name).stat().st_size > 0, name
    for model in ("warm", "rlvr", "permix"):
        assert (out / "models" / model / "config.json").is_file()
        assert StabilityReport.read(out / "eval" / model / "report.json") == result.reports[model]
    assert set(result.lottery.persona_ids) == {
        "number-theorist",
        "geometry-olympiad-coach",
        "statistics-professor",
        "algebra-textbook-author",
        "kindergartener",
        "carpenter",
        "none",
    }
    assert len(result.reports["permix"].personas) == 43  # the 42 held-out personas and none
    assert result.reports["permix"].n_items == 6


@pytest.mark.slow
def test_summary_matches_the_reports(quick_run):
    result, out, _ = quick_run
    summary = json.loads((out / "summary.json").read_text())
    assert summary == json.loads(json.dumps(result.summary))
    for name, report in result.reports.items():
        assert summary["held_out"][name]["pss"] == pytest.approx(report.pss)
        assert summary["held_out"][name]["no_persona"] == pytest.approx(report.accuracy["none"])
    versus = summary["permix_vs_rlvr"]
    assert versus["delta_pss"] == pytest.approx(result.reports["permix"].pss - result.reports["rlvr"].pss)
    none_delta = result.reports["permix"].accuracy["none"] - result.reports["rlvr"].accuracy["none"]
    assert versus["delta_no_persona"] == pytest.approx(none_delta)
    low, high = versus["delta_pss_ci"]
    assert low <= versus["delta_pss"] <= high
    report = (out / "report.md").read_text()
    assert f"{versus['delta_pss']:+.3f}" in report and "| permix |" in report


@pytest.mark.slow
def test_same_seed_same_numbers(quick_run, tmp_path):
    result, _, _ = quick_run
    again = run_lab(LabConfig.quick(out_dir=str(tmp_path)), log=lambda line: None)
    strip = lambda s: {k: v for k, v in s.items() if k not in ("seconds", "config")}
    assert strip(again.summary) == strip(result.summary)


@pytest.mark.slow
def test_cli_runs_the_quick_lab(tmp_path, capsys):
    assert main(["demo", "--quick", "--out", str(tmp_path), "--grpo-steps", "1", "--test-problems", "3"]) == 0
    printed = capsys.readouterr().out
    assert "[4/4] GRPO 'permix'" in printed and "report:" in printed
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["config"]["grpo_steps"] == 1 and summary["held_out"]["warm"]["items"] == 3


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"persona_prob": 0.0}, "persona_prob must be in \\(0, 1\\]"),
        ({"grpo_batch_size": 10, "num_generations": 4}, "multiple of num_generations"),
        ({"sft_steps": 0}, "sft_steps must be at least 1"),
    ],
)
def test_bad_settings_are_named(overrides, message, tmp_path):
    with pytest.raises(ConfigError, match=message):
        run_lab(LabConfig.quick(out_dir=str(tmp_path), **overrides))
