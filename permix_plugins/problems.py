"""Problem sources: a seeded offline generator, GSM8K, MATH-500, AIME 2024, and local JSONL/parquet files.

Every source yields a `datasets.Dataset` whose rows have `problem`, `answer` (the gold final answer as a string)
and a stable `id`, plus whatever other columns the source carries.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from permix_plugins.errors import ConfigError

if TYPE_CHECKING:
    from datasets import Dataset

__all__ = [
    "ANSWER_COLUMNS",
    "HUB_SOURCES",
    "PROBLEM_COLUMNS",
    "ProblemColumns",
    "SourceKind",
    "load_problems",
    "normalize_problems",
    "source_kind",
    "synthetic_problems",
]

PROBLEM_COLUMNS = ("problem", "question", "prompt")
ANSWER_COLUMNS = ("answer", "solution")
_FILE_BUILDERS = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv"}


# ----------------------------------------------------------------------------------------------- hub sources
@dataclass(frozen=True)
class HubSource:
    """Where a public benchmark lives on the Hub and which of its columns hold the problem, answer and id."""

    path: str
    config: str | None
    default_split: str
    problem_column: str
    answer_column: str
    id_column: str | None = None


HUB_SOURCES: dict[str, HubSource] = {
    # GSM8K's `answer` is a worked solution ending in "#### <number>"; the final answer is taken after ####.
    "gsm8k": HubSource("openai/gsm8k", "main", "test", "question", "answer"),
    "math500": HubSource("HuggingFaceH4/MATH-500", None, "test", "problem", "answer", "unique_id"),
    "aime24": HubSource("HuggingFaceH4/aime_2024", None, "train", "problem", "answer", "id"),
}


SourceKind = Literal["synthetic", "hub", "file"]


def source_kind(source: str | Path) -> SourceKind:
    """What a problem source names: the built-in generator, a benchmark from the Hub (`HUB_SOURCES`), or a local
    file (no splits of its own). Anything else is a `ConfigError` listing what is accepted.

    Example:
        >>> source_kind("synthetic"), source_kind("gsm8k"), source_kind("data/mine.jsonl")
        ('synthetic', 'hub', 'file')
    """
    name = str(source)
    if name == "synthetic":
        return "synthetic"
    if name in HUB_SOURCES:
        return "hub"
    if Path(name).suffix.lower() in _FILE_BUILDERS:
        return "file"
    raise ConfigError(
        f"unknown problem source {name!r}: use 'synthetic', one of {sorted(HUB_SOURCES)}, "
        f"or a path ending in one of {sorted(_FILE_BUILDERS)}"
    )


def load_problems(
    source: str | Path,
    *,
    split: str | None = None,
    limit: int | None = None,
    seed: int = 0,
    data_files: str | Path | None = None,
    problem_column: str | None = None,
    answer_column: str | None = None,
    id_column: str | None = None,
    levels: Sequence[int] | None = None,
) -> Dataset:
    """Load problems as a `datasets.Dataset` with `problem`, `answer` and `id` columns.

    `source` is `"synthetic"` (offline, seeded; `split` is `train` or `test`, disjoint by construction),
    `"gsm8k"`, `"math500"`, `"aime24"` (from the Hub, or from `data_files` with the same schema), or a path to a
    local `.jsonl`/`.json`/`.parquet`/`.csv` file whose columns are auto-detected or named.

    Example:
        >>> ds = load_problems("synthetic", split="test", limit=3, seed=1)
        >>> ds.column_names[:3], len(ds)
        (['id', 'problem', 'answer'], 3)
    """
    name = str(source)
    kind = source_kind(name)
    if kind == "synthetic":
        return synthetic_problems(
            limit if limit is not None else 1000, split=split or "train", seed=seed, levels=levels
        )
    if kind == "hub":
        return _load_hub(HUB_SOURCES[name], name, split, limit, data_files)
    path = Path(name)
    if not path.exists():
        raise ConfigError(f"problems file {str(path)!r} does not exist")
    ds = _load_file(path, split or "train")
    ds = normalize_problems(
        ds,
        problem_column=problem_column,
        answer_column=answer_column,
        id_column=id_column,
        id_prefix=path.stem,
    )
    return ds.select(range(min(limit, len(ds)))) if limit is not None else ds


def _load_file(path: Path, split: str) -> Dataset:
    from datasets import load_dataset

    return load_dataset(_FILE_BUILDERS[path.suffix.lower()], data_files={split: str(path)}, split=split)


def _load_hub(
    spec: HubSource, name: str, split: str | None, limit: int | None, data_files: str | Path | None
) -> Dataset:
    split = split or spec.default_split
    if data_files is not None:
        ds = _load_file(Path(data_files), split)
    else:
        from datasets import load_dataset

        try:
            ds = load_dataset(spec.path, spec.config, split=split)
        # Offline, or the Hub unreachable: datasets raises ConnectionError for both.
        except ConnectionError as exc:
            raise ConfigError(
                f"cannot load {name!r} ({spec.path}) from the Hugging Face Hub: {exc}; pass a local copy instead "
                f"(a .jsonl/.json/.parquet/.csv file as the problems source, or data_files=)"
            ) from None
    if limit is not None:
        ds = ds.select(range(min(limit, len(ds))))
    return normalize_problems(
        ds,
        problem_column=spec.problem_column,
        answer_column=spec.answer_column,
        id_column=spec.id_column,
        id_prefix=f"{name}-{split}",
    )


# ------------------------------------------------------------------------------------------- normalisation
def _detect(
    columns: Sequence[str], wanted: str | None, candidates: Sequence[str], role: str, where: str
) -> str:
    if wanted is not None:
        if wanted not in columns:
            raise ConfigError(f"{role} column {wanted!r} is not in {where}; its columns are {list(columns)}")
        return wanted
    for name in candidates:
        if name in columns:
            return name
    raise ConfigError(
        f"no {role} column found in {where} (looked for {list(candidates)}; columns are {list(columns)}); "
        f"name it with {role}_column=..."
    )


def normalize_problems(
    problems: Dataset | Iterable[Mapping[str, Any]] | str | Path,
    *,
    problem_column: str | None = None,
    answer_column: str | None = None,
    id_column: str | None = None,
    id_prefix: str = "row",
    num_proc: int | None = None,
) -> Dataset:
    """Bring any problem table to the `id`, `problem`, `answer` schema; other columns are kept.

    The answer may be a plain value, a `\\boxed{}` value, a GSM8K `####` solution or a worked solution with a
    final box: `answer` gets the final answer, and a worked solution is kept in `solution`. Runs as a batched
    `Dataset.map` (in `num_proc` processes), cached next to a dataset that lives in files.

    Example:
        >>> ds = normalize_problems([{"question": "1+1?", "answer": "Add them. #### 2"}])
        >>> ds[0]["id"], ds[0]["problem"], ds[0]["answer"], ds[0]["solution"]
        ('row-0', '1+1?', '2', 'Add them. #### 2')
    """
    from permix_plugins._cached_map import cached_map

    if isinstance(problems, (str, Path)):
        return load_problems(
            problems, problem_column=problem_column, answer_column=answer_column, id_column=id_column
        )
    problems = as_dataset(problems)
    columns = ProblemColumns.detect(
        problems.column_names,
        problem_column=problem_column,
        answer_column=answer_column,
        id_column=id_column,
        id_prefix=id_prefix,
    )
    table = cached_map(
        problems,
        _normalize_batch,
        key=["normalize_problems/1", problems._fingerprint, asdict(columns)],
        batched=True,
        with_indices=True,
        remove_columns=columns.replaced,
        fn_kwargs={"columns": columns},
        num_proc=num_proc,
        try_original_type=False,  # ids become strings whatever their type was
        desc="Normalizing problems",
    )
    return columns.finish(table, len(problems))


def as_dataset(problems: Dataset | Iterable[Mapping[str, Any]]) -> Dataset:
    """`problems` as a `datasets.Dataset` (a list of dicts is converted; it must not be empty)."""
    from datasets import Dataset

    if isinstance(problems, Dataset):
        return problems
    rows = list(problems)
    if not rows:
        raise ConfigError("the problem list is empty")
    return Dataset.from_list(rows)


def _normalize_batch(
    batch: Mapping[str, list[Any]], indices: list[int], *, columns: ProblemColumns
) -> dict[str, list[Any]]:
    return columns.normalize(batch, indices)


@dataclass(frozen=True)
class ProblemColumns:
    """Where a problem table keeps its problem, answer and id, and how its rows become `id`, `problem`, `answer`
    (and `solution`); `normalize_problems` and `PersonaMixDataset` apply it batch by batch."""

    problem: str
    answer: str
    id: str | None
    id_prefix: str
    with_solution: bool  # a worked solution is kept as `solution`, unless the table has its own

    @classmethod
    def detect(
        cls,
        columns: Sequence[str],
        *,
        problem_column: str | None = None,
        answer_column: str | None = None,
        id_column: str | None = None,
        id_prefix: str = "row",
    ) -> ProblemColumns:
        """The columns of a table with `columns`, auto-detected or as named; a missing one raises `ConfigError`."""
        where = "the problems"
        problem = _detect(columns, problem_column, PROBLEM_COLUMNS, "problem", where)
        answer = _detect(columns, answer_column, ANSWER_COLUMNS, "answer", where)
        if id_column is not None and id_column not in columns:
            raise ConfigError(f"id column {id_column!r} is not in {where}; its columns are {list(columns)}")
        id_ = id_column or ("id" if "id" in columns else None)
        with_solution = "solution" not in columns or answer == "solution"
        return cls(problem, answer, id_, id_prefix, with_solution)

    @property
    def replaced(self) -> list[str]:
        """The input columns that the normalized ones replace."""
        return list(dict.fromkeys(c for c in (self.problem, self.answer, self.id) if c))

    def normalize(self, batch: Mapping[str, list[Any]], rows: Iterable[int]) -> dict[str, list[Any]]:
        """The normalized columns of one batch; `rows` are the batch's row numbers (for ids the table lacks)."""
        from permix_plugins.answers import extract_gold

        raw = [str(a) if a is not None else "" for a in batch[self.answer]]
        out = {
            "id": [str(i) for i in batch[self.id]] if self.id else [f"{self.id_prefix}-{i}" for i in rows],
            "problem": [str(p) for p in batch[self.problem]],
            "answer": [extract_gold(a) or "" for a in raw],
        }
        if self.with_solution:
            out["solution"] = raw
        return out

    def finish(self, table: Dataset, rows: int) -> Dataset:
        """`table` (normalized batch by batch from `rows` input rows, maybe repeated) with `id`, `problem`,
        `answer` first, `solution` only if some answer was a worked solution, and ids checked to be unique."""
        import pyarrow.compute as pc

        data = table.data
        if self.with_solution and not _any_worked(data.column("solution"), data.column("answer")):
            table = table.remove_columns("solution")
        if self.id is not None and pc.count_distinct(data.column("id")).as_py() != rows:
            raise ConfigError(
                "ids in the problems are not unique; name a unique id column with id_column=..."
            )
        first = ["id", "problem", "answer"]
        return table.select_columns(first + [c for c in table.column_names if c not in first])


