"""The evaluation runner (`permix_plugins.evaluation.runner`): scoring every persona, batching, placement
fallback, bad problems and backend output."""

from __future__ import annotations

import logging

import pytest
from scripted_eval import POOL, PROBLEMS, ScriptedBackend

from permix_plugins.errors import ConfigError
from permix_plugins.evaluation import Backend, GenerationError, evaluate


def test_scripted_backend_is_a_backend():
    assert isinstance(ScriptedBackend(), Backend)


def test_evaluate_scores_every_persona_and_reports(tmp_path):
    backend = ScriptedBackend()
    records, report = evaluate(
        backend, PROBLEMS, POOL, samples=2, temperature=1.0, progress=False, n_bootstrap=100
    )
    assert len(records) == 4 * 4 * 2 and len({r.key for r in records}) == 32
    assert report.accuracy == {"none": 1.0, "good": 0.5, "bad": 0.0, "mute": 0.0}
    assert report.persona("mute").no_answer_rate == 1.0 and report.persona("bad").no_answer_rate == 0.0
    assert report.gap_to_none == -1.0 and report.unanimity == 0.0
    assert report.meta["model"] == "scripted" and report.meta["personas"] == "students"
    # every backend call holds a single persona (batches are grouped by persona)
    for call in backend.calls:
        assert len({m[0]["content"] if m[0]["role"] == "system" else None for m in call["prompts"]}) == 1
        assert call["n"] == 2
    good = [r for r in records if r.persona_id == "good" and r.item_id == "q1"]
    assert [(r.sample, r.correct, r.reason, r.answer) for r in good] == [
        (0, True, "match", "3"),
        (1, False, "mismatch", "4"),
    ]


def test_greedy_generates_once_per_item_and_copies_samples(caplog):
    backend = ScriptedBackend()
    with caplog.at_level(logging.WARNING):
        records, report = evaluate(
            backend, PROBLEMS, POOL, samples=3, temperature=0.0, progress=False, n_bootstrap=50
        )
    assert {c["n"] for c in backend.calls} == {1} and backend.generated == 16
    assert len(records) == 48
    assert report.accuracy["good"] == 1.0  # sample 0 everywhere
    assert "samples per item will be identical" in caplog.text


def test_chunks_respect_chunk_size():
    backend = ScriptedBackend()
    evaluate(backend, PROBLEMS, POOL, chunk_size=3, progress=False, n_bootstrap=10)
    assert [len(c["prompts"]) for c in backend.calls] == [3, 1] * 4


def test_placement_falls_back_to_user_prefix_without_a_system_role(caplog):
    backend = ScriptedBackend()
    backend.supports_system_role = False
    with caplog.at_level(logging.WARNING):
        records, report = evaluate(backend, PROBLEMS, POOL, progress=False, n_bootstrap=10)
    assert "has no system role" in caplog.text
    assert all(m[0]["role"] == "user" for call in backend.calls for m in call["prompts"])
    assert {r.placement for r in records if r.persona_id != "none"} == {"user_prefix"}
    assert report.meta["placement"] == "user_prefix" and report.accuracy["none"] == 1.0


def test_bad_gold_is_left_out_and_counted():
    problems = [*PROBLEMS, {"id": "nogold", "problem": "What is 1 + 2?", "answer": ""}]
    records, report = evaluate(ScriptedBackend(), problems, POOL, progress=False, n_bootstrap=10)
    bad = [r for r in records if r.item_id == "nogold"]
    assert len(bad) == 4 and {(r.correct, r.reason) for r in bad} == {(None, "bad_gold")}
    assert report.n_bad_gold == 1 and report.n_items == 4


def test_wrong_backend_output_shape_is_a_generation_error():
    class Short(ScriptedBackend):
        def generate(self, prompts, **kwargs):
            return super().generate(prompts, **kwargs)[:-1]

    with pytest.raises(GenerationError, match="returned 3 result list"):
        evaluate(Short(), PROBLEMS, POOL, progress=False)


@pytest.mark.parametrize(
    ("problems", "message"),
    [
        ([{"id": "a", "problem": "x"}], "has no 'answer'"),
        ([PROBLEMS[0], PROBLEMS[0]], "appears twice"),
        ([], "no problems"),
    ],
)
def test_bad_problems_are_config_errors(problems, message):
    with pytest.raises(ConfigError, match=message):
        evaluate(ScriptedBackend(), problems, POOL, progress=False)
