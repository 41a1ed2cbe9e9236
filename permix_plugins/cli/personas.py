"""``permix personas``: the personas of a pool."""

from __future__ import annotations

import sys

from pydantic import Field

from permix_plugins.cli.engine import command
from permix_plugins.settings import Settings


class PersonasOptions(Settings):
    """The options of ``permix personas``."""

    pool: str = Field(
        default="train", description="lottery, train, eval, styled, styled_eval, or a persona file"
    )
    tags: list[str] | None = Field(default=None, description="keep personas carrying any of these tags")


@command(
    "personas",
    PersonasOptions,
    help="list the personas of a pool (built-in name or file)",
    positional=("pool",),
)
def _personas(options: PersonasOptions) -> int:
    from permix_plugins.personas import PersonaPool
    from permix_plugins.styles import encode_style

    pool = PersonaPool.load(options.pool)
    if options.tags:
        pool = pool.filter(tags=options.tags)
    for persona in pool:
        style = f"  style {encode_style(persona.style)}" if persona.style else ""
        print(f"{persona.id:<40} [{', '.join(persona.tags)}] {persona.text}{style}")
    print(f"# {len(pool)} personas in {pool.name!r}", file=sys.stderr)
    return 0
