"""The offline lab end to end in a shrunken configuration: every stage and output, resuming from disk, seeds."""

from __future__ import annotations

import json
import shutil
from collections import Counter

import pytest

pytest.importorskip("trl")

from permix_plugins._reporting import fmt_ci
from permix_plugins.cli import main
from permix_plugins.errors import ConfigError
from permix_plugins.lab import LabConfig, lab_config, run_lab, run_seeds
from permix_plugins.lab.report import minimal_detectable
from permix_plugins.lab.run import PRIMARY, held_out_ids, read_run_records, styled_personas
from permix_plugins.lab.seeds import spread
from permix_plugins.personas import PersonaPool
from permix_plugins.stability import StabilityReport

MODELS = ("start", "rlvr", "permix", "control")


def _numbers(summary: dict) -> dict:
    """A summary without what a rerun may change: wall times, and the config (it names the directories)."""
    return {k: v for k, v in json.loads(json.dumps(summary)).items() if k not in ("seconds", "config")}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("lab")
    lines: list[str] = []
    result = run_lab(lab_config(quick=True, out_dir=str(out)), log=lines.append)
    return result, out, lines


@pytest.mark.slow
def test_every_stage_runs_and_writes_its_outputs(quick_run):
    result, out, lines = quick_run
    assert [line[:5] for line in lines if line.startswith("[")] == [
        "[1/5]",
        "[2/5]",
        "[3/5]",
        "[4/5]",
        "[5/5]",
    ]
    assert lines[-1].startswith("done in") and "ΔPSS (permix − rlvr)" in lines[-1]
    for name in ("report.md", "summary.json", "lottery.png", "comparison.png", "records.jsonl.gz"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "start" / "model" / "config.json").is_file() and (
        out / "start" / "lab-start.json"
    ).is_file()
    for arm in MODELS[1:]:
        assert (out / "models" / arm / "lab-arm.json").is_file()
        assert StabilityReport.read(out / "eval" / arm / "held_out" / "report.json").n_items == 4
    config = lab_config(quick=True)
    assert held_out_ids(config) == ("topologist", "plumber", "none")
    assert set(result.models) == set(MODELS)
    assert result.models["permix"].held_out.persona_ids == held_out_ids(config)
    styled = result.models["permix"].styled
    assert set(styled) == {"styled", "styled_eval"}
    assert styled["styled_eval"].persona_ids == PersonaPool.builtin("styled_eval").ids
    assert all(p.expressivity is not None for report in styled.values() for p in report.personas)
    records = read_run_records(out)
    assert records == [record for measured in result.models.values() for record in measured.records]
    assert Counter(record.model for record in records) == dict.fromkeys(
        MODELS, 4 * (len(held_out_ids(config)) + len(styled_personas(config)))
    )


@pytest.mark.slow
def test_the_summary_is_the_reports(quick_run):
    result, out, _ = quick_run
    summary = json.loads((out / "summary.json").read_text())
    assert summary == json.loads(json.dumps(result.summary))
    for name, measured in result.models.items():
        brief = summary["models"][name]
        assert brief["pss"] == pytest.approx(measured.held_out.pss)
        assert brief["no_persona"] == pytest.approx(measured.held_out.accuracy["none"])
        assert brief["styled"]["styled_eval"]["expressivity"] == measured.styled["styled_eval"].expressivity
        assert sum(brief["by_kind"].values()) >= 0 and set(brief["by_kind"]) <= {
            "larger",
            "smallest",
            "after",
            "before",
        }
    assert list(summary["comparisons"]) == [
        "permix_vs_rlvr", "permix_vs_control", "rlvr_vs_start", "permix_vs_start", "control_vs_start"
    ]  # fmt: skip
    primary = summary["comparisons"]["permix_vs_rlvr"]
    assert PRIMARY == ("permix", "rlvr")
    pss = {name: result.models[name].held_out.pss for name in ("permix", "rlvr")}
    assert primary["delta_pss"] == pytest.approx(pss["permix"] - pss["rlvr"])
    low, high = primary["delta_pss_ci"]
    assert low <= primary["delta_pss"] <= high
    assert summary["design"]["minimal_detectable_delta_pss"] == pytest.approx(minimal_detectable([low, high]))
    assert summary["design"]["training_personas_seen"]["rlvr"] == 0
    assert 0 < summary["design"]["training_personas_seen"]["permix"] <= summary["design"]["training_personas"]
    report = (out / "report.md").read_text()
    assert f"ΔPSS (PerMix − RLVR) = **{primary['delta_pss']:+.3f}**" in report
    assert "| control − start |" in report and "test-item noise only" in report


