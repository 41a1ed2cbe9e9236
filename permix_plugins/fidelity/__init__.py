"""Persona fidelity (PersonaGym-style): does the model still play the persona?

Each persona answers questions of five tasks (expected action, action justification, linguistic habits,
persona consistency, toxicity control) with the persona in its system prompt; a judge LLM grades each answer
1–5 against a project-written rubric; PersonaScore is the mean of the task means, per persona and overall,
with bootstrap confidence intervals. `evaluate_fidelity(model, judge, personas)` runs it in process;
``permix fidelity`` runs `run_fidelity` and writes ``fidelity.jsonl``/``.json``/``.md``/``.png``.

Modules: `questions` (tasks, templates, PersonaGym's question files), `rubrics` (rubrics and the judge
prompt), `judge` (grading calls and the strict grade parser), `records` (`FidelityRecord`), `report`
(`FidelityReport`), `runner` (on the results core of `permix_plugins.evaluation`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from permix_plugins._lazy import lazy_exports

# public name -> the module that defines it (imported on first use, so this package stays light)
_EXPORTS: dict[str, str] = {
    "ENVIRONMENTS": "permix_plugins.fidelity.questions",
    "TASKS": "permix_plugins.fidelity.questions",
    "TEMPLATES": "permix_plugins.fidelity.questions",
    "Question": "permix_plugins.fidelity.questions",
    "build_questions": "permix_plugins.fidelity.questions",
    "load_personagym_questions": "permix_plugins.fidelity.questions",
    "JUDGE_SYSTEM_PROMPT": "permix_plugins.fidelity.rubrics",
    "RUBRICS": "permix_plugins.fidelity.rubrics",
    "judge_messages": "permix_plugins.fidelity.rubrics",
    "Grade": "permix_plugins.fidelity.judge",
    "grade_answers": "permix_plugins.fidelity.judge",
    "load_judge": "permix_plugins.fidelity.judge",
    "parse_grade": "permix_plugins.fidelity.judge",
    "FIDELITY_DEFINITION": "permix_plugins.fidelity.report",
    "FidelityReport": "permix_plugins.fidelity.report",
    "FidelityConfig": "permix_plugins.fidelity.runner",
    "FidelityRecord": "permix_plugins.fidelity.records",
    "evaluate_fidelity": "permix_plugins.fidelity.runner",
    "load_fidelity_report": "permix_plugins.fidelity.runner",
    "read_fidelity_results": "permix_plugins.fidelity.records",
    "run_fidelity": "permix_plugins.fidelity.runner",
    "write_fidelity_report": "permix_plugins.fidelity.runner",
}

__all__ = [
    "ENVIRONMENTS",
    "FIDELITY_DEFINITION",
    "JUDGE_SYSTEM_PROMPT",
    "RUBRICS",
    "TASKS",
    "TEMPLATES",
    "FidelityConfig",
    "FidelityRecord",
    "FidelityReport",
    "Grade",
    "Question",
    "build_questions",
    "evaluate_fidelity",
    "grade_answers",
    "judge_messages",
    "load_fidelity_report",
    "load_judge",
    "load_personagym_questions",
    "parse_grade",
    "read_fidelity_results",
    "run_fidelity",
    "write_fidelity_report",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


if TYPE_CHECKING:
    from permix_plugins.fidelity.judge import Grade, grade_answers, load_judge, parse_grade
    from permix_plugins.fidelity.questions import (
        ENVIRONMENTS,
        TASKS,
        TEMPLATES,
        Question,
        build_questions,
        load_personagym_questions,
    )
    from permix_plugins.fidelity.records import FidelityRecord, read_fidelity_results
    from permix_plugins.fidelity.report import FIDELITY_DEFINITION, FidelityReport
    from permix_plugins.fidelity.rubrics import JUDGE_SYSTEM_PROMPT, RUBRICS, judge_messages
    from permix_plugins.fidelity.runner import (
        FidelityConfig,
        evaluate_fidelity,
        load_fidelity_report,
        run_fidelity,
        write_fidelity_report,
    )
