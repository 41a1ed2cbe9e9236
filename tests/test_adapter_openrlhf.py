r"""OpenRLHF adapter, driven through OpenRLHF 0.11's own code on CPU.

OpenRLHF's reward executor (`openrlhf.utils.agent.SingleTurnAgentExecutor`) loads our reward file by path and
calls it in a worker thread; a stand-in for its vLLM engine answers with a tiny local model's generations (or
forced text) in vLLM's `RequestOutput` shape. OpenRLHF's dataset (`PromptDataset`), sample-to-`Experience`
conversion, batching and eval metrics then run on the results, and its CLI parser and checks on the
example script's flags. Where OpenRLHF's modules import Ray or vLLM at the top, those imports are stubbed;
the functions under test are OpenRLHF's, loaded from its installed files.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import datetime
import importlib.util
import json
import os
import subprocess
import sys
import threading
import types
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from permix_plugins.adapters import openrlhf as adapter
from permix_plugins.adapters.openrlhf import (
    LOG_KEYS,
    Label,
    decode_label,
    encode_label,
    export_jsonl,
    openrlhf_rows,
    reward_file,
    reward_func,
    split_completion,
    style_reward_func,
)

from permix_plugins import PersonaMixDataset, PersonaPool, load_problems
from permix_plugins import verifier as verifier_module
from permix_plugins.cli import build_parser, main
from permix_plugins.errors import ConfigError
from permix_plugins.math import OPENRLHF_LOG_KEYS, openrlhf_reward
from permix_plugins.personas import Persona
from permix_plugins.styles import Style, decode_style, encode_style

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "examples" / "openrlhf" / "train_grpo_permix.sh"
TOWER = r"\boxed{5^{5^{5^{5^{5}}}}}"

try:
    from openrlhf.utils import agent
except ImportError:  # the adapter's own tests still run
    agent = None
needs_openrlhf = pytest.mark.skipif(agent is None, reason="needs `pip install --no-deps openrlhf==0.11.2`")
OPENRLHF = Path(agent.__file__).resolve().parents[1] if agent is not None else Path()


@pytest.fixture(scope="module", autouse=True)
def fast_verifier():
    configured = verifier_module.configure(timeout_s=1.5, workers=1)
    yield configured
    verifier_module.configure()  # back to the environment's settings (workers start lazily)
    configured.close()


@pytest.fixture(scope="module")
def tiny_model(tiny_tokenizer):
    from permix_plugins.tinylm import build_model

    return build_model(tiny_tokenizer, hidden_size=32, num_layers=1, num_heads=2, seed=0).eval()


# ------------------------------------------------------------------------------------------------------------
# Stand-ins for the GPU side: a vLLM-shaped engine, and OpenRLHF internals loaded without Ray or vLLM
# ------------------------------------------------------------------------------------------------------------


class StandInEngine:
    """What OpenRLHF's rollout actor hands the executor: `await generate(prompt_token_ids, params)` returning
    a vLLM `RequestOutput`-shaped object. Generates with a tiny model, or returns `forced` text."""

    def __init__(self, tokenizer: Any, model: Any = None, forced: str | None = None) -> None:
        self.tokenizer, self.model, self.forced = tokenizer, model, forced

    async def generate(self, prompt_token_ids: list[int], params: Any, multi_modal_data: Any = None) -> Any:
        import torch

        eos = self.tokenizer.eos_token_id
        if self.forced is not None:
            token_ids = [*self.tokenizer(self.forced, add_special_tokens=False)["input_ids"], eos]
        else:
            prompt = torch.tensor([prompt_token_ids])
            with torch.no_grad():
                out = self.model.generate(
                    prompt, attention_mask=torch.ones_like(prompt), do_sample=True, top_k=0,
                    temperature=params.temperature, max_new_tokens=params.max_tokens,
                )  # fmt: skip
            token_ids = out[0, len(prompt_token_ids) :].tolist()
        finish = "stop" if token_ids and token_ids[-1] == eos else "length"
        text = self.tokenizer.decode(token_ids, skip_special_tokens=params.skip_special_tokens)
        output = SimpleNamespace(index=0, token_ids=token_ids, text=text, finish_reason=finish, logprobs=None)
        return SimpleNamespace(prompt_token_ids=prompt_token_ids, outputs=[output], finished=True)


def sampling_params() -> SimpleNamespace:
    # The fields OpenRLHF's SamplesGenerator sets on vllm.SamplingParams (and the executor reads).
    return SimpleNamespace(temperature=1.0, top_p=1.0, top_k=-1, max_tokens=16, min_tokens=1,
                           skip_special_tokens=False, logprobs=None)  # fmt: skip


def executor(reward: str = "accuracy") -> Any:
    return agent.SingleTurnAgentExecutor(str(reward_file(reward)))


def run_executor(
    engine: StandInEngine, tokenizer: Any, pairs: list[tuple[str, str]], n: int = 1, reward: str = "accuracy"
) -> list:
    """As RolloutRayActor.generate_responses does: `n` concurrent executions per (prompt, label)."""
    rollout = executor(reward)

    async def samples() -> list[dict]:
        return await asyncio.gather(*[
            rollout.execute(prompt=prompt, label=label, sampling_params=sampling_params(), max_length=512,
                            hf_tokenizer=tokenizer, llm_engine=engine)
            for prompt, label in pairs
            for _ in range(n)
        ])  # fmt: skip

    return asyncio.run(samples())


@pytest.fixture
def openrlhf_internals(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """OpenRLHF's `_process_response_into_experience` and `compute_eval_metrics`, as shipped. Their modules
    import Ray and vLLM at the top: those imports are stubbed, the two functions come from the real files."""
    stubs = {
        "ray": {},
        "vllm": {"SamplingParams": SimpleNamespace},
        "openrlhf.trainer.ray": {"__path__": []},
        "openrlhf.trainer.ray.vllm_engine": {"batch_vllm_engine_call": None},
    }
    for name, attributes in stubs.items():
        module = types.ModuleType(name)
        module.__dict__.update(attributes)
        monkeypatch.setitem(sys.modules, name, module)
    path = OPENRLHF / "trainer" / "ppo_utils" / "samples_generator.py"
    spec = importlib.util.spec_from_file_location("openrlhf_samples_generator_under_test", path)
    samples_generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(samples_generator)

    import torch
    from openrlhf.trainer.ppo_utils import experience

    def to_experience(response: dict) -> Any:
        convert = samples_generator.SamplesGenerator._process_response_into_experience
        return convert(None, response, max_len=512)

    trainer = OPENRLHF / "trainer" / "ppo_trainer.py"
    eval_metrics = _function_from(trainer, "compute_eval_metrics", {"torch": torch})
    return SimpleNamespace(to_experience=to_experience, compute_eval_metrics=eval_metrics,
                           experience=experience)  # fmt: skip


def _function_from(path: Path, name: str, namespace: dict[str, Any]) -> Any:
    tree = ast.parse(path.read_text())
    (node,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name]
    exec(  # runs code of the file under test
        compile(ast.Module(body=[node], type_ignores=[]), str(path), "exec"),
        namespace,
    )
    return namespace[name]


def prompt_dataset(path: Path, tokenizer: Any) -> Any:
    """OpenRLHF's blending_datasets + PromptDataset on a JSONL file, with the example script's data flags."""
    from openrlhf.datasets.prompts_dataset import PromptDataset
    from openrlhf.datasets.utils import blending_datasets

    data = SimpleNamespace(input_key="input", label_key="label", apply_chat_template=True, image_key="images")
    strategy = SimpleNamespace(
        args=SimpleNamespace(use_ms=False, data=data), print=lambda *a, **k: None, is_rank_0=lambda: False
    )
    return PromptDataset(blending_datasets(str(path), None, strategy), tokenizer, strategy)


# ------------------------------------------------------------------------------------------------------------
# End to end through OpenRLHF's code
# ------------------------------------------------------------------------------------------------------------


@needs_openrlhf
def test_reward_file_is_loaded_by_path_like_openrlhf_does():
    # OpenRLHF executes the file without registering it in sys.modules; the shim imports the real module, so
    # the executor gets the very function this package exports (and the adapter's dataclasses still work)
    assert reward_file().suffix == ".py" and reward_file().is_file()
    assert executor().reward_func is reward_func


def test_loading_the_reward_file_stays_light():
    code = (
        "import importlib.util, json, sys\n"
        f"spec = importlib.util.spec_from_file_location('reward_func', {str(reward_file())!r})\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd="/")
    assert not {"torch", "transformers", "openrlhf", "datasets", "math_verify"} & set(json.loads(out.stdout))


@pytest.mark.slow
@needs_openrlhf
def test_tiny_model_rollouts_through_openrlhf_dataset_executor_batching_and_eval(
    tmp_path, tiny_tokenizer, tiny_model, openrlhf_internals
):
    import torch

    torch.manual_seed(0)
    pool = PersonaPool.builtin("lottery")
    problems = load_problems("synthetic", split="test", limit=2)
    summary = export_jsonl(tmp_path / "eval.jsonl", problems, pool, every_persona=True)
    dataset = prompt_dataset(summary.path, tiny_tokenizer)
    assert len(dataset) == 2 * len(pool) and sorted(set(dataset.datasources)) == sorted(pool.ids)
    rows = [dataset[i] for i in range(len(dataset))]
    for datasource, prompt, label, _ in rows:
        assert prompt.endswith("<|assistant|>") and decode_label(label).persona_id == datasource
        if datasource != "none":
            assert prompt.startswith(f"<|system|>{pool[datasource].text}<|end|><|user|>")

    n = 2
    engine = StandInEngine(tiny_tokenizer, tiny_model)
    outputs = run_executor(
        engine, tiny_tokenizer, list(zip(dataset.prompts, dataset.labels, strict=True)), n=n
    )
    for output in outputs:
        start, end = output["action_ranges"][0]
        generated = tiny_tokenizer.decode(output["observation_tokens"][start:end], skip_special_tokens=False)
        while generated.endswith("<|end|>"):
            generated = generated[: -len("<|end|>")]
        expected = verifier_module.default_verifier().verify(decode_label(output["label"]).answer, generated)
        assert output["reward"].tolist() == [expected.score]  # the generation was scored, and nothing else
        assert output["extra_logs"]["no_completion"].tolist() == [0.0]
        assert output["extra_logs"]["bad_gold"].tolist() == [0.0]

    experiences = [openrlhf_internals.to_experience(output) for output in outputs]
    for exp in experiences:
        assert exp.rewards.shape == (1,) and exp.scores.shape == (1,)
        assert set(LOG_KEYS) <= set(exp.info) and all(exp.info[k].dtype == torch.float32 for k in LOG_KEYS)
    ops = openrlhf_internals.experience
    batch = ops.Experience.concat_experiences(experiences, tiny_tokenizer.pad_token_id)  # experience maker
    rebatched = ops.make_experience_batch(ops.split_experience_batch(batch))  # replay buffer
    logged = torch.tensor(rebatched.info["persona_rate"], dtype=torch.float)  # as the actor's metrics do
    assert logged.tolist() == [float(d != "none") for d in dataset.datasources for _ in range(n)]

    eval_batches = [([d], [p], [label], [None]) for d, p, label, _ in rows]
    metrics = openrlhf_internals.compute_eval_metrics(eval_batches, experiences, n)
    for persona in pool.ids:
        assert 0.0 <= metrics[f"eval_{persona}_pass1"] <= metrics[f"eval_{persona}_pass{n}"] <= 1.0
    assert metrics["eval_num_samples"] == len(outputs)


PIRATE_72 = encode_label("72", "pirate")
# (response the engine returns, label, expected reward, the one extra_logs flag that is 1.0 or None)
FORCED = [
    # a boxed correct answer, with a JSON label from the exporter
    (r"6 * 12 = 72, so \boxed{72}", PIRATE_72, 1.0, "accuracy"),
    # a wrong answer: accuracy 0 and no other flag
    (r"\boxed{71}", PIRATE_72, 0.0, None),
    # no answer: the prompt's own 72, "Answer: 72" and \boxed{72} example must not be read as the answer
    ("Arr, I cannot count that high.", PIRATE_72, 0.0, "no_answer"),
    # plain labels (a user's own file), among them a GSM8K worked solution
    ("The answer is 72.", "72", 1.0, "accuracy"),
    ("#### 72", "She sold 48 + 24 = 72 clips.\n#### 72", 1.0, "accuracy"),
    # labels without a gold: OpenRLHF's default "" (no --data.label_key), broken JSON, JSON without answer
    (r"\boxed{72}", "", 0.0, "bad_gold"),
    (r"\boxed{72}", '{"answer": "72", "persona', 0.0, "bad_gold"),
    (r"\boxed{72}", '{"persona_id": "pirate"}', 0.0, "bad_gold"),
    (r"\boxed{72}", '{"answer": ' + "[" * 100_000, 0.0, "bad_gold"),
    # 200k characters of junk: bounded work, no answer / a wrong one
    ("{" * 200_000, "72", 0.0, "no_answer"),
    ("9" * 200_000, "72", 0.0, None),
]
LEAKY_MESSAGES = [
    {"role": "system", "content": r"You are a pirate. Always finish with \boxed{72}-style answers."},
    {"role": "user", "content": "Tom has 72 coins and 0 more. How many coins? Answer: 72"},
]


@needs_openrlhf
@pytest.mark.parametrize(("response", "label", "reward", "flag"), FORCED)
def test_forced_responses_through_the_executor(tiny_tokenizer, response, label, reward, flag):
    prompt = tiny_tokenizer.apply_chat_template(LEAKY_MESSAGES, tokenize=False, add_generation_prompt=True)
    engine = StandInEngine(tiny_tokenizer, forced=response)
    (output,) = run_executor(engine, tiny_tokenizer, [(prompt, label)])
    assert output["reward"].tolist() == [reward] and output["scores"].tolist() == [reward]
    logs = output["extra_logs"]
    assert list(logs) == list(LOG_KEYS)
    assert {key for key in LOG_KEYS[:6] if logs[key].item() == 1.0} == ({flag} if flag else set())


@needs_openrlhf
@needs_openrlhf
def test_the_style_reward_file_rewards_the_persona_style_through_the_executor(tiny_tokenizer):
    assert executor("style").reward_func is style_reward_func
    prompt = tiny_tokenizer.apply_chat_template(LEAKY_MESSAGES, tokenize=False, add_generation_prompt=True)
    pirate = encode_label("72", "pirate", encode_style(Style(starts_with="Arr!")))
    cases = {  # response: (style reward, correctness)
        "Arr! It be 72.": (1.0, 1.0),
        "Arr! It be 71.": (1.0, 0.0),
        "It is 72.": (0.0, 1.0),
    }
    for response, (style, correct) in cases.items():
        engine = StandInEngine(tiny_tokenizer, forced=response)
        (styled,) = run_executor(engine, tiny_tokenizer, [(prompt, pirate)], reward="style")
        (plain,) = run_executor(engine, tiny_tokenizer, [(prompt, pirate)])
        assert styled["reward"].tolist() == [style] and plain["reward"].tolist() == [correct], response
        for logs in (styled["extra_logs"], plain["extra_logs"]):
            assert logs["style"].item() == style and logs["styled"].item() == 1.0
            assert logs["accuracy"].item() == correct


def test_power_tower_times_out_in_a_worker_not_in_the_rollout(tiny_tokenizer):
    prompt = tiny_tokenizer.apply_chat_template(LEAKY_MESSAGES[1:], tokenize=False,
                                                add_generation_prompt=True)  # fmt: skip
    killed = verifier_module.default_verifier().stats().get("workers_killed", 0)
    (output,) = run_executor(StandInEngine(tiny_tokenizer, forced=TOWER), tiny_tokenizer, [(prompt, "5")])
    assert output["reward"].tolist() == [0.0] and output["extra_logs"]["timeout"].tolist() == [1.0]
    # the deadline ended it: the stuck worker was killed (and replaced), the rollout went on
    assert verifier_module.default_verifier().stats()["workers_killed"] == killed + 1


@needs_openrlhf
def test_a_prompt_that_does_not_survive_the_tokenizer_round_trip(tiny_tokenizer):
    # "é" is <unk> to the character tokenizer: the query no longer starts with the prompt; the marker finds it
    messages = [{"role": "system", "content": "You are a café owner who counts 99 cups."},
                {"role": "user", "content": "What is 6 * 12?"}]  # fmt: skip
    prompt = tiny_tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    label = encode_label("72", "cafe-owner")
    good, none = (
        run_executor(StandInEngine(tiny_tokenizer, forced=response), tiny_tokenizer, [(prompt, label)])[0]
        for response in (r"\boxed{72}", "no idea")
    )
    assert good["reward"].tolist() == [1.0] and good["extra_logs"]["persona_correct"].tolist() == [1.0]
    assert none["reward"].tolist() == [0.0] and none["extra_logs"]["no_answer"].tolist() == [1.0]


# ------------------------------------------------------------------------------------------------------------
# reward_func on its own: the contract, threads, failures
# ------------------------------------------------------------------------------------------------------------


def test_batch_shapes_types_and_keys_are_stable():
    import torch

    calls = [
        reward_func(["Q A: 4"], ["Q A:"], ["4"]),
        reward_func(["x"], ["something else"], [None]),
        reward_func(["Q: 1", "Q: 2", "Q: 3"], ["Q:"] * 3, ["1", encode_label("2", "owl"), '{"answer": ']),
        reward_func([], [], []),
        reward_func("Q: 7", "Q:", "7"),  # one sample passed bare
        reward_func(["Q: 7", "Q: 8"], ["Q:"], []),  # misaligned lists: the missing items are bad input
    ]
    for out, n in zip(calls, [1, 1, 3, 0, 1, 2], strict=True):
        assert list(out) == ["rewards", "scores", "extra_logs"] and list(out["extra_logs"]) == list(LOG_KEYS)
        for tensor in [out["rewards"], out["scores"], *out["extra_logs"].values()]:
            assert isinstance(tensor, torch.Tensor) and tensor.dtype == torch.float32 and tensor.shape == (n,)
    assert calls[2]["rewards"].tolist() == [1.0, 1.0, 0.0]
    assert calls[2]["extra_logs"]["persona_correct"].tolist() == [0.0, 1.0, 0.0]
    assert calls[1]["extra_logs"]["no_completion"].tolist() == [1.0]
    assert calls[5]["extra_logs"]["bad_gold"].tolist() == [1.0, 0.0]
    assert calls[5]["extra_logs"]["no_completion"].tolist() == [0.0, 1.0]


@pytest.mark.slow
def test_picklable_runs_in_a_spawned_process_and_ignores_extra_kwargs():
    import concurrent.futures
    import multiprocessing
    import pickle

    assert pickle.loads(pickle.dumps(reward_func)) is reward_func
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        out = pool.submit(reward_func, ["Q: 4"], ["Q:"], ["4"], step=3).result(timeout=120)
    assert out["rewards"].tolist() == [1.0]


def test_runs_in_worker_threads_including_math_verify():
    # an answer the fast path cannot decide: math-verify runs, whose signal-based timeouts fail in threads
    args = ([r"So \boxed{\sin(\pi/3)}"], [""], [r"\frac{\sqrt{3}}{2}"])
    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(reward_func(*args)))
    thread.start()
    thread.join(30)
    results.append(asyncio.run(asyncio.to_thread(reward_func, *args)))
    assert [r["rewards"].tolist() for r in results] == [[1.0], [1.0]]


def test_never_raises_when_our_code_fails(monkeypatch):
    # a failing verifier, a hung one and bad settings are the core reward's (tests/test_math_reward.py)
    monkeypatch.setattr(adapter, "split_completion", lambda *a: 1 / 0)  # a bug anywhere in the adapter
    out = reward_func(["a", "b"], ["", ""], ["1", encode_label("2", "owl")])
    assert out["rewards"].tolist() == [0.0, 0.0] and out["extra_logs"]["error"].tolist() == [1.0, 1.0]
    assert list(out["extra_logs"]) == list(LOG_KEYS)


def test_scores_are_the_core_rewards_as_tensors():
    queries, prompts = ["Q: 4", "Q: 5", "x"], ["Q:", "Q:", "elsewhere"]
    labels = [encode_label("4", "owl"), "4", "4"]
    out = reward_func(queries, prompts, labels)
    core = openrlhf_reward([split_completion(q, p) for q, p in zip(queries, prompts, strict=True)],
                           ["4", "4", "4"], [True, False, False])  # fmt: skip
    assert out["rewards"].tolist() == core["rewards"] == [1.0, 0.0, 0.0]
    assert {key: values.tolist() for key, values in out["extra_logs"].items()} == core["extra_logs"]
    assert LOG_KEYS is OPENRLHF_LOG_KEYS


# ------------------------------------------------------------------------------------------------------------
# Finding the response and reading labels
# ------------------------------------------------------------------------------------------------------------

QWEN = (
    "<|im_start|>system\nYou are a pirate.<|im_end|>\n<|im_start|>user\nWhat is 40 + 2? \\boxed{}<|im_end|>\n"
    "<|im_start|>assistant\n"
)
LLAMA3 = (
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is 40 + 2?<|eot_id|>"
    "<|start_header_id|>assistant<|end_header_id|>\n\n"
)
GEMMA = "<bos><start_of_turn>user\nYou are a pirate.\n\nWhat is 40 + 2?<end_of_turn>\n<start_of_turn>model\n"
TINY = "<|system|>You are a pirate.<|end|><|user|>What is 40 + 2?<|end|><|assistant|>"
R1 = "<\uff5cUser\uff5c>What is 40 + 2?<\uff5cAssistant\uff5c><think>\n"


@pytest.mark.parametrize(
    ("query", "prompt", "expected"),
    [
        # the query starts with the prompt; trailing end-of-turn tokens go
        (QWEN + "42<|im_end|>", QWEN, "42"),
        (LLAMA3 + "It is 42.<|eot_id|>", LLAMA3, "It is 42."),
        (GEMMA + "42<end_of_turn><eos>", GEMMA, "42"),
        (TINY + "42<|end|>", TINY, "42"),
        (TINY + "42<|endoftext|></s>  ", TINY, "42"),
        # the tokenizer round trip changed whitespace ("<s> [INST]"-style spaces, cleaned-up spaces)
        ("<s> [INST] 40+2 ? [/INST] 42</s>", "<s>[INST] 40 + 2? [/INST]", "42"),
        # OpenRLHF cut the head of a long prompt, or the round trip changed characters: the template's marker
        (QWEN[40:] + "42<|im_end|>", QWEN, "42"),
        (LLAMA3.replace("40", "forty") + "42<|eot_id|>", LLAMA3, "42"),
        (GEMMA.replace("pirate", "pirat\u00e9") + "42", GEMMA, "42"),
        # a template that opens <think>: give it back, so an unfinished thought has no answer
        (R1 + "40 + 2 = 42</think>\\boxed{42}", R1, "<think>40 + 2 = 42</think>\\boxed{42}"),
        # unknown template and no prefix match: never guess (the prompt could be scored)
        ("Question: what is 40 + 2? Answer: 42", "Q: what is 40 + 2? A:", None),
        ("<|assistant|>42", "Q: 40 + 2 = ? A:", None),
        # not strings
        (None, TINY, None),
        (TINY + "42", None, None),
        # an empty prompt: everything is the response
        ("42", "", "42"),
    ],
)
def test_split_completion(query, prompt, expected):
    assert split_completion(query, prompt) == expected


def test_split_completion_on_huge_queries():
    # How the split scales on such queries is measured by benchmarks/bench_hostile.py, not asserted here.
    assert split_completion(TINY + "(" * 200_000, TINY) == "(" * 200_000
    assert split_completion(QWEN + "</s>" * 50_000, QWEN) == ""
    assert split_completion(" " * 200_000 + "x", QWEN) is None


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ('{"answer": "72", "persona_id": "pirate"}', Label("72", "pirate")),
        ({"answer": 72, "persona_id": "owl"}, Label(72, "owl")),  # a JSON-object column arrives parsed
        (b'{"answer": "3"}', Label("3", None)),
        ('  {"answer": "x", "persona_id": 5}  ', Label("x", None)),  # a non-string persona id is ignored
        ("72", Label("72", None)),
        (r"\{1, 2\}", Label(r"\{1, 2\}", None)),
        ("{1, 2}", Label("{1, 2}", None)),  # a set, not JSON
        ('{"answer": "72",', Label(None, None)),  # our JSON, broken: no gold, never the literal string
        ('{"persona_id": "owl"}', Label(None, "owl")),  # a JSON object without an answer
        ("", Label("", None)),
        (None, Label(None, None)),
        (3.5, Label(3.5, None)),
    ],
)
def test_decode_label(label, expected):
    assert decode_label(label) == expected


def test_label_round_trip_and_persona_flag():
    label = decode_label(encode_label("\\frac{1}{2}", "pirate"))
    assert label == Label("\\frac{1}{2}", "pirate") and label.has_persona
    assert not decode_label(encode_label("1", None)).has_persona and not decode_label("1").has_persona


# ------------------------------------------------------------------------------------------------------------
# Export and CLI
# ------------------------------------------------------------------------------------------------------------


def test_rows_are_the_persona_mix_dataset():
    problems, pool = load_problems("synthetic", limit=12), PersonaPool.builtin("train")
    rows = list(openrlhf_rows(problems, pool, persona_prob=0.5, seed=3))
    mixed = PersonaMixDataset(problems, pool, persona_prob=0.5, seed=3)
    assert [r["input"] for r in rows] == mixed["prompt"]
    assert [r["datasource"] for r in rows] == mixed["persona_id"]
    assert [decode_label(r["label"]) for r in rows] == [
        Label(answer, persona) for answer, persona in zip(mixed["answer"], mixed["persona_id"], strict=True)
    ]
    assert 0 < sum(r["datasource"] != "none" for r in rows) < 12


def test_rows_of_a_styled_pool_carry_the_style_in_the_label():
    styled = PersonaPool.builtin("styled")
    rows = list(openrlhf_rows(load_problems("synthetic", limit=12), styled, persona_prob=0.5, seed=2))
    labels = [decode_label(row["label"]) for row in rows]
    assert {label.persona_id for label in labels} > {"none"}
    for row, label in zip(rows, labels, strict=True):
        expected = None if label.persona_id == "none" else styled[label.persona_id].style
        assert decode_style(label.style) == expected and row["datasource"] == label.persona_id
    plain = next(openrlhf_rows(load_problems("synthetic", limit=1), "train", persona_prob=1.0))
    assert set(json.loads(plain["label"])) == {"answer", "persona_id"}  # unstyled labels are as before


def test_every_persona_rows_add_the_no_persona_prompt_once():
    problems = load_problems("synthetic", limit=3)
    owl = PersonaPool([Persona(id="owl", text="You are a wise owl.")])
    rows = list(openrlhf_rows(problems, owl, every_persona=True, placement="user_prefix", instruction=None))
    assert [r["datasource"] for r in rows] == ["none"] * 3 + ["owl"] * 3
    owl_prompt = f"You are a wise owl.\n\n{problems[0]['problem']}"
    assert rows[3]["input"] == [{"role": "user", "content": owl_prompt}]
    lottery = PersonaPool.builtin("lottery")  # already has `none`
    assert len(list(openrlhf_rows(problems, lottery, every_persona=True))) == 3 * len(lottery)


def test_export_refuses_a_file_name_openrlhf_cannot_load(tmp_path):
    with pytest.raises(ConfigError, match=r"\*\.jsonl"):
        export_jsonl(tmp_path / "x.txt", load_problems("synthetic", limit=1), PersonaPool.builtin("train"))
    assert not list(tmp_path.iterdir())


def test_cli_export_and_reward_path(tmp_path, capsys):
    out = tmp_path / "data" / "train.jsonl"
    argv = ["export", "openrlhf", "--problems", "synthetic", "--limit", "5", "--persona-prob", "1", "--out"]
    assert main([*argv, str(out)]) == 0
    stdout, stderr = capsys.readouterr()
    assert "wrote 5 rows" in stderr
    flags = "--data.input_key input --data.label_key label --data.apply_chat_template"
    assert stdout.strip() == f"--data.prompt_dataset {out} {flags}"
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 5
    assert all(r["input"][0]["role"] == "system" and r["datasource"] != "none" for r in rows)

    assert main(["openrlhf-reward-path"]) == 0
    assert capsys.readouterr().out.strip() == str(reward_file())

    assert main([*argv, str(out), "--persona-prob", "2"]) == 2
    assert (
        "invalid option --persona-prob: Input should be less than or equal to 1 (got 2.0)"
        in capsys.readouterr().err
    )


# ------------------------------------------------------------------------------------------------------------
# The example script, checked by OpenRLHF's own parser and argument checks
# ------------------------------------------------------------------------------------------------------------


def openrlhf_cli(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run the `__main__` block of openrlhf/cli/train_ppo_ray.py (its parser and checks), `train` stubbed."""
    path = OPENRLHF / "cli" / "train_ppo_ray.py"
    tree = ast.parse(path.read_text())
    (block,) = [n for n in tree.body if isinstance(n, ast.If) and "__main__" in ast.unparse(n.test)]
    captured: list[Any] = []
    namespace = {"argparse": argparse, "os": os, "datetime": datetime.datetime, "train": captured.append}
    monkeypatch.setattr(sys, "argv", ["train_ppo_ray", *argv])
    exec(  # runs code of the file under test
        compile(ast.Module(body=block.body, type_ignores=[]), str(path), "exec"),
        namespace,
    )
    (args,) = captured
    return args