@pytest.mark.slow
def test_a_rerun_resumes_everything_from_disk(quick_run, capsys):
    """The CLI on a finished run's directory: nothing is trained or generated again, the numbers are the same."""
    result, out, _ = quick_run
    before = {arm: (out / "eval" / arm / "held_out" / "results.jsonl").read_bytes() for arm in MODELS[1:]}
    assert main(["demo", "--quick", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.count("loaded from") == 4  # the start model and the three arms
    assert "step " not in printed  # no GRPO step ran
    assert {
        arm: (out / "eval" / arm / "held_out" / "results.jsonl").read_bytes() for arm in MODELS[1:]
    } == before
    assert _numbers(json.loads((out / "summary.json").read_text())) == _numbers(result.summary)


@pytest.mark.slow
def test_a_stopped_run_trains_only_what_is_missing(quick_run, tmp_path):
    result, out, _ = quick_run
    shutil.copytree(out, tmp_path / "run")
    shutil.rmtree(tmp_path / "run" / "models" / "control")
    shutil.rmtree(tmp_path / "run" / "eval" / "control")
    lines: list[str] = []
    again = run_lab(lab_config(quick=True, out_dir=str(tmp_path / "run")), log=lines.append)
    assert sum("loaded from" in line for line in lines) == 3 and any(
        "GRPO 'control'" in line for line in lines
    )
    assert _numbers(again.summary) == _numbers(result.summary)  # the control retrained from the same start


@pytest.mark.slow
def test_a_start_model_made_with_other_settings_is_not_overwritten(quick_run, tmp_path):
    _, out, _ = quick_run
    shutil.copytree(out / "start", tmp_path / "start")
    config = lab_config(
        quick=True, out_dir=str(tmp_path / "run"), start_dir=str(tmp_path / "start"), sft_steps=3
    )
    with pytest.raises(ConfigError, match=r"holds a start model made with other settings \(sft_steps\)"):
        run_lab(config, log=lambda line: None)


@pytest.mark.slow
def test_several_seeds_give_across_seed_statistics_and_resume(quick_run, tmp_path, capsys):
    """`--seeds 2` from seed 0 repeats the single run as its first seed (same numbers) and adds seed 1."""
    result, _, _ = quick_run
    assert main(["demo", "--quick", "--seeds", "2", "--out", str(tmp_path)]) == 0
    assert "done: 2 seeds" in capsys.readouterr().out
    summary = json.loads((tmp_path / "summary.json").read_text())
    runs = summary["runs"]
    assert [run["config"]["seed"] for run in runs] == [0, 1]
    assert _numbers(runs[0]) == _numbers(result.summary)
    deltas = [run["comparisons"]["permix_vs_rlvr"]["delta_pss"] for run in runs]
    stats = summary["across_seeds"]["comparisons"]["permix_vs_rlvr"]["delta_pss"]
    assert stats["mean"] == pytest.approx(sum(deltas) / 2) and (stats["min"], stats["max"]) == (
        min(deltas),
        max(deltas),
    )
    assert "delta_expressivity/styled_eval" in summary["across_seeds"]["comparisons"]["permix_vs_control"]
    models = summary["across_seeds"]["models"]
    assert models["control"]["pss"]["max"] == max(run["models"]["control"]["pss"] for run in runs)
    assert (tmp_path / "seeds.png").stat().st_size > 0 and (tmp_path / "seed-1" / "report.md").is_file()
    over_items = summary["primary_over_test_items"]  # the same mean, resampling the shared test problems
    assert over_items["delta_pss"] == pytest.approx(stats["mean"])
    assert (over_items["pairs"], over_items["items"]) == (2, 4)
    report = (tmp_path / "report.md").read_text()
    assert f"ΔPSS (PerMix − RLVR), mean over 2 seeds: **{stats['mean']:+.3f}**" in report
    interval = fmt_ci(over_items["ci"], signed=True)
    assert f"paired bootstrap over the 4 test problems (one resample for every seed): {interval}" in report
    assert main(["demo", "--quick", "--seeds", "2", "--out", str(tmp_path)]) == 0  # a rerun keeps both seeds
    assert capsys.readouterr().out.count(": kept (") == 2


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"persona_prob": 0.0}, "persona_prob=0.0: Input should be greater than 0"),
        ({"grpo_batch_size": 10, "num_generations": 4}, "multiple of num_generations"),
        ({"sft_steps": 0}, "sft_steps must be at least 1 for a model built from scratch"),
        ({"lora_rank": 0}, "lora_rank=0: Input should be greater than or equal to 1"),
        ({"control": "gibberish"}, "control='gibberish': Input should be 'shuffled' or 'none'"),
    ],
)
def test_bad_settings_are_named(overrides, message):
    with pytest.raises(ConfigError, match=f"^invalid lab settings: .*{message}"):
        lab_config(quick=True, **overrides)


