"""The results file of an evaluation (`permix_plugins.evaluation.results`): resume, refusing results of other
settings, the settings file beside the records, reading and round-tripping records."""

from __future__ import annotations

import json
import re

import pytest
from scripted_eval import POOL, PROBLEMS, ScriptedBackend

from permix_plugins.errors import ConfigError
from permix_plugins.evaluation import EvalRecord, evaluate, read_results


def test_resume_skips_done_work_and_survives_a_truncated_last_line(tmp_path):
    results = tmp_path / "run" / "results.jsonl"
    first = evaluate(
        ScriptedBackend(),
        PROBLEMS,
        POOL,
        samples=2,
        temperature=1.0,
        results=results,
        progress=False,
        n_bootstrap=50,
    )
    assert len(read_results(results)) == 32

    again = ScriptedBackend()
    second = evaluate(
        again, PROBLEMS, POOL, samples=2, temperature=1.0, results=results, progress=False, n_bootstrap=50
    )
    assert again.calls == [] and second.records == first.records and second.report == first.report

    lines = results.read_text().splitlines(keepends=True)
    results.write_text("".join(lines[:10]) + lines[10][:25])  # a crash while writing line 11
    resumed = ScriptedBackend()
    third = evaluate(
        resumed, PROBLEMS, POOL, samples=2, temperature=1.0, results=results, progress=False, n_bootstrap=50
    )
    assert resumed.generated == 22
    on_disk = [json.loads(line) for line in results.read_text().splitlines()]
    assert len(on_disk) == 32 and len({(r["item_id"], r["persona_id"], r["sample"]) for r in on_disk}) == 32
    assert third.report == first.report


def test_resume_with_a_partly_sampled_item(tmp_path):
    results = tmp_path / "results.jsonl"
    evaluate(
        ScriptedBackend(),
        PROBLEMS,
        POOL,
        samples=2,
        temperature=1.0,
        results=results,
        progress=False,
        n_bootstrap=10,
    )
    kept = [
        line for line in results.read_text().splitlines() if '"sample": 1' not in line or '"q2"' not in line
    ]
    results.write_text("\n".join(kept) + "\n")
    backend = ScriptedBackend()
    records, _ = evaluate(
        backend, PROBLEMS, POOL, samples=2, temperature=1.0, results=results, progress=False, n_bootstrap=10
    )
    assert [(c["n"], len(c["prompts"])) for c in backend.calls] == [
        (1, 1)
    ] * 4  # only q2's sample 1, per persona
    assert len(records) == 32


def test_resume_refuses_results_of_other_settings(tmp_path):
    results = tmp_path / "results.jsonl"
    evaluate(
        ScriptedBackend(),
        PROBLEMS[:1],
        POOL,
        temperature=1.0,
        results=results,
        progress=False,
        n_bootstrap=10,
    )
    with pytest.raises(ConfigError, match=r"temperature=1\.0, but this run uses temperature=0\.5"):
        evaluate(ScriptedBackend(), PROBLEMS[:1], POOL, temperature=0.5, results=results, progress=False)
    with pytest.raises(ConfigError, match="model='scripted'"):
        evaluate(
            ScriptedBackend("other"), PROBLEMS[:1], POOL, temperature=1.0, results=results, progress=False
        )


BASE_RUN = {"samples": 2, "temperature": 1.0, "max_new_tokens": 32, "seed": 0, "placement": "system"}


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"placement": "user_prefix"}, "placement='system'"),
        ({"instruction": None}, "instruction='Please reason step by step"),
        ({"seed": 1}, "seed=0"),
        ({"samples": 3}, "samples=2"),
        ({"temperature": 0.7}, "temperature=1.0"),
        ({"max_new_tokens": 16}, "max_new_tokens=32"),
        ({"problems": PROBLEMS[:3]}, "problems='2 problems, sha256 "),
        ({"personas": POOL.without("mute")}, "personas='students: 4 personas, sha256 "),
    ],
)
def test_resume_refuses_any_change_of_the_settings_that_shape_a_record(tmp_path, change, named):
    results = tmp_path / "results.jsonl"
    evaluate(
        ScriptedBackend(), PROBLEMS[:2], POOL, results=results, progress=False, n_bootstrap=10, **BASE_RUN
    )
    before = results.read_bytes()
    run = {"problems": PROBLEMS[:2], "personas": POOL, **BASE_RUN, **change}
    backend = ScriptedBackend()
    with pytest.raises(ConfigError, match=re.escape(named)) as refused:
        evaluate(backend, run.pop("problems"), run.pop("personas"), results=results, progress=False, **run)
    message = str(refused.value)
    assert message.startswith(f"{results} holds results made with ") and ", but this run uses " in message
    assert "write to another --out directory (or delete results.jsonl and results.settings.json" in message
    assert backend.calls == [] and results.read_bytes() == before  # nothing generated, nothing appended


