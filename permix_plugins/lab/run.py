"""One lab run: PerMix-RLVR against plain RLVR from the same start model with the same budget.

1. The start model: a small model built from scratch and warmed up with supervised training on the built-in
   problems without personas (the tiny lab), or a real instruct checkpoint as it is (``model=...``).
2. Its persona lottery: accuracy under the `lottery` personas, and under the held-out `eval` personas and none.
3. Two GRPO runs with TRL from that start: plain RLVR (``persona_prob=0``) and PerMix-RLVR (``persona_prob`` > 0
   over the `train` pool); full fine-tuning, or LoRA adapters with ``lora_rank``.
4. Both evaluated greedily on held-out problems under the held-out personas and no persona, compared with paired
   bootstraps over problems (ΔPSS, Δ mean accuracy, Δ accuracy without persona); ``report.md``, ``summary.json``,
   plots, the models and every result are written to ``out_dir``.
"""

from __future__ import annotations

import copy
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from permix_plugins._optional import require
from permix_plugins.evaluation.records import EvalRecord
from permix_plugins.evaluation.runner import evaluate, write_report
from permix_plugins.lab.config import LabConfig
from permix_plugins.lab.report import plot_comparison, run_markdown, run_summary
from permix_plugins.mixing import PersonaMixDataset
from permix_plugins.personas import NO_PERSONA, NO_PERSONA_ID, PersonaPool
from permix_plugins.problems import load_problems
from permix_plugins.prompting import build_messages
from permix_plugins.stability import Comparison, StabilityReport, compare

__all__ = ["ARMS", "LabResult", "run_lab"]

logger = logging.getLogger(__name__)

ARMS = (("rlvr", False), ("permix", True))  # (name, mixes personas)


@dataclass(frozen=True)
class LabResult:
    """What one run measured; `summary` is also written to ``summary.json``."""

    lottery: StabilityReport
    reports: dict[str, StabilityReport]  # start, rlvr, permix on the held-out personas and no persona
    pss: Comparison  # permix vs rlvr
    no_persona: Comparison  # the same, restricted to the no-persona prompt
    summary: dict[str, Any]
    out_dir: Path


