"""The verl on-line mixing dataset (`PersonaMixRLHFDataset`), against verl's real `RLHFDataset` on CPU: personas
drawn per row and epoch, validation files under every persona, the overlong filter, placement, the settings it
refuses, and the module without verl."""

from __future__ import annotations

import pickle
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("verl", reason="the verl extra is not installed")

import permix_plugins.adapters.verl as adapter
import pyarrow.parquet as pq
from omegaconf import OmegaConf
from verl.trainer.ppo.metric_utils import process_validation_metrics
from verl.utils.dataset.rl_dataset import RLHFDataset, collate_fn, get_dataset_class
from verl.utils.tokenizer import normalize_token_ids
from verl_configs import build, data_config

import permix_plugins.math as permix_math
from permix_plugins import PersonaPool, assign_persona, build_messages
from permix_plugins.errors import ConfigError
from permix_plugins.styles import decode_style

TRAIN, LOTTERY = PersonaPool.builtin("train"), PersonaPool.builtin("lottery")


@pytest.fixture(scope="module")
def plain_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """verl-schema parquet files without personas (what the recipe feeds the on-line dataset)."""
    return adapter.export_verl("synthetic", tmp_path_factory.mktemp("plain"), persona_prob=0.0, limit=24)


def test_dataset_class_comes_from_the_pkg_path():
    cls = get_dataset_class(
        OmegaConf.create({"custom_cls": {"path": adapter.DATASET_PATH, "name": adapter.DATASET_NAME}})
    )
    assert cls is adapter.PersonaMixRLHFDataset and issubclass(cls, RLHFDataset)
    assert pickle.loads(pickle.dumps(cls)) is cls


def test_train_rows_get_personas_and_keep_verl_behaviour(plain_files, verl_tokenizer, tmp_path):
    config = data_config(plain_files, tmp_path, {"pool": "train", "persona_prob": 0.5, "seed": 3})
    ds = build(config, verl_tokenizer)
    plain = RLHFDataset(data_files=str(plain_files["train"]), tokenizer=verl_tokenizer, config=config)
    assert len(ds) == len(plain) == 24 and ds.mix_config.seed == 3 and ds.permix_role == "train"
    for i in range(len(ds)):
        item, before = ds[i], plain[i]
        persona = assign_persona(TRAIN, seed=3, row=i, persona_prob=0.5)
        question = before["extra_info"]["question"]
        assert item["extra_info"]["persona_id"] == (persona.id if persona else "none")
        assert item["data_source"] == f"permix/{item['extra_info']['persona_id']}"
        assert item["raw_prompt"] == build_messages(question, persona.text if persona else None)
        assert item["extra_info"]["source"] == "synthetic" and item["index"] == before["index"] == i
        assert item["reward_model"] == before["reward_model"]
        chat = verl_tokenizer.apply_chat_template(
            item["raw_prompt"], add_generation_prompt=True, tokenize=False
        )
        assert chat.startswith(f"<|system|>{persona.text}<|end|>" if persona else "<|user|>")
    assert 4 < sum(ds[i]["extra_info"]["persona_id"] != "none" for i in range(24)) < 20
    batch = collate_fn([ds[i] for i in range(4)])
    assert list(batch["data_source"]) == [ds[i]["data_source"] for i in range(4)]
    again = build(config, verl_tokenizer)
    assert [again[i]["raw_prompt"] for i in range(24)] == [ds[i]["raw_prompt"] for i in range(24)]


