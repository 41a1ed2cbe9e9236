"""The transformers generation backend: batched, left-padded `model.generate` on an already loaded model.

It takes model and tokenizer objects, so a training loop can evaluate the model it is training (a TRL
callback) without a copy: generation runs under `torch.no_grad()`, the model's train/eval mode, the tokenizer
and the global torch RNG are all left as they were. `TransformersBackend.from_pretrained` loads from a path or
Hub id. torch and transformers are imported when a backend is built.

Example:
    >>> from permix_plugins.tinylm import build_model, build_tokenizer
    >>> tok = build_tokenizer()
    >>> backend = TransformersBackend(build_model(tok, hidden_size=32, num_layers=1), tok, max_new_tokens=4)
    >>> outs = backend.generate([[{"role": "user", "content": "1+1?"}]], n=2, temperature=1.0, seed=0)
    >>> len(outs), len(outs[0]), backend.supports_system_role
    (1, 2, True)
"""

from __future__ import annotations

import contextlib
import copy
import logging
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from permix_plugins._optional import require
from permix_plugins.errors import ConfigError
from permix_plugins.evaluation.backends.base import (
    SOLUTION_MAX_NEW_TOKENS,
    Messages,
    chat_template_supports_system,
)
from permix_plugins.models import resolve_model

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

__all__ = ["TransformersBackend"]

logger = logging.getLogger(__name__)


class TransformersBackend:
    """Generate with a loaded transformers causal LM; `batch_size` bounds the sequences decoded at once.

    Prompts of one call are sorted by length before batching (less padding) and returned in input order. With
    ``n > 1`` samples, a batch holds ``batch_size // n`` prompts (at least one).
    """

    name = "transformers"

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        *,
        batch_size: int = 16,
        max_new_tokens: int = SOLUTION_MAX_NEW_TOKENS,
        model_id: str | None = None,
    ) -> None:
        require("torch", extra="trl")
        if batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, got {batch_size}")
        if max_new_tokens < 1:
            raise ConfigError(f"max_new_tokens must be at least 1, got {max_new_tokens}")
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.max_new_tokens = max_new_tokens
        self.model_id = model_id or str(getattr(model, "name_or_path", "") or type(model).__name__)
        self.has_chat_template = getattr(tokenizer, "chat_template", None) is not None
        if not self.has_chat_template:
            logger.warning(
                "tokenizer of %s has no chat template; prompts are plain text "
                "(persona, problem, instruction)",
                self.model_id,
            )
        self.supports_system_role = chat_template_supports_system(tokenizer)  # detected once per tokenizer
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        self.pad_token_id: int = pad if pad is not None else 0

    @classmethod
    def from_pretrained(
        cls,
        path_or_id: str,
        *,
        batch_size: int = 16,
        max_new_tokens: int = SOLUTION_MAX_NEW_TOKENS,
        dtype: str = "auto",
        device: str | None = None,
        trust_remote_code: bool = False,
        **model_kwargs: Any,
    ) -> TransformersBackend:
        """Load tokenizer and model with ``Auto*.from_pretrained`` onto `device` (default: cuda if any)."""
        torch = require("torch", extra="trl")
        transformers = require("transformers", extra="trl")
        source = resolve_model(path_or_id)  # a named model (`permix models list`) becomes its checkpoint
        tokenizer = transformers.AutoTokenizer.from_pretrained(source, trust_remote_code=trust_remote_code)
        model = transformers.AutoModelForCausalLM.from_pretrained(
            source, dtype=dtype, trust_remote_code=trust_remote_code, **model_kwargs
        )
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        model.to(device)
        return cls(
            model, tokenizer, batch_size=batch_size, max_new_tokens=max_new_tokens, model_id=path_or_id
        )

    def generate(
        self,
        prompts: Sequence[Messages],
        *,
        n: int = 1,
        temperature: float = 0.0,
        max_new_tokens: int | None = None,
        seed: int = 0,
    ) -> list[list[str]]:
        """`n` completions per conversation (greedy when ``temperature == 0``), in input order."""
        torch = require("torch", extra="trl")
        encoded = [self._encode(messages) for messages in prompts]
        config = self._generation_config(n, temperature, max_new_tokens or self.max_new_tokens)
        per_batch = max(1, self.batch_size // n)
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
        results: list[list[str]] = [[] for _ in encoded]
        with self._generation_state(seed):
            for start in range(0, len(order), per_batch):
                batch = order[start : start + per_batch]
                input_ids, attention_mask = self._left_pad([encoded[i] for i in batch], torch)
                output = self.model.generate(
                    input_ids=input_ids, attention_mask=attention_mask, generation_config=config
                )
                texts = self.tokenizer.batch_decode(output[:, input_ids.shape[1] :], skip_special_tokens=True)
                for position, index in enumerate(batch):
                    results[index] = texts[position * n : (position + 1) * n]
        return results

    # -- internals

    def _encode(self, messages: Messages) -> list[int]:
        if self.has_chat_template:
            text = self.tokenizer.apply_chat_template(
                list(messages), tokenize=False, add_generation_prompt=True
            )
            ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]  # the template has the specials
        else:
            text = "\n\n".join(m["content"] for m in messages if m.get("content"))
            ids = self.tokenizer(text)["input_ids"]
        return list(ids)

    def _left_pad(self, rows: list[list[int]], torch: Any) -> tuple[Any, Any]:
        # Padding by hand leaves a shared tokenizer's padding_side alone (a trainer may rely on "right").
        width = max(len(row) for row in rows)
        ids = torch.full((len(rows), width), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, width - len(row) :] = torch.tensor(row, dtype=torch.long)
            mask[i, width - len(row) :] = 1
        device = self.model.device
        return ids.to(device), mask.to(device)

    def _generation_config(self, n: int, temperature: float, max_new_tokens: int) -> Any:
        config = copy.deepcopy(self.model.generation_config)
        if temperature > 0:
            # Plain temperature sampling, like the other backends: the model's own top_p/top_k are off.
            config.update(do_sample=True, temperature=temperature, top_p=1.0, top_k=0, num_return_sequences=n)
        else:
            if n != 1:
                raise ConfigError(
                    f"greedy decoding (temperature=0) gives one completion per prompt; got n={n}"
                )
            config.update(do_sample=False, temperature=1.0, top_p=1.0, top_k=50, num_return_sequences=1)
        config.update(max_new_tokens=max_new_tokens, pad_token_id=self.pad_token_id)
        if config.eos_token_id is None and self.tokenizer.eos_token_id is not None:
            config.eos_token_id = self.tokenizer.eos_token_id
        return config

    @contextlib.contextmanager
    def _generation_state(self, seed: int) -> Iterator[None]:
        """Eval mode, no grad, a seeded RNG; the mode and the global RNG state are restored afterwards."""
        torch = require("torch", extra="trl")
        was_training = self.model.training
        device = self.model.device
        devices = (
            [device.index if device.index is not None else torch.cuda.current_device()]
            if device.type == "cuda"
            else []
        )
        try:
            with torch.random.fork_rng(devices=devices), torch.no_grad():
                torch.manual_seed(seed)
                self.model.eval()
                yield
        finally:
            self.model.train(was_training)