def run_lab(config: LabConfig | None = None, *, log: Callable[[str], None] = logger.info) -> LabResult:
    """Run the whole lab and write its report; `log` receives one line per stage (the CLI prints them)."""
    config = config or LabConfig()
    require("trl", extra="trl")
    torch = require("torch", extra="trl")

    out = Path(config.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    torch.manual_seed(config.seed)
    problems = {"seed": config.seed, "levels": config.levels}
    train = load_problems("synthetic", split="train", limit=config.train_problems, **problems)
    test = load_problems("synthetic", split="test", limit=config.test_problems, **problems)
    held_out = _held_out_pool(config)
    lottery_pool = PersonaPool.load(config.lottery_pool)

    model, tokenizer, description = _start_model(config, train, log)
    if config.from_scratch:  # a named or local checkpoint is already on disk
        model.save_pretrained(out / "models" / "start")
        tokenizer.save_pretrained(out / "models" / "start")

    def measure(name: str, trained: Any, pool: PersonaPool) -> tuple[StabilityReport, list[EvalRecord]]:
        records, report = _evaluate(trained, tokenizer, test, pool, config, name, out)
        log(
            f"      {name:<8} PSS {report.pss:.3f}  mean {report.mean:.3f}  no persona "
            f"{report.accuracy.get(NO_PERSONA_ID, float('nan')):.3f}  worst {report.worst:.3f}"
        )
        return report, records

    log(f"[2/4] persona lottery of the start model ({len(test)} held-out problems)")
    lottery, _ = measure("lottery", model, lottery_pool)
    reports, records = {}, {}
    reports["start"], records["start"] = measure("start", model, held_out)

    for stage, (name, mixes) in enumerate(ARMS, start=3):
        prob = config.persona_prob if mixes else 0.0
        log(f"[{stage}/4] GRPO '{name}': persona_prob={prob}, {config.grpo_steps} steps from the start model")
        trained = _grpo(copy.deepcopy(model), tokenizer, train, prob, config, out / "grpo" / name, log)
        trained.save_pretrained(out / "models" / name)
        reports[name], records[name] = measure(name, trained, held_out)
        del trained

    pairs = {"labels": ("rlvr", "permix"), "n_bootstrap": config.n_bootstrap, "seed": config.seed}
    pss = compare(reports["rlvr"], reports["permix"], **pairs)
    no_persona = compare(*(_only_no_persona(records[name], config) for name, _ in ARMS), **pairs)
    summary = run_summary(config, description, lottery, reports, pss, no_persona, time.monotonic() - start)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    plot_comparison(reports, out / "comparison.png")
    lottery.plot(out / "lottery.png", title="persona lottery of the start model")
    (out / "report.md").write_text(run_markdown(summary, lottery))
    log(
        f"done in {summary['seconds']:.0f} s: ΔPSS (permix − rlvr) {pss.delta_pss:+.3f} "
        f"[{pss.delta_pss_ci[0]:+.3f}, {pss.delta_pss_ci[1]:+.3f}], p={pss.p_pss:.3g}; report: {out / 'report.md'}"
    )
    return LabResult(lottery, reports, pss, no_persona, summary, out)


# ----------------------------------------------------------------------------------------------- stages
def _held_out_pool(config: LabConfig) -> PersonaPool:
    """The held-out personas (all of `eval_pool`, or `eval_personas` of them drawn with the seed) and none."""
    pool = PersonaPool.load(config.eval_pool)
    if config.eval_personas is not None and config.eval_personas < len(pool):
        keep = set(random.Random(config.seed).sample(pool.ids, config.eval_personas))
        pool = PersonaPool([p for p in pool if p.id in keep], name=pool.name)
    return PersonaPool([*pool, NO_PERSONA], name=f"{pool.name}+none")


def _start_model(config: LabConfig, train: Any, log: Callable[[str], None]) -> tuple[Any, Any, str]:
    """The model both GRPO runs start from, its tokenizer, and one line describing it."""
    if not config.from_scratch:
        from permix_plugins.evaluation import TransformersBackend

        loaded = TransformersBackend.from_pretrained(config.model, device="cpu")
        params = sum(p.numel() for p in loaded.model.parameters())
        description = f"{config.model} ({params:,} parameters), trained with LoRA rank {config.lora_rank}"
        log(f"[1/4] start model: {description}")
        return loaded.model.eval(), loaded.tokenizer, description

    from permix_plugins.tinylm import build_model, build_tokenizer

    tokenizer = build_tokenizer()
    model = build_model(
        tokenizer,
        hidden_size=config.hidden_size,
        num_layers=config.num_layers,
        num_heads=config.num_heads,
        seed=config.seed,
    )
    params = sum(p.numel() for p in model.parameters())
    description = (
        f"a {params:,}-parameter model built from scratch, warmed up for {config.sft_steps} supervised steps on "
        f"{len(train)} problems without personas"
    )
    log(
        f"[1/4] warm-up: {params:,}-parameter model, {config.sft_steps} supervised steps on {len(train)} problems"
    )
    log(f"      final loss {_warm_up(model, tokenizer, train, config):.3f}")
    return model, tokenizer, description


def _encode(tokenizer: Any, problem: str, answer: str, config: LabConfig) -> tuple[list[int], list[int]]:
    prompt = tokenizer.apply_chat_template(
        build_messages(problem, None, instruction=config.instruction),
        tokenize=False,
        add_generation_prompt=True,
    )
    target = f"\\boxed{{{answer}}}{tokenizer.eos_token}"

    def encode(text: str) -> list[int]:
        return tokenizer(text, add_special_tokens=False)["input_ids"]

    return encode(prompt), encode(target)


def _warm_up(model: Any, tokenizer: Any, train: Any, config: LabConfig) -> float:
    """Supervised training on (problem → \\boxed{answer}) without personas; loss on the answer tokens only."""
    import torch
    from tqdm.auto import tqdm

    pairs = [_encode(tokenizer, row["problem"], row["answer"], config) for row in train]
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
    from tqdm.auto import tqdm
    from transformers import PrinterCallback, TrainerCallback

    from permix_plugins.cpu_grpo import cpu_grpo_trainer
    from permix_plugins.math import accuracy_reward

    dataset = PersonaMixDataset(
        train,
        PersonaPool.load(config.train_pool),
        persona_prob=persona_prob,
        seed=config.seed,
        instruction=config.instruction,
    )
    every = max(1, config.grpo_steps // 5)

    class Progress(TrainerCallback):
        """A bar with an ETA, and the mean reward every `every` steps (instead of TRL's raw log dicts)."""

        def on_train_begin(self, args, state, control, **kwargs):
            self.bar = tqdm(total=config.grpo_steps, desc=f"GRPO {out.name}", unit="step", leave=False)

        def on_step_end(self, args, state, control, **kwargs):
            self.bar.update(1)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "reward" in logs and state.global_step % every == 0:
                log(f"      step {state.global_step:>4}/{config.grpo_steps}  reward {logs['reward']:.3f}")

        def on_train_end(self, args, state, control, **kwargs):
            self.bar.close()

    trainer = cpu_grpo_trainer(
        model,
        tokenizer,
        dataset,
        [accuracy_reward],
        output_dir=out,
        callbacks=[Progress()],  # its bar replaces TRL's (cpu_grpo_config disables that)
        lora_rank=config.lora_rank,
        max_steps=config.grpo_steps,
        per_device_train_batch_size=config.grpo_batch_size,
        num_generations=config.num_generations,
        max_completion_length=config.max_new_tokens,
        learning_rate=config.grpo_lr,
        temperature=config.temperature,
        logging_steps=every,
        seed=config.seed,
    )
    trainer.remove_callback(PrinterCallback)  # Progress reports instead of raw log dicts
    trainer.train()
    return trainer.model.eval()


def _evaluate(
    model: Any, tokenizer: Any, test: Any, pool: PersonaPool, config: LabConfig, name: str, out: Path
) -> tuple[list[EvalRecord], StabilityReport]:
    from permix_plugins.evaluation import TransformersBackend

    backend = TransformersBackend(
        model,
        tokenizer,
        batch_size=config.eval_batch_size,
        max_new_tokens=config.max_new_tokens,
        model_id=name,
    )
    results = out / "eval" / name / "results.jsonl"
    results.unlink(missing_ok=True)  # each lab run measures afresh
    records, report = evaluate(
        backend,
        test,
        pool,
        instruction=config.instruction,
        seed=config.seed,
        results=results,
        n_bootstrap=config.n_bootstrap,
        progress=not config.from_scratch,
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
