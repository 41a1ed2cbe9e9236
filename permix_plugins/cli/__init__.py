"""The `permix` command: a thin shell over the Python API (parse options, call one function, print a result).

`engine` generates each command's options from its settings model and runs it (`main`); the other modules hold
the commands, one module per group, and register them when imported, here in the order ``permix --help`` lists
them. Importing this package imports no adapter: a command that needs one imports it when it runs.
"""

from __future__ import annotations

import importlib

from permix_plugins.cli.engine import COMMANDS, Command, build_parser, command, main

__all__ = ["COMMANDS", "Command", "build_parser", "command", "main"]

COMMAND_MODULES = ("demo", "personas", "evaluate", "export", "models")

for _module in COMMAND_MODULES:
    importlib.import_module(f"{__name__}.{_module}")
