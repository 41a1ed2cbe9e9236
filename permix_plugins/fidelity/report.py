"""The fidelity report: how well a model plays each persona, per task and overall (PersonaScore), with CIs.

The input is one row per judged answer: ``(persona_id, task, question_id, score[, status])``, where `score` is
the judge's grade 1–5, or None for a parse failure (`status` says which kind; see
`permix_plugins.fidelity.judge`). `FidelityReport.from_grades` turns the rows into:

- **Task means.** For each persona and task, the mean grade over the questions with a valid grade. Parse
  failures are counted (per persona and task, and by kind), never scored.
- **PersonaScore** of a persona = the mean of its task means, over the tasks with at least one valid grade (as
  in PersonaGym, where it is the mean of the five task scores). A task without any valid grade is listed as
  missing for that persona; a persona without any valid grade has no PersonaScore (None).
- **Overall PersonaScore** = the mean over personas of their PersonaScores (personas without one left out);
  the overall mean of a task is the mean over personas of that task's mean.
- **Confidence intervals** are percentile bootstrap intervals over questions: each (persona, task) cell
  resamples its own valid grades with replacement (personas and tasks fixed), and every aggregate is
  recomputed from the same resampled cells. Each cell's draws are seeded by ``(seed, persona_id, task)``, so a
  persona's interval does not depend on which other personas are in the report.

Our PersonaScore uses the project's own questions, rubrics and judge (unless PersonaGym's question files are
loaded), so it is comparable between models evaluated the same way, not with PersonaGym's published numbers.

Example:
    >>> rows = [("owl", "expected_action", "q1", 4), ("owl", "expected_action", "q2", 2),
    ...         ("owl", "toxicity_control", "q1", 5), ("owl", "toxicity_control", "q2", None, "no_score")]
    >>> report = FidelityReport.from_grades(rows, n_bootstrap=200)
    >>> report.persona("owl").task("expected_action").mean, report.persona_score, report.n_failed
    (3.0, 4.0, 1)
    >>> low, high = report.persona_score_ci
    >>> low <= report.persona_score <= high
    True
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from permix_plugins._reporting import (
    DEFAULT_BOOTSTRAP,
    Interval,
    PersonaReport,
    check_bootstrap,
    clean,
    dots,
    fmt,
    fmt_ci,
    percentile_interval,
    resample_counts,
    save_figure,
    two_panel_figure,
)
from permix_plugins.errors import ConfigError
from permix_plugins.fidelity.judge import GRADE_STATUSES
from permix_plugins.fidelity.questions import (
    TASK_ABBREVIATIONS,
    TASK_TITLES,
    TASKS,
    Task,
    stable_seed,
    task_from_name,
)

__all__ = ["FIDELITY_DEFINITION", "FidelityReport", "PersonaFidelity", "TaskScore"]

FIDELITY_DEFINITION = (
    "PersonaScore = mean over tasks of the mean judge grade (1-5) of a persona's answers, over the tasks with a "
    "valid grade; overall = mean over personas. Grades come from permix-plugins' questions and rubrics and the "
    "judge named above, so the numbers compare models evaluated the same way, not PersonaGym's published scores."
)
_ROW_KEYS = ("persona_id", "task", "question_id", "score", "status")


@dataclass(frozen=True)
class TaskScore:
    """One task's line: mean grade over valid grades (None if none) with its CI, valid and failed counts."""

    task: Task
    mean: float | None
    ci: Interval | None
    graded: int
    failed: int


@dataclass(frozen=True)
class PersonaFidelity:
    """One persona's line: PersonaScore (None without any valid grade) with its CI, and its task scores."""

    persona_id: str
    persona_score: float | None
    ci: Interval | None
    tasks: tuple[TaskScore, ...]

    @property
    def graded(self) -> int:
        """Answers with a valid grade."""
        return sum(t.graded for t in self.tasks)

    @property
    def failed(self) -> int:
        """Answers whose grade could not be parsed."""
        return sum(t.failed for t in self.tasks)

    @property
    def missing_tasks(self) -> tuple[Task, ...]:
        """Tasks asked but without any valid grade (left out of this persona's PersonaScore)."""
        return tuple(t.task for t in self.tasks if t.mean is None)

    def task(self, task: str) -> TaskScore:
        """The line of one task (a task id or PersonaGym name; `KeyError` if it was not asked)."""
        wanted = task_from_name(task)
        for line in self.tasks:
            if line.task == wanted:
                return line
        raise KeyError(f"task {wanted!r} was not asked of persona {self.persona_id!r}")


