r"""OpenRLHF adapter: the reward function for ``--reward.remote_url``, and persona-mixed JSONL prompts.

OpenRLHF (0.10.2+, dotted flags) loads a ``.py`` reward file by path in every vLLM rollout actor and calls
its module-level ``reward_func(queries, prompts, labels)`` once per sample, in a worker thread
(``asyncio.to_thread``). `reward_func` below is that function; the file to pass is its one-line shim
``openrlhf_reward.py`` (see `reward_file`)::

    --reward.remote_url $(permix openrlhf-reward-path)

``permix openrlhf-reward-path --reward style`` gives the file of `style_reward_func`, which rewards the persona's
checkable style instead (a reward of its own, never mixed into correctness).

The prompts come from ``permix export openrlhf``: JSONL rows ``{"input": [chat messages, the persona as system
message], "label": '{"answer": ..., "persona_id": ...}', "datasource": "<persona id>"}``, read with
``--data.input_key input --data.label_key label --data.apply_chat_template``. OpenRLHF's evaluation groups
pass@k by ``datasource``, so an eval file gives ``eval_<persona>_pass1`` for each persona.

The contract `reward_func` keeps (OpenRLHF swallows its exceptions and bad return values *silently*, leaving
``reward=None``, which fails later, far from the cause):

* it never raises and always returns ``{"rewards", "scores", "extra_logs"}``: float tensors, one value per
  query;
* ``rewards`` = ``scores`` = 1.0 / 0.0 correctness (binary, so dynamic filtering on ``scores`` works); a
  sample that cannot be scored gets 0.0 and is *counted* in ``extra_logs`` instead of being dropped;
* ``extra_logs`` has the same numeric keys on every call (`LOG_KEYS`; OpenRLHF averages them per step):
  ``accuracy``; ``no_answer`` (no final answer found); ``bad_gold`` (no usable gold in the label: check
  ``--data.label_key``); ``timeout`` and ``error`` (verifier); ``no_completion`` (the response could not be
  told apart from the prompt); ``persona_rate`` and ``persona_correct`` (their ratio is the accuracy on
  persona prompts); ``style`` and ``styled`` (their ratio is the expressivity of styled personas, whose labels
  carry the style);
* it never hangs: extraction is linear and bounded, math-verify runs in killable worker processes
  (`permix_plugins.verifier`), and the whole call returns within ``PERMIX_REWARD_DEADLINE`` seconds (120).

The scoring is `permix_plugins.math.openrlhf_reward`; this module finds the responses in the queries, reads the
labels and returns the scores as tensors.

Example:
    >>> prompt = "<|im_start|>user\nWhat is 6 * 12?<|im_end|>\n<|im_start|>assistant\n"
    >>> label = encode_label("72", "pirate")
    >>> out = reward_func([prompt + r"6 * 12 = \boxed{72}<|im_end|>"], [prompt], [label])
    >>> logs = out["extra_logs"]
    >>> out["rewards"].tolist(), logs["accuracy"].tolist(), logs["persona_rate"].tolist()
    ([1.0], [1.0], [1.0])
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from permix_plugins._optional import require
from permix_plugins._warn_once import warn_once
from permix_plugins.errors import ConfigError
from permix_plugins.math import OPENRLHF_LOG_KEYS, openrlhf_result, openrlhf_reward
from permix_plugins.personas import NO_PERSONA_ID, PersonaPool

if TYPE_CHECKING:
    from datasets import Dataset

    from permix_plugins.mix_config import MixConfig

__all__ = [
    "ASSISTANT_MARKERS",
    "END_TOKENS",
    "LOG_KEYS",
    "ExportSummary",
    "Label",
    "decode_label",
    "encode_label",
    "export_jsonl",
    "openrlhf_rows",
    "reward_file",
    "reward_func",
    "split_completion",
    "style_reward_func",
]

logger = logging.getLogger(__name__)

LOG_KEYS = OPENRLHF_LOG_KEYS
"""The `extra_logs` keys of every `reward_func` result, in this order (`permix_plugins.math.OPENRLHF_LOG_KEYS`).
OpenRLHF batches samples key by key, so a sample with a different key set would break the whole batch: they never
change."""

ASSISTANT_MARKERS = (
    "<|im_start|>assistant",  # ChatML: Qwen, Yi, SmolLM, ...
    "<|start_header_id|>assistant<|end_header_id|>",  # Llama 3
    "<start_of_turn>model",  # Gemma
    "<|assistant|>",  # Phi-3, Zephyr, permix_plugins.tinylm
    "<\uff5cAssistant\uff5c>",  # DeepSeek V3 / R1 (full-width bars)
    "<|start|>assistant",  # gpt-oss (harmony)
    "[/INST]",  # Llama 2, Mistral
)
"""Where chat templates start the assistant turn; used only when the query does not start with the prompt."""

END_TOKENS = (
    "<|im_end|>",
    "<|eot_id|>",
    "<end_of_turn>",
    "</s>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "<|end|>",
    "<|return|>",
    "<eos>",
    "<\uff5cend\u2581of\u2581sentence\uff5c>",  # DeepSeek
)
"""End-of-turn and end-of-text tokens stripped from the end of a response (OpenRLHF keeps special tokens)."""

_ANSWER_KEY = '"answer"'  # a broken label containing this was our JSON
_THINK = "<think>"


# ------------------------------------------------------------------------------------------------------------
# The reward function OpenRLHF calls
# ------------------------------------------------------------------------------------------------------------


def reward_func(
    queries: Sequence[str], prompts: Sequence[str], labels: Sequence[Any], **kwargs: Any
) -> dict[str, Any]:
    r"""OpenRLHF's reward hook: score each query's response against its label. Never raises.

    Args:
        queries: prompt + response as decoded by OpenRLHF (special tokens kept).
        prompts: the prompts after the chat template, as OpenRLHF tokenized them.
        labels: the ``--data.label_key`` column: a JSON label from `encode_label`, or a plain gold answer.
        **kwargs: ignored (room for future OpenRLHF arguments).

    Returns:
        ``{"rewards": tensor, "scores": tensor, "extra_logs": {key: tensor for key in LOG_KEYS}}``: float32
        tensors with one value per query.

    Example:
        >>> out = reward_func(["Q: 2+2? A: I am not sure."], ["Q: 2+2? A:"], ["4"])
        >>> out["rewards"].tolist(), out["extra_logs"]["no_answer"].tolist()
        ([0.0], [1.0])
    """
    return _reward(queries, prompts, labels, "accuracy")


def style_reward_func(
    queries: Sequence[str], prompts: Sequence[str], labels: Sequence[Any], **kwargs: Any
) -> dict[str, Any]:
    r"""`reward_func` with the persona's style as the reward: 1.0 when the response meets the style in its label
    (``permix export openrlhf`` on a pool with styled personas), else 0.0, also for a persona without a style.
    The logs are `reward_func`'s. Its file: ``permix openrlhf-reward-path --reward style``.

    Example:
        >>> label = encode_label("4", "pirate", '{"starts_with":["Arr!"]}')
        >>> style_reward_func(["Q: 2+2? A: Arr! 4"], ["Q: 2+2? A:"], [label])["rewards"].tolist()
        [1.0]
    """
    return _reward(queries, prompts, labels, "style")


def _reward(queries: Any, prompts: Any, labels: Any, reward: Literal["accuracy", "style"]) -> dict[str, Any]:
    torch = require("torch", extra="openrlhf")  # OpenRLHF always has it; imported here to keep loading light

    if isinstance(queries, str):  # one sample passed bare instead of as a batch of one
        queries, prompts, labels = [queries], [prompts], [labels]  # type: ignore[list-item]
    try:
        count = len(queries)
    except Exception:  # noqa: BLE001 - not a sequence: nothing to score, but still answer in the expected shape
        count = 1
    try:
        result = _score(queries, prompts, labels, count, reward)
    except Exception:  # noqa: BLE001 - a bug of ours must cost these samples, not the rollout (OpenRLHF would hide it)
        warn_once(
            logger, "crash", "permix reward_func failed; its samples score 0.0 as 'error'", exc_info=True
        )
        result = openrlhf_result(["error"] * count, [False] * count)
    rewards = torch.tensor(result["rewards"], dtype=torch.float32)
    logs = {key: torch.tensor(values, dtype=torch.float32) for key, values in result["extra_logs"].items()}
    return {"rewards": rewards, "scores": rewards.clone(), "extra_logs": logs}


def _score(
    queries: Sequence[Any],
    prompts: Sequence[Any],
    labels: Sequence[Any],
    count: int,
    reward: Literal["accuracy", "style"],
) -> dict[str, Any]:
    # A short prompts/labels list scores the missing items as bad input instead of raising.
    decoded = [decode_label(_at(labels, i)) for i in range(count)]
    responses = [split_completion(_at(queries, i), _at(prompts, i)) for i in range(count)]
    if None in responses:
        warn_once(
            logger,
            "no_completion",
            "permix reward_func cannot find the response in OpenRLHF's query (the query does not start with "
            "the prompt, and the prompt has no known assistant marker); such samples score 0.0 as "
            "'no_completion'",
        )
    result = openrlhf_reward(
        responses,
        [label.answer for label in decoded],
        [label.has_persona for label in decoded],
        [label.style for label in decoded],
        reward=reward,
    )
    bad_gold = result["extra_logs"]["bad_gold"]
    if 1.0 in bad_gold:
        warn_once(
            logger,
            "bad_gold",
            "permix reward_func got a label without a usable gold answer (%r); pass --data.label_key label "
            "with a file from `permix export openrlhf`; such samples score 0.0 as 'bad_gold'",
            str(_at(labels, bad_gold.index(1.0)))[:200],
        )
    return result


def _at(items: Sequence[Any], i: int) -> Any:
    try:
        return items[i]
    except (IndexError, TypeError, KeyError):
        return None


# ------------------------------------------------------------------------------------------------------------
# Finding the response inside OpenRLHF's query
# ------------------------------------------------------------------------------------------------------------


def split_completion(query: object, prompt: object) -> str | None:
    r"""The model's response inside ``query`` (prompt + response), or ``None`` if it cannot be told apart.

    Tried in order: ``query`` starts with ``prompt``; it does up to whitespace (tokenizer round trips add or
    drop spaces); the text after the last assistant marker (`ASSISTANT_MARKERS`) of the template the prompt
    uses (a prompt that lost characters in the round trip, or its head to OpenRLHF's truncation). Never
    returns prompt text. Outer whitespace and trailing `END_TOKENS` are stripped; if the prompt opens a
    ``<think>`` block, the response gets it back, so an unfinished thought has no answer.

    Example:
        >>> split_completion("<|user|>2+2?<|end|><|assistant|>4<|end|>", "<|user|>2+2?<|end|><|assistant|>")
        '4'
        >>> split_completion("<|im_start|>user\n2 + 2?<|im_end|><|im_start|>assistant\n4<|im_end|>",
        ...                  "<|im_start|>user\n2+2 ?<|im_end|><|im_start|>assistant\n")
        '4'
        >>> split_completion("Question: 2 + 2 = ? 4", "Q: 2 + 2 = ?") is None
        True
    """
    if not isinstance(query, str) or not isinstance(prompt, str):
        return None
    if query.startswith(prompt):
        response: str | None = query[len(prompt) :]
    else:
        response = _after_aligned_prompt(query, prompt)
        if response is None:
            response = _after_last_marker(query, prompt)
        if response is None:
            return None
    if prompt.rstrip().endswith(_THINK) and _THINK not in response:
        response = _THINK + response  # the template opened the thought; answer extraction must see it
    return _strip_end_tokens(response).lstrip()


def _after_aligned_prompt(query: str, prompt: str) -> str | None:
    """Match ``prompt`` against the start of ``query`` ignoring whitespace; the rest of ``query``, or None."""
    i = j = 0
    while i < len(prompt):
        if prompt[i].isspace():
            i += 1
        elif j < len(query) and query[j].isspace():
            j += 1
        elif j < len(query) and query[j] == prompt[i]:
            i += 1
            j += 1
        else:
            return None
    return query[j:]


def _after_last_marker(query: str, prompt: str) -> str | None:
    """The text after the last occurrence in ``query`` of the assistant marker the prompt's template uses."""
    position, marker = max((prompt.rfind(marker), marker) for marker in ASSISTANT_MARKERS)
    if position < 0:
        return None  # unknown template: a marker in the query would be the response's own, not the prompt's
    start = query.rfind(marker)
    return None if start < 0 else query[start + len(marker) :]


def _strip_end_tokens(text: str) -> str:
    # A loop, not a regex anchored at the end: that would be quadratic on a long run of end tokens.
    text = text.rstrip()
    stripped = True
    while stripped:
        stripped = False
        for token in END_TOKENS:
            if text.endswith(token):
                text = text[: -len(token)].rstrip()
                stripped = True
    return text


# ------------------------------------------------------------------------------------------------------------
# Labels
# ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Label:
    """A decoded label: the gold ``answer`` (``None`` when the label has none), the ``persona_id`` and the
    persona's encoded ``style`` (``""`` for none; `permix_plugins.styles.encode_style`)."""

    answer: Any
    persona_id: str | None = None
    style: str = ""

    @property
    def has_persona(self) -> bool:
        return bool(self.persona_id) and self.persona_id != NO_PERSONA_ID


def encode_label(answer: Any, persona_id: str | None, style: str = "") -> str:
    """The label column `export_jsonl` writes: JSON with the gold answer, the persona id and, for a styled
    persona, its encoded style.

    Example:
        >>> encode_label("72", "pirate")
        '{"answer": "72", "persona_id": "pirate"}'
        >>> json.loads(encode_label("72", "pirate", '{"starts_with":["Arr!"]}'))["style"]
        '{"starts_with":["Arr!"]}'
    """
    label = {"answer": answer, "persona_id": persona_id or NO_PERSONA_ID}
    return json.dumps(label | ({"style": style} if style else {}), ensure_ascii=False)


def decode_label(label: object) -> Label:
    r"""Read a label: our JSON (a string, or a mapping if the column holds JSON objects) or a plain answer.

    A string starting with ``{`` that parses as JSON is a JSON label (without an ``"answer"`` key, it has no
    gold). One that does not parse but mentions ``"answer"`` is a broken JSON label and has no gold either
    (scored ``bad_gold``): read as a plain answer, it would silently mark every completion wrong. Other
    strings are plain answers, sets such as ``{1, 2}`` included. Never raises.

    Example:
        >>> decode_label('{"answer": "72", "persona_id": "pirate"}')
        Label(answer='72', persona_id='pirate', style='')
        >>> decode_label("{1, 2}"), decode_label('{"answer": "72", "persona_')
        (Label(answer='{1, 2}', persona_id=None, style=''), Label(answer=None, persona_id=None, style=''))
    """
    if isinstance(label, bytes):
        label = label.decode("utf-8", errors="replace")
    if isinstance(label, str):
        text = label.strip()
        if not text.startswith("{"):
            return Label(label)
        try:
            label = json.loads(text)
        except (ValueError, RecursionError):
            return Label(None if _ANSWER_KEY in text else text)
    if isinstance(label, Mapping):
        persona, style = label.get("persona_id"), label.get("style")
        return Label(
            label.get("answer"),
            persona if isinstance(persona, str) else None,
            style if isinstance(style, str) else "",
        )
    return Label(label)  # numbers are fine golds; None and other types become bad_gold in the verifier


# ------------------------------------------------------------------------------------------------------------
# Export: persona-mixed prompts as OpenRLHF JSONL
# ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportSummary:
    """What `export_jsonl` wrote: the file, the number of rows and the rows per datasource (persona id)."""

    path: Path
    rows: int
    per_persona: Mapping[str, int]


def openrlhf_rows(
    problems: Dataset | Iterable[Mapping[str, Any]] | str | Path,
    pool: PersonaPool | str | None = None,
    *,
    config: MixConfig | None = None,
    num_proc: int | None = None,
    **settings: Any,
) -> Iterator[dict[str, Any]]:
    """OpenRLHF rows ``{"input": messages, "label": json, "datasource": persona_id}`` for `problems`.

    The rows of a `PersonaMixDataset` built with the same arguments (`pool`, a `MixConfig` and/or its fields as
    keywords): for training, each prompt gets a persona with probability `persona_prob`; ``every_persona=True``
    (an eval file) gives every problem under every persona of `pool` and with no persona, so each persona's pass@k
    is over the same problems.

    Example:
        >>> from permix_plugins import load_problems
        >>> problems, lottery = load_problems("synthetic", limit=2), PersonaPool.builtin("lottery")
        >>> rows = list(openrlhf_rows(problems, lottery, every_persona=True))
        >>> len(rows), sorted(rows[0])
        (14, ['datasource', 'input', 'label'])
    """
    from permix_plugins.mixing import PersonaMixDataset

    mixed = PersonaMixDataset(problems, pool, config=config, num_proc=num_proc, **settings)
    columns = ["prompt", "answer", "persona_id", "persona_style"]  # a styled pool's labels carry the style
    for batch in mixed.select_columns([c for c in columns if c in mixed.column_names]).iter(batch_size=1000):
        styles = batch.get("persona_style") or [""] * len(batch["prompt"])
        for messages, answer, persona_id, style in zip(
            batch["prompt"], batch["answer"], batch["persona_id"], styles, strict=True
        ):
            label = encode_label(answer, persona_id, style)
            yield {"input": messages, "label": label, "datasource": persona_id}


def export_jsonl(
    path: str | Path,
    problems: Dataset | Iterable[Mapping[str, Any]] | str | Path,
    pool: PersonaPool | str | None = None,
    **options: Any,
) -> ExportSummary:
    """Write `openrlhf_rows` (same options) to a ``.jsonl`` file for ``--data.prompt_dataset`` or
    ``--eval.dataset``; the file appears complete or not at all.

    Example:
        >>> import tempfile
        >>> from permix_plugins import load_problems
        >>> out = Path(tempfile.mkdtemp()) / "train.jsonl"
        >>> summary = export_jsonl(out, load_problems("synthetic", limit=4), PersonaPool.builtin("train"),
        ...                        persona_prob=0.0)
        >>> summary.rows, dict(summary.per_persona)
        (4, {'none': 4})
    """
    path = Path(path)
    if path.suffix.lower() not in (".jsonl", ".json"):
        raise ConfigError(
            f"OpenRLHF picks its loader from the file extension; name the output '*.jsonl' (got '{path}')"
        )
    per_persona: Counter[str] = Counter()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8") as out:
            for row in openrlhf_rows(problems, pool, **options):
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                per_persona[row["datasource"]] += 1
        if not per_persona:
            raise ConfigError("there are no problems to export (check --problems, --split and --limit)")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return ExportSummary(path=path, rows=sum(per_persona.values()), per_persona=dict(per_persona))


def reward_file(reward: Literal["accuracy", "style"] = "accuracy") -> Path:
    """The file to pass as ``--reward.remote_url`` (what ``permix openrlhf-reward-path`` prints): a shim next
    to this module that OpenRLHF executes by path and that re-exports `reward_func` (or, for ``"style"``,
    `style_reward_func` under that name).

    Example:
        >>> reward_file().name, reward_file("style").name
        ('openrlhf_reward.py', 'openrlhf_style_reward.py')
    """
    if reward not in ("accuracy", "style"):
        raise ConfigError(f"reward must be 'accuracy' or 'style', got {reward!r}")
    name = "openrlhf_reward.py" if reward == "accuracy" else "openrlhf_style_reward.py"
    return Path(__file__).resolve().with_name(name)
