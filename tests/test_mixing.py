from __future__ import annotations

import hashlib
import json
import os
import pickle
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from datasets import Dataset

from permix_plugins import (
    MixConfig,
    PersonaMixDataset,
    PersonaPool,
    assign_persona,
    load_problems,
    read_mix_config,
)
from permix_plugins.errors import ConfigError
from permix_plugins.personas import NO_PERSONA, Persona
from permix_plugins.prompting import DEFAULT_INSTRUCTION

TRAIN = PersonaPool.builtin("train")


@pytest.fixture(scope="module")
def problems() -> Dataset:
    return load_problems("synthetic", limit=400, seed=0)


def test_rows_have_prompt_answer_persona_and_input_columns(problems):
    ds = PersonaMixDataset(problems, TRAIN, persona_prob=0.5, seed=0)
    assert isinstance(ds, Dataset) and len(ds) == len(problems)
    assert set(ds.column_names) == {"prompt", "answer", "persona_id", "id", "problem", "level", "kind"}
    for row, source in zip(ds.select(range(50)), problems.select(range(50)), strict=True):
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
    assert sum(a != b for a, b in zip(first, second, strict=True)) > 0.8 * n
    assert ds.mix_config.epochs == 3


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
    assert (config.pool, config.persona_prob, config.seed, config.epochs) == ("train", 0.25, 9, 1)
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
        ({"persona_prob": 1.5}, "persona_prob=1.5: Input should be less than or equal to 1"),
        ({"persona_prob": -0.1}, "persona_prob=-0.1: Input should be greater than or equal to 0"),
        ({"epochs": 0}, "epochs=0: Input should be greater than or equal to 1"),
        ({"placement": "assistant"}, "placement='assistant': Input should be 'system' or 'user_prefix'"),
        ({"prob": 0.5}, "prob: unknown setting; accepted: pool, persona_prob, seed, placement, instruction"),
        ({"every_persona": True, "epochs": 2}, "every_persona=true .* so epochs has no meaning"),
        ({"pool": "pirates"}, "pool='pirates': persona pool 'pirates' is neither a built-in pool"),
    ],
)
def test_bad_options_are_named(problems, kwargs, message):
    pool = kwargs.pop("pool", TRAIN)
    with pytest.raises(ConfigError, match=message):
        PersonaMixDataset(problems, pool, **kwargs)


def test_pool_must_be_a_pool(problems):
    with pytest.raises(ConfigError, match="pool must be a PersonaPool"):
        PersonaMixDataset(problems, ["You are a pirate."])  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------- one settings model
def test_a_config_object_keywords_and_pool_names_are_one_model(problems):
    config = MixConfig(pool="lottery", persona_prob=0.4, seed=5, placement="user_prefix", instruction="")
    from_config = PersonaMixDataset(problems, config=config)
    from_keywords = PersonaMixDataset(
        problems,
        PersonaPool.builtin("lottery"),
        persona_prob=0.4,
        seed=5,
        placement="user_prefix",
        instruction=None,
    )
    assert from_config.to_list() == from_keywords.to_list()
    assert from_config.mix_config == from_keywords.mix_config == config and config.instruction is None
    overridden = PersonaMixDataset(
        problems, "train", config=config, seed=6
    )  # keywords and the pool argument win
    assert overridden.mix_config == MixConfig(
        pool="train", persona_prob=0.4, seed=6, placement="user_prefix", instruction=None
    )
    assert overridden["persona_id"] == [
        (p.id if p else "none")
        for p in (assign_persona(TRAIN, seed=6, row=i, persona_prob=0.4) for i in range(len(problems)))
    ]


def test_every_persona_gives_each_row_every_persona_and_no_persona(problems):
    owl, fox = (Persona(id=i, text=f"You are a {i}.") for i in ("owl", "fox"))
    head = problems.select(range(5))
    ds = PersonaMixDataset(head, PersonaPool([owl, fox]), every_persona=True)
    assert ds["persona_id"] == ["none"] * 5 + ["owl"] * 5 + ["fox"] * 5  # the no-persona baseline first
    assert ds["id"] == list(head["id"]) * 3 and ds[5]["prompt"][0] == {
        "role": "system",
        "content": "You are a owl.",
    }
    assert ds.mix_config.to_dict() == {
        "pool": "custom", "seed": 0, "placement": "system", "instruction": DEFAULT_INSTRUCTION, "every_persona": True
    }  # fmt: skip
    lottery = PersonaPool.builtin("lottery")  # it has `none` already: not added twice
    assert Counter(PersonaMixDataset(head, lottery, every_persona=True)["persona_id"]) == dict.fromkeys(
        lottery.ids, 5
    )
    with pytest.raises(ConfigError, match=r"every_persona=true .* so persona_prob has no meaning"):
        MixConfig.parse({"every_persona": True, "persona_prob": 0.5})
    assert MixConfig(persona_prob=0.2, epochs=2).replace(every_persona=True).copies(lottery) == len(lottery)


# ------------------------------------------------------------------------------------------- the Arrow build
def _reference_rows(n: int) -> list[dict]:
    rows = []
    for i in range(n):
        answer = f"Add them up. #### {i % 97}" if i % 3 == 0 else str(i % 89)
        rows.append({"question": f"What is {i} + {(i * 7) % 13}? Show the work for case {i}.", "answer": answer,
                     "level": i % 5})  # fmt: skip
    return rows


TEN = PersonaPool(
    [
        NO_PERSONA,
        *(Persona(id=f"p{k}", text=f"You are persona number {k}, careful and kind.") for k in range(9)),
    ],
    name="ten",
)

