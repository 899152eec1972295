"""`module:callable` / `file.py:callable` returning the user's own data sets.

The callable may return `(train, test)` torch Datasets (items `(x, y)`), one Dataset (split
here), or a ready DataBundle. Datasets are read once into arrays: edgekd trains on in-memory
arrays (see trainer.py), so the data must fit in memory.
"""

from __future__ import annotations

from edgekd.data.bundle import DataBundle
from edgekd.data.objects import bundle_from_object
from edgekd.loading import call_with_known_args, resolve_callable


def load_callable_data(spec: str, seed: int = 0) -> DataBundle:
    result = call_with_known_args(resolve_callable(spec, "data"), spec, "data", seed=seed)
    return bundle_from_object(result, spec, seed)
