"""The fidelity runner: every persona answers its questions (persona in the system prompt), a judge grades them.

`evaluate_fidelity` is the in-process entry point (two backends: the model under test and the judge);
`run_fidelity` is what ``permix fidelity`` runs: load personas, questions, the model and the judge from a
`FidelityConfig`, evaluate into ``DIR/fidelity.jsonl`` (resumable), then write ``fidelity.json``,
``fidelity.md`` and ``fidelity.png``.

The persona is put where training puts it (`permix_plugins.prompting.build_messages`: the system message, or
the top of the user turn for a chat template without a system role), with the question as the user turn and
no instruction. Work goes by persona in chunks: a chunk is answered, then graded (one judge call per answer,
temperature 0), then its lines are flushed to the results file, so an interrupted run loses at most one chunk
and a rerun skips every ``(persona_id, task, question_id)`` already in the file. The no-persona entry
(``none``, empty text) has no persona to play and is skipped.

Example:
    >>> from permix_plugins.personas import Persona, PersonaPool
    >>> class Echo:  # the model: repeats its persona
    ...     name, model_id, supports_system_role = "echo", "echo", True
    ...     def generate(self, prompts, *, n, temperature, max_new_tokens, seed):
    ...         return [[p[0]["content"]] for p in prompts]
    >>> class Judge:  # the judge: 5 for a pirate, garbage otherwise
    ...     name, model_id, supports_system_role = "judge", "judge", True
    ...     def generate(self, prompts, *, n, temperature, max_new_tokens, seed):
    ...         return [["Score: 5" if "pirate." in p[1]["content"] else "no idea"] for p in prompts]
    >>> pool = PersonaPool([Persona(id="pirate", text="You are a pirate."), Persona(id="owl", text="You are an owl.")])
    >>> records, report = evaluate_fidelity(Echo(), Judge(), pool, questions_per_task=1, progress=False,
    ...                                     n_bootstrap=50)
    >>> len(records), report.scores, report.n_failed
    (10, {'pirate': 5.0, 'owl': None}, 5)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, model_validator

from permix_plugins.errors import ConfigError
from permix_plugins.evaluation.backend import Backend, check_outputs, close_backend, load_backend, prompt_seed
from permix_plugins.evaluation.records import ResultsWriter, check_resumable, read_jsonl, validate_record
from permix_plugins.evaluation.runner import parse_config, progress_bar, resolve_placement, write_report
from permix_plugins.fidelity.judge import DEFAULT_JUDGE_MAX_NEW_TOKENS, grade_answers, load_judge
from permix_plugins.fidelity.questions import (
    DEFAULT_QUESTIONS_PER_TASK,
    TASKS,
    Question,
    Task,
    build_questions,
    check_tasks,
    load_personagym_questions,
)
from permix_plugins.fidelity.report import FidelityReport
from permix_plugins.personas import Persona, PersonaPool
from permix_plugins.prompting import Placement, build_messages
from permix_plugins.stability import DEFAULT_BOOTSTRAP

__all__ = [
    "FidelityConfig",
    "FidelityRecord",
    "FidelityResult",
    "FidelityRun",
    "evaluate_fidelity",
    "load_fidelity_report",
    "read_fidelity_results",
    "run_fidelity",
    "write_fidelity_report",
]

logger = logging.getLogger(__name__)

RESULTS_FILE = "fidelity.jsonl"
REPORT_FILES = ("fidelity.json", "fidelity.md", "fidelity.png")
DEFAULT_MAX_NEW_TOKENS = 512  # an in-character answer to one question


@dataclass(frozen=True)
class FidelityRecord:
    """One graded answer: a line of ``fidelity.jsonl``.

    `score` is the judge's grade 1–5, None when it could not be parsed (`status` says why: ``no_score``,
    ``ambiguous``, ``not_integer``, ``out_of_range``; ``ok`` otherwise). `judge_output` is the judge's raw text.
    """

    persona_id: str
    task: Task
    question_id: str
    question: str
    answer: str
    judge_output: str
    score: int | None
    status: str
    model: str
    backend: str
    judge: str
    placement: str
    temperature: float
    max_new_tokens: int
    seed: int

    @property
    def key(self) -> tuple[str, str, str]:
        """``(persona_id, task, question_id)``: what a resumed run skips."""
        return (self.persona_id, self.task, self.question_id)

    def to_json(self) -> str:
        """The record as one JSON line (no newline)."""
        import json

        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "record") -> FidelityRecord:
        """A record from a parsed JSON line; unknown keys are ignored, a missing or mistyped one raises."""
        return validate_record(cls, data, where=where, what="a fidelity record")


class FidelityResult(NamedTuple):
    """What `evaluate_fidelity` returns: every record (resumed ones included) and the report."""

    records: list[FidelityRecord]
    report: FidelityReport


def read_fidelity_results(path: str | Path, *, repair: bool = False) -> list[FidelityRecord]:
    """The records of a ``fidelity.jsonl`` (empty if it does not exist; a cut-off last line is skipped)."""
    return [FidelityRecord.from_dict(data, where=where) for where, data in read_jsonl(path, repair=repair)]


def evaluate_fidelity(
    model: Backend,
    judge: Backend,
    personas: PersonaPool | str,
    *,
    questions_per_task: int = DEFAULT_QUESTIONS_PER_TASK,
    seed: int = 0,
    tasks: Sequence[str] = TASKS,
    questions: Mapping[str, Sequence[Question]] | None = None,
    placement: Placement = "system",
    temperature: float = 0.0,
    max_new_tokens: int | None = None,
    judge_max_new_tokens: int = DEFAULT_JUDGE_MAX_NEW_TOKENS,
    results: str | Path | None = None,
    chunk_size: int = 32,
    n_bootstrap: int = DEFAULT_BOOTSTRAP,
    progress: bool = True,
    meta: Mapping[str, Any] | None = None,
) -> FidelityResult:
    """Ask every persona of `personas` its questions with `model`, grade each answer with `judge`, report.

    Questions are the project's templates (`build_questions`: `questions_per_task` per task, drawn with
    `seed`), or `questions` by persona id (e.g. `load_personagym_questions(...).questions`); either way only
    `tasks` are asked. ``temperature=0`` answers greedily; the judge is always greedy. With `results` (a
    ``.jsonl`` path) each record is appended as it is graded and records already there are skipped, so a
    rerun resumes. `max_new_tokens` defaults to the model backend's own (else 512).
    """
    if not temperature >= 0:
        raise ConfigError(f"temperature must be >= 0 (0 is greedy), got {temperature!r}")
    if chunk_size < 1:
        raise ConfigError(f"chunk_size must be at least 1, got {chunk_size!r}")
    pool = _playable(PersonaPool.load(personas))
    chosen = check_tasks(tasks)
    plan = _questions(pool, questions, chosen, questions_per_task=questions_per_task, seed=seed)
    max_new_tokens = max_new_tokens or int(getattr(model, "max_new_tokens", DEFAULT_MAX_NEW_TOKENS))
    used_placement = resolve_placement(model, placement)
    settings = {  # a results file holds one run's settings
        "model": model.model_id,
        "judge": judge.model_id,
        "temperature": float(temperature),
        "max_new_tokens": max_new_tokens,
        "seed": seed,
    }

    done: dict[tuple[str, str, str], FidelityRecord] = {}
    if results is not None:
        for record in read_fidelity_results(results, repair=True):
            check_resumable(Path(results), record, settings, holds="answers graded")
            done[record.key] = record
    wanted = [(persona.id, q.task, q.id) for persona in pool for q in plan[persona.id]]
    todo: list[tuple[Persona, list[Question]]] = []  # chunks of one persona's unanswered questions
    for persona in pool:
        remaining = [q for q in plan[persona.id] if (persona.id, q.task, q.id) not in done]
        todo.extend((persona, remaining[i : i + chunk_size]) for i in range(0, len(remaining), chunk_size))
    kept = {key: done[key] for key in wanted if key in done}
    if kept:
        logger.info("resuming: %d of %d answers already graded in %s", len(kept), len(wanted), results)

    new: dict[tuple[str, str, str], FidelityRecord] = {}
    writer = ResultsWriter(results) if results is not None else None
    bar = progress_bar(sum(len(chunk) for _, chunk in todo), f"fidelity {model.model_id}", enabled=progress)
    try:
        for persona, chunk in todo:
            messages = [
                build_messages(q.text, persona.text, placement=used_placement, instruction=None)
                for q in chunk
            ]
            outputs = model.generate(
                messages,
                n=1,
                temperature=temperature,
                max_new_tokens=max_new_tokens,
                seed=prompt_seed(seed, messages[0]),
            )
            answers = [out[0] for out in check_outputs(outputs, len(chunk), 1, model.name)]
            judgements = grade_answers(
                judge,
                [(q.task, persona.text, q.text, answer) for q, answer in zip(chunk, answers, strict=True)],
                max_new_tokens=judge_max_new_tokens,
                seed=seed,
            )
            for question, answer, judgement in zip(chunk, answers, judgements, strict=True):
                record = FidelityRecord(
                    persona_id=persona.id,
                    task=question.task,
                    question_id=question.id,
                    question=question.text,
                    answer=answer,
                    judge_output=judgement.output,
                    score=judgement.grade.score,
                    status=judgement.grade.status,
                    model=model.model_id,
                    backend=model.name,
                    judge=judge.model_id,
                    placement=used_placement,
                    temperature=float(temperature),
                    max_new_tokens=max_new_tokens,
                    seed=seed,
                )
                new[record.key] = record
                if writer is not None:
                    writer.write(record)
            if writer is not None:
                writer.flush()
            bar.update(len(chunk))
    finally:
        bar.close()
        if writer is not None:
            writer.close()

    records = [kept.get(key) or new[key] for key in wanted]
    run_meta = {
        "model": model.model_id,
        "backend": model.name,
        "judge": judge.model_id,
        "judge_backend": judge.name,
        "personas": pool.name,
        "tasks": list(chosen),
        "questions": "templates" if questions is None else "provided",
        "questions_per_task": questions_per_task if questions is None else None,
        "temperature": float(temperature),
        "max_new_tokens": max_new_tokens,
        "judge_max_new_tokens": judge_max_new_tokens,
        "seed": seed,
        "placement": used_placement,
        **dict(meta or {}),
    }
    report = FidelityReport.from_grades(
        _report_rows(records), n_bootstrap=n_bootstrap, seed=seed, meta=run_meta
    )
    return FidelityResult(records, report)


# ------------------------------------------------------------------------------------------------ the CLI run
class FidelityConfig(BaseModel):
    """The options of ``permix fidelity`` (one field per flag: ``judge_base_url`` is ``--judge-base-url``).

    Example:
        >>> FidelityConfig(model="m", out="o", judge_local="judge").personas is None
        True
        >>> FidelityConfig.parse(model="m", out="o")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        permix_plugins.errors.ConfigError: invalid options: choose one judge: --judge-base-url URL with ...
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(min_length=1)
    out: Path
    personas: str | None = None
    persona_gym_questions: Path | None = None
    questions_per_task: int | None = Field(default=None, ge=1)
    backend: Literal["transformers", "vllm", "openai"] = "transformers"
    base_url: str | None = None
    api_key: str | None = None
    judge_base_url: str | None = None
    judge_model: str | None = None
    judge_api_key: str | None = None
    judge_local: str | None = None
    judge_max_new_tokens: int = Field(default=DEFAULT_JUDGE_MAX_NEW_TOKENS, ge=1)
    temperature: float = Field(default=0.0, ge=0.0)
    max_new_tokens: int = Field(default=DEFAULT_MAX_NEW_TOKENS, ge=1)
    seed: int = 0
    placement: Literal["system", "user_prefix"] = "system"
    batch_size: int = Field(default=16, ge=1)
    concurrency: int = Field(default=16, ge=1)
    timeout: float = Field(default=300.0, gt=0)
    max_retries: int = Field(default=4, ge=0)
    dtype: str = "auto"
    device: str | None = None
    bootstrap: int = Field(default=DEFAULT_BOOTSTRAP, ge=1)
    progress: bool = True

    @model_validator(mode="after")
    def _one_judge(self) -> FidelityConfig:
        if (self.judge_base_url is None) == (self.judge_local is None):
            raise ValueError(
                "choose one judge: --judge-base-url URL with --judge-model NAME (any OpenAI-compatible "
                "server), or --judge-local PATH_OR_ID (a local transformers model)"
            )
        if self.judge_base_url is not None and not self.judge_model:
            raise ValueError("--judge-base-url needs --judge-model, the judge's served model name")
        if self.judge_local is not None and self.judge_model is not None:
            raise ValueError("--judge-model names a served model; with --judge-local leave it out")
        return self

    @classmethod
    def parse(cls, **options: Any) -> FidelityConfig:
        """Validate `options`; a bad one raises `ConfigError` naming its ``--flag`` and what is accepted."""
        return parse_config(cls, options)


