"""verl adapter, against verl's real classes on CPU: the reward through main_ppo's managers and validation metrics,
the on-line mixing dataset, the parquet export, the override lines and the GRPO recipe (composed with verl's own
Hydra config)."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import pickle
import shutil
import subprocess
import sys
import typing
from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("verl", reason="the verl extra is not installed")

import numpy as np
import permix_plugins.adapters.verl as adapter
import pyarrow.parquet as pq
import torch
from omegaconf import DictConfig, OmegaConf, open_dict
from verl import DataProto
from verl.experimental.reward_loop.reward_loop import RewardLoopWorker
from verl.trainer.ppo.metric_utils import process_validation_metrics
from verl.trainer.ppo.reward import get_custom_reward_fn, resolve_reward_manager_cls
from verl.utils import hf_tokenizer
from verl.utils.dataset.rl_dataset import RLHFDataset, collate_fn, get_dataset_class
from verl.utils.tokenizer import normalize_token_ids

import permix_plugins.math as permix_math
from permix_plugins import (
    MixConfig,
    PersonaMixDataset,
    PersonaPool,
    assign_persona,
    build_messages,
    load_problems,
)
from permix_plugins.cli import build_parser, main
from permix_plugins.errors import ConfigError
from permix_plugins.styles import decode_style
from permix_plugins.tinylm import build_tokenizer

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "examples" / "verl" / "run_grpo_permix.sh"
TRAIN, LOTTERY = PersonaPool.builtin("train"), PersonaPool.builtin("lottery")
FLAGS = ("no_answer", "bad_gold", "timeout", "error")

# (persona, response, gold, eos, expected score, expected flag): decoded from real token ids by each manager.
CASES = [
    ("number-theorist", r"6 * 7 = 42, so the answer is \boxed{42}.", "42", True, 1.0, None),
    ("kindergartener", "Six groups of seven make 42!", "42", True, 1.0, None),  # persona style, no box
    ("algebra-textbook-author", r"\boxed{\frac{84}{2}}", "42", True, 1.0, None),
    ("carpenter", r"Measure twice: \boxed{41}", "42", True, 0.0, None),  # wrong
    ("none", "I am not sure how to do this.", "42", True, 0.0, "no_answer"),
    ("none", "", "42", True, 0.0, "no_answer"),  # an empty response: only the eos token
    # pathological: 3000 tokens, cut at the maximum length (no eos)
    ("carpenter", "9" * 3000, "42", False, 0.0, None),
    ("number-theorist", r"\boxed{42}", "", True, 0.0, "bad_gold"),  # unusable gold scores 0, flagged
]
SCORES = [case[4] for case in CASES]


# --------------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The character-level tokenizer saved alone: verl loads tokenizers from a path."""
    path = tmp_path_factory.mktemp("verl-tokenizer")
    build_tokenizer().save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def tokenizer(tokenizer_dir: Path):
    return hf_tokenizer(str(tokenizer_dir), trust_remote_code=True)


def make_batch(tokenizer, cases=CASES) -> DataProto:
    """What verl's reward path receives: left-padded prompts, right-padded responses, the row's non-tensor fields."""
    prompts, responses = [], []
    for persona_id, response, _gold, eos, *_ in cases:
        text = "" if persona_id == "none" else LOTTERY[persona_id].text
        messages = build_messages("What is 6 * 7?", text)
        prompts.append(tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False))
        responses.append(
            tokenizer(response, add_special_tokens=False)["input_ids"] + ([tokenizer.eos_token_id] * eos)
        )
    prompt_ids = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    width_p, width_r = max(map(len, prompt_ids)), max(map(len, responses))
    pad = tokenizer.pad_token_id
    batch_prompts = torch.tensor([[pad] * (width_p - len(p)) + p for p in prompt_ids])
    batch_responses = torch.tensor([r + [pad] * (width_r - len(r)) for r in responses])
    mask = torch.tensor(
        [
            [0] * (width_p - len(p)) + [1] * len(p) + [1] * len(r) + [0] * (width_r - len(r))
            for p, r in zip(prompt_ids, responses, strict=True)
        ]
    )
    return DataProto.from_single_dict(
        {
            "prompts": batch_prompts,
            "responses": batch_responses,
            "attention_mask": mask,
            "data_source": np.array([f"permix/{c[0]}" for c in cases], dtype=object),
            "reward_model": np.array([{"style": "rule", "ground_truth": c[2]} for c in cases], dtype=object),
            "extra_info": np.array(
                [{"index": i, "persona_id": c[0], "source": "openai/gsm8k"} for i, c in enumerate(cases)],
                dtype=object,
            ),
        }
    )


