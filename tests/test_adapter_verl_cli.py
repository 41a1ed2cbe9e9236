"""The verl commands (`permix export verl`, `permix verl-overrides`) and the GRPO recipe that calls them, composed
with verl's own Hydra config and checked by verl's own config checks."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("verl", reason="the verl extra is not installed")

import permix_plugins.adapters.verl as adapter
from verl.trainer.ppo.reward import get_custom_reward_fn, resolve_reward_manager_cls
from verl.utils.dataset.rl_dataset import get_dataset_class
from verl_configs import compose_verl

import permix_plugins.math as permix_math
from permix_plugins.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "examples" / "verl" / "run_grpo_permix.sh"


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