def test_presets_plan_the_real_model_study_in_advance():
    real = lab_config(model="smollm2-135m-instruct")
    assert (real.test_problems, real.test_seed, real.shared_start, real.lora_rank) == (200, 0, True, 16)
    assert len(real.eval_personas) == 8 and set(real.eval_personas) <= set(PersonaPool.builtin("eval").ids)
    assert len(real.train_personas) == 24 and set(real.train_personas) <= set(
        PersonaPool.builtin("train").ids
    )
    assert real.grpo_batch_size // real.num_generations == 8  # eight distinct prompts per step
    assert real.styled_pools == ("styled_eval",) and real.control_unit == "words" and real.sft_steps > 0
    assert real.styled_problems == 100  # expressivity needs fewer problems than the primary PSS
    assert lab_config().arms == ("rlvr", "permix", "control") and lab_config(control="none").arms == (
        "rlvr",
        "permix",
    )
    assert lab_config(quick=True, grpo_steps=5, seed=None) == LabConfig(
        **{**lab_config(quick=True).model_dump(), "grpo_steps": 5}
    )
    assert lab_config().from_scratch and lab_config().start_seed == lab_config(seed=3).start_seed - 3
    assert real.start_seed == lab_config(model="smollm2-135m-instruct", seed=3).start_seed  # shared by seeds


def test_spread_over_seeds_and_minimal_detectable_effects():
    s = spread([0.2, -0.1, 0.3, 0.1, 0.0])
    assert s["mean"] == pytest.approx(0.1) and (s["min"], s["max"], s["positive"], s["n"]) == (
        -0.1,
        0.3,
        3,
        5,
    )
    sd = 0.158114  # t(0.975, 4 df) = 2.776, t(0.80, 4 df) = 0.941
    assert s["ci"] == pytest.approx([0.1 - 2.776 * sd / 5**0.5, 0.1 + 2.776 * sd / 5**0.5], abs=1e-5)
    assert s["minimal_detectable"] == pytest.approx((2.776 + 0.941) * sd / 5**0.5, abs=1e-5)
    assert minimal_detectable([0.0, 0.0392]) == pytest.approx(2.8016 * 0.01, abs=1e-4)  # SE = width / 3.92


def test_one_seed_is_not_a_spread(tmp_path):
    with pytest.raises(ValueError, match="at least 2 seeds"):
        run_seeds(lab_config(quick=True, out_dir=str(tmp_path)), 1)


def test_cli_names_a_start_model_it_cannot_find(tmp_path, capsys):
    assert main(["demo", "--model", str(tmp_path / "missing"), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert (
        error.startswith("permix demo: error: model ") and "not a named model (smollm2-135m-instruct" in error
    )
