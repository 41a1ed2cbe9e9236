"""The backend registry (`evaluation/backends/registry.py`): names, options per backend, a missing model path,
and a backends package without import cycles."""

from __future__ import annotations

import re

import pytest

from permix_plugins.errors import ConfigError
from permix_plugins.evaluation import OpenAIBackend, TransformersBackend, VLLMBackend, load_backend


def test_backend_names_and_options_come_from_the_backends():
    from permix_plugins.evaluation.backends.registry import BACKENDS, backend_options, option_backends

    assert list(BACKENDS) == [TransformersBackend.name, VLLMBackend.name, OpenAIBackend.name]
    assert (
        backend_options("openai")["concurrency"] == 16 and backend_options("transformers")["batch_size"] == 16
    )
    assert option_backends("dtype") == ["transformers", "vllm"]


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        (
            "openai",
            {"batch_size": 8},
            "option batch_size does not apply to backend 'openai' (it is for transformers)",
        ),
        (
            "transformers",
            {"base_url": "http://x/v1"},
            "option base_url does not apply to backend 'transformers'",
        ),
        (
            "vllm",
            {"device": "cuda:1"},
            "option device does not apply to backend 'vllm' (it is for transformers)",
        ),
        (
            "openai",
            {"tensor_parallel_size": 2},
            "option tensor_parallel_size does not apply to backend 'openai'",
        ),
    ],
)
def test_options_that_do_not_apply_to_the_backend_are_errors(name, options, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_backend(name, "m", **options)


def test_a_missing_local_model_path_is_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        ConfigError, match=r"model './checkpoint-7' is not an existing path, not a named model"
    ):
        load_backend("transformers", "./checkpoint-7")


def test_backends_package_has_no_import_cycle():
    """`base` imports nothing of the package; each backend imports only `base`; the registry imports them."""
    import ast
    import pathlib

    import permix_plugins.evaluation.backends as package

    folder = pathlib.Path(package.__file__).parent
    imports = {}
    for path in folder.glob("*.py"):
        tree = ast.parse(path.read_text())
        imports[path.stem] = {
            node.module.rsplit(".", 1)[-1]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(package.__name__ + ".")
        }
    assert imports["base"] == set()
    assert all(imports[b] == {"base"} for b in ("transformers_backend", "vllm_backend", "openai_backend"))
    assert imports["registry"] == {"base", "transformers_backend", "vllm_backend", "openai_backend"}
