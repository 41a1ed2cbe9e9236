r"""verl adapter: persona mixing inside verl's own dataset, a static parquet export, and the override lines.

Three pieces, for verl 0.9 (``python -m verl.trainer.main_ppo``); ``permix verl-overrides`` prints the lines:

* **Reward** (no adapter code): ``reward.custom_reward_function.path=pkg://permix_plugins.math`` with
  ``reward.custom_reward_function.name=compute_score`` and ``reward.reward_manager.name`` one of verl 0.9's
  reward-loop managers ``naive`` (recommended: the verifier already runs math-verify in its own killable processes),
  ``dapo`` or ``remote``. ``main_ppo`` looks the name up in the reward-loop registry only, so the older ``batch`` and
  ``prime`` managers (and the old ``reward_model.reward_manager`` key) are not reachable from it.
* **On-line mixing**: ``data.custom_cls.path=pkg://permix_plugins.adapters.verl`` with
  ``data.custom_cls.name=PersonaMixRLHFDataset``, a subclass of verl's `RLHFDataset` that gives rows their personas
  as it loads them. Settings live under ``data.permix`` (new keys for verl, hence the ``+`` in
  ``+data.permix.pool=…``): `permix_plugins.verl_settings.VerlMixSettings`, the fields of `permix_plugins.MixConfig`
  as `PersonaMixDataset` takes them (but no ``instruction``: verl rows carry their own), plus ``data_source``
  (``persona``: ``permix/<id>``; ``source_persona``: ``<source>/permix/<id>``; ``source``: the row's own, no
  per-persona metrics) and ``val`` (what changes for the ``data.val_files`` dataset: ``pool``, ``persona_prob``,
  ``seed``, ``placement``, ``every_persona``; ``epochs`` does not carry over). ``permix verl-overrides --help``
  lists each with its default and meaning, as `MixConfig` states them.

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
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError

from permix_plugins._optional import require
from permix_plugins.errors import ConfigError
from permix_plugins.mix_config import MixConfig
from permix_plugins.personas import NO_PERSONA_ID, Persona, PersonaPool
from permix_plugins.prompting import with_persona
from permix_plugins.settings import describe_errors
from permix_plugins.styles import encode_style
from permix_plugins.verl_settings import (
    SETTINGS_KEY,
    DataSourceMode,
    RewardManager,
    ValMixSettings,
    VerlMixSettings,
    VerlOverridesOptions,
)

if TYPE_CHECKING:
    from datasets import Dataset

__all__ = [
    "DATASET_NAME",
    "DATASET_PATH",
    "REWARD_PATH",
    "DataSourceMode",
    "PersonaMixRLHFDataset",
    "RewardManager",
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


# ---------------------------------------------------------------------------------------------- row mixing
def mix_verl_rows(
    rows: Dataset,
    pool: PersonaPool | str | None = None,
    settings: VerlMixSettings | None = None,
    *,
    prompt_key: str = "prompt",
    num_proc: int | None = None,
    **fields: Any,
) -> Dataset:
    """verl rows (``data_source``, chat messages under `prompt_key`, ``extra_info``, …) with personas put in.

    The settings are a `VerlMixSettings` and/or its fields as keywords, exactly as `PersonaMixDataset` takes them:
    row ``i`` of copy ``e`` gets ``assign_persona(pool, seed=seed, row=i, epoch=e, persona_prob=persona_prob)``;
    with `every_persona`, each copy gives every row one persona of the pool (and one copy none). The persona goes
    in with `permix_plugins.prompting.with_persona`. Each mixed row gets ``extra_info.persona_id`` and
    ``extra_info.source`` (its original data source) and a new ``data_source``; with a pool of styled personas,
    also ``extra_info.persona_style`` (``""`` for none), which `permix_plugins.math.compute_score` reports as
    ``style``/``styled`` and `compute_style_score` rewards. Rows whose
    ``extra_info.persona_id`` is already a persona are kept as they are.

    Example:
        >>> from datasets import Dataset
        >>> rows = Dataset.from_list([{"data_source": "openai/gsm8k", "prompt": [{"role": "user", "content": "1+1?"}],
        ...                            "extra_info": {"index": 0}}])
        >>> lottery = PersonaPool.builtin("lottery")
        >>> list(mix_verl_rows(rows, lottery, every_persona=True)["data_source"][:3])
        ['permix/number-theorist', 'permix/geometry-olympiad-coach', 'permix/statistics-professor']
        >>> row = mix_verl_rows(rows, lottery, every_persona=True)[0]
        >>> row["prompt"][0]["role"], row["extra_info"]["persona_id"], row["extra_info"]["source"]
        ('system', 'number-theorist', 'openai/gsm8k')
    """
    from permix_plugins.mixing import mix_rows

    settings, pool = VerlMixSettings.resolve(pool, settings, fields)
    if prompt_key not in rows.column_names:
        raise ConfigError(
            f"the data has no {prompt_key!r} column (data.prompt_key); its columns are {rows.column_names}"
        )
    return mix_rows(
        rows,
        settings,
        pool,
        _put_personas,
        put_kwargs={"prompt_key": prompt_key, "styled": bool(pool.styled)},
        num_proc=num_proc,
    )


def _put_personas(
    batch: Mapping[str, list[Any]],
    rows: Any,
    personas: list[Persona | None],
    settings: VerlMixSettings,
    *,
    prompt_key: str,
    styled: bool = False,
) -> dict[str, list[Any]]:
    n = len(personas)
    out: dict[str, list[Any]] = {prompt_key: [], "extra_info": [], "data_source": []}
    given = zip(
        batch[prompt_key],
        batch.get("extra_info") or [None] * n,
        batch.get("data_source") or [None] * n,
        strict=True,
    )
    for (messages, extra, data_source), persona in zip(given, personas, strict=True):
        extra = dict(extra or {})
        source = extra.get("source") or data_source or "unknown"
        extra["source"] = source
        if extra.get("persona_id") not in (None, NO_PERSONA_ID):  # mixed already (a static export): keep it
            out[prompt_key].append(messages)
            out["extra_info"].append(extra)
            out["data_source"].append(data_source)
            continue
        extra["persona_id"] = persona.id if persona else NO_PERSONA_ID
        if styled:
            extra["persona_style"] = encode_style(persona.style if persona else None)
        try:
            messages = with_persona(messages, persona.text if persona else None, placement=settings.placement)
        except ConfigError as exc:
            raise ConfigError(f"the {prompt_key!r} column (data.prompt_key): {exc}; verl's own preprocessing "
                              "scripts write chat messages") from None  # fmt: skip
        out[prompt_key].append(messages)
        out["extra_info"].append(extra)
        out["data_source"].append(_data_source(settings.data_source, source, extra["persona_id"]))
    return out


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
        `mix_config` holds the settings the loaded data was mixed with.
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
            import pyarrow.compute as pc

            settings = self.permix_settings.for_files(self.permix_role)
            pool = settings.load_pool(where=SETTINGS_KEY[self.permix_role])
            mixed = mix_verl_rows(dataframe, pool, settings, prompt_key=self.prompt_key)
            self.mix_config = settings
            persona_ids = pc.struct_field(mixed.data.column("extra_info"), "persona_id")
            with_persona = pc.sum(pc.not_equal(persona_ids, NO_PERSONA_ID)).as_py() or 0
            logger.info(
                "permix: %s dataset: %d rows from %d, %d with a persona (pool %r of %d): %s",
                *(self.permix_role, len(mixed), len(dataframe), with_persona, pool.name, len(pool)),
                settings.model_dump(exclude={"val"}),
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
    ``extra_info`` (``split``, ``index``, ``persona_id``, ``problem_id``, ``question``, ``source``, and
    ``persona_style`` for a styled pool).

    Example:
        >>> from permix_plugins import PersonaMixDataset, load_problems
        >>> mixed = PersonaMixDataset(load_problems("synthetic", limit=2), PersonaPool.builtin("train"), persona_prob=0)
        >>> row = to_verl_rows(mixed, split="train", source="synthetic")[0]
        >>> row["data_source"], row["ability"], row["reward_model"]["style"], sorted(row["extra_info"])
        ('permix/none', 'math', 'rule', ['index', 'persona_id', 'problem_id', 'question', 'source', 'split'])
    """
    return mixed.map(
        _verl_batch,
        batched=True,
        with_indices=True,
        remove_columns=mixed.column_names,
        fn_kwargs={"split": split, "source": source, "data_source": data_source},
        desc="verl rows",
    )


def _verl_batch(
    batch: Mapping[str, list[Any]],
    indices: list[int],
    *,
    split: str,
    source: str,
    data_source: DataSourceMode,
) -> dict[str, list[Any]]:
    persona_ids = batch["persona_id"]
    styles = batch.get("persona_style")  # a styled pool's column: kept for compute_score's style keys
    extras = [
        {"split": split, "index": i, "persona_id": p, "problem_id": pid, "question": q, "source": source}
        for i, p, pid, q in zip(indices, persona_ids, batch["id"], batch["problem"], strict=True)
    ]
    if styles is not None:
        extras = [{**extra, "persona_style": style} for extra, style in zip(extras, styles, strict=True)]
    return {
        "data_source": [_data_source(data_source, source, persona_id) for persona_id in persona_ids],
        "prompt": batch["prompt"],
        "ability": ["math"] * len(indices),
        "reward_model": [{"style": "rule", "ground_truth": answer} for answer in batch["answer"]],
        "extra_info": extras,
    }


def _source_label(spec: str) -> str:
    from permix_plugins.problems import HUB_SOURCES, source_kind

    kind = source_kind(spec)
    if kind == "hub":
        return HUB_SOURCES[spec].path  # verl's own preprocessing names GSM8K rows "openai/gsm8k"
    return spec if kind == "synthetic" else Path(spec).stem


def _is_file(spec: str) -> bool:
    from permix_plugins.problems import source_kind

    return source_kind(spec) == "file"


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
    config: MixConfig | None = None,
    *,
    test_config: MixConfig | None = None,
    test_problems: str | None = None,
    limit: int | None = None,
    data_source: DataSourceMode = "persona",
    **settings: Any,
) -> dict[str, Path]:
    """Write ``<out>/train.parquet`` and ``<out>/test.parquet`` (verl's row schema, statically persona-mixed).

    ``train.parquet`` holds the ``train`` split of `problems` mixed as `PersonaMixDataset` mixes it with `config`
    and/or `settings` (`MixConfig` fields as keywords); ``test.parquet`` the ``test`` split of `test_problems`
    (default: `problems`) mixed with `test_config` (default: the train settings; ``every_persona=True`` gives every
    test problem once under each persona and once without, per-persona accuracy on the same questions). A local
    file has no splits: all of it is train, and ``test.parquet`` is written only when `test_problems` is given.
    Returns the written paths by split.

    Example:
        >>> import tempfile
        >>> paths = export_verl("synthetic", tempfile.mkdtemp(), persona_prob=1.0, limit=4)
        >>> sorted(paths), paths["train"].name
        (['test', 'train'], 'train.parquet')
    """
    from permix_plugins.mixing import PersonaMixDataset

    config, pool = MixConfig.resolve(None, config, settings)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    train = PersonaMixDataset(_load_split(problems, "train", limit, "--problems"), pool, config=config)
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
    mixed = PersonaMixDataset(test, config=config if test_config is None else test_config)
    rows = to_verl_rows(mixed, split="test", source=_source_label(test_spec), data_source=data_source)
    written["test"] = _write(rows, out / "test.parquet")
    return written


def _write(rows: Dataset, path: Path) -> Path:
    rows.to_parquet(str(path))
    return path


# ------------------------------------------------------------------------------------------ override lines
def verl_overrides(**options: Any) -> list[str]:
    """The Hydra override lines for ``python -m verl.trainer.main_ppo`` (what ``permix verl-overrides`` prints).

    `options` are the command's (`VerlOverridesOptions`: ``personas``, ``persona_prob``, ``seed``, ``placement``,
    ``epochs``, ``data_source``, ``val_personas``, ``val_persona_prob``, ``val_every_persona``, ``static``,
    ``reward_manager``), with its defaults. `static` (files from ``permix export verl``) keeps only the reward
    lines. Settings are validated as verl would.

    Example:
        >>> verl_overrides(static=True)
        ['reward.custom_reward_function.path=pkg://permix_plugins.math', 'reward.custom_reward_function.name=compute_score', 'reward.reward_manager.name=naive']
    """
    try:
        settings = VerlOverridesOptions.model_validate(options)
    except ValidationError as exc:
        problems = describe_errors(exc, model=VerlOverridesOptions)
        raise ConfigError(f"invalid verl override settings: {problems}") from None
    reward = [
        f"reward.custom_reward_function.path={REWARD_PATH}",
        "reward.custom_reward_function.name=compute_score",
        f"reward.reward_manager.name={settings.reward_manager}",
    ]
    if settings.static:
        return reward
    permix = settings.data_permix()
    VerlMixSettings.from_data_config({"permix": permix})
    val = permix.pop("val", {})
    lines = [f"data.custom_cls.path={DATASET_PATH}", f"data.custom_cls.name={DATASET_NAME}"]
    lines += [f"+data.permix.{key}={_hydra_value(value)}" for key, value in permix.items()]
    lines += [f"+data.permix.val.{key}={_hydra_value(value)}" for key, value in val.items()]
    return lines + reward


def _hydra_value(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


if TYPE_CHECKING:  # the real class is built on first access (see __getattr__)
    PersonaMixRLHFDataset: type
