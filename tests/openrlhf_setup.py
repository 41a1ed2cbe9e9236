"""Where OpenRLHF is installed, for the tests that run its own code (`pip install --no-deps openrlhf==0.11.2`)."""

from __future__ import annotations

from pathlib import Path

import pytest

try:
    from openrlhf.utils import agent
except ImportError:  # the adapter's own tests still run
    agent = None
needs_openrlhf = pytest.mark.skipif(agent is None, reason="needs `pip install --no-deps openrlhf==0.11.2`")
OPENRLHF = Path(agent.__file__).resolve().parents[1] if agent is not None else Path()
