from __future__ import annotations

import json
import pickle
from collections import Counter

import pytest
from datasets import Dataset

from permix_plugins import PersonaMixDataset, PersonaPool, assign_persona, load_problems, read_mix_config
from permix_plugins.errors import ConfigError
from permix_plugins.prompting import DEFAULT_INSTRUCTION

TRAIN = PersonaPool.builtin("train")


@pytest.fixture(scope="module")
def problems() -> Dataset:
    return load_problems("synthetic", limit=400, seed=0)


def test_rows_have_prompt_answer_persona_and_input_columns(problems):
    ds = PersonaMixDataset(problems, TRAIN, persona_prob=0.5, seed=0)
    assert isinstance(ds, Dataset) and len(ds) == len(problems)
    assert set(ds.column_names) == {"prompt", "answer", "persona_id", "id", "problem", "level"}
    for row, source in zip(ds.select(range(50)), problems.select(range(50))):
        assert row["answer"] == source["answer"] and row["id"] == source["id"]
        user = row["prompt"][-1]
        assert user == {"role": "user", "content": f"{source['problem']}\n\n{DEFAULT_INSTRUCTION}"}
        if row["persona_id"] == "none":
            assert len(row["prompt"]) == 1
        else:
            assert row["prompt"][0] == {"role": "system", "content": TRAIN[row["persona_id"]].text}


def test_assignment_is_a_pure_function_of_seed_row_epoch(problems):
    a = PersonaMixDataset(problems, TRAIN, persona_prob=0.5, seed=1)
    b = PersonaMixDataset(problems, TRAIN, persona_prob=0.5, seed=1)
    c = PersonaMixDataset(problems, TRAIN, persona_prob=0.5, seed=2)
    assert a.to_list() == b.to_list()
    assert a["persona_id"] != c["persona_id"]
    expected = [assign_persona(TRAIN, seed=1, row=i, persona_prob=0.5) for i in range(len(problems))]
    assert a["persona_id"] == [p.id if p else "none" for p in expected]
    # A row's persona does not depend on the rest of the dataset (resumable, shardable).
    head = PersonaMixDataset(problems.select(range(10)), TRAIN, persona_prob=0.5, seed=1)
    assert head["persona_id"] == a["persona_id"][:10]


def test_persona_prob_extremes_and_rate(problems):
    plain = PersonaMixDataset(problems, TRAIN, persona_prob=0.0)
    assert set(plain["persona_id"]) == {"none"} and all(len(p) == 1 for p in plain["prompt"])
    always = PersonaMixDataset(problems, TRAIN, persona_prob=1.0)
    assert "none" not in always["persona_id"]
    assert len(set(always["persona_id"])) > len(TRAIN) * 0.8  # 400 draws over the pool reach most personas
    half = Counter(PersonaMixDataset(problems, TRAIN, persona_prob=0.3)["persona_id"])
    assert 0.62 < half["none"] / len(problems) < 0.78


def test_plain_run_matches_a_persona_free_pipeline(problems):
    """persona_prob=0 gives exactly the prompts a plain RLVR dataset would have."""
    plain = PersonaMixDataset(problems, TRAIN, persona_prob=0.0)
    expected = [[{"role": "user", "content": f"{p}\n\n{DEFAULT_INSTRUCTION}"}] for p in problems["problem"]]
    assert plain["prompt"] == expected


def test_epochs_draw_fresh_personas(problems):
    ds = PersonaMixDataset(problems, TRAIN, persona_prob=1.0, seed=0, epochs=3)
    n = len(problems)
    assert len(ds) == 3 * n and ds["id"][:n] == ds["id"][n : 2 * n] == problems["id"]
    first, second = ds["persona_id"][:n], ds["persona_id"][n : 2 * n]
    assert sum(a != b for a, b in zip(first, second)) > 0.8 * n
    assert ds.mix_config.epochs == 3 and ds.mix_config.rows == 3 * n


