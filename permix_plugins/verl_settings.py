"""What permix reads from a verl config and writes into one: ``data.permix`` and the override lines' options.

`VerlMixSettings` is ``data.permix`` (`MixConfig` plus ``data_source`` and ``val``); `VerlOverridesOptions` are the
options of ``permix verl-overrides`` (and of `permix_plugins.adapters.verl.verl_overrides`), which turn into
``data.permix`` and the reward lines. Every mixing field is `MixConfig`'s (its default, limits and text). Nothing
here imports verl: the CLI and the adapter read these models without it.

Example:
    >>> VerlOverridesOptions.parse(epochs=3, val_personas="lottery").data_permix()
    {'pool': 'train', 'persona_prob': 0.5, 'seed': 0, 'placement': 'system', 'epochs': 3, 'val': {'pool': 'lottery'}}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from permix_plugins.errors import ConfigError
from permix_plugins.mix_config import MixConfig, MixingOptions
from permix_plugins.prompting import Placement
from permix_plugins.settings import optional_field, reworded

__all__ = [
    "SETTINGS_KEY",
    "DataSourceMode",
    "RewardManager",
    "ValMixSettings",
    "VerlMixSettings",
    "VerlOverridesOptions",
]

DataSourceMode = Literal["persona", "source_persona", "source"]
RewardManager = Literal["naive", "dapo", "remote"]  # verl 0.9's reward-loop managers main_ppo can resolve

SETTINGS_KEY = {"train": "data.permix", "val": "data.permix.val"}  # where each dataset's settings live

_MIX = MixConfig.model_fields


class ValMixSettings(BaseModel):
    """``data.permix.val``: what changes for the ``data.val_files`` dataset (unset fields follow ``data.permix``;
    validation reads its data once, so ``epochs`` does not carry over)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pool: str | None = optional_field(_MIX["pool"])
    persona_prob: float | None = optional_field(_MIX["persona_prob"])
    seed: int | None = optional_field(_MIX["seed"])
    placement: Placement | None = optional_field(_MIX["placement"])
    every_persona: bool = _MIX["every_persona"]


class VerlMixSettings(MixConfig):
    """``data.permix``: the mixing settings (`MixConfig`) for verl rows, plus ``data_source`` and ``val``.

    Example:
        >>> VerlMixSettings.from_data_config({"permix": {"persona_prob": 1, "val": {"pool": "eval"}}}).persona_prob
        1.0
        >>> VerlMixSettings.from_data_config({"permix": {"placement": "top"}})
        Traceback (most recent call last):
        ...
        permix_plugins.errors.ConfigError: invalid persona-mixing settings: data.permix.placement='top': ...
    """

    instruction: None = Field(None, description="none: verl rows carry their own prompt and instruction")
    data_source: DataSourceMode = Field(
        "persona", description="persona: permix/<id>; source_persona: <source>/permix/<id>; source: unchanged"
    )
    val: ValMixSettings | None = Field(None, description="what changes for data.val_files")

    @classmethod
    def from_data_config(cls, data_config: Any) -> VerlMixSettings:
        """Read ``permix`` from verl's ``data`` config (an OmegaConf `DictConfig` or a mapping); absent = defaults.

        Both datasets' settings and pools are checked here, so a bad value stops the run before verl loads data.
        """
        raw = data_config.get("permix") if data_config is not None else None
        if raw is not None and not isinstance(raw, Mapping):
            raw = _to_container(raw)
        if raw is not None and not isinstance(raw, Mapping):
            raise ConfigError(
                f"data.permix must be a mapping of settings (e.g. +data.permix.persona_prob=0.5), got {raw!r}"
            )
        settings = cls.parse(raw or {}, where=SETTINGS_KEY["train"])
        for role in ("train", "val"):
            settings.for_files(role).load_pool(where=SETTINGS_KEY[role])
        return settings

    def for_files(self, role: Literal["train", "val"]) -> VerlMixSettings:
        """The settings of the train or the validation dataset (``val`` applied to the latter)."""
        if role == "train" or self.val is None:
            return self
        changes = self.val.model_dump(exclude_unset=True)  # validation reads its data once: no epochs
        return self.replace(where=SETTINGS_KEY["val"], drop=("val", "epochs"), **changes)


def _to_container(raw: Any) -> Any:
    try:
        from omegaconf import OmegaConf
    except ImportError:  # without OmegaConf there can be no DictConfig to convert
        return raw
    return OmegaConf.to_container(raw, resolve=True) if OmegaConf.is_config(raw) else raw


_VERL = VerlMixSettings.model_fields


class VerlOverridesOptions(MixingOptions):
    """The options of ``permix verl-overrides``: ``data.permix`` as flags (``--val-*`` for ``data.permix.val``),
    whether the data is mixed already, and the reward manager."""

    epochs: int = reworded(
        _MIX["epochs"], f"{_MIX['epochs'].description} (divide trainer.total_epochs by it)"
    )
    data_source: DataSourceMode = reworded(
        _VERL["data_source"], "what data_source becomes: permix/<id>, <source>/permix/<id>, or unchanged"
    )
    val_personas: str | None = optional_field(
        _MIX["pool"], description="persona pool for data.val_files (default: --personas)"
    )
    val_persona_prob: float | None = optional_field(
        _MIX["persona_prob"], description="persona share for data.val_files (default: --persona-prob)"
    )
    val_every_persona: bool = reworded(
        _MIX["every_persona"], "validation rows once under every persona of the validation pool"
    )
    static: bool = Field(
        default=False, description="data from `permix export verl`: print only the reward lines"
    )
    reward_manager: RewardManager = Field(
        default="naive",
        description="verl reward-loop manager (naive: permix's verifier isolates math-verify itself)",
        json_schema_extra={
            "accepted": "one of naive, dapo, remote (verl 0.9's reward-loop managers that call compute_score "
            "one sample at a time)"
        },
    )

    def data_permix(self) -> dict[str, Any]:
        """The ``data.permix`` settings these options give: the four mixing settings always, the others when
        they differ from their defaults, ``val`` when any ``--val-*`` option is set."""
        settings: dict[str, Any] = {
            "pool": self.personas,
            "persona_prob": self.persona_prob,
            "seed": self.seed,
            "placement": self.placement,
        }
        for name in ("epochs", "data_source"):
            if getattr(self, name) != _VERL[name].default:
                settings[name] = getattr(self, name)
        val = {"pool": self.val_personas, "persona_prob": self.val_persona_prob}
        val = {key: value for key, value in val.items() if value is not None}
        if self.val_every_persona:
            val["every_persona"] = True
        return {**settings, "val": val} if val else settings
