"""``permix export openrlhf|verl|trl``, ``permix openrlhf-reward-path``, ``permix verl-overrides``: a trainer's inputs.

The mixing options are `MixConfig`'s fields (`MixingOptions`); each handler builds one `MixConfig` from them and
imports its adapter when it runs.
"""

from __future__ import annotations

import sys
from typing import Literal

from pydantic import Field

from permix_plugins.cli.engine import command, group
from permix_plugins.mix_config import MixConfig, MixingOptions
from permix_plugins.settings import Settings, optional_field, reworded
from permix_plugins.verl_settings import DataSourceMode, VerlMixSettings, VerlOverridesOptions

_MIX = MixConfig.model_fields

_EXPORT = group("export", help="write a persona-mixed dataset in a trainer's own file format")


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
    every_persona: bool = reworded(
        _MIX["every_persona"],
        "every problem under every persona and none (for --eval.dataset); no --persona-prob",
    )
    instruction: str | None = optional_field(
        _MIX["instruction"],
        description="text after each problem (default: reason step by step, \\boxed{} answer; '' for none)",
    )
    out: str = Field(description="output file (.jsonl)")


@command(
    "openrlhf",
    ExportOpenRLHFOptions,
    group=_EXPORT,
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

    given = args.model_dump(include={"every_persona", "instruction"} & args.model_fields_set)
    summary = export_jsonl(
        args.out,
        load_problems(args.problems, split=args.split, limit=args.limit),
        config=args.mix_config(**given),
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
    test_personas: str | None = optional_field(
        _MIX["pool"], description="persona pool of test.parquet (default: --personas)"
    )
    test_persona_prob: float | None = optional_field(
        _MIX["persona_prob"], description="persona share of test.parquet (default: --persona-prob)"
    )
    test_every_persona: bool = reworded(
        _MIX["every_persona"],
        "every test problem once under every persona of the test pool (per-persona accuracy on the same "
        "questions); ignores --test-persona-prob",
    )
    data_source: DataSourceMode = reworded(
        VerlMixSettings.model_fields["data_source"],
        "data_source of each row: permix/<id>, <source>/permix/<id>, or the problem source (no per-persona "
        "metrics)",
    )

    def test_config(self, config: MixConfig) -> MixConfig:
        """The settings of test.parquet: `config` with the ``--test-*`` options given; ``--test-every-persona``
        comes last, so it replaces a persona share (`MixConfig.replace`)."""
        draws = {"pool": self.test_personas, "persona_prob": self.test_persona_prob}
        config = config.replace(**{name: value for name, value in draws.items() if value is not None})
        return config.replace(every_persona=self.test_every_persona)


@command(
    "verl",
    ExportVerlOptions,
    group=_EXPORT,
    help="train.parquet + test.parquet in verl's row schema (static persona mixing)",
    description="Write OUT/train.parquet (the train split of --problems) and OUT/test.parquet (the test split "
    "of --test-problems, default --problems) with data_source permix/<persona_id>, prompt, ability, "
    "reward_model.ground_truth and extra_info (split, index, persona_id, problem_id, question, source). "
    "A local file has no splits: it all goes to train.parquet, and test.parquet needs --test-problems.",
)
def _export_verl(args: ExportVerlOptions) -> int:
    import pyarrow.parquet as pq

    from permix_plugins.adapters.verl import export_verl

    config = args.mix_config()
    written = export_verl(
        args.problems,
        args.out,
        config,
        test_config=args.test_config(config),
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


class ExportTrlOptions(ExportOptions):
    """The options of ``permix export trl``."""

    split: str = Field(default="train", description="problem split to train on (a local file is used whole)")
    out: str = Field(
        description="output file (.jsonl or .parquet), in a directory of its own: trl grpo reads the directory"
    )


@command(
    "trl",
    ExportTrlOptions,
    group=_EXPORT,
    help="JSONL or parquet for TRL's own script: trl grpo $(permix export trl ...) --model_name_or_path ...",
    description="Write the rows of a PersonaMixDataset (prompt as chat messages, persona_id, persona_style for a "
    "styled pool, answer, and the problem's own columns) to --out, and print the flags of `trl grpo` that train "
    "on it with permix's reward: --dataset_name (the file's directory, which load_dataset reads), "
    "--dataset_train_split and --reward_funcs permix_plugins.math.accuracy_reward. trl grpo keeps every column "
    "(remove_unused_columns is false by default) and passes it to the reward, which logs persona/<id>/accuracy.",
)
def _export_trl(args: ExportTrlOptions) -> int:
    from permix_plugins.adapters.trl import export_trl
    from permix_plugins.personas import NO_PERSONA_ID
    from permix_plugins.problems import load_problems

    export = export_trl(
        args.out, load_problems(args.problems, split=args.split, limit=args.limit), config=args.mix_config()
    )
    with_persona = export.rows - export.per_persona.get(NO_PERSONA_ID, 0)
    print(f"# wrote {export.rows} rows to {export.path} ({with_persona} with a persona, split "
          f"{export.split!r} of {export.path.parent})", file=sys.stderr)  # fmt: skip
    print(" ".join(export.trl_flags()))
    return 0


class RewardPathOptions(Settings):
    """The options of ``permix openrlhf-reward-path``."""

    reward: Literal["accuracy", "style"] = Field(
        default="accuracy",
        description="what the file rewards: a correct final answer, or the persona's checkable style "
        "(labels from `permix export openrlhf` on a styled pool)",
    )


@command(
    "openrlhf-reward-path",
    RewardPathOptions,
    help="print the reward file for OpenRLHF: --reward.remote_url $(permix openrlhf-reward-path)",
)
def _openrlhf_reward_path(options: RewardPathOptions) -> int:
    from permix_plugins.adapters.openrlhf import reward_file

    print(reward_file(options.reward))
    return 0


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