def test_user_prefix_placement_and_custom_instruction(problems):
    ds = PersonaMixDataset(
        problems, TRAIN, persona_prob=1.0, placement="user_prefix", instruction="End with ####."
    )
    row = ds[0]
    assert len(row["prompt"]) == 1
    assert (
        row["prompt"][0]["content"]
        == f"{TRAIN[row['persona_id']].text}\n\n{row['problem']}\n\nEnd with ####."
    )


def test_lottery_pool_none_entry_means_no_persona(problems):
    lottery = PersonaPool.builtin("lottery")
    ds = PersonaMixDataset(problems, lottery, persona_prob=1.0)
    none_rows = [r for r in ds if r["persona_id"] == "none"]
    assert none_rows and all(len(r["prompt"]) == 1 for r in none_rows)


def test_accepts_lists_and_files_and_named_columns(tmp_path):
    rows = [
        {"question": f"What is {i} + 1?", "solution": f"It is \\boxed{{{i + 1}}}.", "extra": i}
        for i in range(5)
    ]
    from_list = PersonaMixDataset(rows, TRAIN, persona_prob=0.5)
    assert from_list["answer"] == [str(i + 1) for i in range(5)] and from_list["extra"] == list(range(5))
    assert from_list["solution"][0] == "It is \\boxed{1}."

    path = tmp_path / "problems.jsonl"
    path.write_text("\n".join(json.dumps({"q": r["question"], "gold": str(r["extra"] + 1)}) for r in rows))
    from_file = PersonaMixDataset(str(path), TRAIN, prompt_column="q", answer_column="gold")
    assert from_file["answer"] == from_list["answer"] and from_file["problem"] == from_list["problem"]

    parquet = tmp_path / "problems.parquet"
    Dataset.from_list(rows).to_parquet(parquet)
    assert PersonaMixDataset(parquet, TRAIN)["answer"] == from_list["answer"]


def test_a_prompt_column_is_replaced_by_chat_messages():
    ds = PersonaMixDataset([{"prompt": "2+2?", "answer": "4"}], TRAIN, persona_prob=0.0)
    assert ds[0]["problem"] == "2+2?" and ds[0]["prompt"][0]["content"].startswith("2+2?")


def test_mix_config_is_recorded_and_survives_transforms(problems, tmp_path):
    ds = PersonaMixDataset(problems, TRAIN, persona_prob=0.25, seed=9, placement="user_prefix")
    config = ds.mix_config
    assert (config.pool, config.pool_size, config.persona_prob, config.seed) == ("train", len(TRAIN), 0.25, 9)
    assert config.placement == "user_prefix" and config.instruction == DEFAULT_INSTRUCTION
    derived = ds.map(lambda row: {"n": len(row["problem"])}).shuffle(seed=0).select(range(5))
    assert read_mix_config(derived) == config
    ds.save_to_disk(tmp_path / "saved")
    assert read_mix_config(Dataset.load_from_disk(tmp_path / "saved")) == config
    assert pickle.loads(pickle.dumps(ds)).to_list()[:3] == ds.to_list()[:3]
    assert read_mix_config(problems) is None
    assert json.loads(json.dumps(config.to_dict()))["persona_prob"] == 0.25


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"persona_prob": 1.5}, "persona_prob must be between 0 and 1, got 1.5"),
        ({"persona_prob": -0.1}, "persona_prob must be between 0 and 1"),
        ({"epochs": 0}, "epochs must be at least 1, got 0"),
        (
            {"placement": "assistant"},
            "placement='assistant' is not supported; use one of \\['system', 'user_prefix'\\]",
        ),
    ],
)
def test_bad_options_are_named(problems, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        PersonaMixDataset(problems, TRAIN, **kwargs)


def test_pool_must_be_a_pool(problems):
    with pytest.raises(ConfigError, match="pool must be a PersonaPool"):
        PersonaMixDataset(problems, ["You are a pirate."])  # type: ignore[arg-type]
