"""The offline persona-lottery lab: PerMix-RLVR against plain RLVR on a laptop CPU, end to end (`permix demo`).

1. Build a small model from scratch (character tokenizer, a few-layer Llama) and warm it up with supervised
   training on the built-in problems, without personas, until it has real accuracy.
2. Measure the persona lottery of that warm start: accuracy under the `lottery` personas, and under the held-out
   `eval` personas and no persona.
3. From the same warm start and with the same budget, train two GRPO runs with TRL: plain RLVR
   (``persona_prob=0``) and PerMix-RLVR (``persona_prob`` > 0 over the `train` pool).
4. Evaluate both on the held-out personas and no persona, compare them with paired bootstraps (ΔPSS, Δ
   accuracy without persona), and write ``report.md``, ``summary.json``, plots, the three models and all results.

Everything is seeded; the default configuration takes a few minutes on 2 CPU cores.
"""

from __future__ import annotations

import copy
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from permix_plugins._optional import require
from permix_plugins.errors import ConfigError
from permix_plugins.evaluation.records import EvalRecord
from permix_plugins.evaluation.runner import evaluate, write_report
from permix_plugins.mixing import PersonaMixDataset
from permix_plugins.personas import NO_PERSONA, NO_PERSONA_ID, PersonaPool
from permix_plugins.problems import load_problems
from permix_plugins.prompting import build_messages
from permix_plugins.stability import Comparison, StabilityReport, compare

__all__ = ["LabConfig", "LabResult", "run_lab"]

logger = logging.getLogger(__name__)

# The lab's prompts carry no format instruction: the warm-up teaches the \boxed{} format, and a short prompt
# keeps a from-scratch model's job (and a CPU's) small.
INSTRUCTION = None


