"""Check that every extra of permix-plugins installs: pip resolves it against the index, installing nothing.

    python scripts/check_extras.py              # every extra but NOT_IN_ALL; exit 1 names each one that fails
    python scripts/check_extras.py openrlhf     # only the extras named, each alone (e.g. on a GPU machine)

`all` holds every extra but those in NOT_IN_ALL (checked here first), so one resolution of ``.[all]`` shows that
each of its extras installs: a set of packages that satisfies all of them satisfies each. Only when it fails is
each extra resolved alone, to name the ones at fault. Measured on a 2-core machine: about 70 s with pip 26.3, which
reads only the wheels' metadata; about 3 min with pip 23.2, which downloads the whole wheels (vLLM's is 320 MB).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]

# Extras that cannot be in `all`, and why (pyproject.toml says the same beside `all`).
NOT_IN_ALL = {
    "openrlhf": "OpenRLHF pins flash-attn and deepspeed, sdists that import torch to build (flash-attn against "
    "CUDA), and transformers==5.15.0, which verl's transformers<5.11 excludes",
}
# Packages whose resolved versions are worth printing: they decide whether the frameworks work together.
SHOWN = ("torch", "transformers", "trl", "verl", "vllm", "accelerate")
MESSAGE_LINES = 25  # pip's last lines are the ones that name the conflict or the failed build


@dataclass(frozen=True)
class Resolution:
    extra: str
    ok: bool
    seconds: float
    message: str  # pip's error on failure; the resolved versions of SHOWN packages on success


Resolver = Callable[[Path, str], Resolution]


def optional_dependencies(project: Path) -> dict[str, list[str]]:
    with (project / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)["project"].get("optional-dependencies", {})


def members_of_all(extras: dict[str, list[str]]) -> set[str]:
    """The extras `all` pulls in through self-references such as ``permix-plugins[trl,verl]``."""
    members: set[str] = set()
    for requirement in extras.get("all", []):
        match = re.fullmatch(r"permix[-_]plugins\[([^\]]*)\]", requirement.strip())
        if match:
            members |= {name.strip() for name in match.group(1).split(",")}
    return members


def coverage_problems(extras: dict[str, list[str]]) -> list[str]:
    """What keeps `all` from standing for every installable extra."""
    if "all" not in extras:
        return ["there is no `all` extra"]
    members = members_of_all(extras)
    problems = [
        f"[{name}] is not in [all]: add it there, or to NOT_IN_ALL in scripts/check_extras.py with the reason"
        for name in sorted(set(extras) - members - set(NOT_IN_ALL) - {"all"})
    ]
    problems += [
        f"[{name}] is in [all] but cannot be: {NOT_IN_ALL[name]}"
        for name in sorted(members & NOT_IN_ALL.keys())
    ]
    problems += [
        f"[all] names [{name}], which pyproject.toml does not define"
        for name in sorted(members - set(extras))
    ]
    return problems


def pip_resolve(project: Path, extra: str) -> Resolution:
    """``pip install --dry-run`` of ``project[extra]`` as if nothing were installed."""
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet"]
    command += ["--report", "-", f"{project}[{extra}]"]
    start = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - start
    if done.returncode != 0:
        lines = [
            line for line in done.stderr.splitlines() if line.strip() and not line.startswith("WARNING:")
        ]
        return Resolution(extra, False, seconds, "\n".join(lines[-MESSAGE_LINES:]))
    report = json.loads(done.stdout)
    versions = {item["metadata"]["name"].lower(): item["metadata"]["version"] for item in report["install"]}
    shown = ", ".join(f"{name} {versions[name]}" for name in SHOWN if name in versions)
    return Resolution(extra, True, seconds, shown)


def check(project: Path = ROOT, only: Sequence[str] = (), resolve: Resolver = pip_resolve) -> list[str]:
    """Resolve the extras and return one problem per extra that does not install (empty when all do)."""
    if only:
        results = [_announce(resolve(project, extra)) for extra in only]
        return [_problem(result) for result in results if not result.ok]
    extras = optional_dependencies(project)
    problems = coverage_problems(extras)
    if problems:
        return problems
    together = _announce(resolve(project, "all"))
    members = sorted(members_of_all(extras))
    if together.ok:
        print(f"so each of {', '.join(f'[{name}]' for name in members)} installs", flush=True)
        return []
    alone = [_announce(resolve(project, extra)) for extra in members]
    failed = [_problem(result) for result in alone if not result.ok]
    return failed or [f"each extra installs alone, but not all together:\n{_indent(together.message)}"]


def _announce(result: Resolution) -> Resolution:
    verdict = "resolves" if result.ok else "does NOT resolve"
    detail = f": {result.message}" if result.ok and result.message else ""
    print(f"[{result.extra}] {verdict} ({result.seconds:.0f} s){detail}", flush=True)
    return result


def _problem(result: Resolution) -> str:
    return f"[{result.extra}] does not install; pip says:\n{_indent(result.message)}"


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines())


def main(argv: Sequence[str] = ()) -> int:
    skipped = "" if argv else f" (not {', '.join(sorted(NOT_IN_ALL))}: see NOT_IN_ALL)"
    print(f"resolving the extras of {ROOT} with {sys.executable} -m pip{skipped}", flush=True)
    problems = check(ROOT, only=argv)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
