"""The core's layers: importing it loads no adapter and no framework, and no module imports one on a layer above."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import permix_plugins

CORE = Path(permix_plugins.__file__).resolve().parent
FRAMEWORKS = ("torch", "transformers", "trl", "verl", "openrlhf", "ray", "vllm")


# Each module of the core sits on one layer (a subpackage as a whole) and imports only from layers below it; a
# subpackage's modules import each other freely. The adapters sit on top; only the CLI's adapter commands import
# one, inside the command.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "_version", "_lazy", "_warn_once", "_text", "verify_workers"),  # no permix import
    ("_optional", "settings", "_cached_map", "answers"),
    ("styles",),
    ("personas", "prompting", "exact", "models", "tinylm", "cpu_grpo", "_reporting"),
    ("mix_config", "problems", "verifier", "stability"),
    ("mixing", "math", "verl_settings"),
    ("evaluation",),
    ("fidelity", "lab"),
    ("cli", ""),  # "" is the package root, which re-exports the public API
    ("adapters",),
)
LAYER = {unit: level for level, units in enumerate(LAYERS) for unit in units}

WALK_THE_CORE = """
import importlib, json, pkgutil, sys
import permix_plugins

def walk(package):
    for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
        if info.name.startswith("permix_plugins.adapters") or info.name.endswith(".__main__"):
            continue  # adapters may import frameworks; a __main__ module runs a command
        module = importlib.import_module(info.name)
        yield info.name
        if info.ispkg:
            yield from walk(module)

print(json.dumps({"imported": list(walk(permix_plugins)), "loaded": sorted(sys.modules)}))
"""


def test_importing_every_core_module_loads_no_adapter_and_no_framework():
    out = subprocess.run([sys.executable, "-c", WALK_THE_CORE], check=True, capture_output=True, text=True)
    result = json.loads(out.stdout)
    assert {"permix_plugins.math", "permix_plugins.evaluation.runner", "permix_plugins.lab.run"} <= set(
        result["imported"]
    )  # the walk reached the subpackages
    loaded = set(result["loaded"])
    assert not {m for m in loaded if m.startswith("permix_plugins.adapters")}
    assert not {m for m in loaded if m.split(".")[0] in FRAMEWORKS}


def _module_name(path: Path, core: Path = CORE) -> str:
    parts = path.relative_to(core.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _unit(module: str) -> str:
    """The layer unit of a permix_plugins module: its module or subpackage under the root ("" for the root)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _imports(path: Path) -> list[tuple[str, bool]]:
    """The permix_plugins modules `path` imports, each with whether the import is inside a function."""
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        if isinstance(node, ast.Import):
            found.extend((alias.name, in_function) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for (
                alias
            ) in node.names:  # `from permix_plugins import math` names a module, `... import X` the root
                submodule = f"{node.module}.{alias.name}"
                is_module = node.module == "permix_plugins" and _unit(submodule) in LAYER
                found.append((submodule if is_module else node.module, in_function))
        inside = in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        for child in ast.iter_child_nodes(node):
            visit(child, inside)

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return [(name, lazy) for name, lazy in found if name.split(".")[0] == "permix_plugins"]


def test_every_core_module_is_on_a_layer():
    units = {_unit(_module_name(path)) for path in CORE.rglob("*.py")}
    assert units <= set(LAYER), f"add {sorted(units - set(LAYER))} to LAYERS"


def _breaches(core: Path) -> list[str]:
    """ "<module> imports <target>" for each import in the package at `core` that points to its own layer or up."""
    breaches = []
    for path in sorted(core.rglob("*.py")):
        module = _module_name(path, core)
        for target, lazy in _imports(path):
            if _unit(target) == _unit(module):
                continue  # within one module or subpackage
            if _unit(target) == "adapters" and _unit(module) == "cli" and lazy:
                continue  # an adapter command imports its adapter when it runs
            if LAYER.get(_unit(target), len(LAYERS)) >= LAYER[_unit(module)]:
                breaches.append(f"{module} imports {target}")
    return breaches


def test_no_module_imports_one_on_a_layer_above_it():
    assert _breaches(CORE) == []


@pytest.mark.parametrize(
    ("source", "breach"),
    [
        ("from permix_plugins import __version__\n", "permix_plugins.problems imports permix_plugins"),
        (
            "def f():\n    from permix_plugins.math import score\n",
            "permix_plugins.problems imports permix_plugins.math",
        ),
        (
            "import permix_plugins.adapters.verl\n",
            "permix_plugins.problems imports permix_plugins.adapters.verl",
        ),
        (
            "from permix_plugins.verifier import Verdict\n",
            "permix_plugins.problems imports permix_plugins.verifier",
        ),
        ("from permix_plugins import answers, errors\n", None),  # modules below, named from the root
    ],
)
def test_the_layer_check_sees_imports_at_any_depth(tmp_path, source, breach):
    fake = tmp_path / "permix_plugins"
    fake.mkdir()
    (fake / "problems.py").write_text(source)
    assert _breaches(fake) == ([breach] if breach else [])
