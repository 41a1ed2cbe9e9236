"""verl's settings as permix reads and writes them (`permix_plugins.verl_settings`), without verl installed:
``data.permix`` and the options of ``permix verl-overrides``."""

from __future__ import annotations

import pytest

from permix_plugins.errors import ConfigError
from permix_plugins.verl_settings import ValMixSettings, VerlMixSettings, VerlOverridesOptions


@pytest.mark.parametrize(
    ("options", "data_permix"),
    [
        ({}, {"pool": "train", "persona_prob": 0.5, "seed": 0, "placement": "system"}),
        (  # defaults given explicitly are still left out
            {"epochs": 1, "data_source": "persona", "val_every_persona": False},
            {"pool": "train", "persona_prob": 0.5, "seed": 0, "placement": "system"},
        ),
        (
            {"personas": "eval", "persona_prob": 0.0, "seed": 7, "placement": "user_prefix", "epochs": 2},
            {"pool": "eval", "persona_prob": 0.0, "seed": 7, "placement": "user_prefix", "epochs": 2},
        ),
        (
            {"data_source": "source", "val_persona_prob": 1.0, "val_every_persona": True},
            {
                "pool": "train",
                "persona_prob": 0.5,
                "seed": 0,
                "placement": "system",
                "data_source": "source",
                "val": {"persona_prob": 1.0, "every_persona": True},
            },
        ),
    ],
)
def test_options_become_data_permix(options, data_permix):
    assert VerlOverridesOptions.parse(**options).data_permix() == data_permix


def test_data_permix_of_the_options_reads_back_as_verl_would():
    options = VerlOverridesOptions.parse(epochs=3, val_personas="lottery", val_every_persona=True)
    settings = VerlMixSettings.from_data_config({"permix": options.data_permix()})
    assert (settings.epochs, settings.val) == (3, ValMixSettings(pool="lottery", every_persona=True))
    val = settings.for_files("val")
    assert (val.pool, val.every_persona, val.epochs) == ("lottery", True, 1)  # epochs do not carry over


@pytest.mark.parametrize(
    ("val", "fragment"),
    [
        ({"persona_prob": 2}, "data.permix.val.persona_prob=2: Input should be less than or equal to 1"),
        ({"pool": ""}, "data.permix.val.pool='': String should have at least 1 character"),
        ({"placement": "top"}, "data.permix.val.placement='top': Input should be 'system' or 'user_prefix'"),
    ],
)
def test_val_settings_have_mix_configs_limits(val, fragment):
    with pytest.raises(ConfigError) as info:
        VerlMixSettings.from_data_config({"permix": {"val": val}})
    assert fragment in str(info.value)
