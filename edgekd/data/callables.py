"""`module:callable` / `file.py:callable` returning the user's own data sets.

The callable may return `(train, test)` torch Datasets (items `(x, y)`), one Dataset (split
here), or a ready DataBundle. Datasets are read once into arrays: edgekd trains on in-memory
arrays (see trainer.py), so the data must fit in memory.
"""

from __future__ import annotations

import numpy as np

from edgekd.data.bundle import DataBundle
from edgekd.errors import EdgeKDError
from edgekd.loading import call_with_known_args, resolve_callable


def _to_numpy(v) -> np.ndarray:
    if hasattr(v, "detach"):
        v = v.detach().cpu().numpy()
    return np.asarray(v)


def _materialize(ds, spec: str, which: str) -> tuple[np.ndarray, np.ndarray]:
    if not hasattr(ds, "__getitem__") or not hasattr(ds, "__len__"):
        raise EdgeKDError(
            f"data '{spec}': the {which} set is a {type(ds).__name__}, not a map-style "
            "Dataset (with __len__ and __getitem__ returning (x, y))"
        )
    xs, ys = [], []
    for i in range(len(ds)):
        item = ds[i]
        if not isinstance(item, tuple | list) or len(item) < 2:
            raise EdgeKDError(
                f"data '{spec}': {which}[{i}] is a {type(item).__name__}; items must be (x, y)"
            )
        xs.append(_to_numpy(item[0]))
        ys.append(_to_numpy(item[1]).reshape(()))
    if not xs:
        raise EdgeKDError(f"data '{spec}': the {which} set is empty (0 samples); supply samples")
    shapes = {x.shape for x in xs}
    if len(shapes) > 1:
        raise EdgeKDError(
            f"data '{spec}': {which} samples have different shapes {sorted(shapes)[:2]}; "
            "every x must have the same shape"
        )
    return np.stack(xs), np.stack(ys)


def load_callable_data(spec: str, seed: int = 0) -> DataBundle:
    from edgekd.data.objects import bundle_from_object  # it reads Datasets with this module

    result = call_with_known_args(resolve_callable(spec, "data"), spec, "data", seed=seed)
    return bundle_from_object(result, spec, seed)
