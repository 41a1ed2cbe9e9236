"""Turn a (problem, persona) pair into the prompt a model sees: chat messages or plain text.

The persona goes in the system message by default (as in the paper); `user_prefix` puts it at the top of the
user turn instead, for chat templates without a system role (Gemma) or for plain-text prompts.
"""

from __future__ import annotations

from typing import Literal, get_args

from permix_plugins.errors import ConfigError

__all__ = ["DEFAULT_INSTRUCTION", "PLACEMENTS", "Placement", "build_messages", "build_text"]

Placement = Literal["system", "user_prefix"]
PLACEMENTS: tuple[str, ...] = get_args(Placement)

DEFAULT_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."


def check_placement(placement: str) -> Placement:
    """Return `placement` if it is one of `PLACEMENTS`, else raise a `ConfigError` naming the accepted values."""
    if placement not in PLACEMENTS:
        raise ConfigError(f"placement={placement!r} is not supported; use one of {list(PLACEMENTS)}")
    return placement  # type: ignore[return-value]


def _user_turn(problem: str, instruction: str | None) -> str:
    return f"{problem}\n\n{instruction}" if instruction else problem


def build_messages(
    problem: str,
    persona_text: str | None = None,
    *,
    placement: Placement = "system",
    instruction: str | None = DEFAULT_INSTRUCTION,
) -> list[dict[str, str]]:
    """Chat messages for one problem; no persona (None or empty text) means no system message.

    Example:
        >>> build_messages("What is 2 + 3?", "You are a pirate.", instruction="Answer in \\\\boxed{}.")
        [{'role': 'system', 'content': 'You are a pirate.'}, {'role': 'user', 'content': 'What is 2 + 3?\\n\\nAnswer in \\\\boxed{}.'}]
        >>> build_messages("What is 2 + 3?", "You are a pirate.", placement="user_prefix", instruction=None)
        [{'role': 'user', 'content': 'You are a pirate.\\n\\nWhat is 2 + 3?'}]
    """
    user = _user_turn(problem, instruction)
    if not persona_text:
        return [{"role": "user", "content": user}]
    if check_placement(placement) == "system":
        return [{"role": "system", "content": persona_text}, {"role": "user", "content": user}]
    return [{"role": "user", "content": f"{persona_text}\n\n{user}"}]


def build_text(
    problem: str, persona_text: str | None = None, *, instruction: str | None = DEFAULT_INSTRUCTION
) -> str:
    """A plain-text prompt (for base models and TRL's standard format): persona, problem, instruction.

    Example:
        >>> build_text("What is 2 + 3?", "You are a pirate.", instruction=None)
        'You are a pirate.\\n\\nWhat is 2 + 3?'
    """
    user = _user_turn(problem, instruction)
    return f"{persona_text}\n\n{user}" if persona_text else user
