"""The TRL example: its offline default runs, ModelConfig's flags shape the model, it saves the trained model and
resumes from a checkpoint as TRL's own script does, the README's GPU recipe parses with the script's own parser and
installs a vLLM that TRL supports."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("trl")

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "trl" / "grpo_permix.py"


def _readme_command(starts_with: str) -> list[str]:
    text = (ROOT / "README.md").read_text()
    match = re.search(rf"^{re.escape(starts_with)}.*?(?<!\\)$", text, flags=re.MULTILINE | re.DOTALL)
    assert match, f"README has no command starting with {starts_with!r}"
    return shlex.split(match.group(0).replace("\\\n", " "))


def _example(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLE.parent))
    import grpo_permix

    return grpo_permix


@pytest.mark.slow
def test_offline_default_runs_and_prints_stability(tmp_path):
    out = subprocess.run(  # the test reads the return code
        [
            sys.executable,
            str(EXAMPLE),
            "--config",
            str(EXAMPLE.parent / "tiny_cpu.yaml"),
            "--max_steps",
            "1",
            "--stability_limit",
            "2",
            "--output_dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert re.search(r"step +0: PSS -?\d\.\d{3}", out.stdout) and re.search(r"step +1: PSS", out.stdout)
    assert sorted(p.name for p in (tmp_path / "stability").iterdir()) == [
        "stability-step0.json",
        "stability-step1.json",
    ]


def test_readme_gpu_recipe_parses(monkeypatch):
    from trl import GRPOConfig, ModelConfig, TrlParser

    grpo_permix = _example(monkeypatch)
    argv = _readme_command("accelerate launch examples/trl/grpo_permix.py")
    args = argv[argv.index("examples/trl/grpo_permix.py") + 1 :]
    # The recipe targets a GPU; only bf16's GPU check is lifted so the flags can be parsed here.
    parsed = TrlParser((grpo_permix.PermixArguments, GRPOConfig, ModelConfig)).parse_args_into_dataclasses(
        [*args, "--use_cpu", "true", "--bf16", "false"]
    )
    permix, config, model = parsed
    assert (permix.problems, permix.persona_prob, permix.stability_personas) == ("gsm8k", 0.5, "lottery")
    assert config.use_vllm and config.vllm_mode == "colocate" and config.num_generations == 8
    assert model.model_name_or_path == "Qwen/Qwen2.5-1.5B-Instruct"


def test_mixing_flags_are_mix_configs_settings(monkeypatch):
    """--personas, --persona_prob, --mix_seed and --placement carry MixConfig's defaults, help and limits."""
    from dataclasses import fields

    from trl import TrlParser

    from permix_plugins import ConfigError, MixConfig

    grpo_permix = _example(monkeypatch)
    flags = {f.name: f for f in fields(grpo_permix.PermixArguments)}
    for flag, setting in {"personas": "pool", "persona_prob": "persona_prob", "mix_seed": "seed",
                          "placement": "placement"}.items():  # fmt: skip
        info = MixConfig.model_fields[setting]
        assert (flags[flag].default, flags[flag].metadata["help"]) == (info.default, info.description), flag
    parser = TrlParser((grpo_permix.PermixArguments,))
    (args,) = parser.parse_args_into_dataclasses(["--persona_prob", "0.25", "--mix_seed", "3"])
    assert args.mix_config() == MixConfig(persona_prob=0.25, seed=3)
    with pytest.raises(ConfigError, match=r"persona_prob=2\.0: Input should be less than or equal to 1"):
        parser.parse_args_into_dataclasses(["--persona_prob", "2"])