def reward_config(name: str = "compute_score") -> DictConfig:
    return OmegaConf.create(
        {"reward": {"custom_reward_function": {"path": adapter.REWARD_PATH, "name": name}}}
    )


def compose_verl(overrides: list[str]) -> DictConfig:
    """verl's own `ppo_trainer` config with `overrides`, as `python -m verl.trainer.main_ppo` composes it."""
    import verl.trainer.config
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=os.path.dirname(verl.trainer.config.__file__), version_base=None):
        return compose(config_name="ppo_trainer", overrides=overrides)


@pytest.fixture(scope="module")
def trainer_config(tokenizer_dir: Path) -> DictConfig:
    """The trainer config a reward-loop worker is built from: verl's defaults plus permix's reward lines."""
    lines = [
        *adapter.verl_overrides(static=True),
        f"actor_rollout_ref.model.path={tokenizer_dir}",
        "reward.num_workers=1",
    ]
    return compose_verl(lines)


@pytest.fixture
def event_loop():
    """A fresh current event loop: verl's reward-loop managers bind to it."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    yield loop
    loop.close()
    asyncio.set_event_loop(None)


def with_manager(config: DictConfig, name: str) -> DictConfig:
    config = copy.deepcopy(config)
    config.reward.reward_manager.name = name
    return config


def check_scores(outputs: list[dict], manager_cls: type, batch: DataProto) -> None:
    """Every sample: the expected reward, the same float keys, and the flag; rm_scores put it on the last token."""
    assert [o["reward_score"] for o in outputs] == SCORES
    for output, case in zip(outputs, CASES, strict=True):
        info = output["reward_extra_info"]
        assert set(permix_math.VERL_KEYS) <= set(info) and info["acc"] == case[4]
        assert {flag for flag in FLAGS if info[flag]} == ({case[5]} if case[5] else set())
    rm_scores = manager_cls.assemble_rm_scores(batch, SCORES)
    last = batch.batch["attention_mask"][:, batch.batch["prompts"].shape[1] :].sum(-1) - 1
    assert rm_scores.sum(-1).tolist() == SCORES
    assert rm_scores[torch.arange(len(CASES)), last].tolist() == SCORES


# ------------------------------------------------------------------------------------------------ the reward
def test_custom_reward_loader_resolves_the_pkg_path():
    fn = get_custom_reward_fn(reward_config())
    result = fn(
        data_source="permix/carpenter", solution_str=r"\boxed{7}", ground_truth="7", extra_info={"index": 0}
    )
    assert result == dict.fromkeys(permix_math.VERL_KEYS, 0.0) | {"score": 1.0, "acc": 1.0, "pred": "7"}
    # reward.custom_reward_function.reward_kwargs are merged into every call; extra keywords are ignored
    extra = {"reward": {"custom_reward_function": {"reward_kwargs": {"x": 1}}}}
    fn = get_custom_reward_fn(OmegaConf.merge(reward_config(), extra))
    assert fn(data_source="d", solution_str="8", ground_truth="7")["score"] == 0.0


@pytest.mark.parametrize("name", ["naive", "dapo"])
def test_reward_loop_worker_scores_real_token_ids(name, trainer_config, tokenizer, event_loop):
    """The path the trainer runs in its RewardLoopWorker actors: load_reward_manager, then run_single per sample."""
    config = with_manager(trainer_config, name)
    if name == "dapo":  # with the overlong penalty on: only the 3000-token response is past 3001 - 1000
        with open_dict(config.reward):
            config.reward.reward_kwargs = {
                "overlong_buffer_cfg": {"enable": True, "len": 1000, "penalty_factor": 1.0, "log": True},
                "max_resp_len": 3001,
            }
    worker = RewardLoopWorker(config)
    batch = make_batch(tokenizer)
    outputs = worker.loop.run_until_complete(worker.compute_score_batch(batch))
    if name == "dapo":
        penalties = [float(o["reward_extra_info"].pop("overlong_reward")) for o in outputs]
        assert penalties[6] == pytest.approx(-0.999)
        assert penalties[:6] + penalties[7:] == [0.0] * 7
        outputs[6]["reward_score"] = float(outputs[6]["reward_score"]) - penalties[6]
    check_scores(outputs, type(worker.reward_manager), batch)

    # What the trainer's validation does with them: group by data_source -> val-core/permix/<persona>/acc/mean@1
    infos = {k: [o["reward_extra_info"][k] for o in outputs] for k in permix_math.VERL_KEYS}
    uids = [str(i) for i in range(len(CASES))]
    metrics = process_validation_metrics(list(batch.non_tensor_batch["data_source"]), uids, infos)
    assert metrics["permix/carpenter"]["acc"]["mean@1"] == 0.0
    assert metrics["permix/number-theorist"]["acc"]["mean@1"] == 0.5  # one right, one with an unusable gold
    assert metrics["permix/none"]["no_answer"]["mean@1"] == 1.0


@pytest.fixture(scope="module")
def local_ray():
    """A one-CPU local Ray instance for the `remote` manager's actors, shut down after the module."""
    ray = pytest.importorskip("ray")
    ray.init(
        num_cpus=1, num_gpus=0, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1",
        object_store_memory=80 * 1024 * 1024,
    )  # fmt: skip
    yield ray
    ray.shutdown()


