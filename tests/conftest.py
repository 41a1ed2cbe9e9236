"""Offline test setup: no Hub, no network beyond loopback, caches in a temp dir, tiny models built in code."""

from __future__ import annotations

import os
import socket
import tempfile

import pytest

# Set before datasets/transformers are imported anywhere in the test session.
os.environ.update(
    HF_HUB_OFFLINE="1",
    HF_DATASETS_OFFLINE="1",
    TRANSFORMERS_OFFLINE="1",
    TOKENIZERS_PARALLELISM="false",
    WANDB_MODE="disabled",
    HF_HOME=os.environ.get("PERMIX_TEST_HF_HOME") or tempfile.mkdtemp(prefix="permix-hf-"),
)

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: object) -> None:
    host = address[0] if isinstance(address, tuple) else None
    if host is not None and host not in ("127.0.0.1", "localhost", "::1", "0.0.0.0"):
        raise OSError(f"tests are offline: refused a connection to {address!r}")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


@pytest.fixture(scope="session")
def tiny_tokenizer():
    from permix_plugins.tinylm import build_tokenizer

    return build_tokenizer()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory):
    """A tiny Llama + character tokenizer saved with save_pretrained (for frameworks that load from a path)."""
    from tiny_models import TINY_SIZE

    from permix_plugins.tinylm import save_tiny_model

    return save_tiny_model(tmp_path_factory.mktemp("tiny-model"), **TINY_SIZE)


@pytest.fixture(scope="module")
def tiny_lm():
    """A tiny Llama and its own character tokenizer, in memory (a test may change the tokenizer's settings)."""
    from tiny_models import build_tiny_model

    from permix_plugins.tinylm import build_tokenizer

    tokenizer = build_tokenizer()
    return build_tiny_model(tokenizer), tokenizer


@pytest.fixture(scope="module")
def verifier():
    """A `MathVerifier` of the module's own: two warm workers, `verifier_setup.TIMEOUT_S` per check."""
    from verifier_setup import TIMEOUT_S

    from permix_plugins.verifier import MathVerifier

    with MathVerifier(timeout_s=TIMEOUT_S, workers=2) as warm:
        assert warm.warm_up() == 2
        yield warm


@pytest.fixture(scope="module")
def fast_default_verifier():
    """The default verifier (the one every reward uses) with 1.5 s per check and one warm worker, for a module."""
    from permix_plugins import verifier as verifier_module

    configured = verifier_module.configure(timeout_s=1.5, workers=1)
    configured.warm_up()
    yield configured
    verifier_module.configure()  # back to the environment's settings (workers start lazily)
    configured.close()


@pytest.fixture(scope="module")
def verl_tokenizer(tiny_model_dir):
    """The tiny model's character tokenizer as verl loads it from a path (needs the verl extra)."""
    from verl.utils import hf_tokenizer

    return hf_tokenizer(str(tiny_model_dir), trust_remote_code=True)


@pytest.fixture(scope="session")
def builtin_pools():
    """Every built-in persona pool by name."""
    from permix_plugins.personas import BUILTIN_POOLS, PersonaPool

    return {name: PersonaPool.builtin(name) for name in BUILTIN_POOLS}
