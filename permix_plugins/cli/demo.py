"""``permix demo``: the persona lab (`permix_plugins.lab`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from permix_plugins.cli.engine import command
from permix_plugins.lab.config import LabConfig
from permix_plugins.settings import Settings, optional_field


def _lab_knob(name: str) -> Any:
    """`LabConfig`'s field `name` (its constraint and text) as an option that, unset, keeps the preset's value."""
    field = LabConfig.model_fields[name]
    return optional_field(
        field, description=f"{field.description} (default: the preset's, {field.default} in the tiny lab)"
    )


class DemoOptions(Settings):
    """The options of ``permix demo``; unset knobs keep the preset's values (`permix_plugins.lab.lab_config`)."""

    out: str = Field(
        default="permix-demo", description="output directory (report.md, summary.json, plots, models)"
    )
    model: str | None = Field(
        default=None,
        description="start from this instruct model (named, e.g. smollm2-135m-instruct, a directory or a Hub id) "
        "and train LoRA adapters; default: a tiny model built from scratch",
    )
    quick: bool = Field(default=False, description="a shrunken run for smoke tests (tens of seconds)")
    seeds: int = Field(default=1, ge=1, description="independent runs, seeds --seed, --seed + 1, ...")
    seed: int | None = _lab_knob("seed")
    persona_prob: float | None = _lab_knob("persona_prob")
    sft_steps: int | None = _lab_knob("sft_steps")
    grpo_steps: int | None = _lab_knob("grpo_steps")
    test_problems: int | None = _lab_knob("test_problems")
    control: Literal["shuffled", "none"] | None = _lab_knob("control")


@command(
    "demo",
    DemoOptions,
    help="the persona lab: RLVR, PerMix-RLVR and a shuffled-persona control from one start model, on CPU",
)
def _demo(options: DemoOptions) -> int:
    from permix_plugins.lab import lab_config, run_lab, run_seeds

    knobs = options.model_dump(exclude={"out", "seeds"})
    config = lab_config(out_dir=options.out, **knobs)

    def say(line: str) -> None:
        print(line, flush=True)

    if options.seeds > 1:
        run_seeds(config, options.seeds, log=say)
    else:
        run_lab(config, log=say)
    return 0
