"""The `permix` command: a thin shell over the Python API (parse options, call one function, print a result).

Each subcommand is registered by an `_add_<name>` function below; its handler imports what it needs, so
`permix --help` stays fast and a missing framework only matters for the command that uses it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from permix_plugins.errors import PermixError

__all__ = ["main"]

Handler = Callable[[argparse.Namespace], int]


def _add_personas(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("personas", help="list the personas of a pool (built-in name or file)")
    p.add_argument("pool", nargs="?", default="train", help="lottery, train, eval, or a persona file")
    p.add_argument("--tags", nargs="*", default=None, help="keep personas carrying any of these tags")
    p.set_defaults(handler=_personas)


def _personas(args: argparse.Namespace) -> int:
    from permix_plugins.personas import PersonaPool

    pool = PersonaPool.load(args.pool)
    if args.tags:
        pool = pool.filter(tags=args.tags)
    for persona in pool:
        print(f"{persona.id:<40} [{', '.join(persona.tags)}] {persona.text}")
    print(f"# {len(pool)} personas in {pool.name!r}", file=sys.stderr)
    return 0


def _add_eval(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="evaluate a model under every persona of a pool: per-persona accuracy, PSS with CIs, best-of-k, plot",
        description="Generate every problem under every persona, score it, and write DIR/results.jsonl "
        "(resumable: a rerun skips what is done), report.json, report.md and stability.png.",
    )
    p.add_argument("--model", required=True, help="local path or Hub id (served model name for --backend openai)")
    p.add_argument("--problems", "--benchmark", dest="problems", help="synthetic (default), gsm8k, math500, aime24, "
                   "or a .jsonl/.json/.parquet/.csv file")
    p.add_argument("--split", help="dataset split (default: the source's test split)")
    p.add_argument("--limit", type=int, help="evaluate the first N problems")
    p.add_argument("--personas", help="lottery (default), eval, train, or a persona file")
    p.add_argument("--backend", choices=["transformers", "vllm", "openai"], help="default: transformers")
    p.add_argument("--base-url", help="OpenAI-compatible server, e.g. http://localhost:8000/v1 (or OPENAI_BASE_URL)")
    p.add_argument("--api-key", help="API key for --backend openai (default: OPENAI_API_KEY)")
    p.add_argument("--samples", type=int, help="completions per problem and persona (default 1)")
    p.add_argument("--temperature", type=float, help="0 (default) is greedy")
    p.add_argument("--max-new-tokens", type=int, help="default 1024")
    p.add_argument("--seed", type=int, help="sampling and bootstrap seed (default 0)")
    p.add_argument("--placement", choices=["system", "user_prefix"],
                   help="where the persona goes (default system; falls back to user_prefix automatically when a "
                   "local chat template has no system role)")
    p.add_argument("--instruction", help="text after each problem (default: reason step by step, \\boxed{} answer; "
                   "'' for none)")
    p.add_argument("--batch-size", type=int, help="sequences per forward batch (transformers; default 16)")
    p.add_argument("--concurrency", type=int, help="parallel requests (openai; default 16)")
    p.add_argument("--timeout", type=float, help="seconds per request (openai; default 300)")
    p.add_argument("--max-retries", type=int, help="retries per request on 429/5xx/connection errors (default 4)")
    p.add_argument("--dtype", help="model dtype (transformers, vllm; default auto)")
    p.add_argument("--device", help="cpu, cuda, cuda:1, ... (transformers; default cuda if available)")
    p.add_argument("--bootstrap", type=int, help="bootstrap resamples for the confidence intervals (default 1000)")
    p.add_argument("--out", help="output directory (default permix-eval/<model>)")
    p.add_argument("--no-progress", dest="progress", action="store_false", default=None, help="no progress bar")
    p.set_defaults(handler=_eval)


def _eval(args: argparse.Namespace) -> int:
    import logging
    import re

    from permix_plugins.evaluation.runner import EvalConfig, run_eval

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="permix: %(message)s")
    options = {k: v for k, v in vars(args).items() if k not in ("command", "handler") and v is not None}
    options.setdefault("out", f"permix-eval/{re.sub(r'[^A-Za-z0-9._-]+', '_', args.model.strip('/'))}")
    run = run_eval(EvalConfig.parse(**options))
    print(run.report.to_markdown())
    print(f"# results: {run.results}", file=sys.stderr)
    for path in run.files:
        print(f"# wrote {path}", file=sys.stderr)
    return 0


def _add_report(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="re-render a stability report from results.jsonl (or report.json), or compare two runs",
        description="Without --compare: rebuild report.json, report.md and stability.png (in --out, default the "
        "input's directory) and print the markdown. With --compare: paired bootstrap comparison over the shared "
        "items and personas, Δ = OTHER − RESULTS.",
    )
    p.add_argument("results", help="a results.jsonl written by `permix eval` (or its report.json)")
    p.add_argument("--compare", metavar="OTHER", help="a second results.jsonl / report.json to compare against")
    p.add_argument("--out", help="directory for the report files (comparison: comparison.json/.md, only if given)")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples (default 1000)")
    p.add_argument("--seed", type=int, default=None, help="bootstrap seed (default: the run's seed)")
    p.set_defaults(handler=_report)


def _report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from permix_plugins.errors import ConfigError
    from permix_plugins.evaluation.runner import load_report, write_report
    from permix_plugins.stability import compare

    if args.bootstrap < 1:
        raise ConfigError(f"invalid option --bootstrap: must be at least 1 (got {args.bootstrap})")
    report = load_report(args.results, n_bootstrap=args.bootstrap, seed=args.seed)
    if args.compare is None:
        for path in write_report(report, args.out or Path(args.results).parent):
            print(f"# wrote {path}", file=sys.stderr)
        print(report.to_markdown())
        return 0
    other = load_report(args.compare, n_bootstrap=args.bootstrap, seed=args.seed)
    comparison = compare(report, other, n_bootstrap=args.bootstrap, seed=args.seed if args.seed is not None else 0)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "comparison.json").write_text(comparison.to_json() + "\n", encoding="utf-8")
        (out / "comparison.md").write_text(comparison.to_markdown(), encoding="utf-8")
        print(f"# wrote {out / 'comparison.json'} and comparison.md", file=sys.stderr)
    print(comparison.to_markdown())
    return 0


_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [_add_personas, _add_eval, _add_report]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="permix", description="Persona-mixed RLVR tools (permix-plugins).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in _COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `permix` with `argv`; user errors print one line naming the problem and exit with status 2."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except PermixError as exc:
        print(f"permix {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
