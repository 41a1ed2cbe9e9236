"""The `permix` package (`permix_plugins.cli`): what importing it loads, how its commands are laid out, and that
every mixing option is `MixConfig`'s setting (its default, limits and text), not a copy of it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from permix_plugins.cli import COMMANDS, build_parser, main
from permix_plugins.cli.demo import DemoOptions
from permix_plugins.cli.export import ExportOpenRLHFOptions, ExportVerlOptions
from permix_plugins.lab.config import LabConfig
from permix_plugins.mix_config import MixConfig, MixingOptions
from permix_plugins.verl_settings import ValMixSettings, VerlMixSettings, VerlOverridesOptions

FRAMEWORKS = ("torch", "transformers", "trl", "verl", "openrlhf", "ray", "vllm")


def test_import_loads_no_adapter_and_no_framework():
    code = (
        "import json, sys\nimport permix_plugins.cli\nfrom permix_plugins.cli import build_parser\n"
        "build_parser()\nprint(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    loaded = set(json.loads(out.splitlines()[-1]))
    assert "permix_plugins.cli.export" in loaded  # the command modules are there, their adapters are not
    assert not {m for m in loaded if m.startswith("permix_plugins.adapters")}
    assert not {m for m in loaded if m.split(".")[0] in FRAMEWORKS}


def test_commands_are_listed_in_their_groups_order():
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert list(commands) == [
        "demo",
        "personas",
        "eval",
        "report",
        "fidelity",
        "export",
        "openrlhf-reward-path",
        "verl-overrides",
        "models",
    ]
    targets = {
        name: list(commands[name]._subparsers._group_actions[0].choices) for name in ("export", "models")
    }
    assert targets == {"export": ["openrlhf", "verl", "trl"], "models": ["list", "get"]}
    assert "write a persona-mixed dataset in a trainer's own file format" in " ".join(
        parser.format_help().split()
    )


# ------------------------------------------------------------------------------------ MixConfig at the edges
_NAMED_OTHERWISE = {"personas": "pool", "mix_seed": "seed"}  # option -> the MixConfig field it sets


def _mix_setting(option: str) -> str | None:
    """The MixConfig field an option sets (``--test-personas`` sets the test file's pool), if any."""
    name = option.removeprefix("val_").removeprefix("test_")
    name = _NAMED_OTHERWISE.get(name, name)
    return name if name in MixConfig.model_fields else None


def _mixing_options() -> list[tuple[str, str, str]]:
    models = [cmd.settings for cmd in COMMANDS if issubclass(cmd.settings, (MixingOptions, MixConfig))]
    models += [ValMixSettings, VerlMixSettings]
    return [
        (model, option, setting)
        for model in models
        for option in model.model_fields
        if (setting := _mix_setting(option)) is not None
    ]


def _limits(info) -> list[str]:
    return sorted(map(repr, info.metadata))


def test_the_mixing_commands_are_found():
    found = {(model.__name__, option) for model, option, _ in _mixing_options()}
    assert {
        ("ExportOpenRLHFOptions", "every_persona"),
        ("ExportOpenRLHFOptions", "instruction"),
        ("ExportVerlOptions", "test_persona_prob"),
        ("VerlOverridesOptions", "epochs"),
        ("VerlOverridesOptions", "val_personas"),
        ("ValMixSettings", "persona_prob"),
    } <= found


@pytest.mark.parametrize(
    ("model", "option", "setting"), _mixing_options(), ids=lambda x: getattr(x, "__name__", x)
)
def test_no_option_restates_a_mix_config_setting(model, option, setting):
    """Same limits, and the same default (None: the option, unset, follows another value)."""
    ours, theirs = model.model_fields[option], MixConfig.model_fields[setting]
    assert _limits(ours) == _limits(theirs)
    assert ours.default is None or ours.default == theirs.default


def test_the_mixing_options_tell_mix_configs_text():
    for option in MixingOptions.model_fields:
        setting = _mix_setting(option)
        assert MixingOptions.model_fields[option].description == MixConfig.model_fields[setting].description
    epochs = VerlOverridesOptions.model_fields["epochs"].description
    assert epochs == f"{MixConfig.model_fields['epochs'].description} (divide trainer.total_epochs by it)"


def test_data_source_is_verl_mix_settings():
    default = VerlMixSettings.model_fields["data_source"].default
    for model in (ExportVerlOptions, VerlOverridesOptions):
        assert model.model_fields["data_source"].default == default == "persona"


def test_the_lab_share_is_mix_configs_above_zero():
    lab, mix = LabConfig.model_fields["persona_prob"], MixConfig.model_fields["persona_prob"]
    assert lab.default == mix.default == 0.5
    assert _limits(lab) == ["Gt(gt=0)", "Le(le=1.0)"]  # MixConfig's ge=0 made strict: 0 is the RLVR run
    assert _limits(DemoOptions.model_fields["persona_prob"]) == _limits(lab)


def test_every_persona_replaces_the_persona_share(capsys):
    """The rule is MixConfig's (`replace`): given with a share, --every-persona wins (the helps say so)."""
    openrlhf = ExportOpenRLHFOptions.parse(out="x.jsonl", persona_prob=0.3, every_persona=True)
    config = openrlhf.mix_config(every_persona=True)
    assert config.every_persona and "persona_prob" not in config.to_dict()
    verl = ExportVerlOptions.parse(persona_prob=0.3, test_personas="lottery", test_persona_prob=0.2)
    train = verl.mix_config()
    assert (train.pool, train.persona_prob) == ("train", 0.3)
    assert verl.test_config(train).to_dict() == {**train.to_dict(), "pool": "lottery", "persona_prob": 0.2}
    every = ExportVerlOptions.parse(test_every_persona=True, test_persona_prob=0.2).test_config(train)
    assert every.every_persona and every.pool == "train" and "persona_prob" not in every.to_dict()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--epochs", "0"], "invalid option --epochs: Input should be greater than or equal to 1 (got 0)"),
        (
            ["--val-persona-prob", "2"],
            "invalid option --val-persona-prob: Input should be less than or equal to 1 (got 2.0)",
        ),
        (
            ["--val-personas", ""],
            "invalid option --val-personas: String should have at least 1 character (got '')",
        ),
    ],
)
def test_verl_overrides_limits_are_mix_configs(argv, message, capsys):
    assert main(["verl-overrides", *argv]) == 2
    assert capsys.readouterr().err == f"permix verl-overrides: error: {message}\n"


def test_personas_lists_styles_and_stops_quietly_when_the_reader_goes_away(tmp_path):
    import subprocess
    import sys

    code = "from permix_plugins.cli import main; raise SystemExit(main(['personas', %r]))"
    listing = subprocess.run(
        [sys.executable, "-c", code % "styled"], capture_output=True, text=True, check=True
    )
    assert "buccaneer" in listing.stdout and 'style {"starts_with":["Arr!"]}' in listing.stdout
    many = tmp_path / "many.jsonl"  # far more than a pipe buffer holds, so the writer meets the closed pipe
    many.write_text(
        "".join(f'"You are persona number {i} of a very long list of personas."\n' for i in range(5000))
    )
    reader = subprocess.Popen(
        [sys.executable, "-c", code % str(many)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
    )
    reader.stdout.readline()
    reader.stdout.close()  # like `| head -1`
    stderr = reader.stderr.read()
    reader.wait(timeout=60)
    reader.stderr.close()
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr
