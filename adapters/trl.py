"""TRL glue: measure persona stability while `GRPOTrainer` trains, and a dataset file for ``trl grpo``.

Persona-mixed GRPO itself needs no adapter: pass a `PersonaMixDataset` as ``train_dataset`` and
`permix_plugins.math.accuracy_reward` as a reward function, and TRL logs ``persona/<id>/accuracy`` and
``persona/<id>/no_answer`` for the personas of each batch. Without Python, `export_trl` (``permix export trl``)
writes that dataset to a file for TRL's own script, ``trl grpo --dataset_name DIR --reward_funcs
permix_plugins.math.accuracy_reward``. What this module adds besides is `PersonaStabilityCallback`, which evaluates
the model being trained on held-out problems under held-out personas every N steps:

    trainer = GRPOTrainer(model=..., reward_funcs=[accuracy_reward], train_dataset=train, args=config)
    trainer.add_callback(PersonaStabilityCallback(load_problems("gsm8k", limit=64), "eval", trainer=trainer))
    trainer.train()

It logs ``permix/pss``, ``permix/mean_accuracy``, ``permix/std``, ``permix/worst``, ``permix/acc/<persona>`` and
``permix/no_answer/<persona>`` in the record of the step it evaluated at (next to that step's rewards), so
``trainer.state.log_history`` has one record per step and the loggers show them once per step; wandb and
tensorboard name them ``train/permix/pss`` and so on, as they do every training metric.

Importing this module does not import transformers: `PersonaStabilityCallback` subclasses
``transformers.TrainerCallback`` and is made on first use (``from permix_plugins.adapters.trl import
PersonaStabilityCallback`` does that).
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from permix_plugins._optional import require
from permix_plugins.errors import ConfigError
from permix_plugins.evaluation.runner import evaluate
from permix_plugins.math import accuracy_reward
from permix_plugins.personas import PersonaPool
from permix_plugins.problems import normalize_problems
from permix_plugins.prompting import DEFAULT_INSTRUCTION
from permix_plugins.stability import StabilityReport

if TYPE_CHECKING:
    from datasets import Dataset

    from permix_plugins.mix_config import MixConfig

__all__ = [
    "REWARD_FUNC",
    "STABILITY_MAX_NEW_TOKENS",
    "PersonaStabilityCallback",
    "TrlExport",
    "export_trl",
    "stability_metrics",
]

logger = logging.getLogger(__name__)

REWARD_FUNC = f"{accuracy_reward.__module__}.{accuracy_reward.__name__}"
"""The reward for ``trl grpo --reward_funcs``, by the dotted path TRL imports (trl/scripts/grpo.py, lines 100-105)."""

STABILITY_MAX_NEW_TOKENS = 512
"""The stability callback's answer budget: below a full solution's (1024), so that measuring stays a small part of
a training run."""


def stability_metrics(report: StabilityReport, prefix: str = "permix") -> dict[str, float]:
    """The scalars of a report, named for a training log.

    Example:
        >>> report = StabilityReport.from_results([("none", "q", 1), ("pirate", "q", 0)], n_bootstrap=10)
        >>> stability_metrics(report)["permix/pss"], stability_metrics(report)["permix/acc/pirate"]
        (0.0, 0.0)
    """
    log_names = {"mean": "mean_accuracy"}  # the log's name since the first release
    metrics = {
        f"{prefix}/{log_names.get(name, name)}": value
        for name, value in report.scalars().items()
        if value is not None  # no gap to none without a no-persona prompt
    }
    for persona in report.personas:
        metrics[f"{prefix}/acc/{persona.persona_id}"] = persona.accuracy
        metrics[f"{prefix}/no_answer/{persona.persona_id}"] = persona.no_answer_rate
    return metrics


class _StabilityCallback:  # PersonaStabilityCallback without its transformers base class
    """Evaluate persona stability on held-out problems and personas before training, every N steps and at the end.

    Args:
        problems: held-out problems (a `load_problems` dataset, a list of dicts, or a file path).
        pool: held-out personas (a `PersonaPool` or a name/file for `PersonaPool.load`), ``"eval"`` by default.
        trainer: the trainer whose loggers receive the metrics (a TRL trainer puts them in the step's own record).
            Without it the metrics still go to ``state.log_history`` and to this module's logger, but not to
            wandb/tensorboard.
        every_n_steps: evaluation period in optimizer steps (0: only before and after training).
        eval_on_start: also evaluate before the first step (the "before" of a before/after comparison).
        max_new_tokens, batch_size, samples, temperature, seed, placement, instruction: generation settings,
            as in `permix_plugins.evaluation.evaluate` (greedy by default).
        n_bootstrap: bootstrap resamples for the confidence intervals of each report.
        output_dir: if set, each report is written there as ``stability-step<N>.json``.

    One process (the main one) generates; the others wait at a barrier, so all continue together. Models sharded
    across processes (DeepSpeed ZeRO-3, FSDP) cannot generate on one process and are refused at the start.
    ``reports`` holds ``(step, StabilityReport)`` pairs on the main process.
    """

    def __init__(
        self,
        problems: Iterable[Mapping[str, Any]] | str | Path,
        pool: PersonaPool | str = "eval",
        *,
        trainer: Any = None,
        every_n_steps: int = 50,
        eval_on_start: bool = True,
        max_new_tokens: int = STABILITY_MAX_NEW_TOKENS,
        batch_size: int = 16,
        samples: int = 1,
        temperature: float = 0.0,
        seed: int = 0,
        placement: str = "system",
        instruction: str | None = DEFAULT_INSTRUCTION,
        n_bootstrap: int = 200,
        output_dir: str | Path | None = None,
        prefix: str = "permix",
    ) -> None:
        if every_n_steps < 0:
            raise ConfigError(f"every_n_steps must be 0 (only before/after) or positive, got {every_n_steps}")
        self.problems = normalize_problems(problems).to_list()
        self.pool = PersonaPool.load(pool)
        self.trainer = trainer
        self.every_n_steps = every_n_steps
        self.eval_on_start = eval_on_start
        self.generation = {
            "samples": samples,
            "temperature": temperature,
            "seed": seed,
            "placement": placement,
        }
        self.instruction = instruction
        self.max_new_tokens = max_new_tokens
        self.batch_size = batch_size
        self.n_bootstrap = n_bootstrap
        self.output_dir = Path(output_dir) if output_dir is not None else None
        self.prefix = prefix
        self.reports: list[tuple[int, StabilityReport]] = []
        self._last_step: int | None = None
        self._warned_no_trainer = False

    # -- trainer events

    def on_train_begin(self, args, state, control, model=None, processing_class=None, **kwargs):
        _refuse_sharded_models(args, self.trainer)
        if self.eval_on_start and not self._done(state.global_step):
            self._publish(state, self._evaluate(state, model, processing_class), in_step=False)

    def on_step_end(self, args, state, control, model=None, processing_class=None, **kwargs):
        periodic = self.every_n_steps and state.global_step % self.every_n_steps == 0
        if (periodic or state.global_step >= state.max_steps) and not self._done(state.global_step):
            self._publish(state, self._evaluate(state, model, processing_class), in_step=True)
            control.should_log = True  # on every process: the step's log gathers the loss across them

    def on_train_end(self, args, state, control, model=None, processing_class=None, **kwargs):
        if not self._done(state.global_step):  # training stopped between two evaluations
            self._publish(state, self._evaluate(state, model, processing_class), in_step=False)

    # -- work

    def _done(self, step: int) -> bool:
        return self._last_step == step

    def _evaluate(self, state, model, tokenizer) -> dict[str, float] | None:
        """Evaluate on the main process and return its metrics (None on the others, which wait at the barrier)."""
        self._last_step = state.global_step
        metrics = None
        if state.is_world_process_zero:
            from permix_plugins.evaluation import TransformersBackend

            if model is None or tokenizer is None:
                raise ConfigError("PersonaStabilityCallback needs the trainer's model and processing_class")
            backend = TransformersBackend(
                model,
                tokenizer,
                batch_size=self.batch_size,
                max_new_tokens=self.max_new_tokens,
                model_id=f"step-{state.global_step}",
            )
            result = evaluate(
                backend,
                self.problems,
                self.pool,
                instruction=self.instruction,
                n_bootstrap=self.n_bootstrap,
                progress=False,
                meta={"step": state.global_step},
                **self.generation,
            )
            self.reports.append((state.global_step, result.report))
            metrics = stability_metrics(result.report, self.prefix)
            logger.info(
                "step %d: PSS %.3f, mean accuracy %.3f",
                state.global_step,
                result.report.pss,
                result.report.mean,
            )
            if self.output_dir is not None:
                self.output_dir.mkdir(parents=True, exist_ok=True)
                (self.output_dir / f"stability-step{state.global_step}.json").write_text(
                    result.report.to_json()
                )
        _barrier()
        return metrics

    def _publish(self, state, metrics: dict[str, float] | None, *, in_step: bool) -> None:
        """Log `metrics` once, in the record of the step being logged when there is one.

        The loggers (wandb, tensorboard, ...) are callbacks that run before this one, so they must find the metrics
        in the record itself: adding them from ``on_log`` is too late, and calling ``trainer.log`` there writes a
        second record of the step. TRL trainers average ``_metrics["train"]`` into the step's record before the
        callbacks run, so the metrics go there; outside a step (before or after training) they get their own record
        through the base ``Trainer.log``, which writes no GRPO metrics and no completions table.
        """
        if not metrics:
            return
        if self.trainer is None:
            state.log_history.append({**metrics, "step": state.global_step})
            if not self._warned_no_trainer:
                logger.warning(
                    "PersonaStabilityCallback has no trainer=: metrics go to state.log_history only"
                )
                self._warned_no_trainer = True
            return
        step_metrics = getattr(self.trainer, "_metrics", {}).get("train") if in_step else None
        if step_metrics is not None:
            for name, value in metrics.items():
                step_metrics[name] = [value]
        else:
            from transformers import Trainer

            Trainer.log(self.trainer, dict(metrics))


def __getattr__(name: str) -> Any:
    # The callback's base class is transformers' TrainerCallback: build it on first use, then keep it as a global
    # (so this hook runs once, and pickle finds the class by name).
    if name != "PersonaStabilityCallback":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    transformers = require("transformers", extra="trl")
    namespace = {"__module__": __name__, "__doc__": _StabilityCallback.__doc__}
    callback = type(name, (_StabilityCallback, transformers.TrainerCallback), namespace)
    globals()[name] = callback
    return callback


if TYPE_CHECKING:  # what type checkers see; at run time `__getattr__` builds the same class
    from transformers import TrainerCallback

    class PersonaStabilityCallback(_StabilityCallback, TrainerCallback): ...


def _barrier() -> None:
    """Hold every process until the main one has evaluated (a no-op in single-process runs)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def _refuse_sharded_models(args: Any, trainer: Any) -> None:
    if _is_sharded(args, trainer):
        raise ConfigError(
            "PersonaStabilityCallback generates on one process, which a model sharded by DeepSpeed ZeRO-3 or FSDP "
            "cannot do; evaluate checkpoints with `permix eval` instead, or train with ZeRO-2/DDP"
        )


def _is_sharded(args: Any, trainer: Any) -> bool:
    """Whether the weights are split across processes (FSDP of any version, DeepSpeed ZeRO-3), however launched.

    `args.fsdp` alone misses `accelerate launch --config_file fsdp1.yaml` (TRL's accelerate_configs), which leaves it
    empty: accelerate builds the plugin from ACCELERATE_USE_FSDP instead (accelerate 1.16.0 accelerator.py:372-376)
    and records it in the shared state with distributed_type FSDP (state.py:971-977, 998). The Trainer reads that
    state: transformers 5.10.4 trainer.py:830 sets `is_fsdp_enabled`. ZeRO-3 from `--deepspeed ds.json` or from
    ACCELERATE_USE_DEEPSPEED both end in `args.deepspeed_plugin` (training_args.py:1635-1650), whose `zero_stage` is
    read from the config file when one is given (accelerate dataclasses.py:1194-1199), and which the Trainer hands
    to its Accelerator (trainer.py:706).
    """
    from transformers.integrations import is_deepspeed_zero3_enabled

    distributed_state = getattr(args, "distributed_state", None)
    fsdp = (
        bool(getattr(trainer, "is_fsdp_enabled", False))
        or bool(getattr(args, "fsdp", None))
        or getattr(distributed_state, "distributed_type", None) == "FSDP"  # a str enum; no trainer= needed
    )
    zero_stage = getattr(getattr(args, "deepspeed_plugin", None), "zero_stage", None)
    return fsdp or zero_stage == 3 or is_deepspeed_zero3_enabled()


# ------------------------------------------------------------------------------------------- trl grpo's file
_WRITERS = {".jsonl": "to_json", ".json": "to_json", ".parquet": "to_parquet"}  # suffixes load_dataset reads


@dataclass(frozen=True)
class TrlExport:
    """What `export_trl` wrote: the file, its rows, the rows per persona id, and the split that
    ``load_dataset(<the file's directory>)`` reads it into."""

    path: Path
    rows: int
    per_persona: Mapping[str, int]
    split: str

    def trl_flags(self) -> list[str]:
        """The flags of ``trl grpo`` that train on the file with permix's reward."""
        directory = str(self.path.parent.resolve())
        return [
            "--dataset_name",
            directory,
            "--dataset_train_split",
            self.split,
            "--reward_funcs",
            REWARD_FUNC,
        ]


def export_trl(
    path: str | Path,
    problems: Dataset | Iterable[Mapping[str, Any]] | str | Path,
    pool: PersonaPool | str | None = None,
    *,
    config: MixConfig | None = None,
    num_proc: int | None = None,
    **settings: Any,
) -> TrlExport:
    """Write the `PersonaMixDataset` of these arguments (`pool`, a `MixConfig` and/or its fields as keywords) to a
    ``.jsonl`` or ``.parquet`` file for ``trl grpo``; the file appears complete or not at all.

    The rows keep every column of the dataset: ``prompt`` (chat messages), ``persona_id``, ``persona_style`` (a
    styled pool), ``answer`` and the problem's own. TRL hands them all to the reward: `GRPOConfig`'s
    ``remove_unused_columns`` is False by default (trl/trainer/grpo_config.py:473, TRL 1.16), and
    ``GRPOTrainer._calculate_rewards`` passes every column but ``prompt``/``completion``/``completion_ids`` to each
    reward function as a keyword (trl/trainer/grpo_trainer.py:1584-1585), so `accuracy_reward` reads ``answer`` and
    logs ``persona/<id>/accuracy``. (``--remove_unused_columns true`` keeps only ``prompt``, grpo_trainer.py:1249,
    and the reward then stops, asking for the gold answers.)

    ``trl grpo --dataset_name X`` calls ``load_dataset(X)`` (trl/scripts/grpo.py:132), which in datasets 5 reads a
    local directory but not a single file, so the file is read through its directory. That directory must hold
    nothing else that ``load_dataset`` would read into the file's split (a ``test.jsonl`` beside a ``train.jsonl``
    is fine: it is another split); otherwise the file is removed again and a `ConfigError` names the others.

    Example:
        >>> import tempfile
        >>> from permix_plugins import load_problems
        >>> out = Path(tempfile.mkdtemp()) / "train.jsonl"
        >>> export = export_trl(out, load_problems("synthetic", limit=4), "train", persona_prob=0.0)
        >>> export.rows, dict(export.per_persona), export.split
        (4, {'none': 4}, 'train')
    """
    from permix_plugins.mixing import PersonaMixDataset

    path = Path(path)
    writer = _WRITERS.get(path.suffix.lower())
    if writer is None:
        raise ConfigError(
            f"load_dataset picks its reader from the file extension; name the output '*.jsonl' or '*.parquet' "
            f"(got '{path}')"
        )
    mixed = PersonaMixDataset(problems, pool, config=config, num_proc=num_proc, **settings)
    if len(mixed) == 0:
        raise ConfigError("there are no problems to export (check --problems, --split and --limit)")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    try:
        getattr(mixed, writer)(str(partial))
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    try:
        split = _split_of(path)
    except ConfigError:
        path.unlink()
        raise
    per_persona = Counter(mixed["persona_id"])
    return TrlExport(path=path, rows=len(mixed), per_persona=dict(per_persona), split=split)


def _split_of(path: Path) -> str:
    """The split ``load_dataset(path.parent)`` reads `path` into, by datasets' own rules (its builder's
    ``data_files``), provided no other file joins it there."""
    from datasets import load_dataset_builder

    target = path.resolve()
    try:
        data_files = load_dataset_builder(str(path.parent)).config.data_files
    except FileNotFoundError:  # datasets' EmptyDatasetError: no file it reads (ours is hidden)
        data_files = {}
    for split, files in data_files.items():
        found = {Path(file).resolve() for file in files}
        if target in found:
            others = sorted(str(file) for file in found - {target})
            if others:
                raise ConfigError(
                    f"load_dataset('{path.parent}') would read {', '.join(others)} into split '{split}' along "
                    f"with {path.name}; write the export into a directory of its own"
                )
            return str(split)
    raise ConfigError(
        f"load_dataset('{path.parent}') would not read {path.name} (it skips hidden files and reads one format "
        "per directory); write the export into a directory of its own, under a name without a leading '.'"
    )