def test_a_styled_pool_carries_the_style_to_compute_score_and_validation_metrics(
    plain_files, verl_tokenizer, tmp_path
):
    styled = PersonaPool.builtin("styled")
    config = data_config(plain_files, tmp_path, {"pool": "styled", "persona_prob": 0.75, "seed": 1})
    ds = build(config, verl_tokenizer)
    items = [ds[i] for i in range(len(ds))]
    sources, infos = [], {key: [] for key in permix_math.VERL_KEYS}
    for item in items:
        persona_id, style = item["extra_info"]["persona_id"], item["extra_info"]["persona_style"]
        assert decode_style(style) == (None if persona_id == "none" else styled[persona_id].style)
        # what verl's reward-loop managers pass: the row's data_source, the response text and its extra_info
        reply = styled[persona_id].style.write("It is 7.") if persona_id != "none" else "It is 7."
        result = permix_math.compute_score(item["data_source"], reply, "7", item["extra_info"])
        assert result["styled"] == float(persona_id != "none") and result["style"] == result["styled"]
        sources.append(item["data_source"])
        for key in infos:
            infos[key].append(result[key])
    metrics = process_validation_metrics(sources, [str(i) for i in range(len(items))], infos)
    styled_sources = [source for source in set(sources) if source != "permix/none"]
    assert styled_sources and all(metrics[source]["style"]["mean@1"] == 1.0 for source in styled_sources)
    assert metrics["permix/none"]["styled"]["mean@1"] == 0.0
    exported = adapter.export_verl("synthetic", tmp_path / "export", pool="styled", persona_prob=1.0, limit=4)
    rows = pq.read_table(exported["train"]).to_pylist()
    assert [decode_style(r["extra_info"]["persona_style"]) for r in rows] == [
        styled[r["extra_info"]["persona_id"]].style for r in rows
    ]


def test_val_files_get_every_persona_of_the_val_pool(plain_files, verl_tokenizer, tmp_path):
    permix = {"persona_prob": 0.5, "val": {"pool": "lottery", "every_persona": True}}
    val = build(data_config(plain_files, tmp_path, permix), verl_tokenizer, role="val")
    n = pq.read_metadata(plain_files["test"]).num_rows
    assert val.permix_role == "val" and len(val) == n * len(LOTTERY)
    rows = [val[i] for i in range(len(val))]
    assert Counter(r["data_source"] for r in rows) == {f"permix/{p}": n for p in LOTTERY.ids}
    for row in rows:  # every question under every persona: the same question ids per persona
        persona = row["extra_info"]["persona_id"]
        assert len(row["raw_prompt"]) == (1 if persona == "none" else 2)
    by_persona = {
        p: sorted(r["extra_info"]["problem_id"] for r in rows if r["extra_info"]["persona_id"] == p)
        for p in LOTTERY.ids
    }
    assert len({tuple(ids) for ids in by_persona.values()}) == 1


def test_epochs_are_copies_with_fresh_draws(plain_files, verl_tokenizer, tmp_path):
    # (with verl's default filter_overlong_prompts=False: the mixing hook runs all the same)
    permix = {"persona_prob": 1.0, "epochs": 2, "seed": 5}
    ds = build(data_config(plain_files, tmp_path, permix, filter_overlong_prompts=False), verl_tokenizer)
    ids = [ds[i]["extra_info"]["persona_id"] for i in range(len(ds))]
    assert len(ids) == 48 and ds.mix_config.epochs == 2
    assert ids == [
        assign_persona(TRAIN, seed=5, row=r, epoch=e, persona_prob=1.0).id for e in (0, 1) for r in range(24)
    ]
    assert ids[:24] != ids[24:]


def test_overlong_filter_measures_the_prompt_with_its_persona(plain_files, verl_tokenizer, tmp_path):
    pool_file = tmp_path / "two.yaml"
    pool_file.write_text(
        "- {id: short, text: 'You are a baker.'}\n- {id: long, text: '"
        + "You are a very verbose narrator. " * 12
        + "'}\n"
    )
    plain = RLHFDataset(
        data_files=str(plain_files["train"]),
        tokenizer=verl_tokenizer,
        config=data_config(plain_files, tmp_path),
    )
    chats = [
        verl_tokenizer.apply_chat_template(plain[i]["raw_prompt"], add_generation_prompt=True)
        for i in range(24)
    ]
    longest = max(len(normalize_token_ids(chat)) for chat in chats)  # measured as verl's filter measures
    permix = {"pool": str(pool_file), "persona_prob": 1.0}
    ds = build(data_config(plain_files, tmp_path, permix, max_prompt_length=longest + 40), verl_tokenizer)
    pool = PersonaPool.from_file(pool_file)
    expected_short = sum(
        assign_persona(pool, seed=0, row=i, persona_prob=1.0).id == "short" for i in range(24)
    )
    assert 0 < len(ds) == expected_short < 24
    assert {ds[i]["extra_info"]["persona_id"] for i in range(len(ds))} == {"short"}