@pytest.mark.slow
def test_remote_manager_scores_in_a_ray_actor(local_ray, trainer_config, tokenizer, event_loop):
    """`remote` pickles compute_score into RewardComputeWorker actors (their own process, main thread)."""
    worker = RewardLoopWorker(with_manager(trainer_config, "remote"))
    batch = make_batch(tokenizer)
    outputs = worker.loop.run_until_complete(worker.compute_score_batch(batch))
    check_scores(outputs, type(worker.reward_manager), batch)


def test_main_ppo_knows_only_the_reward_loop_managers(trainer_config):
    """verl 0.9.1's main_ppo resolves `reward.reward_manager.name` in the reward-loop registry only
    (verl/trainer/ppo/reward.py:89-95 -> verl/experimental/reward_loop/reward_manager/registry.py:51-52): the
    legacy `batch` and `prime` managers of verl.workers.reward_manager are unreachable from it."""
    for name in typing.get_args(adapter.RewardManager):
        assert resolve_reward_manager_cls(with_manager(trainer_config, name)).__module__.startswith(
            "verl.experimental.reward_loop"
        )
    for legacy in ("batch", "prime"):
        with pytest.raises(ValueError, match="Unknown reward manager"):
            resolve_reward_manager_cls(with_manager(trainer_config, legacy))
    with pytest.raises(ConfigError, match="naive, dapo, remote"):
        adapter.verl_overrides(reward_manager="batch")


# One question per persona, answered 4 times (rollout.val_kwargs.n=4): (persona, gold, responses).
VOTES = [
    ("carpenter", "42", [r"\boxed{42}", "So the answer is 42.", r"\boxed{42}", "It is 42"]),
    ("number-theorist", "42", [r"\boxed{41}", r"\boxed{41}", "It must be 41", "41"]),
    ("kindergartener", "", [r"\boxed{42}", "I do not know!", "", r"\boxed{7}"]),  # unusable gold, no answers
]


