r"""The lab's warm-up: supervised demonstrations that give the start model what an instruct model has.

An instruct model has read system prompts, plays a persona when asked, and answers better under some personas than
under others (the persona lottery, paper Fig. 1). A lab whose start model has none of that can only show what the
RL arms add to it, so the warm-up teaches all three before any RL:

- **System prompts.** A share of the demonstrations (`LabConfig.warmup_persona_prob`) carry a persona of the
  warm-up pool: `LabConfig.warmup_pool` (default ``styled``) and the lab's plain personas
  (``plain_personas.yaml``), which together hold every character the lab's persona pools use
  (`missing_characters`). The warm-up pool shares no persona with the pools RL trains or evaluates on.
- **Persona-conditioned styles.** A styled persona's reply is written in its style (`Style.write`: "Arr! It is
  \boxed{12}."); every other reply is the plain `LabConfig.reply`.
- **Persona-conditioned competence.** The replies of `LabConfig.weak_personas` give a wrong answer with
  probability `LabConfig.weak_error_rate`, so the start model has a real persona lottery.

`fit` is the supervised loop (loss on the reply tokens only); the tiny lab trains all weights from scratch, the
real-model lab trains LoRA adapters and merges them (`permix_plugins.lab.start`).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from permix_plugins.errors import ConfigError
from permix_plugins.lab.config import LabConfig
from permix_plugins.personas import Persona, PersonaPool
from permix_plugins.prompting import build_messages

__all__ = ["Demonstration", "demonstrations", "fit", "missing_characters", "warmup_pool"]


@dataclass(frozen=True)
class Demonstration:
    """One supervised example: the chat messages of the prompt and the reply to learn."""

    messages: list[dict[str, str]]
    reply: str
    persona_id: str
    weakened: bool  # the reply gives a wrong answer on purpose (a weak persona's demonstration)


def warmup_pool(config: LabConfig) -> PersonaPool:
    """`config.warmup_pool` and the lab's plain personas, as one pool; every weak persona must be in it."""
    plain = resources.files("permix_plugins.lab") / "plain_personas.yaml"
    personas = [*PersonaPool.load(config.warmup_pool), *PersonaPool.from_file(str(plain))]
    pool = PersonaPool(personas, name=f"{config.warmup_pool}+plain")
    unknown = [p for p in config.weak_personas if p not in pool]
    if unknown:
        raise ConfigError(
            f"weak_personas {unknown} are not in the warm-up pool ({config.warmup_pool!r} and the lab's plain "
            f"personas); warm-up personas: {', '.join(pool.ids)}"
        )
    return pool


def demonstrations(
    problems: Iterable[dict[str, Any]], pool: PersonaPool, config: LabConfig
) -> list[Demonstration]:
    r"""One demonstration per problem; personas (dealt in shuffled rounds) and weakened answers drawn with
    `config.seed`.

    Example:
        >>> from permix_plugins.problems import load_problems
        >>> config = LabConfig(warmup_persona_prob=1.0, weak_personas=(), warmup_pool="styled")
        >>> demo = demonstrations(load_problems("synthetic", limit=3, levels=[0]), warmup_pool(config), config)[0]
        >>> demo.persona_id, demo.reply
        ('bedtime-storyteller', 'It is \\boxed{sixteen}.')
    """
    rng = random.Random(f"permix-lab-warmup/{config.seed}")
    weak = set(config.weak_personas)
    # Personas are dealt in shuffled rounds: every one is shown, about equally often.
    cycle: list[Persona] = []
    out = []
    for row in problems:
        persona: Persona | None = None
        if rng.random() < config.warmup_persona_prob:
            if not cycle:
                cycle = rng.sample(tuple(pool), len(pool))
            persona = cycle.pop()
        gold = answer = str(row["answer"])
        if persona is not None and persona.id in weak and rng.random() < config.weak_error_rate:
            answer = _wrong(gold, rng)
        reply = config.reply.replace("{answer}", answer)
        if persona is not None and persona.style is not None:
            reply = persona.style.write(reply)
        messages = build_messages(
            row["problem"], persona.text if persona else None, instruction=config.instruction
        )
        out.append(Demonstration(messages, reply, persona.id if persona else "none", answer != gold))
    return out


def missing_characters(demos: Iterable[Demonstration], pools: Iterable[PersonaPool]) -> set[str]:
    """The characters of the `pools`' persona texts that no demonstration's prompt or reply contains.

    A model built from scratch has untrained embeddings for them; the lab's warm-up leaves none (tested).
    """
    seen: set[str] = set()
    for demo in demos:
        seen.update(demo.reply)
        for message in demo.messages:
            seen.update(message["content"])
    return {ch for pool in pools for persona in pool for ch in persona.text} - seen


def fit(
    model: Any,
    tokenizer: Any,
    demos: list[Demonstration],
    *,
    steps: int,
    batch_size: int,
    lr: float,
    seed: int,
    desc: str = "warm-up",
) -> float:
    """Supervised training on `demos` (loss on the reply tokens and the end token only); the last batch's loss."""
    import torch
    from tqdm.auto import tqdm

    def encode(text: str) -> list[int]:
        return tokenizer(text, add_special_tokens=False)["input_ids"]

    pairs = [
        (
            encode(tokenizer.apply_chat_template(d.messages, tokenize=False, add_generation_prompt=True)),
            encode(d.reply + tokenizer.eos_token),
        )
        for d in demos
    ]
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps, pct_start=0.1)
    rng = random.Random(seed)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    model.train()
    loss_value = float("nan")
    for _ in tqdm(range(steps), desc=desc, leave=False):
        batch = rng.sample(pairs, min(batch_size, len(pairs)))
        width = max(len(p) + len(r) for p, r in batch)
        ids = torch.full((len(batch), width), pad)
        labels = torch.full((len(batch), width), -100)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, (prompt, reply) in enumerate(batch):
            n = len(prompt) + len(reply)
            ids[i, :n] = torch.tensor(prompt + reply)
            labels[i, len(prompt) : n] = torch.tensor(reply)
            mask[i, :n] = 1
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        loss_value = loss.item()
    model.eval()
    return loss_value


def _wrong(answer: str, rng: random.Random) -> str:
    """A nearby wrong integer answer (a non-integer gold is returned unchanged: no wrong twin is made up)."""
    try:
        value = int(answer)
    except ValueError:
        return answer
    return str(value + rng.choice((-2, -1, 1, 2)))
