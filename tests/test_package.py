"""Packaging: a light import, a complete public namespace, and a wheel that carries the adapters."""

from __future__ import annotations

import ast
import doctest
import importlib
import importlib.util
import json
import re
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

import permix_plugins

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "trl", "verl", "openrlhf", "ray", "vllm")


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_import_is_light():  # every core module loading no framework: tests/test_layers.py
    loaded = _modules_after("import permix_plugins")
    assert not {m for m in loaded if m.split(".")[0] in (*HEAVY, "datasets")}


def test_root_names_resolve_to_their_modules_public_objects():
    exports = permix_plugins._EXPORTS
    assert sorted(permix_plugins.__all__) == sorted([*exports, "__version__"])  # each listed name has a route
    for name, module_name in exports.items():
        module = importlib.import_module(module_name)
        assert name in module.__all__, f"{name} is not public in {module_name}"
        assert getattr(permix_plugins, name) is getattr(module, name), name
    # type checkers see the same names from the same modules (the TYPE_CHECKING imports)
    tree = ast.parse((ROOT / "permix_plugins" / "__init__.py").read_text())
    (checking,) = [n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING"]
    static = {
        a.asname or a.name: n.module
        for n in ast.walk(checking)
        if isinstance(n, ast.ImportFrom)
        for a in n.names
    }
    assert static == exports
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        permix_plugins.nope  # noqa: B018


def test_root_exports_every_name_the_docs_import_from_it():
    sources = [ROOT / "README.md", *ROOT.glob("docs/**/*.md"), *ROOT.glob("examples/**/*.py")]
    promised = set()
    for path in sources:
        for names in re.findall(
            r"^\s*from permix_plugins import \(?([\w, ]+)", path.read_text(), re.MULTILINE
        ):
            promised |= {name.strip() for name in names.split(",") if name.strip()}
    assert {"PersonaMixDataset", "PersonaPool", "load_problems"} <= promised  # the README's quick start
    assert promised <= set(permix_plugins.__all__), promised - set(permix_plugins.__all__)


ADAPTERS_WITH_EXAMPLES = sorted(p.stem for p in (ROOT / "adapters").glob("*.py") if ">>>" in p.read_text())


@pytest.mark.parametrize("name", ADAPTERS_WITH_EXAMPLES)
def test_adapter_examples_run_under_the_installed_name(name):
    # pytest's doctest collection would import adapters/ a second time as `adapters.*`, so it is not in testpaths
    module = importlib.import_module(f"permix_plugins.adapters.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
    assert "adapters" not in sys.modules


@pytest.mark.slow
def test_wheel_contains_adapters_and_installs_cleanly(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
        text=True,
    )
    (wheel,) = dist.glob(f"permix_plugins-{permix_plugins.__version__}-*.whl")  # the build reads _version.py
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "permix_plugins/__init__.py",
        "permix_plugins/adapters/__init__.py",
        "permix_plugins/evaluation/runner.py",
        "permix_plugins/py.typed",
        "permix_plugins/pools/train.yaml",
        "permix_plugins/lab/plain_personas.yaml",
    ):
        assert expected in names, expected
    sources = [  # every module and data file of the repo ships
        f"permix_plugins/{p.relative_to(ROOT / 'permix_plugins')}"
        for pattern in ("*.py", "*.yaml")
        for p in (ROOT / "permix_plugins").rglob(pattern)
    ]
    sources += [f"permix_plugins/adapters/{p.name}" for p in (ROOT / "adapters").glob("*.py")]
    assert sorted(set(sources) - names) == []
    assert not any(n.startswith(("tests/", "adapters/", "examples/")) for n in names)

    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True, capture_output=True
    )
    code = (
        "import permix_plugins, permix_plugins.adapters, importlib.resources as r;"
        "print(permix_plugins.adapters.__file__);"
        "print(r.files('permix_plugins').joinpath('pools/lottery.yaml').is_file())"
    )
    out = subprocess.run(
        [python, "-c", code], check=True, capture_output=True, text=True, cwd=tmp_path
    ).stdout
    adapters_file, has_pool = out.split()
    assert adapters_file.startswith(str(env)) and adapters_file.endswith(
        "permix_plugins/adapters/__init__.py"
    )
    assert has_pool == "True"


@pytest.fixture
def check_extras(monkeypatch):
    """scripts/check_extras.py as a module (registered while the test runs, for its dataclass)."""
    spec = importlib.util.spec_from_file_location("check_extras", ROOT / "scripts" / "check_extras.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "check_extras", module)
    spec.loader.exec_module(module)
    return module


def test_all_holds_every_extra_but_openrlhf(check_extras):
    extras = check_extras.optional_dependencies(ROOT)
    assert check_extras.coverage_problems(extras) == []
    assert check_extras.members_of_all(extras) == set(extras) - {"all", "openrlhf"}


def test_extras_check_names_each_extra_that_does_not_resolve(check_extras, tmp_path, capsys):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "p"\n[project.optional-dependencies]\n'
        'a = ["x"]\nb = ["y"]\nc = ["z"]\nall = ["permix-plugins[a,b]"]\n'
    )
    assert check_extras.check(tmp_path) == [
        "[c] is not in [all]: add it there, or to NOT_IN_ALL in scripts/check_extras.py with the reason"
    ]
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "p"\n[project.optional-dependencies]\na = ["x"]\nb = ["y"]\nall = ["permix-plugins[a,b]"]\n'
    )
    calls = []

    def resolver(failing):
        def resolve(project, extra):
            calls.append(extra)
            ok = extra not in failing
            return check_extras.Resolution(extra, ok, 1.0, "" if ok else f"{extra}: conflict\ndetail")

        return resolve

    assert check_extras.check(tmp_path, resolve=resolver(set())) == []
    assert calls == ["all"]  # one resolution stands for every member
    calls.clear()
    assert check_extras.check(tmp_path, resolve=resolver({"all", "b"})) == [
        "[b] does not install; pip says:\n    b: conflict\n    detail"
    ]
    assert calls == ["all", "a", "b"]
    assert check_extras.check(tmp_path, resolve=resolver({"all"})) == [
        "each extra installs alone, but not all together:\n    all: conflict\n    detail"
    ]
    assert check_extras.check(tmp_path, only=["a"], resolve=resolver({"a"})) == [
        "[a] does not install; pip says:\n    a: conflict\n    detail"
    ]
    assert "[b] does NOT resolve" in capsys.readouterr().out


@pytest.mark.slow
def test_every_extra_resolves_on_the_index():
    """pip resolves `.[all]` against the package index (about a minute; CI reaches PyPI)."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "check_extras.py")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "[all] resolves" in out.stdout