@dataclass(frozen=True)
class LabConfig:
    """Every knob of the lab; the defaults are the run shown in the README (`quick()` is the CI-sized one)."""

    out_dir: str = "permix-demo"
    seed: int = 0
    levels: tuple[int, ...] = (0,)
    train_problems: int = 4000
    test_problems: int = 200
    hidden_size: int = 64
    num_layers: int = 2
    num_heads: int = 4
    sft_steps: int = 1500
    sft_batch_size: int = 64
    sft_lr: float = 3e-3
    grpo_steps: int = 200
    grpo_batch_size: int = 64
    num_generations: int = 8
    grpo_lr: float = 3e-4
    persona_prob: float = 0.5
    train_pool: str = "train"
    eval_pool: str = "eval"
    lottery_pool: str = "lottery"
    max_new_tokens: int = 12
    n_bootstrap: int = 1000

    @classmethod
    def quick(cls, out_dir: str = "permix-demo-quick", **overrides: Any) -> LabConfig:
        """A shrunken lab for tests and smoke runs (tens of seconds): same steps, tiny budgets."""
        small = {
            "train_problems": 300,
            "test_problems": 6,
            "hidden_size": 32,
            "sft_steps": 60,
            "sft_batch_size": 32,
            "grpo_steps": 2,
            "grpo_batch_size": 16,
            "num_generations": 4,
            "n_bootstrap": 100,
        }
        return cls(out_dir=out_dir, **{**small, **overrides})

    def check(self) -> LabConfig:
        if not 0.0 < self.persona_prob <= 1.0:
            raise ConfigError(f"persona_prob must be in (0, 1] for the PerMix run, got {self.persona_prob}")
        if self.grpo_batch_size % self.num_generations:
            raise ConfigError(
                f"grpo_batch_size ({self.grpo_batch_size}) must be a multiple of num_generations "
                f"({self.num_generations}): GRPO scores whole groups"
            )
        for name in ("train_problems", "test_problems", "sft_steps", "grpo_steps", "sft_batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        return self


@dataclass(frozen=True)
class LabResult:
    """What the lab measured; `summary` is also written to ``summary.json``."""

    lottery: StabilityReport
    reports: dict[str, StabilityReport]  # warm, rlvr, permix on the held-out personas and no persona
    pss: Comparison  # permix vs rlvr
    no_persona: Comparison  # the same, restricted to the no-persona prompt
    summary: dict[str, Any]
    out_dir: Path


def run_lab(config: LabConfig | None = None, *, log: Callable[[str], None] = logger.info) -> LabResult:
    """Run the whole lab and write its report; `log` receives one line per stage (the CLI prints them)."""
    config = (config or LabConfig()).check()
    require("trl", extra="trl")
    torch = require("torch", extra="trl")
    from permix_plugins.tinylm import build_model, build_tokenizer

    out = Path(config.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    torch.manual_seed(config.seed)
    train = load_problems(
        "synthetic", split="train", limit=config.train_problems, seed=config.seed, levels=config.levels
    )
    test = load_problems(
        "synthetic", split="test", limit=config.test_problems, seed=config.seed, levels=config.levels
    )
    held_out = PersonaPool(
        [*PersonaPool.builtin(config.eval_pool), NO_PERSONA], name=f"{config.eval_pool}+none"
    )
    lottery_pool = PersonaPool.load(config.lottery_pool)

    tokenizer = build_tokenizer()
    model = build_model(
        tokenizer,
        hidden_size=config.hidden_size,
        num_layers=config.num_layers,
        num_heads=config.num_heads,
        seed=config.seed,
    )
    params = sum(p.numel() for p in model.parameters())
    log(
        f"[1/4] warm-up: {params:,}-parameter model, {config.sft_steps} supervised steps on {len(train)} problems"
    )
    loss = _warm_up(model, tokenizer, train, config)
    model.save_pretrained(out / "models" / "warm")
    tokenizer.save_pretrained(out / "models" / "warm")
    log(f"      final loss {loss:.3f}")

    def measure(name: str, trained: Any, pool: PersonaPool) -> tuple[StabilityReport, list[EvalRecord]]:
        records, report = _evaluate(trained, tokenizer, test, pool, config, name, out)
        log(
            f"      {name:<8} PSS {report.pss:.3f}  mean {report.mean:.3f}  no persona "
            f"{report.accuracy.get(NO_PERSONA_ID, float('nan')):.3f}  worst {report.worst:.3f}"
        )
        return report, records

    log(f"[2/4] persona lottery of the warm start ({len(test)} held-out problems)")
    lottery, _ = measure("lottery", model, lottery_pool)
    reports, records = {}, {}
    reports["warm"], records["warm"] = measure("warm", model, held_out)

    for stage, (name, prob) in enumerate((("rlvr", 0.0), ("permix", config.persona_prob)), start=3):
        log(f"[{stage}/4] GRPO '{name}': persona_prob={prob}, {config.grpo_steps} steps from the warm start")
        trained = _grpo(copy.deepcopy(model), tokenizer, train, prob, config, out / "grpo" / name, log)
        trained.save_pretrained(out / "models" / name)
        reports[name], records[name] = measure(name, trained, held_out)

    pss = compare(
        reports["rlvr"],
        reports["permix"],
        labels=("rlvr", "permix"),
        n_bootstrap=config.n_bootstrap,
        seed=config.seed,
    )
    no_persona = compare(
        *(_only_no_persona(records[name], config) for name in ("rlvr", "permix")),
        labels=("rlvr", "permix"),
        n_bootstrap=config.n_bootstrap,
        seed=config.seed,
    )
    summary = _summary(config, params, lottery, reports, pss, no_persona, time.monotonic() - start)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    _plot_comparison(reports, out / "comparison.png")
    lottery.plot(out / "lottery.png", title="persona lottery of the warm start")
    (out / "report.md").write_text(_markdown(summary, lottery, reports, pss, no_persona))
    log(
        f"done in {summary['seconds']:.0f} s: ΔPSS (permix − rlvr) {pss.delta_pss:+.3f} "
        f"[{pss.delta_pss_ci[0]:+.3f}, {pss.delta_pss_ci[1]:+.3f}], p={pss.p_pss:.3g}; report: {out / 'report.md'}"
    )
    return LabResult(lottery, reports, pss, no_persona, summary, out)


# ----------------------------------------------------------------------------------------------- stages
def _encode(tokenizer: Any, problem: str, answer: str) -> tuple[list[int], list[int]]:
    prompt = tokenizer.apply_chat_template(
        build_messages(problem, None, instruction=INSTRUCTION), tokenize=False, add_generation_prompt=True
    )
    target = f"\\boxed{{{answer}}}{tokenizer.eos_token}"
    encode = lambda text: tokenizer(text, add_special_tokens=False)["input_ids"]
    return encode(prompt), encode(target)


def _warm_up(model: Any, tokenizer: Any, train: Any, config: LabConfig) -> float:
    """Supervised training on (problem → \\boxed{answer}) without personas; loss on the answer tokens only."""
    import torch
    from tqdm.auto import tqdm

    pairs = [_encode(tokenizer, row["problem"], row["answer"]) for row in train]
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.sft_lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.sft_lr, total_steps=config.sft_steps, pct_start=0.1
    )
    rng = random.Random(config.seed)
    model.train()
    loss_value = float("nan")
    for _ in tqdm(range(config.sft_steps), desc="warm-up", leave=False):
        batch = rng.sample(pairs, min(config.sft_batch_size, len(pairs)))
        width = max(len(p) + len(a) for p, a in batch)
        ids = torch.full((len(batch), width), tokenizer.pad_token_id)
        labels = torch.full((len(batch), width), -100)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, (prompt, answer) in enumerate(batch):
            n = len(prompt) + len(answer)
            ids[i, :n] = torch.tensor(prompt + answer)
            labels[i, len(prompt) : n] = torch.tensor(answer)
            mask[i, :n] = 1
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        loss_value = loss.item()
    model.eval()
    return loss_value


def _grpo(
    model: Any, tokenizer: Any, train: Any, persona_prob: float, config: LabConfig, out: Path, log
) -> Any:
    from transformers import PrinterCallback, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from permix_plugins.math import accuracy_reward

    dataset = PersonaMixDataset(
        train,
        PersonaPool.builtin(config.train_pool),
        persona_prob=persona_prob,
        seed=config.seed,
        instruction=INSTRUCTION,
    )
    every = max(1, config.grpo_steps // 5)

    class Progress(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "reward" in logs and state.global_step % every == 0:
                log(f"      step {state.global_step:>4}/{config.grpo_steps}  reward {logs['reward']:.3f}")

    args = GRPOConfig(
        output_dir=str(out),
        max_steps=config.grpo_steps,
        per_device_train_batch_size=config.grpo_batch_size,
        num_generations=config.num_generations,
        max_completion_length=config.max_new_tokens,
        learning_rate=config.grpo_lr,
        temperature=1.0,
        logging_steps=every,
        bf16=False,
        use_cpu=True,
        gradient_checkpointing=False,
        report_to="none",
        save_strategy="no",
        seed=config.seed,
        disable_tqdm=True,
    )
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[accuracy_reward],
        train_dataset=dataset,
        args=args,
        processing_class=tokenizer,
        callbacks=[Progress()],
    )
    trainer.remove_callback(PrinterCallback)  # Progress reports instead of raw log dicts
    trainer.train()
    model.eval()
    return model


def _evaluate(
    model: Any, tokenizer: Any, test: Any, pool: PersonaPool, config: LabConfig, name: str, out: Path
):
    from permix_plugins.evaluation import TransformersBackend

    backend = TransformersBackend(
        model, tokenizer, batch_size=128, max_new_tokens=config.max_new_tokens, model_id=name
    )
    results = out / "eval" / name / "results.jsonl"
    results.unlink(missing_ok=True)  # each lab run measures afresh
    records, report = evaluate(
        backend,
        test,
        pool,
        instruction=INSTRUCTION,
        seed=config.seed,
        results=results,
        n_bootstrap=config.n_bootstrap,
        progress=False,
        meta={"model": name, "pool": pool.name},
    )
    write_report(report, results.parent)
    return records, report


def _only_no_persona(records: list[EvalRecord], config: LabConfig) -> StabilityReport:
    rows = [r for r in records if r.persona_id == NO_PERSONA_ID]
    return StabilityReport.from_results(
        [(r.persona_id, r.item_id, r.correct, r.no_answer) for r in rows],
        n_bootstrap=config.n_bootstrap,
        seed=config.seed,
    )


# ---------------------------------------------------------------------------------------------- outputs
def _summary(config, params, lottery, reports, pss, no_persona, seconds) -> dict[str, Any]:
    def brief(report: StabilityReport) -> dict[str, Any]:
        return {
            "pss": report.pss,
            "pss_ci": list(report.pss_ci),
            "mean": report.mean,
            "mean_ci": list(report.mean_ci),
            "std": report.std,
            "worst": report.worst,
            "worst_persona": report.worst_persona,
            "no_persona": report.accuracy.get(NO_PERSONA_ID),
            "gap_to_none": report.gap_to_none,
            "best_of_all": report.best_of_k[-1],
            "personas": len(report.personas),
            "items": report.n_items,
        }

    return {
        "config": asdict(config),
        "parameters": params,
        "lottery": {**brief(lottery), "accuracy": lottery.accuracy, "best_of_k": list(lottery.best_of_k)},
        "held_out": {name: brief(report) for name, report in reports.items()},
        "permix_vs_rlvr": {
            "delta_pss": pss.delta_pss,
            "delta_pss_ci": list(pss.delta_pss_ci),
            "p_pss": pss.p_pss,
            "delta_mean": pss.delta_mean,
            "delta_mean_ci": list(pss.delta_mean_ci),
            "p_mean": pss.p_mean,
            "delta_no_persona": no_persona.delta_mean,
            "delta_no_persona_ci": list(no_persona.delta_mean_ci),
            "p_no_persona": no_persona.p_mean,
        },
        "seconds": seconds,
    }


def _markdown(summary, lottery, reports, pss, no_persona) -> str:
    cfg, s = summary["config"], summary["permix_vs_rlvr"]
    ci = lambda pair: f"[{pair[0]:+.3f}, {pair[1]:+.3f}]"
    held = summary["held_out"]
    lines = [
        "# Persona-lottery lab: PerMix-RLVR vs RLVR",
        "",
        (
            f"A {summary['parameters']:,}-parameter model built from scratch, warmed up on {cfg['train_problems']} "
            f"synthetic problems (levels {list(cfg['levels'])}) without personas, then trained with GRPO for "
            f"{cfg['grpo_steps']} steps twice from the same start: plain RLVR (persona_prob=0) and PerMix-RLVR "
            f"(persona_prob={cfg['persona_prob']} over the `{cfg['train_pool']}` pool). Evaluated greedily on "
            f"{cfg['test_problems']} held-out problems under the {held['warm']['personas'] - 1} held-out "
            f"`{cfg['eval_pool']}` personas and no persona. Seed {cfg['seed']}; {summary['seconds']:.0f} s."
        ),
        "",
        "## Held-out personas",
        "",
        "| model | PSS [95% CI] | mean accuracy [95% CI] | std | worst persona | no persona | best of all personas |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in ("warm", "rlvr", "permix"):
        h = held[name]
        lines.append(
            f"| {name} | {h['pss']:.3f} [{h['pss_ci'][0]:.3f}, {h['pss_ci'][1]:.3f}] | {h['mean']:.3f} "
            f"[{h['mean_ci'][0]:.3f}, {h['mean_ci'][1]:.3f}] | {h['std']:.3f} | {h['worst']:.3f} "
            f"({h['worst_persona']}) | {h['no_persona']:.3f} | {h['best_of_all']:.3f} |"
        )
    lines += [
        "",
        "## PerMix-RLVR − RLVR (paired bootstrap over problems)",
        "",
        "| quantity | Δ | 95% CI | p |",
        "|---|---|---|---|",
        f"| PSS | {s['delta_pss']:+.3f} | {ci(s['delta_pss_ci'])} | {s['p_pss']:.3g} |",
        f"| mean accuracy over personas | {s['delta_mean']:+.3f} | {ci(s['delta_mean_ci'])} | {s['p_mean']:.3g} |",
        (
            f"| accuracy without persona | {s['delta_no_persona']:+.3f} | {ci(s['delta_no_persona_ci'])} | "
            f"{s['p_no_persona']:.3g} |"
        ),
        "",
        "## Persona lottery of the warm start",
        "",
        "| persona | accuracy |",
        "|---|---|",
        *[f"| {p} | {a:.3f} |" for p, a in sorted(lottery.accuracy.items(), key=lambda kv: -kv[1])],
        "",
        f"PSS {lottery.pss:.3f}; expected best-of-k for k = 1..{len(lottery.best_of_k)}: "
        + ", ".join(f"{v:.3f}" for v in lottery.best_of_k),
        "",
        "PSS = mean over personas of accuracy − their standard deviation (permix-plugins' definition).",
        "Plots: `lottery.png`, `comparison.png`; full reports under `eval/<model>/`; models under `models/`.",
        "",
    ]
    return "\n".join(lines)


def _plot_comparison(reports: dict[str, StabilityReport], path: Path) -> None:
    require("matplotlib", extra="plot")
    import numpy as np
    from matplotlib.figure import Figure

    order = [p.persona_id for p in sorted(reports["warm"].personas, key=lambda p: p.accuracy)]
    fig = Figure(figsize=(11, max(4.0, 0.2 * len(order) + 1.5)), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[3, 2])
    ys = np.arange(len(order))
    styles = {"warm": ("0.55", "o"), "rlvr": ("tab:blue", "s"), "permix": ("tab:red", "D")}
    for name, report in reports.items():
        color, marker = styles[name]
        acc = report.accuracy
        left.scatter(
            [acc[p] for p in order],
            ys,
            color=color,
            marker=marker,
            s=18,
            label=f"{name} (PSS {report.pss:.2f})",
            zorder=3,
        )
        right.plot(np.arange(1, len(report.best_of_k) + 1), report.best_of_k, color=color, label=name)
    left.set_yticks(ys, order, fontsize=7)
    left.set_xlim(-0.02, 1.02)
    left.set_xlabel("accuracy on held-out problems")
    left.set_title("accuracy per held-out persona")
    left.legend(loc="lower right", fontsize=8)
    right.set_xlabel("k (personas drawn at random)")
    right.set_ylabel("expected best-of-k accuracy")
    right.set_ylim(-0.02, 1.02)
    right.grid(alpha=0.3)
    right.legend(fontsize=8)
    right.set_title("best of k")
    fig.suptitle("PerMix-RLVR vs RLVR from the same warm start")
    fig.savefig(path, dpi=110)


def lab_config(**overrides: Any) -> LabConfig:
    """`LabConfig` with `overrides`, or the quick one with ``quick=True`` (used by the CLI)."""
    quick = overrides.pop("quick", False)
    base = LabConfig.quick() if quick else LabConfig()
    return replace(base, **{k: v for k, v in overrides.items() if v is not None})
