"""Persona-mixed RLVR (PerMix-RLVR) with TRL's GRPOTrainer.

Offline default: a tiny model built in code (saved to OUTPUT_DIR/tiny-model), the built-in synthetic problems, CPU,
about a minute:

    python examples/trl/grpo_permix.py --config examples/trl/tiny_cpu.yaml

A real recipe (GPU + vLLM; see README "TRL recipe"):

    accelerate launch examples/trl/grpo_permix.py --model_name_or_path Qwen/Qwen2.5-1.5B-Instruct \
        --problems gsm8k --use_vllm --output_dir outputs/qwen-permix ...

Every GRPOConfig and ModelConfig flag works as in TRL's own GRPO script (``--dtype``, ``--attn_implementation``,
``--use_peft`` with the ``--lora_*`` flags, ``--load_in_4bit``); the PerMix flags are listed in `PermixArguments`.
As there, the trained model is saved in ``--output_dir`` at the end (``--push_to_hub`` also pushes it), and
``--resume_from_checkpoint OUTPUT_DIR/checkpoint-N`` continues a run from that checkpoint's step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from permix_plugins.adapters.trl import STABILITY_MAX_NEW_TOKENS, PersonaStabilityCallback
from trl import GRPOConfig, GRPOTrainer, ModelConfig, TrlParser, get_peft_config, get_quantization_config

from permix_plugins import MixConfig, PersonaMixDataset, load_problems
from permix_plugins.math import accuracy_reward
from permix_plugins.prompting import Placement

# MixConfig's settings as TrlParser flags: each one's default, and its description as the help
MIX_FLAGS = {
    name: field(default=setting.default, metadata={"help": setting.description})
    for name, setting in MixConfig.model_fields.items()
}


@dataclass
class PermixArguments:
    problems: str = field(
        default="synthetic",
        metadata={"help": "Problem source: synthetic, gsm8k, math500, aime24, or a JSONL/parquet path."},
    )
    problems_split: str = field(
        default="train", metadata={"help": "Split of the problem source to train on."}
    )
    problems_limit: int | None = field(default=None, metadata={"help": "Use at most this many problems."})
    # the mixing flags are MixConfig's settings (--personas names its pool, --mix_seed its seed)
    personas: str = MIX_FLAGS["pool"]
    persona_prob: float = MIX_FLAGS["persona_prob"]
    mix_seed: int = MIX_FLAGS["seed"]
    placement: Placement = MIX_FLAGS["placement"]
    stability_problems: str | None = field(
        default="synthetic",
        metadata={"help": "Held-out problems for the persona-stability report (None: skip)."},
    )
    stability_split: str = field(default="test", metadata={"help": "Split of the held-out problems."})
    stability_limit: int = field(default=64, metadata={"help": "Number of held-out problems."})
    stability_personas: str = field(
        default="eval", metadata={"help": "Held-out persona pool (name or file)."}
    )
    stability_every: int = field(
        default=0,
        metadata={"help": "Measure persona stability every N steps (0: before and after training)."},
    )
    stability_max_new_tokens: int = field(
        default=STABILITY_MAX_NEW_TOKENS, metadata={"help": "Generation budget of the report."}
    )

    def __post_init__(self) -> None:
        self.mix_config()  # a bad mixing flag stops the run as the command line is read

    def mix_config(self) -> MixConfig:
        """The mixing flags as the settings of `PersonaMixDataset`, validated with MixConfig's limits."""
        return MixConfig.parse(
            {
                "pool": self.personas,
                "persona_prob": self.persona_prob,
                "seed": self.mix_seed,
                "placement": self.placement,
            }
        )


