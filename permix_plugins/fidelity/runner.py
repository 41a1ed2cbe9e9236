"""The fidelity runner: every persona answers its questions (persona in the system prompt), a judge grades them.

`evaluate_fidelity` is the in-process entry point (two backends: the model under test and the judge);
`run_fidelity` is what ``permix fidelity`` runs: load personas, questions, the model and the judge from a
`FidelityConfig`, evaluate into ``DIR/fidelity.jsonl`` (resumable under the same settings,
`FidelityRunSettings`: model, judge, personas, questions, sampling, placement), then write ``fidelity.json``,
``fidelity.md`` and ``fidelity.png``. The results file and the loop are those of ``permix eval``
(`permix_plugins.evaluation.runs`).

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

from pydantic import Field, model_validator

from permix_plugins._reporting import DEFAULT_BOOTSTRAP
from permix_plugins.errors import ConfigError
from permix_plugins.evaluation import runs
from permix_plugins.evaluation.backends.base import Backend, generate
from permix_plugins.evaluation.results import digest
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
from permix_plugins.fidelity.records import FidelityRecord, grade_rows
from permix_plugins.fidelity.report import FidelityReport
from permix_plugins.personas import Persona, PersonaPool
from permix_plugins.prompting import Placement, build_messages

__all__ = [
    "FIDELITY",
    "FidelityConfig",
    "FidelityResult",
    "FidelityRun",
    "FidelityRunSettings",
    "evaluate_fidelity",
    "load_fidelity_report",
    "run_fidelity",
    "write_fidelity_report",
]

logger = logging.getLogger(__name__)

# The answer budget of ``permix fidelity``: an in-character answer to one question (the judge has its own).
IN_CHARACTER_MAX_NEW_TOKENS = 512
_CHUNK_SIZE = 32  # questions of one persona per backend call


class FidelityResult(NamedTuple):
    """What `evaluate_fidelity` returns: every record (resumed ones included) and the report."""

    records: list[FidelityRecord]
    report: FidelityReport


@dataclass(frozen=True, kw_only=True)
class FidelityRunSettings(runs.RunSettings):
    """The settings of one fidelity run (`runs.RunSettings`) and its own: the judge and its budget, the questions
    by persona (`plan`), the tasks asked, and where the questions came from (for the report)."""

    saved_keys = (
        "model", "backend", "judge", "judge_backend", "judge_max_new_tokens", "personas", "questions",
        "temperature", "max_new_tokens", "seed", "placement",
    )  # fmt: skip

    judge: str
    judge_backend: str
    judge_max_new_tokens: int
    plan: Mapping[str, tuple[Question, ...]]
    tasks: tuple[Task, ...]
    source: str  # templates, provided, or personagym:<directory>
    questions_per_task: int | None  # None: as given

    @property
    def questions(self) -> str:
        """The questions as the saved settings name them: their number and a fingerprint."""
        asked = [[persona, q.task, q.id, q.text] for persona, qs in self.plan.items() for q in qs]
        return f"{len(asked)} questions, sha256 {digest(asked)}"

    def record_fields(self, placement: str) -> dict[str, Any]:
        return {**super().record_fields(placement), "judge": self.judge}

    def report_meta(self, placement: str) -> dict[str, Any]:
        return {
            **super().report_meta(placement),
            "judge_backend": self.judge_backend,
            "judge_max_new_tokens": self.judge_max_new_tokens,
            "tasks": list(self.tasks),
            "questions": self.source,
            "questions_per_task": self.questions_per_task,
        }


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
    chunk_size: int = _CHUNK_SIZE,
    n_bootstrap: int = DEFAULT_BOOTSTRAP,
    progress: bool = True,
    meta: Mapping[str, Any] | None = None,
) -> FidelityResult:
    """Ask every persona of `personas` its questions with `model`, grade each answer with `judge`, report.

    Questions are the project's templates (`build_questions`: `questions_per_task` per task, drawn with
    `seed`), or `questions` by persona id (e.g. `load_personagym_questions(...).questions`); either way only
    `tasks` are asked. ``temperature=0`` answers greedily; the judge is always greedy. With `results` (a
    ``.jsonl`` path) each record is appended as it is graded and records already there are skipped, so a
    rerun resumes; a file written with other settings is refused. `max_new_tokens` defaults to the model
    backend's own (else 512).
    """
    runs.check_generation(temperature=temperature, chunk_size=chunk_size)
    pool = _playable(PersonaPool.load(personas))
    chosen = check_tasks(tasks)
    settings = FidelityRunSettings(
        model=model.model_id,
        backend=model.name,
        pool=pool,
        temperature=temperature,
        max_new_tokens=max_new_tokens or runs.default_max_new_tokens(model, IN_CHARACTER_MAX_NEW_TOKENS),
        seed=seed,
        placement=placement,
        judge=judge.model_id,
        judge_backend=judge.name,
        judge_max_new_tokens=judge_max_new_tokens,
        plan=_questions(pool, questions, chosen, questions_per_task=questions_per_task, seed=seed),
        tasks=chosen,
        source="templates" if questions is None else "provided",
        questions_per_task=questions_per_task if questions is None else None,
    )
    return _evaluate_fidelity(
        model, judge, settings, results=results, chunk_size=chunk_size, n_bootstrap=n_bootstrap,
        progress=progress, meta=meta,
    )  # fmt: skip


def _evaluate_fidelity(
    model: Backend,
    judge: Backend,
    settings: FidelityRunSettings,
    *,
    results: str | Path | None,
    chunk_size: int,
    n_bootstrap: int,
    progress: bool,
    meta: Mapping[str, Any] | None,
) -> FidelityResult:
    """`evaluate_fidelity` with its settings built (`run_fidelity` builds them before a model is loaded)."""
    used_placement = runs.resolve_placement(model, settings.placement)
    pool, plan = settings.pool, settings.plan
    wanted = [(persona.id, q.task, q.id) for persona in pool for q in plan[persona.id]]
    store, done = runs.open_results(results, FidelityRecord, settings, wanted)
    shared = settings.record_fields(used_placement)

    def work(chunk: tuple[Persona, list[Question]]) -> list[FidelityRecord]:
        persona, asked = chunk
        messages = [
            build_messages(q.text, persona.text, placement=used_placement, instruction=None) for q in asked
        ]
        outputs = generate(
            model, messages, n=1, temperature=settings.temperature, max_new_tokens=settings.max_new_tokens,
            seed=settings.seed,
        )  # fmt: skip
        answers = [out[0] for out in outputs]
        judgements = grade_answers(
            judge,
            [(q.task, persona.text, q.text, answer) for q, answer in zip(asked, answers, strict=True)],
            max_new_tokens=settings.judge_max_new_tokens,
            seed=settings.seed,
        )
        return [
            FidelityRecord(
                persona_id=persona.id,
                task=question.task,
                question_id=question.id,
                question=question.text,
                answer=answer,
                judge_output=judgement.output,
                score=judgement.grade.score,
                status=judgement.grade.status,
                **shared,
            )
            for question, answer, judgement in zip(asked, answers, judgements, strict=True)
        ]

    todo: list[tuple[Persona, list[Question]]] = []  # chunks of one persona's unanswered questions
    for persona in pool:
        remaining = [q for q in plan[persona.id] if (persona.id, q.task, q.id) not in done]
        todo.extend((persona, remaining[i : i + chunk_size]) for i in range(0, len(remaining), chunk_size))
    new = runs.run_chunks(
        todo,
        work,
        results=store,
        total=sum(len(chunk) for _, chunk in todo),
        description=f"fidelity {model.model_id}",
        progress=progress,
    )
    records = runs.in_plan_order(wanted, done, new)
    run_meta = {
        **settings.report_meta(used_placement),
        **runs.backend_notes(model),
        **runs.backend_notes(judge, "judge_notes"),
        **dict(meta or {}),
    }
    return FidelityResult(records, _report(records, n_bootstrap, settings.seed, run_meta))


def _report(
    records: list[FidelityRecord], n_bootstrap: int, seed: int, meta: dict[str, Any]
) -> FidelityReport:
    return FidelityReport.from_grades(grade_rows(records), n_bootstrap=n_bootstrap, seed=seed, meta=meta)


FIDELITY = runs.RunKind(
    FidelityRecord,
    FidelityReport,
    _report,
    ("fidelity.jsonl", "fidelity.json", "fidelity.md", "fidelity.png"),
)


write_fidelity_report = FIDELITY.write_report  # fidelity.json, fidelity.md and fidelity.png
load_fidelity_report = FIDELITY.load_report  # a report from a fidelity.jsonl (rebuilt) or a fidelity.json


# ------------------------------------------------------------------------------------------------ the CLI run
class FidelityConfig(runs.RunConfig):
    """The options of ``permix fidelity`` (one field per flag: ``judge_base_url`` is ``--judge-base-url``).

    Example:
        >>> FidelityConfig(model="m", out="o", judge_local="judge").personas is None
        True
        >>> FidelityConfig.parse(model="m", out="o")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        permix_plugins.errors.ConfigError: invalid options: choose one judge: --judge-base-url URL with ...
    """

    output_root: ClassVar[str] = "permix-fidelity"

    personas: str | None = Field(
        default=None,
        description="eval (default), train, lottery, or a persona file; with --persona-gym-questions, default: "
        "the personas named by the question files",
    )
    questions_per_task: int | None = Field(
        default=None, ge=1, description="questions per task and persona (default 10; PersonaGym: all)"
    )
    persona_gym_questions: Path | None = Field(
        default=None,
        description="PersonaGym question files (its questions/benchmark-v1: <persona description>.json) "
        "instead of the project's templates",
    )
    judge_base_url: str | None = Field(
        default=None, description="OpenAI-compatible server of the judge, e.g. https://api.openai.com/v1"
    )
    judge_model: str | None = Field(
        default=None, description="the judge's served model name (with --judge-base-url)"
    )
    judge_api_key: str | None = Field(
        default=None, description="API key of the judge's server (default: OPENAI_API_KEY)"
    )
    judge_local: str | None = Field(default=None, description="a local transformers model as the judge")
    judge_max_new_tokens: int = Field(
        default=DEFAULT_JUDGE_MAX_NEW_TOKENS, ge=1, description="judge output budget"
    )
    max_new_tokens: int = Field(
        default=IN_CHARACTER_MAX_NEW_TOKENS, ge=1, description="tokens per answer at most"
    )
    seed: int = Field(default=0, description="question draw, sampling and bootstrap seed")

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

    @property
    def judge_backend(self) -> str:
        """The judge's backend: ``openai`` for a server, ``transformers`` for a local model."""
        return "openai" if self.judge_base_url is not None else "transformers"


