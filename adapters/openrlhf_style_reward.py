"""The style-reward file OpenRLHF loads by path: ``--reward.remote_url $(permix openrlhf-reward-path --reward style)``.

The same shim as ``openrlhf_reward.py`` (see there why the code lives in `permix_plugins.adapters.openrlhf`), but
OpenRLHF's ``reward_func`` here is `style_reward_func`: the reward is whether the response meets its persona's
checkable style, not whether its answer is right.
"""

from __future__ import annotations

from permix_plugins.adapters.openrlhf import style_reward_func as reward_func

__all__ = ["reward_func"]