@dataclass(frozen=True)
class FidelityReport(PersonaReport):
    """The persona-fidelity report of one model, graded by one judge (build it with `from_grades`).

    `tasks` are the across-persona task lines (mean over personas of each task mean; counts summed);
    `failures` counts parse failures by kind; `n_grades` is every judged answer, valid or not.
    """

    persona_score: float | None
    persona_score_ci: Interval | None
    tasks: tuple[TaskScore, ...]
    personas: tuple[PersonaFidelity, ...]
    failures: dict[str, int]
    n_grades: int
    confidence: float
    n_bootstrap: int
    seed: int
    meta: dict[str, Any] = field(default_factory=dict)
    definition: str = FIDELITY_DEFINITION

    what = "fidelity report"

    # -- building

    @classmethod
    def from_grades(
        cls,
        rows: Iterable[Sequence[Any] | Mapping[str, Any]],
        *,
        n_bootstrap: int = DEFAULT_BOOTSTRAP,
        confidence: float = 0.95,
        seed: int = 0,
        meta: Mapping[str, Any] | None = None,
    ) -> FidelityReport:
        """The report of judged rows ``(persona_id, task, question_id, score[, status])`` or mappings with
        those keys; ``score=None`` is a parse failure (`status` defaults to ``no_score`` then, ``ok``
        otherwise). Tasks may be ids or PersonaGym names. A repeated (persona, task, question) raises.
        """
        check_bootstrap(n_bootstrap, confidence)
        cells, failures, n_grades = _read_rows(rows)
        return _fidelity_report(
            cells, failures, n_grades, n_bootstrap=n_bootstrap, confidence=confidence, seed=seed, meta=meta
        )

    # -- reading (JSON and `persona(id)`: `PersonaReport`; `FidelityReport.read("fidelity.json")`)

    @property
    def scores(self) -> dict[str, float | None]:
        """PersonaScore per persona id."""
        return {p.persona_id: p.persona_score for p in self.personas}

    @property
    def task_means(self) -> dict[str, float | None]:
        """Across-persona mean grade per task."""
        return {t.task: t.mean for t in self.tasks}

    @property
    def n_failed(self) -> int:
        """Parse failures in all."""
        return sum(self.failures.values())

    # -- rendering

    def to_markdown(self) -> str:
        """A summary table (PersonaScore and each task across personas), the per-persona table (sorted by
        PersonaScore) and what was left out, as markdown.

        Example:
            >>> report = FidelityReport.from_grades([("a", "expected_action", "q", 3)], n_bootstrap=10)
            >>> print(report.to_markdown().splitlines()[6])
            | PersonaScore (1-5) | 3.000 | [3.000, 3.000] | 1 | 0 |
        """
        level = f"{self.confidence:.0%} CI"
        title = self.meta.get("model") or "persona fidelity"
        judge = self.meta.get("judge")
        lines = [
            f"## Persona fidelity: {title}",
            "",
            f"{len(self.personas)} personas x {len(self.tasks)} tasks, {self.n_grades} answers graded"
            + (f" by `{judge}`" if judge else "")
            + f", {self.n_failed} parse failure(s); {self.n_bootstrap} bootstrap resamples over questions.",
            "",
            f"| metric | mean grade | {level} | graded | parse failures |",
            "|---|---|---|---|---|",
            (
                f"| PersonaScore (1-5) | {fmt(self.persona_score)} | {fmt_ci(self.persona_score_ci)} | "
                f"{sum(t.graded for t in self.tasks)} | {self.n_failed} |"
            ),
        ]
        for line in self.tasks:
            lines.append(
                f"| {TASK_TITLES[line.task]} ({TASK_ABBREVIATIONS[line.task]}) | {fmt(line.mean)} | "
                f"{fmt_ci(line.ci)} | {line.graded} | {line.failed} |"
            )
        tasks = [t.task for t in self.tasks]
        lines += [
            "",
            f"| persona | PersonaScore | {level} | "
            + " | ".join(TASK_ABBREVIATIONS[t] for t in tasks)
            + " | parse failures |",
            "|---|---|---|" + "---|" * len(tasks) + "---|",
        ]
        ranked = sorted(
            self.personas, key=lambda p: (p.persona_score is None, -(p.persona_score or 0.0), p.persona_id)
        )
        for persona in ranked:
            asked = {line.task: line.mean for line in persona.tasks}
            means = " | ".join(fmt(asked.get(t), digits=2) if t in asked else "-" for t in tasks)
            lines.append(
                f"| `{persona.persona_id}` | {fmt(persona.persona_score)} | {fmt_ci(persona.ci)} | "
                f"{means} | {persona.failed} |"
            )
        lines += ["", "Task columns: mean grade; n/a = no valid grade, - = not asked.", ""]
        if self.n_failed:
            kinds = ", ".join(f"{kind} {count}" for kind, count in self.failures.items() if count)
            lines.append(f"Parse failures by kind (not scored): {kinds}.")
        partial = [p for p in self.personas if p.missing_tasks and p.persona_score is not None]
        if partial:
            listed = "; ".join(
                f"`{p.persona_id}` ({', '.join(TASK_ABBREVIATIONS[t] for t in p.missing_tasks)})"
                for p in partial
            )
            lines.append(f"No valid grade in some task (PersonaScore over the other tasks): {listed}.")
        unscored = [p.persona_id for p in self.personas if p.persona_score is None]
        if unscored:
            lines.append(
                f"No valid grade at all (no PersonaScore, left out of the overall): "
                f"{', '.join(f'`{p}`' for p in unscored)}."
            )
        lines.append(self.definition)
        return "\n".join(lines) + "\n"

    def plot(self, path: str | PathLike[str], *, title: str | None = None) -> Path:
        """Save a PNG: PersonaScore per persona (dots with CI whiskers, the overall as a line) and the mean grade
        per task across personas (with CIs), on the 1-5 scale.

        Needs matplotlib (``pip install 'permix-plugins[plot]'``); draws on its own `Figure`, so the caller's
        pyplot state and backend are left alone.
        """
        scored = sorted((p for p in self.personas if p.persona_score is not None), key=_score_key)
        fig, left, right = two_panel_figure(len(scored))
        _grades(left, [p.persona_id for p in scored], [(p.persona_score, p.ci) for p in scored])
        if self.persona_score is not None:
            left.axvline(
                self.persona_score, color="tab:blue", lw=1.5, label=f"overall {self.persona_score:.2f}"
            )
            left.legend(loc="lower right", fontsize=8)
        unscored = len(self.personas) - len(scored)
        left.set_xlabel(
            f"PersonaScore ({self.confidence:.0%} CI over questions)"
            + (f"; {unscored} persona(s) without a valid grade not shown" if unscored else "")
        )
        left.set_title("PersonaScore per persona")

        tasks = [t for t in reversed(self.tasks) if t.mean is not None]
        _grades(right, [TASK_TITLES[t.task] for t in tasks], [(t.mean, t.ci) for t in tasks])
        right.set_xlabel("mean grade across personas")
        right.set_title(f"per task ({self.n_failed} parse failure(s) not scored)")
        model = self.meta.get("model") or "persona fidelity"
        judge = self.meta.get("judge")
        return save_figure(fig, path, title or (f"{model} (judge: {judge})" if judge else str(model)))


