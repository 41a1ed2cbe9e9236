"""The mixing settings (`MixConfig`) and the persona assignment they define: which persona each row gets.

One settings model for every trainer: TRL's `PersonaMixDataset`, verl's ``data.permix`` (a subclass) and both
exporters take it, and `permix_plugins.mixing` builds the datasets. Assignment is a pure function of
`(seed, row, copy)`: a run is reproducible and resumable, and `persona_prob=0` is the plain-RLVR baseline through
the very same pipeline. This module stays light (pydantic and numpy, no datasets) so configs and CLIs can use it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from os import PathLike
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from permix_plugins.errors import ConfigError
from permix_plugins.personas import NO_PERSONA, NO_PERSONA_ID, Persona, PersonaPool
from permix_plugins.prompting import DEFAULT_INSTRUCTION, Placement
from permix_plugins.settings import Settings, describe_errors

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["MixConfig", "MixingOptions", "assign_persona"]

_DRAW_ONLY = ("persona_prob", "epochs")  # settings that every_persona replaces


class MixConfig(BaseModel):
    """How personas are mixed into prompts; recorded with the dataset it built (`read_mix_config`).

    Example:
        >>> MixConfig(pool="lottery", persona_prob=1).persona_prob
        1.0
        >>> MixConfig.parse({"seed": "x", "placement": "top"}, where="data.permix")
        Traceback (most recent call last):
        ...
        permix_plugins.errors.ConfigError: invalid persona-mixing settings: data.permix.seed='x': Input should be a valid integer, unable to parse string as an integer; data.permix.placement='top': Input should be 'system' or 'user_prefix'
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    pool: str = Field(
        "train",
        min_length=1,
        description="built-in pool (train, eval, lottery, styled, styled_eval) or a persona file",
    )
    persona_prob: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="share of rows that get a persona (0: plain RLVR through the same pipeline)",
    )
    seed: int = Field(
        0, description="seed of the assignment: a row's persona is a pure function of (seed, row, copy)"
    )
    placement: Placement = Field(
        "system",
        description="system message, or user_prefix (top of the user turn) for templates without one",
    )
    instruction: str | None = Field(
        DEFAULT_INSTRUCTION, description="text after each problem (empty or None: no instruction)"
    )
    epochs: int = Field(1, ge=1, description="copies of the data with fresh persona draws")
    every_persona: bool = Field(
        False,
        description="every row once under each persona of the pool and once without (an evaluation set); "
        "replaces persona_prob and epochs",
    )

    @field_validator("instruction")
    @classmethod
    def _empty_is_none(cls, instruction: str | None) -> str | None:
        return instruction or None

    @model_validator(mode="after")
    def _one_assignment_rule(self) -> Self:
        given = [name for name in _DRAW_ONLY if name in self.model_fields_set]
        if self.every_persona and given:
            raise ValueError(
                f"every_persona=true gives every row every persona of the pool (and no persona), so "
                f"{' and '.join(given)} {'has' if len(given) == 1 else 'have'} no meaning; set one or the other"
            )
        return self

    @classmethod
    def parse(cls, settings: Mapping[str, Any], *, where: str = "") -> Self:
        """Validate `settings`; every problem is reported as ``<where>.<field>=<value>: <what is accepted>``."""
        try:
            return cls.model_validate(dict(settings))
        except ValidationError as exc:
            problems = describe_errors(exc, where=where, model=cls, limit=20)
            raise ConfigError(f"invalid persona-mixing settings: {problems}") from None

    @classmethod
    def resolve(
        cls,
        pool: PersonaPool | str | PathLike[str] | None,
        config: MixConfig | None,
        settings: Mapping[str, Any],
    ) -> tuple[Self, PersonaPool]:
        """The settings and the pool of a call ``f(problems, pool, config=..., **settings)``: `config` (default:
        the defaults), then the keyword `settings`; `pool` is a `PersonaPool` or names one (default: `config.pool`).
        """
        if pool is not None and not isinstance(pool, (PersonaPool, str, PathLike)):
            raise ConfigError(
                "pool must be a PersonaPool (e.g. PersonaPool.builtin('train')) or a pool name or persona file, "
                f"got {type(pool).__name__}"
            )
        base = cls() if config is None else config
        if not isinstance(base, cls):
            raise ConfigError(f"config must be a {cls.__name__}, got {type(config).__name__}")
        changes = dict(settings)
        if pool is not None:
            changes["pool"] = pool.name if isinstance(pool, PersonaPool) else str(pool)
        resolved = base.replace(**changes) if changes else base
        return resolved, pool if isinstance(pool, PersonaPool) else resolved.load_pool()

    def replace(self, *, where: str = "", drop: Iterable[str] = (), **changes: Any) -> Self:
        """These settings without the fields in `drop` and with `changes`, validated (problems named as in
        `parse`); switching `every_persona` on drops `persona_prob` and `epochs` as well.

        Example:
            >>> MixConfig(persona_prob=0.3).replace(pool="lottery", every_persona=True).to_dict()["every_persona"]
            True
        """
        given = {name: getattr(self, name) for name in self.model_fields_set.difference(drop)}
        if changes.get("every_persona"):
            for name in _DRAW_ONLY:
                given.pop(name, None)
        return self.parse({**given, **changes}, where=where)

    def load_pool(self, *, where: str = "") -> PersonaPool:
        """The pool named by `pool`; a bad name or file raises a `ConfigError` naming the field."""
        try:
            return PersonaPool.load(self.pool)
        except ConfigError as exc:
            raise ConfigError(f"{_dotted(where, 'pool')}={self.pool!r}: {exc}") from None

    def copies(self, pool: PersonaPool) -> int:
        """How many times the data is read: `epochs`, or once per persona (and no persona) with `every_persona`."""
        return len(_every_persona_set(pool)) if self.every_persona else self.epochs

    def personas_of(self, pool: PersonaPool, rows: np.ndarray, copies: np.ndarray) -> list[Persona | None]:
        """The persona (None: no persona) of each `(row, copy)` pair; vectorised over the two arrays."""
        if self.every_persona:
            slots = _every_persona_set(pool)
            return [_persona_or_none(slots[c]) for c in copies.tolist()]
        return _drawn_personas(
            tuple(pool), seed=self.seed, persona_prob=self.persona_prob, rows=rows, copies=copies
        )

    def to_dict(self) -> dict[str, Any]:
        """The settings as JSON-ready values (without those `every_persona` replaces)."""
        return self.model_dump(exclude=set(_DRAW_ONLY) if self.every_persona else None)


