"""Personas: the system-prompt characters that PerMix-RLVR mixes into RLVR training prompts.

A `Persona` is one character ("You are a carpenter who ..."); a `PersonaPool` is an ordered, validated,
immutable set of them that can be sampled, filtered and looked up by id. Five pools ship with the package:

- ``lottery``: seven personas after the paper's Figure 1 (four math experts, a kindergartener, a carpenter,
  and ``none``, the no-persona prompt with empty text),
- ``train``: personas to mix into training prompts,
- ``eval``: held-out personas,
- ``styled``: personas with a checkable style (`permix_plugins.styles`: "begin every reply with 'Arr!'"), for
  teaching and rewarding styles, and ``styled_eval``: the same habits asked for in other words, held out.

No two built-in pools share an id or a text.

Pools also load from YAML/JSON/JSONL files (`PersonaPool.from_file`) and PersonaGym persona lists
(`PersonaPool.from_personagym`).

Example:
    >>> import random
    >>> lottery = PersonaPool.builtin("lottery")
    >>> len(lottery), lottery["none"].text
    (7, '')
    >>> lottery.sample(random.Random(0)).id in lottery
    True
"""

from __future__ import annotations

import ast
import collections
import difflib
import functools
import json
import random
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from importlib import resources
from os import PathLike
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from permix_plugins.errors import ConfigError, PersonaFileError
from permix_plugins.styles import CHECKS, Style

__all__ = ["BUILTIN_POOLS", "NO_PERSONA", "NO_PERSONA_ID", "Persona", "PersonaPool"]

NO_PERSONA_ID = "none"
BUILTIN_POOLS = ("lottery", "train", "eval", "styled", "styled_eval")

_SLUG = r"^[a-z0-9][a-z0-9_-]{0,63}$"
_SLUG_RULE = "1-64 lowercase letters, digits, '-' or '_', starting with a letter or digit"
_FILE_SUFFIXES = (".yaml", ".yml", ".json", ".jsonl")
_ACCEPTED = (
    "Accepted: a list of persona objects {id?, text, tags?, style?} or of plain strings (YAML/JSON may wrap the "
    "list as {personas: [...]}; JSONL holds one object or string per line)."
)
_MAX_PROBLEMS = 20  # listed in one error; the rest are counted
_ID_WORDS, _ID_CHARS = 6, 48  # derived ids: first 6 words, at most 48 characters


