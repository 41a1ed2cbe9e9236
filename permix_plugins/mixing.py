"""Persona mixing: each training prompt gets, with probability `persona_prob`, a persona from a pool.

Assignment is a pure function of `(seed, row, epoch)`, so a run is reproducible and resumable, and
`persona_prob=0` is the plain-RLVR baseline through the very same pipeline.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from datasets import Dataset, DatasetInfo

from permix_plugins.errors import ConfigError
from permix_plugins.personas import NO_PERSONA_ID, Persona, PersonaPool
from permix_plugins.problems import normalize_problems
from permix_plugins.prompting import DEFAULT_INSTRUCTION, Placement, build_messages, check_placement

__all__ = ["MixConfig", "PersonaMixDataset", "assign_persona", "read_mix_config"]

_MASK = (1 << 64) - 1
_INFO_KEY = "permix_mix_config"


def _splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


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
    return _draw(tuple(pool), seed=seed, row=row, epoch=epoch, persona_prob=persona_prob)


def _draw(
    personas: tuple[Persona, ...], *, seed: int, row: int, epoch: int, persona_prob: float
) -> Persona | None:
    key = _splitmix64(_splitmix64(_splitmix64(seed & _MASK) ^ epoch) ^ row)
    if (key >> 11) / float(1 << 53) >= persona_prob:  # a uniform draw in [0, 1) from the top 53 bits
        return None
    persona = personas[_splitmix64(key) % len(personas)]
    return None if persona.id == NO_PERSONA_ID else persona


@dataclass(frozen=True)
class MixConfig:
    """The mixing parameters of a dataset, recorded with it so a run can log them."""

    pool: str
    pool_size: int
    persona_prob: float
    seed: int
    placement: str
    instruction: str | None
    epochs: int
    rows: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_mix_config(dataset: Dataset) -> MixConfig | None:
    """The `MixConfig` a `PersonaMixDataset` (or any dataset derived from one by map/select/...) was built with."""
    try:
        payload = json.loads(dataset.info.description or "")
        return MixConfig(**payload[_INFO_KEY])
    except (ValueError, TypeError, KeyError):
        return None


class PersonaMixDataset(Dataset):
    """A `datasets.Dataset` of persona-mixed prompts, accepted as is by TRL's `GRPOTrainer(train_dataset=...)`.

    Each row has `prompt` (chat messages; the persona is a system message, or the start of the user turn with
    `placement="user_prefix"`), `answer` (the gold final answer), `persona_id` (`"none"` for no persona), and
    the input's other columns (the problem text as `problem`). `problems` is a `datasets.Dataset`, a list of
    dicts or a JSONL/parquet path; problem and answer columns are auto-detected or named.

    Example:
        >>> from permix_plugins import PersonaPool, load_problems
        >>> ds = PersonaMixDataset(load_problems("synthetic", limit=8), PersonaPool.builtin("train"), persona_prob=0.5, seed=0)
        >>> sorted(ds.column_names)
        ['answer', 'id', 'level', 'persona_id', 'problem', 'prompt']
        >>> ds.mix_config.persona_prob, len(ds)
        (0.5, 8)
    """

    def __init__(
        self,
        problems: Dataset | Iterable[Mapping[str, Any]] | str | Path,
        pool: PersonaPool,
        *,
        persona_prob: float = 0.5,
        seed: int = 0,
        placement: Placement = "system",
        instruction: str | None = DEFAULT_INSTRUCTION,
        epochs: int = 1,
        prompt_column: str | None = None,
        answer_column: str | None = None,
    ) -> None:
        if not isinstance(pool, PersonaPool):
            raise ConfigError(
                f"pool must be a PersonaPool (e.g. PersonaPool.builtin('train')), got {type(pool).__name__}"
            )
        if not 0.0 <= float(persona_prob) <= 1.0:
            raise ConfigError(f"persona_prob must be between 0 and 1, got {persona_prob!r}")
        if int(epochs) < 1:
            raise ConfigError(f"epochs must be at least 1, got {epochs!r}")
        check_placement(placement)
        source = normalize_problems(
            problems, problem_column=prompt_column, answer_column=answer_column
        ).to_dict()
        for replaced in ("prompt", "persona_id"):  # an input's own prompt/persona columns are rewritten below
            source.pop(replaced, None)
        columns: dict[str, list[Any]] = {"prompt": [], "persona_id": []}
        problem_texts = source["problem"]
        personas = tuple(pool)
        for epoch in range(epochs):
            for row, problem in enumerate(problem_texts):
                persona = _draw(personas, seed=seed, row=row, epoch=epoch, persona_prob=persona_prob)
                text = persona.text if persona else None
                columns["prompt"].append(
                    build_messages(problem, text, placement=placement, instruction=instruction)
                )
                columns["persona_id"].append(persona.id if persona else NO_PERSONA_ID)
        for name, values in source.items():
            columns[name] = values * epochs

        config = MixConfig(
            pool=pool.name,
            pool_size=len(pool),
            persona_prob=float(persona_prob),
            seed=int(seed),
            placement=placement,
            instruction=instruction,
            epochs=int(epochs),
            rows=len(columns["prompt"]),
        )
        table = Dataset.from_dict(columns)
        info = DatasetInfo(description=json.dumps({_INFO_KEY: config.to_dict()}), features=table.features)
        super().__init__(table.data, info=info)

    @property
    def mix_config(self) -> MixConfig:
        """The mixing parameters (also readable from derived datasets with `read_mix_config`)."""
        config = read_mix_config(self)
        if config is None:
            raise ConfigError("this dataset's info.description no longer carries its mixing parameters")
        return config
