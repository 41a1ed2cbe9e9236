r"""OpenRLHF adapter, driven through OpenRLHF 0.11's own code on CPU: the reward file and its rollouts.

OpenRLHF's reward executor (`openrlhf.utils.agent.SingleTurnAgentExecutor`) loads our reward file by path and
calls it in a worker thread; a stand-in for its vLLM engine answers with a tiny local model's generations (or
forced text) in vLLM's `RequestOutput` shape. OpenRLHF's dataset (`PromptDataset`), sample-to-`Experience`
conversion, batching and eval metrics then run on the results. Where OpenRLHF's modules import Ray or vLLM at
the top, those imports are stubbed; the functions under test are OpenRLHF's, loaded from its installed files.
"""

from __future__ import annotations

import ast
import asyncio
import importlib.util
import json
import subprocess
import sys
import types
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from openrlhf_setup import OPENRLHF, agent, needs_openrlhf
from permix_plugins.adapters.openrlhf import (
    LOG_KEYS,
    decode_label,
    encode_label,
    export_jsonl,
    reward_file,
    reward_func,
    style_reward_func,
)
from tiny_models import build_tiny_model

from permix_plugins import PersonaPool, load_problems
from permix_plugins import verifier as verifier_module
from permix_plugins.styles import Style, encode_style

pytestmark = pytest.mark.usefixtures("fast_default_verifier")
TOWER = r"\boxed{5^{5^{5^{5^{5}}}}}"


@pytest.fixture(scope="module")
def tiny_model(tiny_tokenizer):
    return build_tiny_model(tiny_tokenizer).eval()


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


@needs_openrlhf
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