def model_path(model_args: ModelConfig, training_args: GRPOConfig) -> str:
    """The model to train: ``--model_name_or_path``, else a tiny model built in code and saved in the output dir.

    Either way GRPOTrainer loads it from this id with `model_init_kwargs`, so every ModelConfig flag applies alike.
    """
    if model_args.model_name_or_path:
        from permix_plugins.models import resolve_model  # a name from `permix models list` works too

        return resolve_model(model_args.model_name_or_path)
    from permix_plugins.tinylm import save_tiny_model

    path = Path(training_args.output_dir) / "tiny-model"
    with training_args.main_process_first(local=False, desc="building the tiny model"):
        if training_args.process_index == 0:
            save_tiny_model(path)
    return str(path)


def model_init_kwargs(model_args: ModelConfig, training_args: GRPOConfig) -> dict:
    """ModelConfig's loading flags, as TRL's own GRPO script passes them (``GRPOConfig.model_init_kwargs`` wins)."""
    return {
        "revision": model_args.model_revision,
        "trust_remote_code": training_args.trust_remote_code,
        "attn_implementation": model_args.attn_implementation,
        "dtype": model_args.dtype,
        **(training_args.model_init_kwargs or {}),
    }


def hub_dataset(problems: str) -> str | None:
    """The Hub dataset a problem source names (for the model card), if it names one."""
    from permix_plugins.problems import HUB_SOURCES

    return HUB_SOURCES[problems].path if problems in HUB_SOURCES else None


def main(permix_args: PermixArguments, training_args: GRPOConfig, model_args: ModelConfig) -> GRPOTrainer:
    problems = load_problems(
        permix_args.problems, split=permix_args.problems_split, limit=permix_args.problems_limit
    )
    train_dataset = PersonaMixDataset(problems, config=permix_args.mix_config())
    training_args.model_init_kwargs = model_init_kwargs(model_args, training_args)
    trainer = GRPOTrainer(
        model=model_path(model_args, training_args),
        reward_funcs=[accuracy_reward],
        args=training_args,
        train_dataset=train_dataset,
        quantization_config=get_quantization_config(model_args),
        peft_config=get_peft_config(model_args),
    )
    stability = None
    if permix_args.stability_problems:
        held_out = load_problems(
            permix_args.stability_problems,
            split=permix_args.stability_split,
            limit=permix_args.stability_limit,
        )
        stability = PersonaStabilityCallback(
            held_out,
            permix_args.stability_personas,
            trainer=trainer,
            every_n_steps=permix_args.stability_every,
            max_new_tokens=permix_args.stability_max_new_tokens,
            placement=permix_args.placement,
            output_dir=f"{training_args.output_dir}/stability",
        )
        trainer.add_callback(stability)
    # As TRL's own script (trl/scripts/grpo.py, TRL 1.16, line 150): --resume_from_checkpoint names a checkpoint
    # directory and goes to train() as given, so the run continues from that checkpoint's global step.
    trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    # ... and then lines 156-160: the final model (and tokenizer) in --output_dir, pushed only with --push_to_hub.
    trainer.save_model(training_args.output_dir)
    trainer.accelerator.print(f"model saved to {training_args.output_dir}")
    if training_args.push_to_hub:
        trainer.push_to_hub(dataset_name=hub_dataset(permix_args.problems))
        trainer.accelerator.print(f"model pushed to https://huggingface.co/{trainer.hub_model_id}")
    if stability is not None and trainer.is_world_process_zero():
        (first_step, before), (last_step, after) = stability.reports[0], stability.reports[-1]
        print(f"persona stability on {after.n_items} held-out problems x {len(after.personas)} personas")
        print(
            f"  step {first_step:>5}: PSS {before.pss:.3f}  mean accuracy {before.mean:.3f}  worst {before.worst:.3f}"
        )
        print(
            f"  step {last_step:>5}: PSS {after.pss:.3f}  mean accuracy {after.mean:.3f}  worst {after.worst:.3f}"
        )
    return trainer


if __name__ == "__main__":
    parser = TrlParser((PermixArguments, GRPOConfig, ModelConfig))
    main(*parser.parse_args_and_config())