def test_model_flags_reach_the_model(tmp_path, monkeypatch):
    """--use_peft, the LoRA flags, --dtype and --attn_implementation shape the trained model, as in TRL's script."""
    import torch
    from peft import PeftModel
    from trl import GRPOConfig, ModelConfig, TrlParser

    grpo_permix = _example(monkeypatch)
    parser = TrlParser((grpo_permix.PermixArguments, GRPOConfig, ModelConfig))
    args = parser.parse_args_and_config(
        [
            "--config", str(EXAMPLE.parent / "tiny_cpu.yaml"), "--output_dir", str(tmp_path),
            "--max_steps", "1", "--per_device_train_batch_size", "4", "--num_generations", "2",
            "--max_completion_length", "4", "--stability_problems", "",
            "--use_peft", "--lora_r", "4", "--lora_target_modules", "q_proj", "v_proj",
            "--dtype", "bfloat16", "--attn_implementation", "eager",
        ]
    )  # fmt: skip
    trainer = grpo_permix.main(*args)
    model = trainer.model
    assert isinstance(model, PeftModel)
    lora = model.peft_config["default"]
    assert lora.r == 4 and set(lora.target_modules) == {"q_proj", "v_proj"}
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in name for name in trainable)
    base = model.get_base_model()
    assert base.model.embed_tokens.weight.dtype == torch.bfloat16
    assert base.config._attn_implementation == "eager"


def _train(grpo_permix, output_dir: Path, model_dir: Path, *flags: str):
    """The example's `main` on the tiny model, a checkpoint every step, no stability report."""
    from trl import GRPOConfig, ModelConfig, TrlParser

    parser = TrlParser((grpo_permix.PermixArguments, GRPOConfig, ModelConfig))
    args = parser.parse_args_and_config(
        [
            "--config", str(EXAMPLE.parent / "tiny_cpu.yaml"), "--output_dir", str(output_dir),
            "--model_name_or_path", str(model_dir), "--per_device_train_batch_size", "4",
            "--num_generations", "2", "--max_completion_length", "4", "--stability_problems", "",
            "--save_strategy", "steps", "--save_steps", "1", *flags,
        ]
    )  # fmt: skip
    return grpo_permix.main(*args)


def _steps(log_history: list[dict]) -> list[int]:
    return [record["step"] for record in log_history if "loss" in record]  # one training record per step


def test_saves_the_final_model_and_resumes_from_a_checkpoint(tmp_path, monkeypatch, tiny_model_dir):
    """As TRL's own grpo.py: the trained model lands in --output_dir, and --resume_from_checkpoint continues a run
    from that checkpoint's step instead of starting over."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    grpo_permix = _example(monkeypatch)
    first = _train(grpo_permix, tmp_path / "first", tiny_model_dir, "--max_steps", "1")
    saved = AutoModelForCausalLM.from_pretrained(tmp_path / "first")  # fails if nothing was saved there
    trained = first.model.state_dict()
    assert saved.state_dict().keys() == trained.keys()
    assert all(torch.equal(tensor, trained[name]) for name, tensor in saved.state_dict().items())
    assert AutoTokenizer.from_pretrained(tmp_path / "first").chat_template  # the tokenizer is saved beside it

    checkpoint = tmp_path / "first" / "checkpoint-1"
    resumed = _train(
        grpo_permix, tmp_path / "resumed", tiny_model_dir, "--max_steps", "3",
        "--resume_from_checkpoint", str(checkpoint),
    )  # fmt: skip
    # steps 2 and 3 were trained here; step 1 is the first run's, read back from its checkpoint
    checkpoints = sorted(p.name for p in (tmp_path / "resumed").glob("checkpoint-*"))
    assert checkpoints == ["checkpoint-2", "checkpoint-3"]
    state = json.loads((tmp_path / "resumed" / "checkpoint-3" / "trainer_state.json").read_text())
    assert state["global_step"] == resumed.state.global_step == 3
    assert _steps(state["log_history"]) == [1, 2, 3]
    assert state["log_history"][0] == first.state.log_history[0]
    assert (tmp_path / "resumed" / "model.safetensors").is_file()


def test_vllm_extra_is_the_range_trl_supports():
    """The recipe's `pip install "permix-plugins[trl,vllm]"` must give TRL a vLLM it supports (its `trl[vllm]`)."""
    from importlib.metadata import requires

    from packaging.requirements import Requirement

    tomllib = pytest.importorskip("tomllib")
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    (ours,) = [r for r in map(Requirement, extras["vllm"]) if r.name == "vllm"]
    (trls,) = [
        r
        for r in map(Requirement, requires("trl"))
        if r.name == "vllm" and r.marker is not None and r.marker.evaluate({"extra": "vllm"})
    ]
    assert ours.specifier == trls.specifier, f"permix-plugins[vllm] has {ours}, trl[vllm] has {trls}"
    assert 'pip install "permix-plugins[trl,vllm]"' in (ROOT / "README.md").read_text()