def test_placement_and_existing_system_prompts():
    from datasets import Dataset

    rows = Dataset.from_list(
        [
            {"data_source": "d", "prompt": [{"role": "user", "content": "Q1"}], "extra_info": {"index": 0}},
            {"data_source": "d", "prompt": [{"role": "system", "content": "Use ####."}, {"role": "user", "content": "Q2"}],
             "extra_info": {"index": 1}},
        ]
    )  # fmt: skip
    pool = LOTTERY.filter(tags="child")
    text = pool["kindergartener"].text
    system = adapter.mix_verl_rows(rows, pool, persona_prob=1.0, data_source="source_persona")
    assert system[0]["prompt"] == build_messages("Q1", text, instruction=None)
    assert system[1]["prompt"] == [
        {"role": "system", "content": f"{text}\n\nUse ####."},
        {"role": "user", "content": "Q2"},
    ]
    assert system[0]["data_source"] == "d/permix/kindergartener"
    prefix = adapter.mix_verl_rows(
        rows, pool, persona_prob=1.0, placement="user_prefix", data_source="source"
    )
    assert prefix[0]["prompt"] == build_messages("Q1", text, placement="user_prefix", instruction=None)
    assert (
        prefix[1]["prompt"][1] == {"role": "user", "content": f"{text}\n\nQ2"}
        and prefix[1]["data_source"] == "d"
    )
    with pytest.raises(ConfigError, match="must hold chat messages"):
        adapter.mix_verl_rows(
            Dataset.from_list([{"data_source": "d", "prompt": "Q"}]), pool, persona_prob=1.0
        )


@pytest.mark.parametrize(
    ("permix", "fragments"),
    [
        ({"persona_prob": 1.5}, ["data.permix.persona_prob=1.5", "less than or equal to 1"]),
        ({"placement": "top"}, ["data.permix.placement='top'", "'system' or 'user_prefix'"]),
        ({"prob": 0.5}, ["data.permix.prob: unknown setting", "accepted: pool, persona_prob, seed"]),
        ({"val": {"pool": "eval", "n": 2}}, ["data.permix.val.n: unknown setting", "every_persona"]),
        (
            {"val": {"every_persona": True, "persona_prob": 0.5}},
            ["data.permix.val: every_persona=true", "persona_prob has no meaning"],
        ),
        ({"pool": "pirates"}, ["data.permix.pool='pirates'", "lottery, train, eval"]),
        ({"data_source": "id"}, ["data.permix.data_source='id'", "'persona', 'source_persona' or 'source'"]),
        ({"epochs": 0}, ["data.permix.epochs=0", "greater than or equal to 1"]),
    ],
)
def test_bad_settings_name_the_field_and_what_is_accepted(permix, fragments):
    with pytest.raises(ConfigError) as info:
        adapter.VerlMixSettings.from_data_config(OmegaConf.create({"permix": permix}))
    for fragment in fragments:
        assert fragment in str(info.value)


def test_bad_settings_stop_the_dataset_before_it_loads(plain_files, verl_tokenizer, tmp_path):
    with pytest.raises(ConfigError, match=r"data\.permix\.persona_prob"):
        build(data_config(plain_files, tmp_path, {"persona_prob": -1}), verl_tokenizer)


def test_module_works_without_verl_and_the_class_names_the_extra():
    code = (
        "import sys; sys.modules['verl'] = None\n"  # as if verl were not installed
        "import permix_plugins.adapters.verl as a\n"
        "assert a.verl_overrides()[0].startswith('data.custom_cls.path=')\n"
        "assert not {m.split('.')[0] for m in sys.modules if sys.modules[m]} & {'verl', 'torch', 'ray'}\n"
        "try:\n    a.PersonaMixRLHFDataset\nexcept ImportError as e:\n    print(type(e).__name__, e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.startswith("MissingDependencyError") and "pip install 'permix-plugins[verl]'" in out