def test_validation_reports_maj_at_n(trainer_config, tokenizer, event_loop):
    """verl votes maj@N only when every sample has a `pred` (verl/trainer/ppo/metric_utils.py:1001-1012)."""
    cases = [(p, response, gold, True, None, None) for p, gold, responses in VOTES for response in responses]
    worker = RewardLoopWorker(with_manager(trainer_config, "naive"))
    outputs = worker.loop.run_until_complete(worker.compute_score_batch(make_batch(tokenizer, cases)))
    # What the trainer does with them: stack each key over the batch (verl/experimental/agent_loop/agent_loop.py:
    # 1108-1111, a KeyError if one sample lacked it), list them in _validate, then group them by data source.
    infos = {"reward": [float(o["reward_score"]) for o in outputs]}
    for key in outputs[0]["reward_extra_info"]:
        infos[key] = np.array([o["reward_extra_info"][key] for o in outputs]).tolist()
    assert infos["pred"] == ["42"] * 4 + ["41"] * 4 + ["42", "", "", "7"]
    metrics = process_validation_metrics([f"permix/{c[0]}" for c in cases], [c[0] for c in cases], infos)
    # ray_trainer.py:721-738 logs these as val-core/permix/<persona>/acc/{mean@4,best@4/mean,maj@4/mean}
    for persona, expected in (("carpenter", 1.0), ("number-theorist", 0.0), ("kindergartener", 0.0)):
        acc = metrics[f"permix/{persona}"]["acc"]
        assert acc["maj@4/mean"] == acc["mean@4"] == expected and "best@4/mean" in acc
    assert metrics["permix/kindergartener"]["bad_gold"]["mean@4"] == 1.0
    assert not any("pred" in by_key for by_key in metrics.values())  # a string is a vote, never averaged


@pytest.fixture
def quick_verifier():
    from permix_plugins.verifier import configure

    yield configure(timeout_s=1, workers=1)
    configure()  # back to the defaults for later tests


def test_a_hanging_answer_costs_one_zero_not_the_run(quick_verifier, trainer_config, tokenizer, event_loop):
    """The reward-loop managers call compute_score in a worker thread (verl#3407): a math-verify hang must end."""
    worker = RewardLoopWorker(with_manager(trainer_config, "naive"))
    tower = ("number-theorist", r"\boxed{2^{2^{2^{2^{2^{2}}}}}}", "42", True, 0.0, None)
    (output,) = worker.loop.run_until_complete(worker.compute_score_batch(make_batch(tokenizer, [tower])))
    assert output["reward_score"] == 0.0 and output["reward_extra_info"]["timeout"] == 1.0
    assert quick_verifier.stats()["workers_killed"] == 1  # the deadline killed the stuck worker


# ------------------------------------------------------------------------------------- the on-line dataset
@pytest.fixture(scope="module")
def plain_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """verl-schema parquet files without personas (what the recipe feeds the on-line dataset)."""
    return adapter.export_verl("synthetic", tmp_path_factory.mktemp("plain"), persona_prob=0.0, limit=24)


def data_config(files: dict[str, Path], tmp: Path, permix: dict | None = None, **extra) -> DictConfig:
    config = {
        "train_files": str(files["train"]),
        "val_files": str(files["test"]),
        "prompt_key": "prompt",
        "max_prompt_length": 1024,
        "filter_overlong_prompts": True,
        "filter_overlong_prompts_workers": 1,
        "truncation": "error",
        "cache_dir": str(tmp),
        "custom_cls": {"path": adapter.DATASET_PATH, "name": adapter.DATASET_NAME},
        **extra,
    }
    if permix is not None:
        config["permix"] = permix
    return OmegaConf.create(config)


def build(config: DictConfig, tokenizer, role: str = "train"):
    cls = get_dataset_class(config)
    return cls(data_files=config[f"{role}_files"], tokenizer=tokenizer, config=config)


def test_dataset_class_comes_from_the_pkg_path():
    cls = get_dataset_class(
        OmegaConf.create({"custom_cls": {"path": adapter.DATASET_PATH, "name": adapter.DATASET_NAME}})
    )
    assert cls is adapter.PersonaMixRLHFDataset and issubclass(cls, RLHFDataset)
    assert pickle.loads(pickle.dumps(cls)) is cls