class FidelityRun(NamedTuple):
    """What `run_fidelity` returns: the report and the files it wrote."""

    report: FidelityReport
    results: Path
    files: list[Path]


def run_fidelity(config: FidelityConfig) -> FidelityRun:
    """Run ``permix fidelity``: evaluate `config.model` into ``config.out`` (resumable), write the reports.

    Everything that can be checked without a model (personas, question files, judge options, an existing
    results file made with other settings) is checked before a model is loaded.
    """
    if config.persona_gym_questions is not None:
        given = PersonaPool.load(config.personas) if config.personas is not None else None
        pool, questions = load_personagym_questions(
            config.persona_gym_questions, personas=given, questions_per_task=config.questions_per_task
        )
        pool, plan, source = _playable(pool), questions, f"personagym:{config.persona_gym_questions}"
        per_task = config.questions_per_task  # None: all of each file
    else:
        pool, source = _playable(PersonaPool.load(config.personas or "eval")), "templates"
        per_task = config.questions_per_task or DEFAULT_QUESTIONS_PER_TASK
        plan = build_questions(pool, questions_per_task=per_task, seed=config.seed)  # checked before loading
    results = config.out / RESULTS_FILE
    settings = {
        "model": config.model,
        "judge": config.judge_model or config.judge_local,
        "temperature": config.temperature,
        "max_new_tokens": config.max_new_tokens,
        "seed": config.seed,
    }
    for record in read_fidelity_results(results)[:1]:  # fail before loading a model, not after
        check_resumable(results, record, settings, holds="answers graded")

    options: dict[str, Any] = {  # each backend uses the options that apply to it
        "batch_size": config.batch_size,
        "dtype": config.dtype,
        "device": config.device,
        "concurrency": config.concurrency,
        "timeout_s": config.timeout,
        "max_retries": config.max_retries,
    }
    judge = load_judge(
        base_url=config.judge_base_url,
        model=config.judge_model,
        api_key=config.judge_api_key,
        local=config.judge_local,
        max_new_tokens=config.judge_max_new_tokens,
        **options,
    )
    backends: list[Any] = [judge]
    try:
        model = load_backend(
            config.backend,
            config.model,
            max_new_tokens=config.max_new_tokens,
            seed=config.seed,
            base_url=config.base_url,
            api_key=config.api_key,
            system_role=config.placement == "system",
            **options,
        )
        backends.append(model)
        _, report = evaluate_fidelity(
            model,
            judge,
            pool,
            seed=config.seed,
            questions=plan,
            placement=config.placement,
            temperature=config.temperature,
            max_new_tokens=config.max_new_tokens,
            judge_max_new_tokens=config.judge_max_new_tokens,
            results=results,
            n_bootstrap=config.bootstrap,
            progress=config.progress,
            meta={"questions": source, "questions_per_task": per_task},
        )
    finally:
        for backend in backends:
            close_backend(backend)
    return FidelityRun(report, results, write_fidelity_report(report, config.out))