class Persona(BaseModel):
    """One persona: a slug `id`, the system-prompt `text`, `tags` to filter on, and an optional checkable `style`
    (`permix_plugins.styles`: how a reply in character looks, checked without a judge).

    Only the no-persona entry (id ``"none"``) has empty text, and it must. Text is stripped of outer spaces.

    Example:
        >>> Persona(id="pirate", text="You are a pirate. ", tags=["fictional"])
        Persona(id='pirate', text='You are a pirate.', tags=('fictional',), style=None)
        >>> Persona(id="pirate", text="You are a pirate who opens every reply with 'Arr!'.",
        ...         style={"starts_with": "Arr!"}).style.holds("Arr! 12 doubloons.")
        True
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=_SLUG)
    text: str
    tags: tuple[str, ...] = ()
    style: Style | None = None

    @field_validator("text")
    @classmethod
    def _check_text(cls, text: str, info: ValidationInfo) -> str:
        text = text.strip()
        if info.data.get("id") == NO_PERSONA_ID and text:
            raise ValueError(f"the {NO_PERSONA_ID!r} persona (no persona) must have empty text")
        if info.data.get("id") != NO_PERSONA_ID and not text:
            raise ValueError(
                f"must be a non-blank sentence (only the {NO_PERSONA_ID!r} persona has empty text)"
            )
        return text

    @field_validator("tags")
    @classmethod
    def _check_tags(cls, tags: tuple[str, ...]) -> tuple[str, ...]:
        for tag in tags:
            if not re.match(_SLUG, tag):
                raise ValueError(f"tag {tag!r} is not a slug ({_SLUG_RULE})")
        return tuple(dict.fromkeys(tags))  # drop repeats, keep order


NO_PERSONA = Persona(id=NO_PERSONA_ID, text="", tags=(NO_PERSONA_ID,))


class PersonaPool:
    """An ordered, immutable set of personas with unique ids and texts (texts compared ignoring case/spacing).

    Equality compares the personas in order; `name` is a label (file stem, built-in name or ``"custom"``).

    Example:
        >>> pool = PersonaPool([NO_PERSONA, Persona(id="owl", text="You are a wise owl.")], name="demo")
        >>> pool.ids, len(pool), "owl" in pool
        (('none', 'owl'), 2, True)
        >>> pool.without("none")["owl"].text
        'You are a wise owl.'
    """

    __slots__ = ("_by_id", "_personas", "name")
    name: str
    _personas: tuple[Persona, ...]
    _by_id: Mapping[str, Persona]

    def __init__(self, personas: Iterable[Persona], *, name: str = "custom") -> None:
        items = tuple(personas)
        for index, item in enumerate(items):
            if not isinstance(item, Persona):
                raise ConfigError(
                    f"PersonaPool {name!r}: item {index} is a {type(item).__name__}, not a Persona; build "
                    "it with Persona(id=..., text=...) or load a file with PersonaPool.from_file(path)"
                )
        if not items:
            raise ConfigError(f"PersonaPool {name!r} is empty; a pool needs at least one persona")
        for label, keys in (("ids", [p.id for p in items]), ("texts", [_text_key(p.text) for p in items])):
            repeated = sorted(k for k, count in collections.Counter(keys).items() if count > 1)
            if repeated:
                raise ConfigError(
                    f"PersonaPool {name!r} has duplicate {label}: {repeated}; each must be unique"
                )
        object.__setattr__(self, "_personas", items)
        object.__setattr__(self, "_by_id", MappingProxyType({p.id: p for p in items}))
        object.__setattr__(self, "name", name)

    # -- constructors

    @classmethod
    def builtin(cls, name: str) -> PersonaPool:
        """A pool shipped with the package: ``"lottery"``, ``"train"`` or ``"eval"`` (loaded once, cached).

        Example:
            >>> PersonaPool.builtin("train").name
            'train'
        """
        if name not in BUILTIN_POOLS:
            raise ConfigError(
                f"unknown built-in persona pool {name!r}; available: {', '.join(BUILTIN_POOLS)} "
                "(or pass a YAML/JSON/JSONL file to PersonaPool.from_file)"
            )
        return _load_builtin(name)

    @classmethod
    def from_file(cls, path: str | PathLike[str]) -> PersonaPool:
        """Read a pool from ``.yaml``/``.yml``, ``.json`` or ``.jsonl``; it is named after the file stem.

        Entries are objects ``{id?, text, tags?, style?}`` or plain strings (the text). A missing id is derived
        from the text: drop a leading "You are" and article (a/an/the), take the first 6 words, lowercase and
        fold to ASCII, turn runs of other characters into ``-``, cut to 48 characters at a ``-``; an empty
        result becomes ``persona``. A derived id that collides with an explicit id, an earlier derived id or
        ``none`` gets ``-2``, ``-3``, ... (first free, in file order), so no entry is ever dropped. Every
        problem in the file is reported in one `PersonaFileError` naming the file, entry and field.

        Example:
            >>> import pathlib, tempfile
            >>> path = pathlib.Path(tempfile.mkdtemp()) / "mine.yaml"
            >>> _ = path.write_text('- You are a sea captain.\\n- "You are a sea captain, retired."\\n')
            >>> PersonaPool.from_file(path).ids
            ('sea-captain', 'sea-captain-retired')
        """
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in _FILE_SUFFIXES:
            raise PersonaFileError(
                f"persona file '{path}': unknown extension {suffix or '(none)'!r}; accepted: "
                f"{', '.join(_FILE_SUFFIXES)} (PersonaGym .py/.txt lists: PersonaPool.from_personagym)"
            )
        return _parse_pool(f"'{path}'", _read_text(path), suffix, name=path.stem)

    @classmethod
    def from_personagym(cls, path: str | PathLike[str]) -> PersonaPool:
        """Read a PersonaGym persona list: ``personas.py`` (``benchmark_personas = [...]``, parsed, never
        executed), a JSON list of strings, or a text file with one description per line (``#`` lines skipped).

        Each description becomes second-person system-prompt text ("A 40-year-old baker" -> "You are a
        40-year-old baker."), tagged ``personagym``; ids are derived as in `from_file`.

        Example:
            >>> import pathlib, tempfile
            >>> path = pathlib.Path(tempfile.mkdtemp()) / "personas.py"
            >>> _ = path.write_text("benchmark_personas = ['An 80-year-old beekeeper from Wales']\\n")
            >>> PersonaPool.from_personagym(path)["80-year-old-beekeeper-from-wales"].text
            'You are an 80-year-old beekeeper from Wales.'
        """
        path = Path(path)
        source, raw, suffix = f"'{path}'", _read_text(path), path.suffix.lower()
        if suffix == ".py":
            items = _personagym_literals(source, raw)
        elif suffix == ".json":
            data = _parse_yaml_or_json(source, raw, ".json")
            if not isinstance(data, list):
                raise PersonaFileError(
                    f"persona file {source}: expected a JSON list of strings, got {_type_name(data)}"
                )
            items = [(f"entry [{i}]", item) for i, item in enumerate(data)]
        else:
            lines = enumerate(raw.splitlines(), 1)
            items = [
                (f"line {n}", s.strip()) for n, s in lines if s.strip() and not s.lstrip().startswith("#")
            ]
        return _build_pool(source, _description_entries(items), name=path.stem)

    @classmethod
    def from_descriptions(cls, descriptions: Iterable[str], *, name: str = "personagym") -> PersonaPool:
        """A pool from PersonaGym-style descriptions, each turned into system-prompt text as in
        `from_personagym` (tagged ``personagym``, ids derived as in `from_file`).

        Example:
            >>> PersonaPool.from_descriptions(["A 71-year-old retired nurse from Italy"]).ids
            ('71-year-old-retired-nurse-from-italy',)
        """
        items = [(f"entry [{index}]", item) for index, item in enumerate(descriptions)]
        return _build_pool(f"{name!r}", _description_entries(items), name=name)

    @classmethod
    def load(cls, spec: str | PathLike[str] | PersonaPool) -> PersonaPool:
        """A built-in name (which wins over a same-named file), a ``.py``/``.txt`` PersonaGym list, or a
        YAML/JSON/JSONL file; a pool is returned as is.

        Example:
            >>> PersonaPool.load("lottery") is PersonaPool.builtin("lottery")
            True
        """
        if isinstance(spec, PersonaPool):
            return spec
        if isinstance(spec, str) and spec in BUILTIN_POOLS:
            return cls.builtin(spec)
        path = Path(spec)
        if not path.is_file():
            raise ConfigError(
                f"persona pool {str(spec)!r} is neither a built-in pool ({', '.join(BUILTIN_POOLS)}) nor an "
                "existing file (.yaml, .yml, .json, .jsonl, or a PersonaGym .py/.txt list)"
            )
        if path.suffix.lower() in (".py", ".txt"):
            return cls.from_personagym(path)
        return cls.from_file(path)

    # -- use

    @property
    def ids(self) -> tuple[str, ...]:
        """The persona ids, in pool order."""
        return tuple(self._by_id)

    @property
    def tags(self) -> tuple[str, ...]:
        """Every tag used in the pool, sorted."""
        return tuple(sorted({tag for p in self._personas for tag in p.tags}))

    def sample(self, rng: random.Random) -> Persona:
        """One persona drawn uniformly with `rng` (a seeded `random.Random` makes it reproducible).

        Example:
            >>> pool = PersonaPool.builtin("lottery")
            >>> pool.sample(random.Random(7)) == pool.sample(random.Random(7))
            True
        """
        if not isinstance(rng, random.Random):
            raise TypeError(
                f"sample() takes a random.Random, e.g. random.Random(0), not {type(rng).__name__}"
            )
        return rng.choice(self._personas)

    def filter(self, *, tags: str | Iterable[str]) -> PersonaPool:
        """The personas carrying ANY of `tags` (a tag or a list of tags), in pool order, under the same name.

        Example:
            >>> PersonaPool.builtin("lottery").filter(tags=["child", "profession"]).ids
            ('kindergartener', 'carpenter')
        """
        wanted = {tags} if isinstance(tags, str) else set(tags)
        kept = [p for p in self._personas if wanted.intersection(p.tags)]
        if not kept:
            raise ConfigError(
                f"no persona in pool {self.name!r} has any of the tags {sorted(wanted)}; "
                f"tags in this pool: {', '.join(self.tags) or '(none)'}"
            )
        return PersonaPool(kept, name=self.name)

    def without(self, *ids: str, missing_ok: bool = False) -> PersonaPool:
        """The pool minus the given ids (unknown ids raise `KeyError` unless `missing_ok`).

        Example:
            >>> len(PersonaPool.builtin("lottery").without("none"))
            6
        """
        if not missing_ok:
            for persona_id in ids:
                self[persona_id]  # raises a KeyError that lists valid ids
        kept = [p for p in self._personas if p.id not in ids]
        if not kept:
            raise ConfigError(f"removing {list(ids)} leaves pool {self.name!r} empty")
        return PersonaPool(kept, name=self.name)

    @property
    def styled(self) -> tuple[str, ...]:
        """The ids of the personas that carry a style, in pool order."""
        return tuple(p.id for p in self._personas if p.style is not None)

    def shuffled(self, *, unit: Literal["chars", "words"] = "words", seed: int = 0) -> PersonaPool:
        """The control pool: each persona's text with its characters or words permuted, styles dropped.

        Lengths and the inventory of characters (or words) stay, the meaning goes: training on it credits what
        persona *text* does apart from what a persona *means*. Ids stay (results still line up); the pool is
        named ``<name>-shuffled-<unit>``; the no-persona entry stays empty. The same seed gives the same pool.

        Example:
            >>> pool = PersonaPool([Persona(id="owl", text="You are a wise old owl.")])
            >>> control = pool.shuffled(unit="words", seed=1)
            >>> sorted(control["owl"].text.split()) == sorted(pool["owl"].text.split()), control.name
            (True, 'custom-shuffled-words')
        """
        if unit not in ("chars", "words"):
            raise ConfigError(f"shuffled(unit=...) takes 'chars' or 'words', got {unit!r}")
        rng = random.Random(seed)

        def permuted(text: str) -> str:
            parts = list(text) if unit == "chars" else text.split()
            rng.shuffle(parts)
            return ("" if unit == "chars" else " ").join(parts)

        personas = [
            p if not p.text else p.model_copy(update={"text": permuted(p.text), "style": None}) for p in self
        ]
        return PersonaPool(personas, name=f"{self.name}-shuffled-{unit}")

    def to_records(self) -> list[dict[str, Any]]:
        """Plain dicts ``{id, text, tags, style?}`` (lists for tags and style strings) for YAML/JSON/JSONL;
        `from_file` reads them back.

        Example:
            >>> PersonaPool([NO_PERSONA]).to_records()
            [{'id': 'none', 'text': '', 'tags': ['none']}]
        """
        return [
            {"id": p.id, "text": p.text, "tags": list(p.tags)}
            | ({"style": p.style.to_dict()} if p.style else {})
            for p in self._personas
        ]

    def __getitem__(self, persona_id: str) -> Persona:
        try:
            return self._by_id[persona_id]
        except (KeyError, TypeError):
            close = difflib.get_close_matches(str(persona_id), self._by_id, n=3)
            hint = f"did you mean {', '.join(close)}? " if close else ""
            shown = ", ".join(self.ids[:8]) + (", ..." if len(self) > 8 else "")
            raise KeyError(
                f"no persona {persona_id!r} in pool {self.name!r}; {hint}valid ids ({len(self)}): {shown}"
            ) from None

    def __contains__(self, item: object) -> bool:
        if isinstance(item, Persona):
            return self._by_id.get(item.id) == item
        return isinstance(item, str) and item in self._by_id

    def __iter__(self) -> Iterator[Persona]:
        return iter(self._personas)

    def __len__(self) -> int:
        return len(self._personas)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PersonaPool) and self._personas == other._personas

    def __hash__(self) -> int:
        return hash(self._personas)

    def __repr__(self) -> str:
        shown = ", ".join(self.ids[:5]) + (", ..." if len(self) > 5 else "")
        return f"PersonaPool(name={self.name!r}, size={len(self)}, ids=[{shown}])"

    def __setattr__(self, key: str, value: object) -> None:
        raise AttributeError(
            f"PersonaPool is immutable (cannot set {key!r}); use filter(), without() or a new pool"
        )

    def __delattr__(self, key: str) -> None:
        raise AttributeError(f"PersonaPool is immutable (cannot delete {key!r})")

    def __reduce__(self) -> tuple[Any, ...]:  # pickle without going through the blocked __setattr__
        return (functools.partial(PersonaPool, name=self.name), (self._personas,))


@functools.cache
def _load_builtin(name: str) -> PersonaPool:
    resource = resources.files("permix_plugins") / "pools" / f"{name}.yaml"
    return _parse_pool(f"'permix_plugins/pools/{name}.yaml'", resource.read_text("utf-8"), ".yaml", name=name)


# -- file reading


class _UnreadableEntry(str):
    """An entry that could not be read at all (a bad JSONL line, a non-literal item), as the reason why."""


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PersonaFileError(f"cannot read persona file '{path}': {exc}") from exc


def _parse_yaml_or_json(source: str, raw: str, suffix: str) -> Any:
    kind = "YAML" if suffix in (".yaml", ".yml") else "JSON"
    try:
        return yaml.safe_load(raw) if kind == "YAML" else json.loads(raw)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise PersonaFileError(f"persona file {source} is not valid {kind}: {exc}\n{_ACCEPTED}") from exc


def _jsonl_line(line: str) -> Any:
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        return _UnreadableEntry(f"not valid JSON ({exc.msg} at column {exc.colno})")


def _parse_pool(source: str, raw: str, suffix: str, *, name: str) -> PersonaPool:
    if suffix == ".jsonl":
        lines = enumerate(raw.splitlines(), 1)
        return _build_pool(source, [(f"line {n}", _jsonl_line(s)) for n, s in lines if s.strip()], name=name)
    data = _parse_yaml_or_json(source, raw, suffix)
    if isinstance(data, dict):
        if "personas" not in data or set(data) - {"personas", "description"}:
            raise PersonaFileError(
                f"persona file {source}: a top-level mapping needs a 'personas' list and may also have a "
                f"'description'; found keys {sorted(map(str, data))}\n{_ACCEPTED}"
            )
        data = data["personas"]
    if not isinstance(data, list):
        raise PersonaFileError(
            f"persona file {source}: expected a list of personas, got {_type_name(data)}\n{_ACCEPTED}"
        )
    return _build_pool(source, [(f"entry [{i}]", entry) for i, entry in enumerate(data)], name=name)


def _build_pool(source: str, entries: list[tuple[str, Any]], *, name: str) -> PersonaPool:
    """Validate `(where, entry)` pairs, derive missing ids, raise one error listing every problem in order."""
    records = [
        (where, {"text": e} if type(e) is str else dict(e) if isinstance(e, dict) else e)
        for where, e in entries
    ]
    explicit = [r.get("id") for _, r in records if isinstance(r, dict)]
    taken = {NO_PERSONA_ID, *(i for i in explicit if isinstance(i, str))}
    for _, record in records:
        if isinstance(record, dict) and "id" not in record and isinstance(record.get("text"), str):
            base = candidate = _derive_id(record["text"])
            number = 2
            while candidate in taken:  # first free -2, -3, ... in file order
                candidate, number = f"{base}-{number}", number + 1
            taken.add(candidate)
            record["id"] = candidate
    problems: list[str] = []
    personas: list[Persona] = []
    first_seen: dict[str, str] = {}  # "id:<id>" / "text:<normalised text>" -> where
    for where, record in records:
        if isinstance(record, _UnreadableEntry):
            problems.append(f"{where}: {record}")
            continue
        if not isinstance(record, dict):
            problems.append(
                f"{where}: expected an object {{id?, text, tags?, style?}} or a string, got {_type_name(record)}"
            )
            continue
        try:
            persona = Persona.model_validate(record)
        except ValidationError as exc:  # a missing id is derived, never an error of its own
            errors = [e for e in exc.errors() if not (e["type"] == "missing" and e["loc"] == ("id",))]
            problems.extend(f"{where}, {_describe_persona_error(e)}" for e in errors)
            continue
        id_key, text_key = f"id:{persona.id}", f"text:{_text_key(persona.text)}"
        if id_key in first_seen:
            problems.append(
                f"{where}, field 'id': duplicate id {persona.id!r} (first used at {first_seen[id_key]})"
            )
        elif text_key in first_seen:
            problems.append(f"{where}, field 'text': duplicate text (same as {first_seen[text_key]})")
        else:
            first_seen[id_key] = first_seen[text_key] = where
            personas.append(persona)
    if not entries:
        problems.append("no personas (the list is empty)")
    if problems:
        listed = [f"  - {p}" for p in problems[:_MAX_PROBLEMS]]
        if len(problems) > _MAX_PROBLEMS:
            listed.append(f"  - ... and {len(problems) - _MAX_PROBLEMS} more")
        count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
        raise PersonaFileError("\n".join([f"invalid persona file {source} ({count}):", *listed, _ACCEPTED]))
    return PersonaPool(personas, name=name)


def _description_entries(items: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """PersonaGym descriptions as pool entries: second-person text tagged ``personagym``."""
    entries: list[tuple[str, Any]] = []
    for where, item in items:
        if type(item) is str and item.strip():
            item = {"text": _as_system_prompt(item), "tags": ["personagym"]}
        elif not isinstance(item, str):  # a blank string stays, to be reported as empty text
            item = _UnreadableEntry(f"expected a persona description string, got {_type_name(item)}")
        entries.append((where, item))
    return entries


def _personagym_literals(source: str, raw: str) -> list[tuple[str, Any]]:
    """The items of the ``benchmark_personas = [...]`` list (or of the only list assigned), via `ast`."""
    try:
        tree = ast.parse(raw)
    except SyntaxError as exc:
        raise PersonaFileError(
            f"persona file {source} is not valid Python (line {exc.lineno}): {exc.msg}"
        ) from exc
    lists: dict[str, ast.List | ast.Tuple] = {}
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, (ast.List, ast.Tuple)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            lists.update({t.id: node.value for t in targets if isinstance(t, ast.Name)})
    found = lists.get("benchmark_personas") or (next(iter(lists.values())) if len(lists) == 1 else None)
    if found is None:
        raise PersonaFileError(
            f"persona file {source}: found no `benchmark_personas = [...]` list (lists assigned: "
            f"{sorted(lists) or 'none'}); a PersonaGym personas.py assigns a list of description strings"
        )
    items: list[tuple[str, Any]] = []
    for index, element in enumerate(found.elts):
        try:
            value = ast.literal_eval(element)
        except (ValueError, TypeError, SyntaxError):
            value = _UnreadableEntry("not a string literal (the file is read, never executed)")
        items.append((f"entry [{index}] (line {element.lineno})", value))
    return items


# -- small helpers


def _derive_id(text: str) -> str:
    words = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().split()
    if words[:2] == ["you", "are"]:
        words = words[2:]
    if words and words[0] in ("a", "an", "the"):
        words = words[1:]
    slug = re.sub(r"[^a-z0-9]+", "-", " ".join(words[:_ID_WORDS])).strip("-")
    if len(slug) > _ID_CHARS:  # cut at a word boundary when there is one
        cut = slug[: _ID_CHARS + 1]
        slug = cut.rsplit("-", 1)[0] if "-" in cut else slug[:_ID_CHARS]
    return slug or "persona"


def _as_system_prompt(description: str) -> str:
    text = " ".join(description.split())
    if not text.lower().startswith("you are "):
        first = text.split(" ", 1)[0]
        text = "You are " + (first.lower() + text[len(first) :] if first in ("A", "An", "The") else text)
    return text if text[-1] in ".!?" else text + "."


def _text_key(text: str) -> str:
    return " ".join(text.split()).casefold()


def _describe_style(error: Any) -> str:
    """What is wrong in a style, and what the check accepts."""
    kind, loc = error["type"], error["loc"]
    check = str(loc[1]) if len(loc) > 1 else None
    if check is None:
        if kind in ("model_type", "model_attributes_type"):
            return f"must be a mapping of checks, e.g. {{starts_with: 'Arr!'}} (got {error['input']!r})"
        return str(error["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        return f"unknown check; accepted checks: {', '.join(CHECKS)}"
    accepted = {
        "number_words": "true or false",
        "uppercase": "true or false",
        "lowercase": "true or false",
        "max_words": "an integer >= 1",
    }.get(check, "a non-blank string or a non-empty list of non-blank strings")
    return f"must be {accepted} (got {error['input']!r})"


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _describe_persona_error(error: Any) -> str:
    """One pydantic error as "field 'x': what is wrong and what is accepted" (``'style.max_words'`` inside a style)."""
    loc = [str(part) for part in error["loc"]]
    kind, field = error["type"], f"field {'.'.join(loc[:2])!r}" if loc else "entry"
    if loc[:1] == ["style"]:
        return f"{field}: {_describe_style(error)}"
    if kind == "extra_forbidden":
        return f"{field}: unknown key; accepted keys: id, text, tags, style"
    if kind == "missing":
        return f"{field}: is required (the system-prompt sentence)"
    if kind == "tuple_type":
        return f"{field}: must be a list of tags, e.g. [expert, math] (got {error['input']!r})"
    if kind == "string_pattern_mismatch":
        return f"{field}: {error['input']!r} is not a slug ({_SLUG_RULE})"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{field}: {message}" + ("" if kind == "value_error" else f" (got {error['input']!r})")