# ------------------------------------------------------------------------------------------------ internals
Cells = dict[str, dict[Task, tuple[list[int], int]]]  # persona -> task -> (valid grades, parse failures)


def _read_rows(rows: Iterable[Sequence[Any] | Mapping[str, Any]]) -> tuple[Cells, dict[str, int], int]:
    cells: Cells = {}
    failures = {status: 0 for status in GRADE_STATUSES if status != "ok"}
    seen: set[tuple[str, str, str]] = set()
    n_grades = 0
    for index, row in enumerate(rows):
        persona_id, task, question_id, score, status = _parse_row(index, row)
        key = (persona_id, task, question_id)
        if key in seen:
            raise ConfigError(
                f"grade row {index}: question {question_id!r} of task {task!r} is graded twice for persona "
                f"{persona_id!r}; give each (persona, task, question) one row"
            )
        seen.add(key)
        n_grades += 1
        grades, failed = cells.setdefault(persona_id, {}).get(task, ([], 0))
        if score is None:
            failures[status] += 1
            failed += 1
        else:
            grades.append(score)
        cells[persona_id][task] = (grades, failed)
    if not cells:
        raise ConfigError("no grades to report: the rows are empty")
    return cells, failures, n_grades


def _parse_row(index: int, row: Sequence[Any] | Mapping[str, Any]) -> tuple[str, Task, str, int | None, str]:
    if isinstance(row, Mapping):
        missing = [k for k in _ROW_KEYS[:4] if k not in row]
        if missing:
            raise ConfigError(
                f"grade row {index} has no {', '.join(map(repr, missing))}; a mapping row needs the keys "
                f"persona_id, task, question_id, score (and optionally status), got {sorted(map(str, row))}"
            )
        values = tuple(row.get(k) for k in _ROW_KEYS)
    elif isinstance(row, Sequence) and not isinstance(row, (str, bytes)) and len(row) in (4, 5):
        values = (*row, None) if len(row) == 4 else tuple(row)
    else:
        raise ConfigError(
            f"grade row {index} is {row!r}; use (persona_id, task, question_id, score[, status]) or a mapping "
            "with those keys"
        )
    persona_id, task_name, question_id, score, status = values
    if not isinstance(persona_id, str) or not isinstance(task_name, str) or not isinstance(question_id, str):
        raise ConfigError(f"grade row {index}: persona_id, task and question_id must be strings, got {row!r}")
    task = task_from_name(task_name)
    if score is None:
        status = status or "no_score"
        if not isinstance(status, str) or status not in GRADE_STATUSES or status == "ok":
            raise ConfigError(
                f"grade row {index}: a row without a score needs a failure status, one of "
                f"{list(GRADE_STATUSES[1:])}, got {status!r}"
            )
        return persona_id, task, question_id, None, status
    if (
        isinstance(score, bool)
        or not isinstance(score, numbers.Real)
        or float(score) not in (1.0, 2.0, 3.0, 4.0, 5.0)
    ):
        raise ConfigError(f"grade row {index}: score must be a whole number 1-5 or None, got {score!r}")
    if status not in (None, "ok"):
        raise ConfigError(f"grade row {index}: a scored row has status 'ok', got {status!r}")
    return persona_id, task, question_id, int(float(score)), "ok"


