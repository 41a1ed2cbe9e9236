"""The size of the tiny model the tests build: one place, so tests that compare runs build the same model."""

from __future__ import annotations

from typing import Any

TINY_SIZE: dict[str, Any] = {"hidden_size": 32, "num_layers": 1, "num_heads": 2}


def build_tiny_model(tokenizer: Any, seed: int = 0) -> Any:
    """A randomly initialised tiny Llama of `TINY_SIZE` for `tokenizer`."""
    from permix_plugins.tinylm import build_model

    return build_model(tokenizer, **TINY_SIZE, seed=seed)
