"""The engine of the `permix` command: options generated from settings models, the parser, and `main`.

A subcommand is one settings model (a `Settings` subclass: one field per option, with its type, default,
constraints and help) and one handler that takes the validated model: `@command("name", Model, help=...)`.
The flags are generated from the model (``max_new_tokens`` is ``--max-new-tokens``, a ``bool`` field that
defaults to True is ``--no-<name>``, its help "turn off <description>"), with the default in the help taken from
the model, so a default lives in one place; a bad value is reported by `Settings.parse`, naming the flag.
Settings models are light to import; handlers import what they run, so a missing framework only matters for the
command that uses it. The commands live in one module per group (`permix_plugins.cli.export`, ...), each
registering its commands when it is imported.
"""

from __future__ import annotations

import argparse
import os
import sys
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from permix_plugins.errors import PermixError
from permix_plugins.settings import Settings, flag_name

__all__ = ["COMMANDS", "Command", "NoOptions", "build_parser", "command", "group", "log_progress", "main"]


@dataclass(frozen=True)
class Command:
    """A subcommand: its settings model, its handler, and how its flags read on the command line.

    `group` nests it under a parent command (``permix export verl``); `positional` fields are given without a
    flag; `aliases` adds flags to a field (``--benchmark`` for ``--problems``); `metavars` names the values.
    """

    name: str
    settings: type[Settings]
    handler: Callable[[Any], int]
    help: str
    description: str | None = None
    group: str | None = None
    positional: tuple[str, ...] = ()
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    metavars: Mapping[str, str] = field(default_factory=dict)


COMMANDS: list[Command] = []  # in the order `permix --help` lists them
_GROUPS: dict[str, str] = {}  # a group of commands (``permix export TARGET``) -> its help


def group(name: str, *, help: str) -> str:
    """Declare ``permix NAME TARGET``, a command group; its commands name it as ``@command(..., group=NAME)``."""
    _GROUPS[name] = help
    return name


def command(
    name: str, settings: type[Settings], *, help: str, **how: Any
) -> Callable[[Callable[[Any], int]], Callable[[Any], int]]:
    """Register the decorated handler as ``permix NAME``, its options generated from `settings`."""

    def register(handler: Callable[[Any], int]) -> Callable[[Any], int]:
        COMMANDS.append(Command(name, settings, handler, help, **how))
        return handler

    return register


class NoOptions(Settings):
    """A command without options."""


def log_progress() -> None:
    """Let a long command's progress messages (logging, INFO) through to stderr, unless logging is set up."""
    import logging

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="permix: %(message)s")


# ------------------------------------------------------------------------------------------------ the parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="permix", description="Persona-mixed RLVR tools (permix-plugins).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    groups: dict[str, Any] = {}
    for cmd in COMMANDS:
        where = sub
        if cmd.group is not None:
            if cmd.group not in groups:
                group = sub.add_parser(cmd.group, help=_GROUPS[cmd.group])
                groups[cmd.group] = group.add_subparsers(dest="target", required=True, metavar="TARGET")
            where = groups[cmd.group]
        p = where.add_parser(cmd.name, help=cmd.help, description=cmd.description)
        add_options(p, cmd)
        p.set_defaults(_command=cmd)
    return parser


def add_options(parser: argparse.ArgumentParser, cmd: Command) -> None:
    """One argument per field of `cmd.settings`: its type, choices, default (in the help) and requiredness."""
    model = cmd.settings
    for name, info in model.model_fields.items():
        key = info.alias or name
        kind, choices = _argparse_type(info.annotation)
        text = (info.description or "") + _default_text(model, name)
        if kind is bool and info.default is True:
            text = f"turn off {text}"
        spec: dict[str, Any] = {"help": text.replace("%", "%%"), "default": argparse.SUPPRESS}
        if kind is bool:
            spec["action"] = "store_false" if info.default is True else "store_true"
        elif kind is list:
            spec["nargs"] = "*"
        else:
            spec.update(type=kind, choices=choices, metavar=cmd.metavars.get(name))
        if name in cmd.positional:
            parser.add_argument(key, nargs="?" if not info.is_required() else None, **spec)
            continue
        flags = [
            flag_name(f"no_{key}" if spec.get("action") == "store_false" else key),
            *cmd.aliases.get(name, ()),
        ]
        parser.add_argument(*flags, dest=key, required=info.is_required(), **spec)


def _argparse_type(annotation: Any) -> tuple[type, list[str] | None]:
    """The argparse type (and choices) of a field annotation: ``X | None`` is X, a Literal gives choices."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        return _argparse_type(args[0])
    if typing.get_origin(annotation) is Literal:
        return str, [str(a) for a in args]
    if typing.get_origin(annotation) is list:
        return list, None
    if annotation in (bool, int, float):
        return annotation, None
    return str, None


def _default_text(model: type[Settings], name: str) -> str:
    shown = model.default_text(name)
    return f" ({shown})" if shown else ""


def main(argv: Sequence[str] | None = None) -> int:
    """Run `permix` with `argv`; user errors print one line naming the problem and exit with status 2."""
    args = build_parser().parse_args(argv)
    cmd: Command = args._command
    name = " ".join(filter(None, [args.command, getattr(args, "target", None)]))
    options = {k: v for k, v in vars(args).items() if k not in ("command", "target", "_command")}
    try:
        return cmd.handler(cmd.settings.parse(**options))
    except PermixError as exc:
        print(f"permix {name}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (`permix personas train | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit's flush
        return 1
