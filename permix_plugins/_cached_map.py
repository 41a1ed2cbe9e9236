"""`Dataset.map` built once per set of arguments: a fingerprint of what determines the rows, and a file lock.

datasets names a map's cache file after the result's fingerprint, which by default hashes the pickled function and
its arguments. Here the caller names what determines the rows (the input's fingerprint, the settings, a format
version), so every rank and every rerun with the same arguments computes the same fingerprint and finds the same
cache file; the lock lets the first process build it while the others wait, then read it. An input held in memory
(no cache files) is mapped in memory, as datasets does.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from permix_plugins._version import __version__

if TYPE_CHECKING:
    from datasets import Dataset


def cached_map(
    dataset: Dataset, function: Callable[..., Any], *, key: Sequence[Any], **map_kwargs: Any
) -> Dataset:
    """``dataset.map(function, **map_kwargs)`` under the fingerprint ``hash(key)``, built by one process at a time.

    Example:
        >>> from datasets import Dataset
        >>> ds = cached_map(Dataset.from_dict({"x": [1, 2]}), lambda row: {"x": 2 * row["x"]}, key=["double", 1])
        >>> ds.to_dict()
        {'x': [2, 4]}
    """
    from datasets import is_caching_enabled
    from datasets.fingerprint import Hasher
    from filelock import FileLock

    fingerprint = Hasher.hash([__version__, *key])
    if not (dataset.cache_files and is_caching_enabled()):
        return dataset.map(function, new_fingerprint=fingerprint, **map_kwargs)
    directory = os.path.dirname(dataset.cache_files[0]["filename"])  # where datasets puts the cache file
    with FileLock(os.path.join(directory, f"permix-{fingerprint}.lock")):
        return dataset.map(function, new_fingerprint=fingerprint, **map_kwargs)
