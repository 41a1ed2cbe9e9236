"""The vLLM backend (`evaluation/backends/vllm_backend.py`): the missing extra, and vLLM's API shape stood in."""

from __future__ import annotations

import sys
import types

import pytest

from permix_plugins.errors import MissingDependencyError
from permix_plugins.evaluation import VLLMBackend, load_backend


def test_vllm_missing_names_the_extra():
    if _importable("vllm"):
        pytest.skip("vllm is installed")
    with pytest.raises(MissingDependencyError, match=r"pip install 'permix-plugins\[vllm\]'"):
        load_backend("vllm", "some/model")


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def test_vllm_backend_against_vllms_api_shape(monkeypatch, tiny_lm):
    _, tokenizer = tiny_lm
    made: dict = {}

    class SamplingParams:
        def __init__(self, **kwargs):
            self.kwargs = kwargs

    class LLM:
        def __init__(self, **kwargs):
            made.update(kwargs)

        def get_tokenizer(self):
            return tokenizer

        def chat(self, messages, sampling_params=None, use_tqdm=True):
            made["chat"] = (messages, sampling_params, use_tqdm)
            completion = types.SimpleNamespace
            return [
                types.SimpleNamespace(
                    outputs=[
                        completion(index=i, text=f"{conv[-1]['content']}#{i}")
                        for i in reversed(range(p.kwargs["n"]))
                    ]
                )
                for conv, p in zip(messages, sampling_params, strict=True)
            ]

    monkeypatch.setitem(sys.modules, "vllm", types.SimpleNamespace(LLM=LLM, SamplingParams=SamplingParams))
    backend = load_backend("vllm", "org/model", seed=3, max_new_tokens=64, tensor_parallel_size=2)
    assert (
        isinstance(backend, VLLMBackend) and backend.supports_system_role and backend.model_id == "org/model"
    )
    assert made["model"] == "org/model" and made["seed"] == 3 and made["tensor_parallel_size"] == 2
    prompts = [[{"role": "user", "content": "a"}], [{"role": "user", "content": "b"}]]
    assert backend.generate(prompts, n=2, temperature=0.7, seed=1) == [["a#0", "a#1"], ["b#0", "b#1"]]
    messages, params, use_tqdm = made["chat"]
    assert messages == prompts and use_tqdm is False
    assert [p.kwargs["max_tokens"] for p in params] == [64, 64] and params[0].kwargs["temperature"] == 0.7
    assert params[0].kwargs["seed"] != params[1].kwargs["seed"]