def write_fidelity_report(report: FidelityReport, directory: str | Path) -> list[Path]:
    """Write ``fidelity.json``, ``fidelity.md`` and ``fidelity.png`` (the PNG needs matplotlib)."""
    return write_report(report, directory, files=REPORT_FILES)


def load_fidelity_report(
    path: str | Path, *, n_bootstrap: int = DEFAULT_BOOTSTRAP, seed: int | None = None
) -> FidelityReport:
    """A report from a ``fidelity.jsonl`` (rebuilt with `n_bootstrap` resamples) or a ``fidelity.json``."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{str(path)!r} is not a file; pass a fidelity.jsonl or a fidelity.json")
    if path.suffix == ".json":
        return FidelityReport.read(path)
    records = read_fidelity_results(path)
    if not records:
        raise ConfigError(f"{path} holds no fidelity records")
    first = records[0]
    meta = {
        "model": first.model,
        "backend": first.backend,
        "judge": first.judge,
        "temperature": first.temperature,
        "max_new_tokens": first.max_new_tokens,
        "seed": first.seed,
        "results": str(path),
    }
    return FidelityReport.from_grades(
        _report_rows(records), n_bootstrap=n_bootstrap, seed=first.seed if seed is None else seed, meta=meta
    )


# ------------------------------------------------------------------------------------------------ internals
def _playable(pool: PersonaPool) -> PersonaPool:
    """`pool` without the no-persona entry (nothing to play); an error if nothing is left."""
    skipped = [p.id for p in pool if not p.text]
    if skipped:
        logger.info("fidelity: skipping %s (no persona text to play)", ", ".join(skipped))
        if len(skipped) == len(pool):
            raise ConfigError(
                f"persona pool {pool.name!r} has no persona with text; fidelity needs personas to play"
            )
        return pool.without(*skipped)
    return pool


def _questions(
    pool: PersonaPool,
    given: Mapping[str, Sequence[Question]] | None,
    tasks: tuple[Task, ...],
    *,
    questions_per_task: int,
    seed: int,
) -> dict[str, tuple[Question, ...]]:
    if given is None:
        return build_questions(pool, questions_per_task=questions_per_task, seed=seed, tasks=tasks)
    missing = [p.id for p in pool if p.id not in given]
    if missing:
        raise ConfigError(
            f"no questions given for persona(s) {missing[:10]}; give questions for every persona"
        )
    plan: dict[str, tuple[Question, ...]] = {}
    for persona in pool:
        chosen = tuple(q for q in given[persona.id] if q.task in tasks)
        keys = [(q.task, q.id) for q in chosen]
        if len(set(keys)) != len(keys):
            raise ConfigError(
                f"the questions of persona {persona.id!r} repeat a (task, id) pair; ids must be unique"
            )
        plan[persona.id] = chosen
    return plan


def _report_rows(records: Sequence[FidelityRecord]) -> list[tuple[str, str, str, int | None, str]]:
    return [(r.persona_id, r.task, r.question_id, r.score, r.status) for r in records]