def _any_worked(solutions: Any, answers: Any) -> bool:
    """Whether some raw answer is more than its final answer; stops at the first chunk that has one."""
    import pyarrow.compute as pc

    offset = 0
    for chunk in solutions.chunks:  # a worked solution usually shows in the first chunk: no need to read on
        same = pc.equal(pc.utf8_trim_whitespace(chunk), answers.slice(offset, len(chunk)).combine_chunks())
        if not pc.all(same).as_py():
            return True
        offset += len(chunk)
    return False


# ----------------------------------------------------------------------------------- the offline generator
_NAMES = (
    "Ava",
    "Ben",
    "Chloe",
    "Dev",
    "Ema",
    "Finn",
    "Gia",
    "Hugo",
    "Ines",
    "Jon",
    "Kai",
    "Lena",
    "Milo",
    "Nora",
)
_ITEMS = ("apples", "marbles", "stickers", "books", "pencils", "coins", "shells", "cards", "stamps", "beads")
_CONTAINERS = ("boxes", "bags", "jars", "baskets", "crates")


def _level0(r: random.Random) -> tuple[str, Fraction, str]:
    form = r.randrange(4)
    if form == 0:
        a, b = r.sample(range(10, 100), 2)
        return f"Which is larger, {a} or {b}?", Fraction(max(a, b)), "larger"
    if form == 1:
        a, b, c = r.sample(range(10, 100), 3)
        return f"What is the smallest of {a}, {b} and {c}?", Fraction(min(a, b, c)), "smallest"
    n = r.randint(10, 98)
    if form == 2:
        return f"What number comes right after {n}?", Fraction(n + 1), "after"
    return f"What number comes right before {n}?", Fraction(n - 1), "before"


