"""The offline lab end to end in a shrunken configuration: every stage runs, every output is written, seeds hold;
several seeds give their across-seed statistics."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("trl")

from permix_plugins.cli import main
from permix_plugins.errors import ConfigError
from permix_plugins.lab import LabConfig, lab_config, run_lab, run_seeds
from permix_plugins.lab.report import spread
from permix_plugins.stability import StabilityReport


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("lab")
    lines: list[str] = []
    result = run_lab(lab_config(quick=True, out_dir=str(out)), log=lines.append)
    return result, out, lines


@pytest.mark.slow
def test_every_stage_runs_and_reports(quick_run):
    result, out, lines = quick_run
    assert [line[:5] for line in lines if line.startswith("[")] == ["[1/4]", "[2/4]", "[3/4]", "[4/4]"]
    assert lines[-1].startswith("done in") and "ΔPSS" in lines[-1]
    for name in ("report.md", "summary.json", "lottery.png", "comparison.png"):
        assert (out / name).stat().st_size > 0, name
    for model in ("start", "rlvr", "permix"):
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
    again = run_lab(lab_config(quick=True, out_dir=str(tmp_path)), log=lambda line: None)

    def strip(s):
        return {k: v for k, v in s.items() if k not in ("seconds", "config")}

    assert strip(again.summary) == strip(result.summary)


@pytest.mark.slow
def test_cli_runs_the_quick_lab(tmp_path, capsys):
    assert main(["demo", "--quick", "--out", str(tmp_path), "--grpo-steps", "1", "--test-problems", "3"]) == 0
    printed = capsys.readouterr().out
    assert "[4/4] GRPO 'permix'" in printed and "report:" in printed
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["config"]["grpo_steps"] == 1 and summary["held_out"]["start"]["items"] == 3


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"persona_prob": 0.0}, "persona_prob=0.0: Input should be greater than 0"),
        ({"grpo_batch_size": 10, "num_generations": 4}, "multiple of num_generations"),
        ({"sft_steps": 0}, "sft_steps must be at least 1 for a model built from scratch"),
        ({"lora_rank": 0}, "lora_rank=0: Input should be greater than or equal to 1"),
    ],
)
def test_bad_settings_are_named(overrides, message):
    with pytest.raises(ConfigError, match=f"^invalid lab settings: .*{message}"):
        lab_config(quick=True, **overrides)


def test_presets_and_overrides():
    real = lab_config(model="smollm2-135m-instruct")
    assert (real.sft_steps, real.lora_rank, real.eval_personas) == (0, 16, 12)
    assert real.instruction == "Reply with only the final number." and not real.from_scratch
    assert lab_config(quick=True, grpo_steps=5, seed=None) == LabConfig(
        **{**lab_config(quick=True).model_dump(), "grpo_steps": 5}
    )
    assert lab_config().from_scratch and lab_config().sft_steps == 1500


def test_spread_over_seeds():
    s = spread([0.2, -0.1, 0.3, 0.1, 0.0])
    assert s["mean"] == pytest.approx(0.1) and (s["min"], s["max"], s["positive"], s["n"]) == (
        -0.1,
        0.3,
        3,
        5,
    )
    # t(0.975, 4 df) = 2.776; sd = 0.158114
    assert s["ci"] == pytest.approx(
        [0.1 - 2.776 * 0.158114 / 5**0.5, 0.1 + 2.776 * 0.158114 / 5**0.5], abs=1e-5
    )


@pytest.mark.slow
def test_several_seeds_give_across_seed_statistics(quick_run, tmp_path, capsys):
    """`--seeds 2` from seed 0 repeats the single run as its first seed and adds seed 1."""
    result, _, _ = quick_run
    assert main(["demo", "--quick", "--seeds", "2", "--out", str(tmp_path)]) == 0
    assert "done: 2 seeds" in capsys.readouterr().out
    summary = json.loads((tmp_path / "summary.json").read_text())
    runs = summary["runs"]
    assert [run["config"]["seed"] for run in runs] == [0, 1]

    def strip(s):
        return {k: v for k, v in s.items() if k not in ("seconds", "config")}

    assert strip(runs[0]) == strip(json.loads(json.dumps(result.summary)))
    deltas = [run["permix_vs_rlvr"]["delta_pss"] for run in runs]
    stats = summary["across_seeds"]["delta_pss"]
    assert stats["mean"] == pytest.approx(sum(deltas) / 2) and (stats["min"], stats["max"]) == (
        min(deltas),
        max(deltas),
    )
    models = summary["across_seeds"]["models"]
    assert models["permix"]["pss"]["max"] == max(run["held_out"]["permix"]["pss"] for run in runs)
    for seed in (0, 1):
        assert (tmp_path / f"seed-{seed}" / "report.md").is_file()
    assert (tmp_path / "seeds.png").stat().st_size > 0
    report = (tmp_path / "report.md").read_text()
    assert f"| ΔPSS | {stats['mean']:+.3f} |" in report and "| 1 |" in report


def test_one_seed_is_not_a_spread(tmp_path):
    with pytest.raises(ValueError, match="at least 2 seeds"):
        run_seeds(lab_config(quick=True, out_dir=str(tmp_path)), 1)


def test_cli_names_a_start_model_it_cannot_find(tmp_path, capsys):
    assert main(["demo", "--model", str(tmp_path / "missing"), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert (
        error.startswith("permix demo: error: model ") and "not a named model (smollm2-135m-instruct" in error
    )
