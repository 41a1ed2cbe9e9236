"""A tiny language model and tokenizer built entirely in code, for offline tests, examples and the demo.

The tokenizer is character-level with a four-token chat template (system/user/assistant/end), so persona system
messages go through a real `apply_chat_template`; the model is a randomly initialised Llama or Qwen2. Nothing is
downloaded. torch and transformers are imported when a function here is called.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from permix_plugins._optional import require

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerFast

__all__ = ["CHAT_TEMPLATE", "SPECIAL_TOKENS", "build_model", "build_tokenizer", "save_tiny_model"]

PAD, UNK, END = "<pad>", "<unk>", "<|end|>"
ROLE_TOKENS = ("<|system|>", "<|user|>", "<|assistant|>")
SPECIAL_TOKENS = (PAD, UNK, END, *ROLE_TOKENS)
# Each message is <|role|>content<|end|>; generation stops at <|end|> (the eos token).
CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>{{ message['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def build_tokenizer() -> PreTrainedTokenizerFast:
    """A character-level tokenizer over printable ASCII, with a chat template and pad/eos/unk tokens.

    Example:
        >>> tok = build_tokenizer()
        >>> tok.decode(tok("x = 42")["input_ids"])
        'x = 42'
        >>> tok.apply_chat_template([{"role": "user", "content": "2+2?"}], tokenize=False, add_generation_prompt=True)
        '<|user|>2+2?<|end|><|assistant|>'
    """
    tokenizers = require("tokenizers", extra="trl")
    transformers = require("transformers", extra="trl")

    chars = sorted(set(string.printable) - set("\t\r\x0b\x0c"))
    vocab = {token: i for i, token in enumerate([*SPECIAL_TOKENS, *chars])}
    core = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab=vocab, unk_token=UNK))
    core.pre_tokenizer = tokenizers.pre_tokenizers.Split(pattern="", behavior="isolated")
    core.decoder = tokenizers.decoders.Fuse()
    core.add_special_tokens(list(SPECIAL_TOKENS))
    tok = transformers.PreTrainedTokenizerFast(
        tokenizer_object=core, pad_token=PAD, unk_token=UNK, eos_token=END, padding_side="left"
    )
    tok.chat_template = CHAT_TEMPLATE
    return tok


def build_model(
    tokenizer: PreTrainedTokenizerFast,
    *,
    arch: Literal["llama", "qwen2"] = "llama",
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 4,
    max_positions: int = 2048,
    seed: int = 0,
) -> PreTrainedModel:
    """A randomly initialised causal LM sized for `tokenizer` (about 130k parameters by default).

    Llama is the default because transformers maps a saved `qwen2` directory to Qwen2's own tokenizer class,
    which would replace this character-level tokenizer on `AutoTokenizer.from_pretrained`.

    Example:
        >>> model = build_model(build_tokenizer(), hidden_size=32, num_layers=1)
        >>> model.config.model_type, model.config.vocab_size
        ('llama', 102)
    """
    torch = require("torch", extra="trl")
    transformers = require("transformers", extra="trl")

    common = {
        "vocab_size": len(tokenizer),
        "hidden_size": hidden_size,
        "intermediate_size": hidden_size * 4,
        "num_hidden_layers": num_layers,
        "num_attention_heads": num_heads,
        "num_key_value_heads": max(1, num_heads // 2),
        "max_position_embeddings": max_positions,
        "pad_token_id": tokenizer.pad_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "bos_token_id": None,
        "tie_word_embeddings": True,
    }
    if arch == "qwen2":
        config = transformers.Qwen2Config(**common)
        model_cls = transformers.Qwen2ForCausalLM
    elif arch == "llama":
        config = transformers.LlamaConfig(**common)
        model_cls = transformers.LlamaForCausalLM
    else:
        from permix_plugins.errors import ConfigError

        raise ConfigError(f"arch={arch!r} is not supported; use 'qwen2' or 'llama'")
    torch.manual_seed(seed)
    model = model_cls(config)
    model.generation_config = transformers.GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, bos_token_id=None
    )
    return model


def save_tiny_model(directory: str | Path, **model_kwargs: object) -> Path:
    """Build a tiny model and tokenizer and save both with `save_pretrained` (loadable by `from_pretrained`)."""
    path = Path(directory)
    tokenizer = build_tokenizer()
    build_model(tokenizer, **model_kwargs).save_pretrained(path)  # type: ignore[arg-type]
    tokenizer.save_pretrained(path)
    return path
