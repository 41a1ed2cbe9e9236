"""The vLLM generation backend: offline batched inference with `vllm.LLM.chat` (vLLM imported only here).

`VLLMBackend.from_pretrained` builds the `vllm.LLM` engine (``pip install 'permix-plugins[vllm]'``); the
constructor also takes an engine you built yourself. vLLM schedules the whole batch itself, so one call gets
all prompts; each prompt gets its own `SamplingParams` seed (from the run seed and the conversation), so a
sample does not depend on what else is in the batch.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from permix_plugins._optional import require
from permix_plugins.evaluation.backends.base import (
    SOLUTION_MAX_NEW_TOKENS,
    Messages,
    chat_template_supports_system,
    prompt_seed,
)
from permix_plugins.models import resolve_model

__all__ = ["VLLMBackend"]

logger = logging.getLogger(__name__)


class VLLMBackend:
    """Generate with a `vllm.LLM` engine (offline; for a running ``vllm serve``, `OpenAIBackend`)."""

    name = "vllm"

    def __init__(
        self, llm: Any, *, max_new_tokens: int = SOLUTION_MAX_NEW_TOKENS, model_id: str | None = None
    ) -> None:
        self.llm = llm
        self.max_new_tokens = max_new_tokens
        self.model_id = model_id or "vllm"
        try:
            tokenizer = llm.get_tokenizer()
        except Exception as exc:  # noqa: BLE001 - an engine built with skip_tokenizer_init, or an older API
            logger.debug("could not read the vLLM engine's tokenizer: %s", exc)
            tokenizer = None
        self.supports_system_role = chat_template_supports_system(tokenizer)

    @classmethod
    def from_pretrained(
        cls,
        model: str,
        *,
        max_new_tokens: int = SOLUTION_MAX_NEW_TOKENS,
        seed: int = 0,
        dtype: str = "auto",
        trust_remote_code: bool = False,
        **llm_kwargs: Any,
    ) -> VLLMBackend:
        """Start a `vllm.LLM(model=..., seed=..., dtype=..., **llm_kwargs)` engine (``tensor_parallel_size``,
        ``gpu_memory_utilization``, ``max_model_len``)."""
        vllm = require("vllm", extra="vllm")
        llm = vllm.LLM(
            model=resolve_model(model, strict=False),  # only named models: vLLM resolves other ids itself
            seed=seed,
            dtype=dtype,
            trust_remote_code=trust_remote_code,
            **llm_kwargs,
        )
        return cls(llm, max_new_tokens=max_new_tokens, model_id=model)

    def generate(
        self,
        prompts: Sequence[Messages],
        *,
        n: int = 1,
        temperature: float = 0.0,
        max_new_tokens: int | None = None,
        seed: int = 0,
    ) -> list[list[str]]:
        """`n` completions per conversation (temperature 0 is greedy in vLLM), in input order."""
        vllm = require("vllm", extra="vllm")
        params = [
            vllm.SamplingParams(
                n=n,
                temperature=temperature,
                top_p=1.0,
                max_tokens=max_new_tokens or self.max_new_tokens,
                seed=prompt_seed(seed, messages),
            )
            for messages in prompts
        ]
        conversations = [[dict(m) for m in messages] for messages in prompts]
        outputs = self.llm.chat(conversations, sampling_params=params, use_tqdm=False)
        return [[choice.text for choice in sorted(out.outputs, key=lambda c: c.index)] for out in outputs]
