"""The verl parquet export (`export_verl`), read back by verl's real `RLHFDataset`: rows, every-persona test files,
single-file sources, and the same rows as TRL's and OpenRLHF's for the same settings."""

from __future__ import annotations

import json
from collections import Counter

import pytest

pytest.importorskip("verl", reason="the verl extra is not installed")

import permix_plugins.adapters.verl as adapter
from verl.utils.dataset.rl_dataset import RLHFDataset
from verl_configs import build, data_config

from permix_plugins import (
    MixConfig,
    PersonaMixDataset,
    PersonaPool,
    assign_persona,
    build_messages,
    load_problems,
)

TRAIN, LOTTERY = PersonaPool.builtin("train"), PersonaPool.builtin("lottery")


def test_export_round_trips_through_rlhf_dataset(tmp_path, verl_tokenizer):
    paths = adapter.export_verl("synthetic", tmp_path, persona_prob=0.5, seed=1, limit=20)
    config = data_config(paths, tmp_path)
    train = RLHFDataset(data_files=str(paths["train"]), tokenizer=verl_tokenizer, config=config)
    test = RLHFDataset(data_files=str(paths["test"]), tokenizer=verl_tokenizer, config=config)
    problems = load_problems("synthetic", split="train", limit=20)
    assert len(train) == len(test) == 20
    for i in range(20):
        row, problem = train[i], problems[i]
        persona = assign_persona(TRAIN, seed=1, row=i, persona_prob=0.5)
        assert (
            row["data_source"] == f"permix/{persona.id if persona else 'none'}" and row["ability"] == "math"
        )
        assert row["reward_model"] == {"style": "rule", "ground_truth": problem["answer"]}
        assert row["raw_prompt"] == build_messages(problem["problem"], persona.text if persona else None)
        assert row["extra_info"] == {
            "split": "train", "index": i, "persona_id": persona.id if persona else "none",
            "problem_id": problem["id"], "question": problem["problem"], "source": "synthetic",
        }  # fmt: skip
        assert row["index"] == i
    assert {test[i]["extra_info"]["split"] for i in range(20)} == {"test"}
    assert not {test[i]["extra_info"]["problem_id"] for i in range(20)} & set(problems["id"])
    # The on-line class keeps the personas of a statically mixed file (persona-free rows stay so at persona_prob=0).
    kept = build(data_config(paths, tmp_path, {"persona_prob": 0.0}), verl_tokenizer)
    assert [kept[i]["raw_prompt"] for i in range(20)] == [train[i]["raw_prompt"] for i in range(20)]
    assert [kept[i]["data_source"] for i in range(20)] == [train[i]["data_source"] for i in range(20)]


def test_export_every_persona_test_file_and_single_file_sources(tmp_path):
    from datasets import Dataset

    every = MixConfig(pool="eval", every_persona=True)  # a pool without `none`: the baseline is added
    paths = adapter.export_verl("synthetic", tmp_path / "a", limit=3, test_config=every)
    test = Dataset.from_parquet(str(paths["test"]))
    assert Counter(test["data_source"]) == {
        f"permix/{p}": 3 for p in ("none", *PersonaPool.builtin("eval").ids)
    }

    file = tmp_path / "mine.jsonl"
    file.write_text(
        "".join(json.dumps({"question": f"{i} + 1?", "answer": str(i + 1)}) + "\n" for i in range(3))
    )
    only_train = adapter.export_verl(str(file), tmp_path / "b")
    assert set(only_train) == {"train"} and not (tmp_path / "b" / "test.parquet").exists()
    rows = Dataset.from_parquet(str(only_train["train"]))
    assert rows[0]["extra_info"]["source"] == "mine" and rows[2]["reward_model"]["ground_truth"] == "3"
    both = adapter.export_verl(str(file), tmp_path / "c", test_problems="synthetic", limit=2)
    assert Dataset.from_parquet(str(both["test"]))[0]["extra_info"]["source"] == "synthetic"


@pytest.mark.parametrize(
    "settings",
    [
        {"pool": "lottery", "persona_prob": 0.5, "seed": 3, "epochs": 2},
        {"pool": "lottery", "placement": "user_prefix", "every_persona": True},
    ],
)
def test_trl_openrlhf_and_verl_give_the_same_rows_for_the_same_settings(settings, tmp_path, verl_tokenizer):
    """One settings model, one assignment, one placement: (question, persona, prompt) agree everywhere."""
    from datasets import Dataset
    from permix_plugins.adapters.openrlhf import export_jsonl

    config = MixConfig(**settings)
    problems = load_problems("synthetic", split="train", limit=12)
    trl = PersonaMixDataset(problems, config=config)
    expected = list(zip(trl["problem"], trl["persona_id"], trl["prompt"], strict=True))
    assert len(expected) == (24 if config.epochs == 2 else 12 * len(LOTTERY))

    export_jsonl(tmp_path / "openrlhf.jsonl", problems, config=config)
    rows = [json.loads(line) for line in (tmp_path / "openrlhf.jsonl").read_text().splitlines()]
    assert [(r["input"][-1]["content"], r["datasource"], r["input"]) for r in rows] == [
        (prompt[-1]["content"], persona, prompt) for _, persona, prompt in expected
    ]
    static = Dataset.from_parquet(
        str(adapter.export_verl("synthetic", tmp_path / "static", config, limit=12)["train"])
    )
    assert [
        (r["extra_info"]["question"], r["extra_info"]["persona_id"], r["prompt"]) for r in static
    ] == expected

    plain = adapter.export_verl("synthetic", tmp_path / "plain", persona_prob=0.0, limit=12)
    online = build(data_config(plain, tmp_path, settings), verl_tokenizer)
    assert [
        (online[i]["extra_info"]["question"], online[i]["extra_info"]["persona_id"], online[i]["raw_prompt"])
        for i in range(len(online))
    ] == expected