def test_train_rows_get_personas_and_keep_verl_behaviour(plain_files, tokenizer, tmp_path):
    config = data_config(plain_files, tmp_path, {"pool": "train", "persona_prob": 0.5, "seed": 3})
    ds = build(config, tokenizer)
    plain = RLHFDataset(data_files=str(plain_files["train"]), tokenizer=tokenizer, config=config)
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
        chat = tokenizer.apply_chat_template(item["raw_prompt"], add_generation_prompt=True, tokenize=False)
        assert chat.startswith(f"<|system|>{persona.text}<|end|>" if persona else "<|user|>")
    assert 4 < sum(ds[i]["extra_info"]["persona_id"] != "none" for i in range(24)) < 20
    batch = collate_fn([ds[i] for i in range(4)])
    assert list(batch["data_source"]) == [ds[i]["data_source"] for i in range(4)]
    again = build(config, tokenizer)
    assert [again[i]["raw_prompt"] for i in range(24)] == [ds[i]["raw_prompt"] for i in range(24)]


def test_a_styled_pool_carries_the_style_to_compute_score_and_validation_metrics(
    plain_files, tokenizer, tmp_path
):
    styled = PersonaPool.builtin("styled")
    config = data_config(plain_files, tmp_path, {"pool": "styled", "persona_prob": 0.75, "seed": 1})
    ds = build(config, tokenizer)
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


def test_val_files_get_every_persona_of_the_val_pool(plain_files, tokenizer, tmp_path):
    permix = {"persona_prob": 0.5, "val": {"pool": "lottery", "every_persona": True}}
    val = build(data_config(plain_files, tmp_path, permix), tokenizer, role="val")
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


def test_epochs_are_copies_with_fresh_draws(plain_files, tokenizer, tmp_path):
    # (with verl's default filter_overlong_prompts=False: the mixing hook runs all the same)
    permix = {"persona_prob": 1.0, "epochs": 2, "seed": 5}
    ds = build(data_config(plain_files, tmp_path, permix, filter_overlong_prompts=False), tokenizer)
    ids = [ds[i]["extra_info"]["persona_id"] for i in range(len(ds))]
    assert len(ids) == 48 and ds.mix_config.epochs == 2
    assert ids == [
        assign_persona(TRAIN, seed=5, row=r, epoch=e, persona_prob=1.0).id for e in (0, 1) for r in range(24)
    ]
    assert ids[:24] != ids[24:]


def test_overlong_filter_measures_the_prompt_with_its_persona(plain_files, tokenizer, tmp_path):
    pool_file = tmp_path / "two.yaml"
    pool_file.write_text(
        "- {id: short, text: 'You are a baker.'}\n- {id: long, text: '"
        + "You are a very verbose narrator. " * 12
        + "'}\n"
    )
    plain = RLHFDataset(
        data_files=str(plain_files["train"]), tokenizer=tokenizer, config=data_config(plain_files, tmp_path)
    )
    chats = [
        tokenizer.apply_chat_template(plain[i]["raw_prompt"], add_generation_prompt=True) for i in range(24)
    ]
    longest = max(len(normalize_token_ids(chat)) for chat in chats)  # measured as verl's filter measures
    permix = {"pool": str(pool_file), "persona_prob": 1.0}
    ds = build(data_config(plain_files, tmp_path, permix, max_prompt_length=longest + 40), tokenizer)
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


def test_bad_settings_stop_the_dataset_before_it_loads(plain_files, tokenizer, tmp_path):
    with pytest.raises(ConfigError, match=r"data\.permix\.persona_prob"):
        build(data_config(plain_files, tmp_path, {"persona_prob": -1}), tokenizer)


# ------------------------------------------------------------------------------------------- static export
def test_export_round_trips_through_rlhf_dataset(tmp_path, tokenizer):
    paths = adapter.export_verl("synthetic", tmp_path, persona_prob=0.5, seed=1, limit=20)
    config = data_config(paths, tmp_path)
    train = RLHFDataset(data_files=str(paths["train"]), tokenizer=tokenizer, config=config)
    test = RLHFDataset(data_files=str(paths["test"]), tokenizer=tokenizer, config=config)
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
    kept = build(data_config(paths, tmp_path, {"persona_prob": 0.0}), tokenizer)
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
def test_trl_openrlhf_and_verl_give_the_same_rows_for_the_same_settings(settings, tmp_path, tokenizer):
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
    online = build(data_config(plain, tmp_path, settings), tokenizer)
    assert [
        (online[i]["extra_info"]["question"], online[i]["extra_info"]["persona_id"], online[i]["raw_prompt"])
        for i in range(len(online))
    ] == expected


