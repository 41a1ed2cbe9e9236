"""The verl reward, against verl's real classes on CPU: `compute_score` loaded by its pkg path, scored from real
token ids by main_ppo's reward-loop managers (naive, dapo, remote in a Ray actor), and the validation metrics
verl makes of it (per persona, maj@N)."""

from __future__ import annotations

import asyncio
import copy
import typing
from pathlib import Path

import pytest

pytest.importorskip("verl", reason="the verl extra is not installed")

import numpy as np
import permix_plugins.adapters.verl as adapter
import torch
from omegaconf import DictConfig, OmegaConf, open_dict
from verl import DataProto
from verl.experimental.reward_loop.reward_loop import RewardLoopWorker
from verl.trainer.ppo.metric_utils import process_validation_metrics
from verl.trainer.ppo.reward import get_custom_reward_fn, resolve_reward_manager_cls
from verl_configs import compose_verl

import permix_plugins.math as permix_math
from permix_plugins import PersonaPool, build_messages
from permix_plugins.errors import ConfigError

LOTTERY = PersonaPool.builtin("lottery")
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


@pytest.fixture(scope="module")
def trainer_config(tiny_model_dir: Path) -> DictConfig:
    """The trainer config a reward-loop worker is built from: verl's defaults plus permix's reward lines."""
    lines = [
        *adapter.verl_overrides(static=True),
        f"actor_rollout_ref.model.path={tiny_model_dir}",
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
def test_reward_loop_worker_scores_real_token_ids(name, trainer_config, verl_tokenizer, event_loop):
    """The path the trainer runs in its RewardLoopWorker actors: load_reward_manager, then run_single per sample."""
    config = with_manager(trainer_config, name)
    if name == "dapo":  # with the overlong penalty on: only the 3000-token response is past 3001 - 1000
        with open_dict(config.reward):
            config.reward.reward_kwargs = {
                "overlong_buffer_cfg": {"enable": True, "len": 1000, "penalty_factor": 1.0, "log": True},
                "max_resp_len": 3001,
            }
    worker = RewardLoopWorker(config)
    batch = make_batch(verl_tokenizer)
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
def test_remote_manager_scores_in_a_ray_actor(local_ray, trainer_config, verl_tokenizer, event_loop):
    """`remote` pickles compute_score into RewardComputeWorker actors (their own process, main thread)."""
    worker = RewardLoopWorker(with_manager(trainer_config, "remote"))
    batch = make_batch(verl_tokenizer)
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


def test_validation_reports_maj_at_n(trainer_config, verl_tokenizer, event_loop):
    """verl votes maj@N only when every sample has a `pred` (verl/trainer/ppo/metric_utils.py:1001-1012)."""
    cases = [(p, response, gold, True, None, None) for p, gold, responses in VOTES for response in responses]
    worker = RewardLoopWorker(with_manager(trainer_config, "naive"))
    outputs = worker.loop.run_until_complete(worker.compute_score_batch(make_batch(verl_tokenizer, cases)))
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


def test_a_hanging_answer_costs_one_zero_not_the_run(
    quick_verifier, trainer_config, verl_tokenizer, event_loop
):
    """The reward-loop managers call compute_score in a worker thread (verl#3407): a math-verify hang must end."""
    worker = RewardLoopWorker(with_manager(trainer_config, "naive"))
    tower = ("number-theorist", r"\boxed{2^{2^{2^{2^{2^{2}}}}}}", "42", True, 0.0, None)
    (output,) = worker.loop.run_until_complete(
        worker.compute_score_batch(make_batch(verl_tokenizer, [tower]))
    )
    assert output["reward_score"] == 0.0 and output["reward_extra_info"]["timeout"] == 1.0
    assert quick_verifier.stats()["workers_killed"] == 1  # the deadline killed the stuck worker
