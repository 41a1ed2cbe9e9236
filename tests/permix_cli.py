"""The `permix` command line run in this process, with what it printed."""

from __future__ import annotations

import pytest

from permix_plugins.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`permix ARGV...`: (exit code, stdout, stderr)."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err
