"""The reward file OpenRLHF loads by path: ``--reward.remote_url $(permix openrlhf-reward-path)``.

OpenRLHF executes this file as a standalone module (``spec_from_file_location("reward_func", path)``, never
registered in ``sys.modules``) and calls its top-level ``reward_func``. The code lives in the importable
`permix_plugins.adapters.openrlhf`, for two reasons: a file executed that way cannot define dataclasses under
``from __future__ import annotations`` (``dataclasses`` looks the module up in ``sys.modules``), and importing
keeps one module state per process however many executors load this file.
"""

from __future__ import annotations

from permix_plugins.adapters.openrlhf import reward_func

__all__ = ["reward_func"]