# -------------------------------------------------------------------------------------------- CLI and recipe
def test_cli_export_and_overrides(tmp_path, capsys):
    assert main(["export", "verl", "--problems", "synthetic", "--limit", "3", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out.split()
    assert out == [
        f"data.train_files={(tmp_path / 'train.parquet').resolve()}",
        f"data.val_files={(tmp_path / 'test.parquet').resolve()}",
    ]

    assert main(["verl-overrides"]) == 0
    assert capsys.readouterr().out.splitlines() == adapter.verl_overrides()
    assert main(["verl-overrides", "--static", "--reward-manager", "remote"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "reward.reward_manager.name=remote"
    assert main(["verl-overrides", "--persona-prob", "2"]) == 2
    assert (
        "invalid option --persona-prob: Input should be less than or equal to 1 (got 2.0)"
        in capsys.readouterr().err
    )


@pytest.fixture(scope="module")
def recipe_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[list[str], list[list[str]]]]:
    """Run the example script with `python3` and `permix` stubbed out; returns each mode's main_ppo and permix argv."""
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("needs bash")
    runs = {}
    for mix in ("online", "static"):
        work = tmp_path_factory.mktemp(f"recipe-{mix}")
        stubs = work / "bin"
        stubs.mkdir()
        for name, mode in (
            ("python3", ">"),
            ("permix", ">>"),
        ):  # each call: one argument per line, calls separated
            (stubs / name).write_text(
                f'#!/bin/sh\nprintf "%s\\n" "$@" {mode} "{work}/{name}.args"\necho --- >> "{work}/{name}.args"\n'
            )
            (stubs / name).chmod(0o755)
        env = {"PATH": f"{stubs}:/usr/bin:/bin", "HOME": str(work), "MIX": mix}
        subprocess.run(
            [bash, str(RECIPE), "trainer.total_training_steps=2"], env=env, check=True, capture_output=True
        )
        main_ppo = (work / "python3.args").read_text().split("---\n")[0].splitlines()
        calls = [c.splitlines() for c in (work / "permix.args").read_text().split("---\n") if c.strip()]
        runs[mix] = (main_ppo, calls)
    return runs


@pytest.mark.filterwarnings("ignore:Disabled critic:UserWarning")  # verl's note that GRPO needs no critic
@pytest.mark.parametrize("mix", ["online", "static"])
def test_recipe_is_a_valid_verl_command(mix, recipe_runs):
    argv, permix_calls = recipe_runs[mix]
    assert argv[:2] == ["-m", "verl.trainer.main_ppo"] and argv[-1] == "trainer.total_training_steps=2"
    overrides = argv[2:]
    # the permix lines are exactly what `permix verl-overrides` prints for the recipe's settings
    expected = (
        adapter.verl_overrides(static=True)
        if mix == "static"
        else adapter.verl_overrides(epochs=15, val_personas="lottery", val_every_persona=True)
    )
    assert set(expected) <= set(overrides)
    # every key exists in verl's config (struct mode rejects unknown keys without '+'), and verl's checks pass
    config = compose_verl(overrides)
    from verl.trainer.ppo.utils import need_critic, need_reference_policy
    from verl.utils.config import validate_config

    validate_config(
        config=config, use_reference_policy=need_reference_policy(config), use_critic=need_critic(config)
    )
    assert config.algorithm.adv_estimator == "grpo" and config.actor_rollout_ref.rollout.name == "vllm"
    assert get_custom_reward_fn(config).args[0] is permix_math.compute_score
    assert resolve_reward_manager_cls(config).__name__ == "NaiveRewardManager"  # main_ppo's registry has it
    if mix == "online":
        assert get_dataset_class(config.data) is adapter.PersonaMixRLHFDataset
        assert adapter.VerlMixSettings.from_data_config(config.data).val.every_persona
    else:
        assert config.data.custom_cls.path is None
    # and the data-preparation call parses with the real CLI
    (export,) = permix_calls
    args = build_parser().parse_args(export)
    assert args.target == "verl" and args.problems == "gsm8k"
    assert args.persona_prob == (0.0 if mix == "online" else 0.5)


# ---------------------------------------------------------------------------------------------- packaging
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
