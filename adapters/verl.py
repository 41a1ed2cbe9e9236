r"""verl adapter: persona mixing inside verl's own dataset, a static parquet export, and the override lines.

Three pieces, for verl 0.9 (``python -m verl.trainer.main_ppo``); ``permix verl-overrides`` prints the lines:

* **Reward** (no adapter code): ``reward.custom_reward_function.path=pkg://permix_plugins.math`` with
  ``reward.custom_reward_function.name=compute_score`` and ``reward.reward_manager.name`` one of verl 0.9's
  reward-loop managers ``naive`` (recommended: the verifier already runs math-verify in its own killable processes),
  ``dapo`` or ``remote``. ``main_ppo`` looks the name up in the reward-loop registry only, so the older ``batch`` and
  ``prime`` managers (and the old ``reward_model.reward_manager`` key) are not reachable from it.
* **On-line mixing**: ``data.custom_cls.path=pkg://permix_plugins.adapters.verl`` with
  ``data.custom_cls.name=PersonaMixRLHFDataset``, a subclass of verl's `RLHFDataset` that gives rows their personas
  as it loads them. Settings live under ``data.permix`` (new keys for verl, hence the ``+`` in ``+data.permix.pool=…``):

  ==================  ===========  =============================================================================
  ``pool``            ``train``    built-in pool (``train``, ``eval``, ``lottery``) or a persona file
  ``persona_prob``    ``0.5``      share of rows that get a persona (``0`` = plain RLVR through the same pipeline)
  ``seed``            ``0``        seed of the assignment: a row's persona is a pure function of (seed, row, copy)
  ``placement``       ``system``   ``system`` message, or ``user_prefix`` (top of the first user turn)
  ``epochs``          ``1``        copies of the data, each with fresh draws (set ``trainer.total_epochs`` to match)
  ``data_source``     ``persona``  ``persona``: ``permix/<id>``; ``source_persona``: ``<source>/permix/<id>``;
                                   ``source``: keep the row's own data source (no per-persona metrics)
  ``val``             ``null``     overrides for the ``data.val_files`` dataset: ``pool``, ``persona_prob``,
                                   ``seed``, ``placement``, and ``every_persona`` (each row once per persona)
  ==================  ===========  =============================================================================

* **Static mixing**: ``permix export verl`` (`export_verl`) writes ``train.parquet`` and ``test.parquet`` in verl's
  row schema, for plain verl (reward lines only).

**Per-persona metrics come through** ``data_source``. A mixed row's ``data_source`` is ``permix/<persona_id>``
(``permix/none`` without a persona); verl groups validation metrics by the ``data_source`` column, so a run logs
``val-core/permix/<persona_id>/acc/mean@N`` for every persona (plus ``val-aux/…`` for the other `compute_score` keys).
This is safe because `permix_plugins.math.compute_score` ignores ``data_source`` (verl's built-in
``default_compute_score`` routes on it and would reject ``permix/…``: always set the custom reward), and it does not
depend on ``data.reward_fn_key`` (verl's validation always groups by the ``data_source`` column). The row's original
source is kept in ``extra_info.source``, its persona in ``extra_info.persona_id``.

**Where mixing happens.** verl's `RLHFDataset` reads the files, subsamples (``*_max_samples``) and then calls
``maybe_filter_out_long_prompts``; the subclass mixes right there, before the length filter, so the filter measures the
prompt the model will really see, and verl's ``__getitem__`` (raw chat, ``index`` from ``extra_info.index``, tools)
and its agent loop's chat template run unchanged on the mixed rows. verl has no epoch hook for datasets, so a row keeps
its persona for the whole run; ``epochs: K`` gives K copies with fresh draws instead. Rows that already carry a persona
(a ``permix export verl`` file) are kept as they are, so one dataset class reads on-line and static files alike.

Example:
    >>> verl_overrides(persona_prob=0.25)[:4]
    ['data.custom_cls.path=pkg://permix_plugins.adapters.verl', 'data.custom_cls.name=PersonaMixRLHFDataset', '+data.permix.pool=train', '+data.permix.persona_prob=0.25']
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from permix_plugins._optional import require
from permix_plugins.errors import ConfigError
from permix_plugins.personas import NO_PERSONA_ID, PersonaPool
from permix_plugins.prompting import Placement

if TYPE_CHECKING:
    from datasets import Dataset

__all__ = [
    "DATASET_NAME",
    "DATASET_PATH",
    "REWARD_PATH",
    "PersonaMixRLHFDataset",
    "ValMixSettings",
    "VerlMixSettings",
    "export_verl",
    "mix_verl_rows",
    "to_verl_rows",
    "verl_overrides",
]

logger = logging.getLogger(__name__)

DATASET_PATH = "pkg://permix_plugins.adapters.verl"
DATASET_NAME = "PersonaMixRLHFDataset"
REWARD_PATH = "pkg://permix_plugins.math"

DataSourceMode = Literal["persona", "source_persona", "source"]
RewardManager = Literal["naive", "dapo", "remote"]


# ------------------------------------------------------------------------------------------------- settings
class ValMixSettings(BaseModel):
    """``data.permix.val``: what changes for the ``data.val_files`` dataset (unset fields follow ``data.permix``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pool: str | None = None
    persona_prob: float | None = Field(default=None, ge=0.0, le=1.0)
    seed: int | None = None
    placement: Placement | None = None
    every_persona: bool = False

    @model_validator(mode="after")
    def _one_assignment_rule(self) -> ValMixSettings:
        if self.every_persona and self.persona_prob is not None:
            raise ValueError(
                "every_persona=true gives every row every persona of the pool, so persona_prob has no meaning; "
                "drop one of the two"
            )
        return self


class VerlMixSettings(BaseModel):
    """``data.permix``: how `PersonaMixRLHFDataset` mixes (see the module docstring for each field).

    Example:
        >>> VerlMixSettings.from_data_config({"permix": {"persona_prob": 1, "val": {"pool": "eval"}}}).persona_prob
        1.0
        >>> VerlMixSettings.from_data_config({"permix": {"placement": "top"}})
        Traceback (most recent call last):
        ...
        permix_plugins.errors.ConfigError: invalid persona-mixing settings for verl:
          data.permix.placement='top': Input should be 'system' or 'user_prefix'
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    pool: str = "train"
    persona_prob: float = Field(default=0.5, ge=0.0, le=1.0)
    seed: int = 0
    placement: Placement = "system"
    epochs: int = Field(default=1, ge=1)
    data_source: DataSourceMode = "persona"
    val: ValMixSettings | None = None

    @classmethod
    def from_data_config(cls, data_config: Any) -> VerlMixSettings:
        """Read ``permix`` from verl's ``data`` config (an OmegaConf `DictConfig` or a mapping); absent = defaults."""
        raw = data_config.get("permix") if data_config is not None else None
        if raw is None:
            return cls()
        if not isinstance(raw, Mapping):
            raw = _to_container(raw)
        if not isinstance(raw, Mapping):
            raise ConfigError(
                f"data.permix must be a mapping of settings (e.g. +data.permix.persona_prob=0.5), got {raw!r}"
            )
        return cls.parse(raw)

    @classmethod
    def parse(cls, raw: Mapping[str, Any], *, prefix: str = "data.permix") -> VerlMixSettings:
        """Validate `raw`; every problem is reported as ``<prefix>.<field>=<value>: <what is accepted>``."""
        try:
            settings = cls.model_validate(dict(raw))
        except ValidationError as exc:
            raise _settings_error(exc, prefix) from None
        settings.pools()  # fail at start-up, naming the field, rather than when verl loads the data
        return settings

    def pools(self) -> tuple[PersonaPool, PersonaPool]:
        """The train pool and the validation pool, loaded (a bad name or file raises a `ConfigError`)."""
        train = _load_pool(self.pool, "data.permix.pool")
        if self.val is None or self.val.pool is None:
            return train, train
        return train, _load_pool(self.val.pool, "data.permix.val.pool")

    def for_files(self, role: Literal["train", "val"]) -> _MixPlan:
        """The mixing plan of the train or the validation dataset."""
        train_pool, val_pool = self.pools()
        plan = _MixPlan(
            train_pool, self.persona_prob, self.seed, self.placement, self.epochs, False, self.data_source
        )
        val = self.val
        if role == "train" or val is None:
            return plan
        return _MixPlan(
            pool=val_pool,
            persona_prob=self.persona_prob if val.persona_prob is None else val.persona_prob,
            seed=self.seed if val.seed is None else val.seed,
            placement=self.placement if val.placement is None else val.placement,
            epochs=1,  # validation reads its data once; every_persona is the way to see several personas per row
            every_persona=val.every_persona,
            data_source=self.data_source,
        )


@dataclass(frozen=True)
class _MixPlan:
    """Resolved settings for one dataset (train or validation)."""

    pool: PersonaPool
    persona_prob: float
    seed: int
    placement: Placement
    epochs: int
    every_persona: bool
    data_source: DataSourceMode


def _to_container(raw: Any) -> Any:
    try:
        from omegaconf import OmegaConf
    except ImportError:  # without OmegaConf there can be no DictConfig to convert
        return raw
    return OmegaConf.to_container(raw, resolve=True) if OmegaConf.is_config(raw) else raw


def _load_pool(spec: str, field: str) -> PersonaPool:
    try:
        return PersonaPool.load(spec)
    except ConfigError as exc:
        raise ConfigError(f"{field}={spec!r}: {exc}") from None


def _settings_error(exc: ValidationError, prefix: str) -> ConfigError:
    lines = []
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        where = ".".join([prefix, *loc])
        if error["type"] == "extra_forbidden":
            model = ValMixSettings if loc[:1] == ["val"] and len(loc) > 1 else VerlMixSettings
            lines.append(f"{where}: unknown setting; accepted: {', '.join(model.model_fields)}")
        elif error["type"] == "value_error":  # a cross-field rule: the message says which fields
            lines.append(f"{where}: {error['msg'].removeprefix('Value error, ')}")
        else:
            lines.append(f"{where}={error['input']!r}: {error['msg']}")
    return ConfigError("invalid persona-mixing settings for verl:\n  " + "\n  ".join(lines))


# ---------------------------------------------------------------------------------------------- row mixing
def mix_verl_rows(
    rows: Dataset,
    pool: PersonaPool,
    *,
    persona_prob: float = 0.5,
    seed: int = 0,
    placement: Placement = "system",
    epochs: int = 1,
    every_persona: bool = False,
    data_source: DataSourceMode = "persona",
    prompt_key: str = "prompt",
) -> Dataset:
    """verl rows (``data_source``, chat messages under `prompt_key`, ``extra_info``, …) with personas put in.

    Row ``i`` of copy ``e`` gets ``assign_persona(pool, seed=seed, row=i, epoch=e, persona_prob=persona_prob)``; with
    `every_persona`, copy ``k`` gives every row the pool's ``k``-th persona instead. Each mixed row gets
    ``extra_info.persona_id`` and ``extra_info.source`` (its original data source) and a new ``data_source``. Rows
    whose ``extra_info.persona_id`` is already a persona are kept as they are.

    Example:
        >>> from datasets import Dataset
        >>> rows = Dataset.from_list([{"data_source": "openai/gsm8k", "prompt": [{"role": "user", "content": "1+1?"}],
        ...                            "extra_info": {"index": 0}}])
        >>> lottery = PersonaPool.builtin("lottery")
        >>> [r["data_source"] for r in mix_verl_rows(rows, lottery, every_persona=True)][:3]
        ['permix/number-theorist', 'permix/geometry-olympiad-coach', 'permix/statistics-professor']
        >>> row = mix_verl_rows(rows, lottery, every_persona=True)[0]
        >>> row["prompt"][0]["role"], row["extra_info"]["persona_id"], row["extra_info"]["source"]
        ('system', 'number-theorist', 'openai/gsm8k')
    """
    from datasets import concatenate_datasets

    from permix_plugins.mixing import assign_persona
    from permix_plugins.prompting import check_placement

    check_placement(placement)
    if not 0.0 <= float(persona_prob) <= 1.0:
        raise ConfigError(f"persona_prob must be between 0 and 1, got {persona_prob!r}")
    if int(epochs) < 1:
        raise ConfigError(f"epochs must be at least 1, got {epochs!r}")
    if prompt_key not in rows.column_names:
        raise ConfigError(
            f"the data has no {prompt_key!r} column (data.prompt_key); its columns are {rows.column_names}"
        )
    n = len(rows)
    if every_persona:
        plans = [[None if p.id == NO_PERSONA_ID else p] * n for p in pool]
    else:
        plans = [
            [assign_persona(pool, seed=seed, row=i, epoch=e, persona_prob=persona_prob) for i in range(n)]
            for e in range(epochs)
        ]
    copies = [
        rows.map(
            _put_persona,
            with_indices=True,
            fn_kwargs={
                "ids": [p.id if p else NO_PERSONA_ID for p in plan],
                "texts": [p.text if p else "" for p in plan],
                "placement": placement,
                "prompt_key": prompt_key,
                "data_source": data_source,
            },
            desc="Mixing personas",
        )
        for plan in plans
    ]
    return copies[0] if len(copies) == 1 else concatenate_datasets(copies)


def _put_persona(
    row: dict[str, Any],
    index: int,
    *,
    ids: Sequence[str],
    texts: Sequence[str],
    placement: Placement,
    prompt_key: str,
    data_source: DataSourceMode,
) -> dict[str, Any]:
    extra = dict(row.get("extra_info") or {})
    source = extra.get("source") or row.get("data_source") or "unknown"
    extra["source"] = source
    if extra.get("persona_id") not in (None, NO_PERSONA_ID):
        return {"extra_info": extra}  # mixed already (a static export): keep its persona
    extra["persona_id"] = ids[index]
    return {
        prompt_key: _with_persona(row[prompt_key], texts[index], placement=placement, prompt_key=prompt_key),
        "extra_info": extra,
        "data_source": _data_source(data_source, source, ids[index]),
    }


def _with_persona(messages: Any, text: str, *, placement: Placement, prompt_key: str) -> list[dict[str, Any]]:
    """A copy of `messages` with the persona in; agrees with `build_messages` on a lone user turn."""
    if not isinstance(messages, list) or not all(isinstance(m, Mapping) for m in messages):
        raise ConfigError(
            f"the {prompt_key!r} column must hold chat messages (a list of {{role, content}}), got "
            f"{type(messages).__name__}: {str(messages)[:80]!r}; verl's own preprocessing scripts write that form"
        )
    messages = [dict(m) for m in messages]
    if not text:
        return messages
    role = "system" if placement == "system" else "user"
    for message in messages:
        if message.get("role") != role:
            continue
        if not isinstance(message.get("content"), str):
            raise ConfigError(
                f"cannot put a persona into a {role} message whose content is not text "
                f"({type(message.get('content')).__name__}) in the {prompt_key!r} column"
            )
        # The persona goes first; the dataset's own system prompt or question follows unchanged.
        message["content"] = f"{text}\n\n{message['content']}"
        return messages
    if role == "system":
        return [{"role": "system", "content": text}, *messages]
    raise ConfigError(
        f"placement='user_prefix' needs a user message in the {prompt_key!r} column; this row has roles "
        f"{[m.get('role') for m in messages]}"
    )


def _data_source(mode: DataSourceMode, source: str, persona_id: str) -> str:
    if mode == "source":
        return source
    return f"permix/{persona_id}" if mode == "persona" else f"{source}/permix/{persona_id}"


# ------------------------------------------------------------------------------------------ the dataset class
def _is_val_files(data_files: Any, config: Any) -> bool:
    """verl builds the train and the validation dataset alike; only the file list tells them apart."""
    files = _file_list(data_files)
    return files == _file_list(config.get("val_files")) and files != _file_list(config.get("train_files"))


def _file_list(files: Any) -> list[str]:
    if files is None:
        return []
    if isinstance(files, (str, Path)):
        return [str(files)]
    return [str(f) for f in files]


def _define_dataset_class() -> type:
    rl_dataset = require("verl.utils.dataset.rl_dataset", extra="verl")

    class PersonaMixRLHFDataset(rl_dataset.RLHFDataset):  # type: ignore[name-defined,misc]
        """verl's `RLHFDataset` with on-line persona mixing, configured under ``data.permix``.

        verl builds it as ``cls(data_files=…, tokenizer=…, config=data_config, processor=…, max_samples=…)`` once for
        ``data.train_files`` and once for ``data.val_files`` (``data.permix.val`` applies to the latter).
        `mix_config` records what was done.
        """

        def __init__(
            self,
            data_files: str | list[str],
            tokenizer: Any,
            config: Any,
            processor: Any = None,
            max_samples: int = -1,
        ) -> None:
            # Read before verl's constructor, which loads (and so mixes) the data.
            self.permix_settings = VerlMixSettings.from_data_config(config)
            self.permix_role: Literal["train", "val"] = (
                "val" if _is_val_files(data_files, config) else "train"
            )
            same = _file_list(config.get("train_files")) == _file_list(config.get("val_files"))
            if self.permix_settings.val is not None and same:
                logger.warning(
                    "data.permix.val is ignored: data.train_files and data.val_files are the same files, so the "
                    "validation dataset cannot be told apart; give validation its own file"
                )
            self.mix_config: Any = None
            super().__init__(data_files, tokenizer, config, processor=processor, max_samples=max_samples)

        def maybe_filter_out_long_prompts(self, dataframe: Any = None) -> Any:
            # verl calls this once per load, after reading and subsampling, before measuring prompt lengths:
            # mixing here lets the overlong filter (and all that follows) see the prompt with its persona.
            mixed = self._mix(dataframe if dataframe is not None else self.dataframe)
            return super().maybe_filter_out_long_prompts(mixed)

        def _mix(self, dataframe: Dataset) -> Dataset:
            from permix_plugins.mixing import MixConfig

            plan = self.permix_settings.for_files(self.permix_role)
            mixed = mix_verl_rows(
                dataframe,
                plan.pool,
                persona_prob=plan.persona_prob,
                seed=plan.seed,
                placement=plan.placement,
                epochs=plan.epochs,
                every_persona=plan.every_persona,
                data_source=plan.data_source,
                prompt_key=self.prompt_key,
            )
            self.mix_config = MixConfig(
                pool=plan.pool.name,
                pool_size=len(plan.pool),
                persona_prob=1.0 if plan.every_persona else plan.persona_prob,
                seed=plan.seed,
                placement=plan.placement,
                instruction=None,  # verl rows carry their own instruction
                epochs=len(plan.pool) if plan.every_persona else plan.epochs,
                rows=len(mixed),
            )
            with_persona = sum(1 for info in mixed["extra_info"] if info["persona_id"] != NO_PERSONA_ID)
            how = (
                "every persona"
                if plan.every_persona
                else f"persona_prob={plan.persona_prob}, epochs={plan.epochs}"
            )
            logger.info(
                "permix: %s dataset: %d rows from %d, %d with a persona (pool %r of %d, seed=%d, %s)",
                *(self.permix_role, len(mixed), len(dataframe), with_persona, plan.pool.name, len(plan.pool)),
                *(plan.seed, how),
            )
            return mixed

    PersonaMixRLHFDataset.__qualname__ = DATASET_NAME  # so pickle finds it as a module attribute
    return PersonaMixRLHFDataset


def __getattr__(name: str) -> Any:
    # The class needs verl's RLHFDataset as its base; building it on first use keeps the export and the override
    # lines usable without verl, and `load_extern_object(path, name)` (getattr) triggers it like an import.
    if name == DATASET_NAME:
        cls = _define_dataset_class()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --------------------------------------------------------------------------------------------- static export
def to_verl_rows(
    mixed: Dataset, *, split: str, source: str, data_source: DataSourceMode = "persona"
) -> Dataset:
    """`PersonaMixDataset` rows in verl's schema: ``data_source``, ``prompt``, ``ability``, ``reward_model``,
    ``extra_info`` (``split``, ``index``, ``persona_id``, ``problem_id``, ``question``, ``source``).

    Example:
        >>> from permix_plugins import PersonaMixDataset, load_problems
        >>> mixed = PersonaMixDataset(load_problems("synthetic", limit=2), PersonaPool.builtin("train"), persona_prob=0)
        >>> row = to_verl_rows(mixed, split="train", source="synthetic")[0]
        >>> row["data_source"], row["ability"], row["reward_model"]["style"], sorted(row["extra_info"])
        ('permix/none', 'math', 'rule', ['index', 'persona_id', 'problem_id', 'question', 'source', 'split'])
    """
    from datasets import Dataset

    rows = [
        _verl_row(row, index, split=split, source=source, data_source=data_source)
        for index, row in enumerate(mixed)
    ]
    return Dataset.from_list(rows)


def _verl_row(
    row: dict[str, Any], index: int, *, split: str, source: str, data_source: DataSourceMode
) -> dict[str, Any]:
    persona_id = row["persona_id"]
    return {
        "data_source": _data_source(data_source, source, persona_id),
        "prompt": row["prompt"],
        "ability": "math",
        "reward_model": {"style": "rule", "ground_truth": row["answer"]},
        "extra_info": {
            "split": split,
            "index": index,
            "persona_id": persona_id,
            "problem_id": row["id"],
            "question": row["problem"],
            "source": source,
        },
    }


def _source_label(spec: str) -> str:
    from permix_plugins.problems import HUB_SOURCES

    if spec in HUB_SOURCES:
        return HUB_SOURCES[spec].path  # verl's own preprocessing names GSM8K rows "openai/gsm8k"
    return spec if spec == "synthetic" else Path(spec).stem


def _is_file(spec: str) -> bool:
    from permix_plugins.problems import HUB_SOURCES

    return spec != "synthetic" and spec not in HUB_SOURCES


def _load_split(spec: str, split: str, limit: int | None, flag: str) -> Dataset:
    from permix_plugins.problems import load_problems

    try:
        return load_problems(spec, split=split, limit=limit)
    except ConfigError:
        raise
    except (ValueError, FileNotFoundError) as exc:  # e.g. a Hub dataset without that split
        raise ConfigError(f"{flag} {spec!r}: cannot load its {split!r} split ({exc})") from exc


def export_verl(
    problems: str = "gsm8k",
    out: str | Path = "data",
    *,
    personas: str = "train",
    persona_prob: float = 0.5,
    seed: int = 0,
    placement: Placement = "system",
    limit: int | None = None,
    test_problems: str | None = None,
    test_personas: str | None = None,
    test_persona_prob: float | None = None,
    test_every_persona: bool = False,
    data_source: DataSourceMode = "persona",
) -> dict[str, Path]:
    """Write ``<out>/train.parquet`` and ``<out>/test.parquet`` (verl's row schema, statically persona-mixed).

    ``train.parquet`` holds the ``train`` split of `problems`; ``test.parquet`` the ``test`` split of `test_problems`
    (default: `problems`), mixed with `test_personas`/`test_persona_prob` (default: the train settings) or, with
    `test_every_persona`, holding every test problem once under each persona of the test pool (per-persona accuracy
    on the same questions). A local file has no splits: all of it is train, and ``test.parquet`` is written only when
    `test_problems` is given. Returns the written paths by split.

    Example:
        >>> import tempfile
        >>> paths = export_verl("synthetic", tempfile.mkdtemp(), persona_prob=1.0, limit=4)
        >>> sorted(paths), paths["train"].name
        (['test', 'train'], 'train.parquet')
    """
    from datasets import concatenate_datasets

    from permix_plugins.mixing import PersonaMixDataset

    pool = _load_pool(personas, "--personas")
    test_pool = pool if test_personas is None else _load_pool(test_personas, "--test-personas")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    mix = {"seed": seed, "placement": placement}

    train = PersonaMixDataset(
        _load_split(problems, "train", limit, "--problems"), pool, persona_prob=persona_prob, **mix
    )
    rows = to_verl_rows(train, split="train", source=_source_label(problems), data_source=data_source)
    written = {"train": _write(rows, out / "train.parquet")}

    test_spec = test_problems if test_problems is not None else (None if _is_file(problems) else problems)
    if test_spec is None:
        logger.warning(
            "%s is a single file (no splits): wrote train.parquet only; name test problems with --test-problems",
            problems,
        )
        return written
    test = _load_split(test_spec, "test", limit, "--test-problems" if test_problems else "--problems")
    source = _source_label(test_spec)
    if test_every_persona:
        copies = [
            PersonaMixDataset(test, PersonaPool([p], name=test_pool.name), persona_prob=1.0, **mix)
            for p in test_pool
        ]
        rows = concatenate_datasets(
            [to_verl_rows(c, split="test", source=source, data_source=data_source) for c in copies]
        )
    else:
        prob = persona_prob if test_persona_prob is None else test_persona_prob
        mixed = PersonaMixDataset(test, test_pool, persona_prob=prob, **mix)
        rows = to_verl_rows(mixed, split="test", source=source, data_source=data_source)
    written["test"] = _write(rows, out / "test.parquet")
    return written


def _write(rows: Dataset, path: Path) -> Path:
    rows.to_parquet(str(path))
    return path


# ------------------------------------------------------------------------------------------ override lines
def verl_overrides(
    *,
    personas: str = "train",
    persona_prob: float = 0.5,
    seed: int = 0,
    placement: Placement = "system",
    epochs: int = 1,
    data_source: DataSourceMode = "persona",
    val_personas: str | None = None,
    val_persona_prob: float | None = None,
    val_every_persona: bool = False,
    static: bool = False,
    reward_manager: RewardManager = "naive",
) -> list[str]:
    """The Hydra override lines for ``python -m verl.trainer.main_ppo`` (what ``permix verl-overrides`` prints).

    `static` (files from ``permix export verl``) keeps only the reward lines. Settings are validated as verl would.

    Example:
        >>> verl_overrides(static=True)
        ['reward.custom_reward_function.path=pkg://permix_plugins.math', 'reward.custom_reward_function.name=compute_score', 'reward.reward_manager.name=naive']
    """
    if reward_manager not in ("naive", "dapo", "remote"):
        raise ConfigError(
            f"reward manager {reward_manager!r} is not one of naive, dapo, remote (verl 0.9's reward-loop managers "
            "that call compute_score one sample at a time)"
        )
    reward = [
        f"reward.custom_reward_function.path={REWARD_PATH}",
        "reward.custom_reward_function.name=compute_score",
        f"reward.reward_manager.name={reward_manager}",
    ]
    if static:
        return reward
    settings: dict[str, Any] = {
        "pool": personas,
        "persona_prob": persona_prob,
        "seed": seed,
        "placement": placement,
    }
    if epochs != 1:
        settings["epochs"] = epochs
    if data_source != "persona":
        settings["data_source"] = data_source
    val = {"pool": val_personas, "persona_prob": val_persona_prob, "every_persona": val_every_persona or None}
    val = {k: v for k, v in val.items() if v is not None}
    VerlMixSettings.parse({**settings, **({"val": val} if val else {})})
    lines = [f"data.custom_cls.path={DATASET_PATH}", f"data.custom_cls.name={DATASET_NAME}"]
    lines += [f"+data.permix.{key}={_hydra_value(value)}" for key, value in settings.items()]
    lines += [f"+data.permix.val.{key}={_hydra_value(value)}" for key, value in val.items()]
    return lines + reward


def _hydra_value(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


if TYPE_CHECKING:  # the real class is built on first access (see __getattr__)
    PersonaMixRLHFDataset: type