def _level1(r: random.Random) -> tuple[str, Fraction, str]:
    a, b = r.randint(2, 99), r.randint(2, 99)
    op = r.choice("+-*")
    if op == "*":
        a, b = r.randint(2, 19), r.randint(2, 12)
    value = {"+": a + b, "-": a - b, "*": a * b}[op]
    return f"What is {a} {op} {b}?", Fraction(value), {"+": "add", "-": "subtract", "*": "multiply"}[op]


def _level2(r: random.Random) -> tuple[str, Fraction, str]:
    a, b, c = r.randint(2, 30), r.randint(2, 30), r.randint(2, 9)
    form = r.randrange(3)
    if form == 0:
        return f"Compute ({a} + {b}) * {c}.", Fraction((a + b) * c), "sum-times"
    if form == 1:
        return f"Compute {a} * {c} - {b}.", Fraction(a * c - b), "times-minus"
    q = r.randint(2, 12)
    return f"Compute {q * c} / {c} + {a}.", Fraction(q + a), "divide-plus"


def _level3(r: random.Random) -> tuple[str, Fraction, str]:
    name, item = r.choice(_NAMES), r.choice(_ITEMS)
    start, given, bought = r.randint(10, 60), r.randint(1, 9), r.randint(2, 20)
    if r.random() < 0.5:
        text = f"{name} has {start} {item}. {name} gives away {given} and then buys {bought} more. How many {item} does {name} have now?"
        return text, Fraction(start - given + bought), "gives-buys"
    other = r.choice([n for n in _NAMES if n != name])
    text = f"{name} has {start} {item} and {other} has {bought} more than {name}. How many {item} do they have together?"
    return text, Fraction(2 * start + bought), "together"


