"""Map-style Datasets (items `(x, y)`) and tensors read into NumPy arrays, once: edgekd trains
on in-memory arrays (see trainer.py), so the data must fit in memory.

Shared by the data-callable loader (callables.py), in-memory data (objects.py) and transfer
sets, below all three so none imports another for it.
"""

from __future__ import annotations

import numpy as np

from edgekd.errors import EdgeKDError


def to_numpy(v) -> np.ndarray:
    if hasattr(v, "detach"):
        v = v.detach().cpu().numpy()
    return np.asarray(v)


def materialize(ds, spec: str, which: str) -> tuple[np.ndarray, np.ndarray]:
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
        xs.append(to_numpy(item[0]))
        ys.append(to_numpy(item[1]).reshape(()))
    if not xs:
        raise EdgeKDError(f"data '{spec}': the {which} set is empty (0 samples); supply samples")
    shapes = {x.shape for x in xs}
    if len(shapes) > 1:
        raise EdgeKDError(
            f"data '{spec}': {which} samples have different shapes {sorted(shapes)[:2]}; "
            "every x must have the same shape"
        )
    return np.stack(xs), np.stack(ys)
