"""Persona mixing: each training prompt gets, with probability `persona_prob`, a persona from a pool.

The settings are a `MixConfig` (`permix_plugins.mix_config`, re-exported here). `mix_rows` is the one place where
rows get their personas: the data is read once per copy (``epochs``, or one copy per persona with
``every_persona``) in batched Arrow maps, so memory stays flat at corpus scale, and the result is cached under a
fingerprint of its inputs, so every rank and every rerun with the same arguments reuses it. `PersonaMixDataset`
(TRL), verl's dataset class and both exporters build on it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from datasets import Dataset

from permix_plugins.errors import ConfigError
from permix_plugins.mix_config import MixConfig, assign_persona
from permix_plugins.personas import NO_PERSONA_ID, Persona, PersonaPool
from permix_plugins.problems import ProblemColumns, as_dataset, load_problems
from permix_plugins.prompting import build_messages
from permix_plugins.styles import encode_style

__all__ = ["MixConfig", "PersonaMixDataset", "assign_persona", "mix_rows", "read_mix_config"]

_INFO_KEY = "permix_mix_config"
_FORMAT = "permix-mix/1"  # in every cache fingerprint: bump it when the same settings start giving other rows


# ----------------------------------------------------------------------------------------------- the build
Put = Callable[..., Mapping[str, list[Any]]]


def mix_rows(
    rows: Dataset,
    config: MixConfig,
    pool: PersonaPool,
    put: Put,
    *,
    put_kwargs: Mapping[str, Any] | None = None,
    remove_columns: Sequence[str] = (),
    num_proc: int | None = None,
) -> Dataset:
    """`rows` once per copy (`config.copies(pool)`), each batch updated by
    ``put(batch, row_numbers, personas, config, **put_kwargs)`` with the personas of its rows (None: no persona).

    Row ``i`` of copy ``c`` gets ``config.personas_of(pool, i, c)``. `put` returns the columns it changes or adds
    (`remove_columns` are dropped first) and must be a module-level function (it runs in `num_proc` processes).
    The result is cached under a fingerprint of the rows' fingerprint, `config`, the pool's personas, `put` and
    `put_kwargs`.

    Example:
        >>> def put_id(batch, rows, personas, config):
        ...     return {"persona_id": [p.id if p else "none" for p in personas]}
        >>> rows, owl = Dataset.from_dict({"q": ["a", "b"]}), PersonaPool([Persona(id="owl", text="You are an owl.")])
        >>> mix_rows(rows, MixConfig(every_persona=True), owl, put_id).to_dict()
        {'q': ['a', 'b', 'a', 'b'], 'persona_id': ['none', 'none', 'owl', 'owl']}
    """
    from datasets import concatenate_datasets

    from permix_plugins._cached_map import cached_map

    copies = config.copies(pool)
    repeated = rows if copies == 1 else concatenate_datasets([rows] * copies)
    put_kwargs = dict(put_kwargs or {})
    key = [_FORMAT, rows._fingerprint, copies, config.to_dict(), [(p.id, p.text) for p in pool]]
    return cached_map(
        repeated,
        _mix_batch,
        key=[*key, f"{put.__module__}.{put.__qualname__}", put_kwargs, list(remove_columns)],
        batched=True,
        with_indices=True,
        remove_columns=list(remove_columns),
        num_proc=num_proc,
        fn_kwargs={"n": len(rows), "config": config, "pool": pool, "put": put, "put_kwargs": put_kwargs},
        try_original_type=False,  # `put` decides the types of what it writes
        desc="Mixing personas",
    )


def _mix_batch(
    batch: Mapping[str, list[Any]],
    indices: list[int],
    *,
    n: int,
    config: MixConfig,
    pool: PersonaPool,
    put: Put,
    put_kwargs: Mapping[str, Any],
) -> Mapping[str, list[Any]]:
    index = np.asarray(indices, dtype=np.int64)
    rows, copies = index % n, index // n
    return put(batch, rows, config.personas_of(pool, rows, copies), config, **put_kwargs)


def _put_prompts(
    batch: Mapping[str, list[Any]],
    rows: np.ndarray,
    personas: list[Persona | None],
    config: MixConfig,
    *,
    columns: ProblemColumns,
    styled: bool = False,
) -> dict[str, list[Any]]:
    out = columns.normalize(batch, rows.tolist())  # in the same pass: the input is read once
    out["prompt"] = [
        build_messages(
            problem, p.text if p else None, placement=config.placement, instruction=config.instruction
        )
        for problem, p in zip(out["problem"], personas, strict=True)
    ]
    out["persona_id"] = [p.id if p else NO_PERSONA_ID for p in personas]
    if styled:
        out["persona_style"] = [encode_style(p.style if p else None) for p in personas]
    return out


def read_mix_config(dataset: Dataset) -> MixConfig | None:
    """The `MixConfig` a `PersonaMixDataset` (or any dataset derived from one by map/select/...) was built with."""
    try:
        payload = json.loads(dataset.info.description or "")
        return MixConfig.model_validate(payload[_INFO_KEY])
    except (ValueError, TypeError, KeyError):
        return None


class PersonaMixDataset(Dataset):
    """A `datasets.Dataset` of persona-mixed prompts, accepted as is by TRL's `GRPOTrainer(train_dataset=...)`.

    Each row has `prompt` (chat messages; the persona is a system message, or the start of the user turn with
    `placement="user_prefix"`), `persona_id` (`"none"` for no persona), `answer` (the gold final answer), and the
    input's other columns (the problem text as `problem`). A pool with styled personas (`permix_plugins.styles`)
    adds `persona_style` (the persona's style as JSON, ``""`` for none), read by `permix_plugins.math.style_reward`
    and by `accuracy_reward`'s per-persona telemetry. `problems` is a `datasets.Dataset`, a list of dicts or
    a JSONL/parquet path; problem and answer columns are auto-detected or named. The settings are a `MixConfig`
    (`config=`), and/or its fields as keywords (`persona_prob=0.5, seed=0, placement=..., instruction=...,
    epochs=1, every_persona=False`); `pool` is a `PersonaPool` or a pool name or file (default `config.pool`).

    Built in batched Arrow maps (`num_proc` processes), never as Python lists; a dataset that lives in files
    (`load_dataset`, `load_problems` of a Hub or file source) gets its mixed copy cached next to it, found again by
    every rank and every rerun with the same arguments.

    Example:
        >>> from permix_plugins import PersonaPool, load_problems
        >>> ds = PersonaMixDataset(load_problems("synthetic", limit=8), PersonaPool.builtin("train"), persona_prob=0.5, seed=0)
        >>> sorted(ds.column_names)
        ['answer', 'id', 'kind', 'level', 'persona_id', 'problem', 'prompt']
        >>> ds.mix_config.persona_prob, len(ds)
        (0.5, 8)
    """

    def __init__(
        self,
        problems: Dataset | Iterable[Mapping[str, Any]] | str | Path,
        pool: PersonaPool | str | None = None,
        *,
        config: MixConfig | None = None,
        prompt_column: str | None = None,
        answer_column: str | None = None,
        num_proc: int | None = None,
        **settings: Any,
    ) -> None:
        config, pool = MixConfig.resolve(pool, config, settings)
        if isinstance(problems, (str, Path)):
            problems = load_problems(problems, problem_column=prompt_column, answer_column=answer_column)
            prompt_column = answer_column = None  # the loaded table has `problem` and `answer`
        source = as_dataset(problems)
        columns = ProblemColumns.detect(
            source.column_names, problem_column=prompt_column, answer_column=answer_column
        )
        mixed = mix_rows(
            source,
            config,
            pool,
            _put_prompts,
            put_kwargs={"columns": columns, "styled": bool(pool.styled)},
            remove_columns=columns.replaced,
            num_proc=num_proc,
        )
        mixed = columns.finish(mixed, len(source))
        first = [c for c in ("prompt", "persona_id", "persona_style") if c in mixed.column_names]
        # then the normalized problem columns, then the input's others
        mixed = mixed.select_columns([*first, *(c for c in mixed.column_names if c not in first)])
        info = mixed.info.copy()
        info.description = json.dumps({_INFO_KEY: config.to_dict()})
        super().__init__(
            mixed.data,
            info=info,
            split=mixed.split,
            indices_table=mixed._indices,
            fingerprint=mixed._fingerprint,
        )

    @property
    def mix_config(self) -> MixConfig:
        """The mixing settings (also readable from derived datasets with `read_mix_config`)."""
        config = read_mix_config(self)
        if config is None:
            raise ConfigError("this dataset's info.description no longer carries its mixing parameters")
        return config