def _level4(r: random.Random) -> tuple[str, Fraction, str]:
    form = r.randrange(4)
    if form == 0:
        boxes, per, num, den = r.randint(2, 9), r.randint(2, 12) * 4, r.choice((1, 3)), 4
        container, item = r.choice(_CONTAINERS), r.choice(_ITEMS)
        text = f"There are {boxes} {container} with {per} {item} in each. {num}/{den} of all the {item} are sold. How many {item} are sold?"
        return text, Fraction(boxes * per * num, den), "fraction-of"
    if form == 1:
        price, pct = r.randint(2, 40) * 5, r.choice((10, 20, 25, 50))
        return (
            f"A jacket costs {price} dollars and is discounted by {pct}%. What is the sale price in dollars?",
            Fraction(price * (100 - pct), 100),
            "discount",
        )
    if form == 2:
        a, b = r.randint(1, 5), r.randint(2, 7)
        c, d = r.randint(1, 5), r.randint(2, 7)
        text = f"What is {a}/{b} + {c}/{d}? Give the answer as a fraction in lowest terms."
        return text, Fraction(a, b) + Fraction(c, d), "fraction-sum"
    speed, hours, extra = r.randint(3, 12) * 5, r.randint(2, 6), r.randint(1, 4) * 10
    return (
        f"A train travels at {speed} km per hour for {hours} hours and then another {extra} km. How many km does it travel in total?",
        Fraction(speed * hours + extra),
        "distance",
    )