def _fidelity_report(
    cells: Cells,
    failures: dict[str, int],
    n_grades: int,
    *,
    n_bootstrap: int,
    confidence: float,
    seed: int,
    meta: Mapping[str, Any] | None,
) -> FidelityReport:
    tasks = [t for t in TASKS if any(t in by_task for by_task in cells.values())]
    # point estimates and bootstrap replicates of every cell with a valid grade
    means: dict[tuple[str, Task], float] = {}
    boots: dict[tuple[str, Task], np.ndarray] = {}
    for persona_id, by_task in cells.items():
        for task, (grades, _) in by_task.items():
            if grades:
                values = np.asarray(grades, dtype=float)
                counts = resample_counts(len(values), n_bootstrap, stable_seed(seed, persona_id, task))
                means[(persona_id, task)] = float(values.mean())
                boots[(persona_id, task)] = np.concatenate([c @ values / len(values) for c in counts])

    personas: list[PersonaFidelity] = []
    persona_boots: dict[str, np.ndarray] = {}
    for persona_id, by_task in cells.items():
        valid = [t for t in tasks if (persona_id, t) in means]
        if valid:
            persona_boots[persona_id] = np.mean([boots[(persona_id, t)] for t in valid], axis=0)
        personas.append(
            PersonaFidelity(
                persona_id=persona_id,
                persona_score=_mean([means[(persona_id, t)] for t in valid]),
                ci=_interval(persona_boots.get(persona_id), confidence),
                tasks=tuple(
                    TaskScore(
                        task=t,
                        mean=means.get((persona_id, t)),
                        ci=_interval(boots.get((persona_id, t)), confidence),
                        graded=len(by_task[t][0]),
                        failed=by_task[t][1],
                    )
                    for t in tasks
                    if t in by_task
                ),
            )
        )

    task_lines = []
    for task in tasks:
        with_task = [p for p in cells if (p, task) in means]
        task_lines.append(
            TaskScore(
                task=task,
                mean=_mean([means[(p, task)] for p in with_task]),
                ci=_interval(_mean_rows([boots[(p, task)] for p in with_task]), confidence),
                graded=sum(len(cells[p][task][0]) for p in cells if task in cells[p]),
                failed=sum(cells[p][task][1] for p in cells if task in cells[p]),
            )
        )
    scored = [p for p in personas if p.persona_score is not None]
    overall_boot = _mean_rows([persona_boots[p.persona_id] for p in scored])
    return FidelityReport(
        persona_score=_mean([p.persona_score for p in scored if p.persona_score is not None]),
        persona_score_ci=_interval(overall_boot, confidence),
        tasks=tuple(task_lines),
        personas=tuple(personas),
        failures=failures,
        n_grades=n_grades,
        confidence=confidence,
        n_bootstrap=n_bootstrap,
        seed=seed,
        meta=dict(meta or {}),
    )


def _mean(values: Sequence[float]) -> float | None:
    return clean(float(np.mean(values))) if values else None


def _mean_rows(replicates: list[np.ndarray]) -> np.ndarray | None:
    """The element-wise mean of bootstrap replicate vectors (None if there are none)."""
    return np.mean(replicates, axis=0) if replicates else None


def _interval(replicates: np.ndarray | None, confidence: float) -> Interval | None:
    return None if replicates is None else percentile_interval(replicates, confidence)


def _score_key(persona: PersonaFidelity) -> tuple[float, str]:
    return (persona.persona_score or 0.0, persona.persona_id)


def _grades(axes: Any, labels: list[str], points: list[tuple[float | None, Interval | None]]) -> None:
    """Dots with CI whiskers on a 1-5 axis, one row per label (bottom to top)."""
    dots(axes, labels, points)  # type: ignore[arg-type]  # the points shown always have a value
    if not labels:
        axes.text(3, 0, "no valid grade", ha="center", va="center", color="0.4")
    axes.set_xlim(0.9, 5.1)
    axes.set_xticks([1, 2, 3, 4, 5])
    axes.grid(axis="x", alpha=0.3)
