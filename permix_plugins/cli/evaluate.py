"""``permix eval``, ``permix report`` and ``permix fidelity``: evaluation runs and their reports.

The options models are the runs' own settings (`EvalConfig`, `ReportConfig`, `FidelityConfig`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from permix_plugins.cli.engine import command, log_progress
from permix_plugins.evaluation.runner import EvalConfig, ReportConfig
from permix_plugins.fidelity.runner import FidelityConfig


def _run_report_command(result: Any) -> int:
    """Print what `permix eval` / `permix fidelity` made: the report as markdown, the files on stderr."""
    print(result.report.to_markdown())
    print(f"# results: {result.results}", file=sys.stderr)
    for path in result.files:
        print(f"# wrote {path}", file=sys.stderr)
    return 0


@command(
    "eval",
    EvalConfig,
    help="evaluate a model under every persona of a pool: per-persona accuracy, PSS with CIs, best-of-k",
    description="Generate every problem under every persona, score it, and write DIR/results.jsonl "
    "(resumable: a rerun with the same settings skips what is done), report.json, report.md and stability.png.",
    aliases={"problems": ("--benchmark",)},
)
def _eval(config: EvalConfig) -> int:
    from permix_plugins.evaluation.runner import run_eval

    log_progress()
    return _run_report_command(run_eval(config))


@command(
    "report",
    ReportConfig,
    help="re-render a stability report from results.jsonl (or report.json), or compare two runs",
    description="Without --compare: rebuild report.json, report.md and stability.png (in --out, default the "
    "input's directory) and print the markdown. With --compare: paired bootstrap comparison over the shared "
    "items and personas, Δ = OTHER − RESULTS.",
    positional=("results",),
    metavars={"compare": "OTHER"},
)
def _report(options: ReportConfig) -> int:
    from permix_plugins.evaluation.runner import EVAL, load_report
    from permix_plugins.stability import compare

    report = load_report(options.results, n_bootstrap=options.bootstrap, seed=options.seed)
    if options.compare is None:
        for path in EVAL.write_report(report, options.out or Path(options.results).parent):
            print(f"# wrote {path}", file=sys.stderr)
        print(report.to_markdown())
        return 0
    other = load_report(options.compare, n_bootstrap=options.bootstrap, seed=options.seed)
    comparison = compare(report, other, n_bootstrap=options.bootstrap, seed=options.seed or 0)
    if options.out:
        out = Path(options.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "comparison.json").write_text(comparison.to_json() + "\n", encoding="utf-8")
        (out / "comparison.md").write_text(comparison.to_markdown(), encoding="utf-8")
        print(f"# wrote {out / 'comparison.json'} and comparison.md", file=sys.stderr)
    print(comparison.to_markdown())
    return 0


@command(
    "fidelity",
    FidelityConfig,
    help="persona fidelity (PersonaGym-style): does the model still play the persona? PersonaScore 1-5",
    description="Each persona answers questions of five tasks (expected action, action justification, "
    "linguistic habits, persona consistency, toxicity control) with the persona in the system prompt; a judge "
    "LLM grades every answer 1-5 against the project's rubrics. Writes DIR/fidelity.jsonl (resumable under the "
    "same settings), fidelity.json, fidelity.md and fidelity.png. Judge: --judge-base-url URL --judge-model NAME "
    "(any OpenAI-compatible server) or --judge-local PATH_OR_ID.",
    metavars={"persona_gym_questions": "DIR", "judge_local": "PATH_OR_ID"},
)
def _fidelity(config: FidelityConfig) -> int:
    from permix_plugins.fidelity.runner import run_fidelity

    log_progress()
    return _run_report_command(run_fidelity(config))
