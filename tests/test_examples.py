"""The TRL example: its offline default runs, and the README's GPU recipe parses with the script's own parser."""

from __future__ import annotations

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


@pytest.mark.slow
def test_offline_default_runs_and_prints_stability(tmp_path):
    out = subprocess.run(  # noqa: PLW1510 - the test reads the return code
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

    monkeypatch.syspath_prepend(str(EXAMPLE.parent))
    import grpo_permix

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