@needs_openrlhf
def test_example_script_is_a_valid_openrlhf_grpo_command(tmp_path, monkeypatch):
    path = f"{Path(sys.executable).parent}:{os.environ['PATH']}"  # `permix` of this environment
    env = {**os.environ, "PERMIX_PRINT_ARGS": "1", "PATH": path}
    printed = subprocess.run(["bash", str(SCRIPT), "--logger.wandb.project", "permix"], env=env, cwd=tmp_path,
                             check=True, capture_output=True, text=True).stdout  # fmt: skip
    sections: dict[str, list[str]] = {}
    for line in printed.splitlines():
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
        else:
            current.append(line)

    args = openrlhf_cli(sections["train"], monkeypatch)
    assert args.algo.advantage.estimator == "group_norm" and args.rollout.n_samples_per_prompt > 1
    assert args.reward.remote_url == [str(reward_file())] and args.vllm.num_engines >= 1
    data = args.data
    assert (data.input_key, data.label_key, data.apply_chat_template) == ("input", "label", True)
    assert args.ckpt.best_metric_key == "eval_none_pass1" and args.logger.wandb.project == "permix"
    # colocated engines must cover the actor's GPUs exactly (OpenRLHF checks it in train())
    actor_gpus = args.actor.num_nodes * args.actor.num_gpus_per_node
    assert args.vllm.num_engines * args.vllm.tensor_parallel_size == actor_gpus

    train_export = build_parser().parse_args(sections["export-train"])
    eval_export = build_parser().parse_args(sections["export-eval"])
    assert (train_export.out, eval_export.out) == (args.data.prompt_dataset, args.eval.dataset)
    assert Path(args.data.prompt_dataset).is_absolute() and Path(args.eval.dataset).is_absolute()
    assert (train_export.target, train_export.problems, train_export.split) == ("openrlhf", "gsm8k", "train")
    assert (eval_export.split, eval_export.personas, eval_export.every_persona) == ("test", "eval", True)