_GIVE_UP_AFTER = 50_000  # consecutive draws without a new problem: the levels' problem space is exhausted
_LEVELS: dict[int, Callable[[random.Random], tuple[str, Fraction, str]]] = {
    0: _level0,
    1: _level1,
    2: _level2,
    3: _level3,
    4: _level4,
}
_DEFAULT_LEVELS = (1, 2, 3, 4)


def _fraction_text(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def _split_of(problem: str) -> str:
    # The split is a function of the problem text, so train and test can never share a problem.
    return "test" if hashlib.blake2b(problem.encode(), digest_size=2).digest()[0] % 5 == 0 else "train"


def synthetic_problems(
    n: int, *, split: str = "train", seed: int = 0, levels: Sequence[int] | None = None
) -> Dataset:
    """`n` distinct seeded arithmetic and word problems with exact answers, at difficulty `levels` (default 1-4).

    Level 0: number sense (compare numbers, the number before or after; small enough for a model trained from
    scratch on a CPU, as in `permix demo`); 1: one operation; 2: two operations; 3: short word problems; 4:
    multi-step word problems with fractions and percentages. About a fifth of all problems fall in `test`, the
    rest in `train`. Each row also names its question type in `kind` (``larger``, ``smallest``, ``after``,
    ``before``; ``add``, ``subtract``, ``multiply``; ...), for accuracy by type.

    Example:
        >>> ds = synthetic_problems(2, split="train", seed=0, levels=[1])
        >>> ds[0]["problem"].startswith("What is"), ds[0]["level"], ds[0]["kind"]
        (True, 1, 'add')
    """
    from datasets import Dataset

    if split not in ("train", "test"):
        raise ConfigError(f"synthetic problems have splits 'train' and 'test', not {split!r}")
    if n < 1:
        raise ConfigError(f"the number of synthetic problems must be at least 1, got {n}")
    chosen = tuple(levels) if levels else _DEFAULT_LEVELS
    bad = [lv for lv in chosen if lv not in _LEVELS]
    if bad:
        raise ConfigError(f"unknown synthetic difficulty levels {bad}; use any of {sorted(_LEVELS)}")
    rng = random.Random(f"permix-synthetic/{seed}")
    rows: dict[str, list[Any]] = {"id": [], "problem": [], "answer": [], "level": [], "kind": []}
    seen: set[str] = set()
    misses = 0
    while misses < _GIVE_UP_AFTER:
        level = rng.choice(chosen)
        problem, value, kind = _LEVELS[level](rng)
        if problem in seen or _split_of(problem) != split:
            misses += 1
            continue
        misses = 0
        seen.add(problem)
        rows["id"].append("syn-" + hashlib.blake2b(problem.encode(), digest_size=6).hexdigest())
        rows["problem"].append(problem)
        rows["answer"].append(_fraction_text(value))
        rows["level"].append(level)
        rows["kind"].append(kind)
        if len(seen) == n:
            return Dataset.from_dict(rows)
    raise ConfigError(
        f"only {len(seen)} distinct {split} problems exist at levels {list(chosen)}; ask for fewer"
    )