# What the previous implementation (Python lists, `Dataset.from_dict`) built from `_reference_rows(3000)`: the
# sha256 of `json.dumps(ds.to_list())`, so every row, column, column order and persona must come out the same.
REFERENCE = {
    "half": ({"persona_prob": 0.5, "seed": 0}, TEN, 3000, "6a487095eea9bd890e378ad868c93b99b1f95b24a52e33105d7a171267433c23"),
    "prefix": ({"persona_prob": 0.3, "seed": -1, "placement": "user_prefix", "instruction": None, "epochs": 2}, TEN,
               6000, "9a8fd9a0defc848c57f9e2a68b8786ab90c8b529ce007e2707f3da482d0b2080"),
    "lottery": ({"persona_prob": 1.0, "seed": 2**40 + 3, "epochs": 3}, PersonaPool.builtin("lottery"), 9000,
                "d1a31895e0ae60b9d4a762afb8b58af66690288ed34e2f9b2625257897fc11fe"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(REFERENCE))
def test_the_arrow_build_gives_the_rows_of_the_reference_implementation(case):
    settings, pool, rows, digest = REFERENCE[case]
    ds = PersonaMixDataset(_reference_rows(3000), pool, **settings)
    assert len(ds) == rows
    assert ds.column_names == ["prompt", "persona_id", "id", "problem", "answer", "level", "solution"]
    assert hashlib.sha256(json.dumps(ds.to_list(), ensure_ascii=False).encode()).hexdigest() == digest


def test_num_proc_gives_the_same_rows(problems):
    one = PersonaMixDataset(problems, TRAIN, persona_prob=0.5, seed=4, epochs=2)
    two = PersonaMixDataset(problems, TRAIN, persona_prob=0.5, seed=4, epochs=2, num_proc=2)
    assert two.to_list() == one.to_list()


@pytest.fixture
def on_disk(tmp_path: Path) -> Path:
    """Problems that live in files, as `load_dataset` gives them (maps of them are cached next to them)."""
    Dataset.from_list(_reference_rows(300)).save_to_disk(tmp_path / "problems")
    return tmp_path / "problems"


def _cache_files(directory: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in directory.glob("cache-*.arrow")}


def test_a_rebuild_with_the_same_arguments_reuses_the_cache_and_a_changed_one_does_not(on_disk):
    first = PersonaMixDataset(Dataset.load_from_disk(on_disk), TEN, persona_prob=0.5, seed=1)
    built = _cache_files(on_disk)
    assert {Path(f["filename"]).name for f in first.cache_files} <= set(
        built
    )  # the mixed rows live in a file
    again = PersonaMixDataset(Dataset.load_from_disk(on_disk), TEN, persona_prob=0.5, seed=1)
    assert _cache_files(on_disk) == built  # nothing written or rewritten
    assert again.cache_files == first.cache_files and again._fingerprint == first._fingerprint
    assert again.to_list() == first.to_list() and again.mix_config == first.mix_config
    other = PersonaMixDataset(Dataset.load_from_disk(on_disk), TEN, persona_prob=0.5, seed=2)
    assert set(_cache_files(on_disk)) > set(built) and other.cache_files != first.cache_files
    instruction = PersonaMixDataset(
        Dataset.load_from_disk(on_disk), TEN, persona_prob=0.5, seed=1, instruction="x"
    )
    assert instruction.cache_files != first.cache_files and instruction[0]["prompt"][-1]["content"].endswith(
        "x"
    )


def test_another_process_finds_the_same_cache_file(on_disk):
    """A second rank (a fresh interpreter, other hash seeds) reuses the build instead of making its own."""
    first = PersonaMixDataset(Dataset.load_from_disk(on_disk), "lottery", persona_prob=0.5, seed=1, epochs=2)
    built = _cache_files(on_disk)
    code = (
        "import sys; from datasets import Dataset; from permix_plugins import PersonaMixDataset\n"
        "ds = PersonaMixDataset(Dataset.load_from_disk(sys.argv[1]), 'lottery', persona_prob=0.5, seed=1, epochs=2)\n"
        "print(ds.cache_files[0]['filename'])"
    )
    env = {**os.environ, "PYTHONHASHSEED": "123"}
    out = subprocess.run([sys.executable, "-c", code, str(on_disk)], capture_output=True, text=True, env=env,
                         check=True)  # fmt: skip
    assert out.stdout.strip() == first.cache_files[0]["filename"]
    assert _cache_files(on_disk) == built


def test_ranks_that_start_together_build_once(on_disk, tmp_path):
    """Two processes (two ranks) mixing the same data at the same time: one builds, the other waits and reads."""
    log = tmp_path / "batches.log"
    code = (
        "import sys, time; from datasets import Dataset\n"
        "from permix_plugins import MixConfig, PersonaPool\n"
        "from permix_plugins.mixing import mix_rows\n"
        "def put(batch, rows, personas, config):\n"
        "    with open(sys.argv[2], 'a') as f: f.write('batch\\n')\n"
        "    time.sleep(3)  # a slow build: without the lock the other rank would start its own\n"
        "    return {'persona_id': [p.id if p else 'none' for p in personas]}\n"
        "ds = mix_rows(Dataset.load_from_disk(sys.argv[1]), MixConfig(), PersonaPool.builtin('train'), put)\n"
        "print(ds.cache_files[0]['filename'])\n"
    )
    ranks = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(on_disk), str(log)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    files = {rank.communicate(timeout=120)[0].strip() for rank in ranks}
    assert all(rank.returncode == 0 for rank in ranks) and len(files) == 1
    assert log.read_text().splitlines() == ["batch"]  # 300 rows: one batch, built by one rank