class MixingOptions(Settings):
    """`MixConfig`'s settings as command-line options (``--personas`` names `pool`): its defaults, limits and texts.

    Example:
        >>> options = MixingOptions.parse(personas="lottery", persona_prob=0.25)
        >>> options.mix_config().persona_prob, "persona_prob" in options.mix_config(every_persona=True).to_dict()
        (0.25, False)
    """

    personas: str = MixConfig.model_fields["pool"]
    persona_prob: float = MixConfig.model_fields["persona_prob"]
    seed: int = MixConfig.model_fields["seed"]
    placement: Placement = MixConfig.model_fields["placement"]

    def mix_config(self, **changes: Any) -> MixConfig:
        """These settings as a `MixConfig`, with `changes` applied by `MixConfig.replace` (where
        ``every_persona=True`` replaces ``persona_prob``)."""
        config = MixConfig.parse(
            {
                "pool": self.personas,
                "persona_prob": self.persona_prob,
                "seed": self.seed,
                "placement": self.placement,
            }
        )
        return config.replace(**changes) if changes else config


def _dotted(where: str, field: str) -> str:
    return f"{where}.{field}" if where else field


# ------------------------------------------------------------------------------------------ the assignment
_MASK = (1 << 64) - 1
_U64 = np.uint64


def _splitmix64(x: np.ndarray) -> np.ndarray:
    # uint64 arrays wrap around like the 64-bit arithmetic of the reference SplitMix64
    x = x + _U64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> _U64(27))) * _U64(0x94D049BB133111EB)
    return x ^ (x >> _U64(31))


def _drawn_personas(
    personas: tuple[Persona, ...], *, seed: int, persona_prob: float, rows: np.ndarray, copies: np.ndarray
) -> list[Persona | None]:
    """The persona drawn for each `(row, copy)` pair, None where its draw is not below `persona_prob`."""
    seeded = _splitmix64(np.array([seed & _MASK], dtype=_U64))
    key = _splitmix64(_splitmix64(seeded ^ copies.astype(_U64)) ^ rows.astype(_U64))
    uniform = (key >> _U64(11)).astype(np.float64) / float(1 << 53)  # a draw in [0, 1) from the top 53 bits
    picks = _splitmix64(key) % _U64(len(personas))
    return [
        _persona_or_none(personas[pick]) if draw < persona_prob else None
        for draw, pick in zip(uniform.tolist(), picks.tolist(), strict=True)
    ]


def _persona_or_none(persona: Persona) -> Persona | None:
    """`persona`, or None for the no-persona entry (a row without a persona carries None)."""
    return None if persona.id == NO_PERSONA_ID else persona


def _every_persona_set(pool: PersonaPool) -> tuple[Persona, ...]:
    """The personas of an every-persona set: the pool's, with the no-persona prompt first unless it has one."""
    return tuple(pool) if NO_PERSONA_ID in pool else (NO_PERSONA, *pool)


def assign_persona(
    pool: PersonaPool, *, seed: int, row: int, epoch: int = 0, persona_prob: float
) -> Persona | None:
    """The persona of one row, or None for no persona; a pure function of `(seed, row, epoch)`.

    Example:
        >>> pool = PersonaPool.builtin("train")
        >>> assign_persona(pool, seed=0, row=7, persona_prob=1.0) == assign_persona(pool, seed=0, row=7, persona_prob=1.0)
        True
        >>> assign_persona(pool, seed=0, row=7, persona_prob=0.0) is None
        True
    """
    (persona,) = _drawn_personas(
        tuple(pool), seed=seed, persona_prob=persona_prob, rows=np.array([row]), copies=np.array([epoch])
    )
    return persona