FidelityRun = runs.Run  # what `run_fidelity` returns: the report, fidelity.jsonl and the files written


def run_fidelity(config: FidelityConfig) -> runs.Run:
    """Run ``permix fidelity``: evaluate `config.model` into ``config.out`` (resumable), write the reports.

    Everything that can be checked without a model (personas, question files, judge and backend options, an
    existing results file made with other settings) is checked before a model is loaded.
    """
    if config.persona_gym_questions is not None:
        given = PersonaPool.load(config.personas) if config.personas is not None else None
        pool, questions = load_personagym_questions(
            config.persona_gym_questions, personas=given, questions_per_task=config.questions_per_task
        )
        pool, source = _playable(pool), f"personagym:{config.persona_gym_questions}"
        per_task = config.questions_per_task  # None: all of each file
    else:
        pool, questions, source = _playable(PersonaPool.load(config.personas or "eval")), None, "templates"
        per_task = config.questions_per_task or DEFAULT_QUESTIONS_PER_TASK
    settings = FidelityRunSettings.from_config(
        config,
        pool=pool,
        judge=config.judge_model or config.judge_local or "",
        judge_backend=config.judge_backend,
        judge_max_new_tokens=config.judge_max_new_tokens,
        plan=_questions(pool, questions, TASKS, questions_per_task=per_task or 0, seed=config.seed),
        tasks=TASKS,
        source=source,
        questions_per_task=per_task,
    )
    results = config.out / FIDELITY.results_file
    FIDELITY.check(results, settings)  # fail before a model is loaded, not after
    judge = load_judge(
        base_url=config.judge_base_url,
        model=config.judge_model,
        api_key=config.judge_api_key,
        local=config.judge_local,
        max_new_tokens=config.judge_max_new_tokens,
        **config.shared_kwargs(config.judge_backend),
    )
    with runs.closing(judge), config.model_backend(also=(config.judge_backend,)) as model:
        _, report = _evaluate_fidelity(
            model, judge, settings, results=results, chunk_size=_CHUNK_SIZE, n_bootstrap=config.bootstrap,
            progress=config.progress, meta=None,
        )  # fmt: skip
    return runs.Run(report, results, FIDELITY.write_report(report, config.out))


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