def test_a_rerun_with_user_prefix_does_not_append_a_second_prompt_format(tmp_path):
    """The reported bug: a rerun with another placement (and more problems) added its lines to the same file."""
    results = tmp_path / "results.jsonl"
    evaluate(ScriptedBackend(), PROBLEMS[:2], POOL, results=results, progress=False, n_bootstrap=10)
    with pytest.raises(ConfigError, match=r"placement='system', .*placement='user_prefix'"):
        evaluate(ScriptedBackend(), PROBLEMS, POOL, placement="user_prefix", results=results, progress=False)
    assert {r.placement for r in read_results(results)} == {"none", "system"} and len(
        read_results(results)
    ) == 8


def test_the_settings_file_belongs_to_the_records(tmp_path):
    results = tmp_path / "results.jsonl"
    evaluate(ScriptedBackend(), PROBLEMS[:1], POOL, results=results, progress=False, n_bootstrap=10)
    saved = json.loads((tmp_path / "results.settings.json").read_text())["settings"]
    assert saved["placement"] == "system" and saved["model"] == "scripted" and saved["samples"] == 1
    assert saved["instruction"].startswith("Please reason") and saved["personas"].startswith("students: 4")

    results.unlink()  # no records left: a new run may use new settings (the lab starts each run afresh)
    evaluate(ScriptedBackend(), PROBLEMS[:1], POOL, seed=7, results=results, progress=False, n_bootstrap=10)
    assert json.loads((tmp_path / "results.settings.json").read_text())["settings"]["seed"] == 7

    (tmp_path / "results.settings.json").unlink()  # records whose settings are unknown are not resumed
    with pytest.raises(ConfigError, match=r"but no results\.settings\.json saying which settings made them"):
        evaluate(ScriptedBackend(), PROBLEMS[:1], POOL, seed=7, results=results, progress=False)


def test_reading_results_builds_one_validator_for_all_lines(tmp_path, monkeypatch):
    import pydantic

    from permix_plugins._reporting import type_adapter

    results = tmp_path / "results.jsonl"
    evaluate(
        ScriptedBackend(),
        PROBLEMS,
        POOL,
        samples=3,
        temperature=1.0,
        results=results,
        progress=False,
        n_bootstrap=10,
    )
    built = []

    class Counting(pydantic.TypeAdapter):
        def __init__(self, *args, **kwargs):
            built.append(args[0])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(pydantic, "TypeAdapter", Counting)
    type_adapter.cache_clear()
    try:
        assert len(read_results(results)) == 48 and len(read_results(results)) == 48
    finally:
        type_adapter.cache_clear()
    assert built == [EvalRecord]


def test_a_corrupt_line_in_the_middle_is_an_error(tmp_path):
    results = tmp_path / "results.jsonl"
    evaluate(ScriptedBackend(), PROBLEMS[:2], POOL, results=results, progress=False, n_bootstrap=10)
    lines = results.read_text().splitlines()
    results.write_text("\n".join([lines[0], "{oops", *lines[1:]]) + "\n")
    with pytest.raises(ConfigError, match=r"results\.jsonl, line 2: not a JSON object"):
        read_results(results)


def test_records_round_trip():
    record = EvalRecord("q", "none", 0, "1", "\\boxed{1}", "1", "match", True, "m", "b", "system", 0.0, 8, 0)
    assert EvalRecord.from_dict(json.loads(record.to_json())) == record
    with pytest.raises(ConfigError, match="sample"):
        EvalRecord.from_dict({**json.loads(record.to_json()), "sample": "first"})
