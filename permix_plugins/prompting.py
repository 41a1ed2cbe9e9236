"""Turn a (problem, persona) pair into the prompt a model sees: chat messages or plain text.

The persona goes in the system message by default (as in the paper); `user_prefix` puts it at the top of the
user turn instead, for chat templates without a system role (Gemma) or for plain-text prompts. `with_persona` is
the one place that puts a persona into messages: `build_messages` (TRL, the exporters, evaluation) and verl's
on-line mixing (rows that already hold messages) both go through it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, get_args

from permix_plugins.errors import ConfigError

__all__ = ["DEFAULT_INSTRUCTION", "PLACEMENTS", "Placement", "build_messages", "build_text", "with_persona"]

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


def with_persona(
    messages: Any, persona_text: str | None, *, placement: Placement = "system"
) -> list[dict[str, Any]]:
    """A copy of chat `messages` with the persona put in; no persona (None or empty text) changes nothing.

    ``system``: the persona opens the first system message, or becomes one in front of the others.
    ``user_prefix``: the persona opens the first user message. The messages' own text follows unchanged.

    Example:
        >>> with_persona([{"role": "system", "content": "Use ####."}, {"role": "user", "content": "2+3?"}], "You are a pirate.")
        [{'role': 'system', 'content': 'You are a pirate.\\n\\nUse ####.'}, {'role': 'user', 'content': '2+3?'}]
    """
    if not isinstance(messages, list) or not all(isinstance(m, Mapping) for m in messages):
        raise ConfigError(
            f"a prompt must hold chat messages (a list of {{role, content}}), got {type(messages).__name__}: "
            f"{str(messages)[:80]!r}"
        )
    messages = [dict(m) for m in messages]
    if not persona_text:
        return messages
    role = "system" if check_placement(placement) == "system" else "user"
    for message in messages:
        if message.get("role") != role:
            continue
        if not isinstance(message.get("content"), str):
            raise ConfigError(
                f"cannot put a persona into a {role} message whose content is not text "
                f"({type(message.get('content')).__name__})"
            )
        message["content"] = f"{persona_text}\n\n{message['content']}"
        return messages
    if role == "system":
        return [{"role": "system", "content": persona_text}, *messages]
    raise ConfigError(
        f"placement='user_prefix' needs a user message; this prompt has roles {[m.get('role') for m in messages]}"
    )


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
    user = [{"role": "user", "content": _user_turn(problem, instruction)}]
    return with_persona(user, persona_text, placement=placement)


def build_text(
    problem: str, persona_text: str | None = None, *, instruction: str | None = DEFAULT_INSTRUCTION
) -> str:
    """A plain-text prompt (for base models and TRL's standard format): persona, problem, instruction.

    Example:
        >>> build_text("What is 2 + 3?", "You are a pirate.", instruction=None)
        'You are a pirate.\\n\\nWhat is 2 + 3?'
    """
    (message,) = build_messages(problem, persona_text, placement="user_prefix", instruction=instruction)
    return message["content"]
