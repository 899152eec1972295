"""Data a caller already holds -> one validated DataBundle, through the same checks as files.

Accepted: `(X, y)` (NumPy arrays or tensors), `{"train": ..., "test": ..., "val": ...}`
whose splits are each `(X, y)` or a Dataset ("val" optional: split off train otherwise), a
map-style Dataset of `(x, y)` items, `(train_dataset, test_dataset)`, or a ready DataBundle.
A `module:callable` data spec returns the same things, so both end here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edgekd.data.arrays import as_features, as_labels, bundle_from_arrays
from edgekd.data.bundle import DataBundle
from edgekd.data.datasets import materialize, to_numpy
from edgekd.errors import EdgeKDError
from edgekd.objects import is_dataset, is_tensor

SPLITS = ("train", "val", "test")


def _is_array(v: Any) -> bool:
    return isinstance(v, np.ndarray) or is_tensor(v)


def _pair(obj: Any, name: str, which: str) -> tuple[np.ndarray, np.ndarray]:
    """One split: `(X, y)` or a map-style Dataset of `(x, y)` items, as NumPy arrays."""
    if isinstance(obj, tuple | list) and len(obj) == 2 and all(_is_array(v) for v in obj):
        return to_numpy(obj[0]), to_numpy(obj[1])
    if is_dataset(obj):
        return materialize(obj, name, which)
    raise EdgeKDError(
        f"data '{name}': the {which} split is a {type(obj).__name__}; give (X, y) arrays or "
        "tensors, or a Dataset of (x, y) items"
    )


def _from_splits(splits: dict, name: str, seed: int) -> DataBundle:
    unknown = sorted(set(splits) - set(SPLITS))
    if unknown or "train" not in splits or "test" not in splits:
        raise EdgeKDError(
            f"data '{name}': a dict of splits needs keys 'train' and 'test' (and optionally "
            f"'val'), got {sorted(str(k) for k in splits)}"
        )
    x, y = _pair(splits["train"], name, "train")
    x_test, y_test = _pair(splits["test"], name, "test")
    if "val" not in splits:
        return bundle_from_arrays(name, x, y, x_test, y_test, seed=seed)
    x_val, y_val = _pair(splits["val"], name, "val")
    arrays = {
        s: (as_features(a, name, s), as_labels(b, name, s))
        for s, (a, b) in {"train": (x, y), "val": (x_val, y_val), "test": (x_test, y_test)}.items()
    }
    for s in ("val", "test"):
        if arrays[s][0].shape[1:] != arrays["train"][0].shape[1:]:
            raise EdgeKDError(
                f"data '{name}': {s} samples have shape {arrays[s][0].shape[1:]} but train "
                f"samples have {arrays['train'][0].shape[1:]}; they must match"
            )
    num_classes = max((int(b.max()) for _, b in arrays.values() if len(b)), default=0) + 1
    if num_classes < 2:
        raise EdgeKDError(f"data '{name}': needs at least 2 classes, found {num_classes}")
    flat = [v for s in SPLITS for v in arrays[s]]
    return DataBundle(name, *flat, num_classes=num_classes).validate()


def bundle_from_object(obj: Any, name: str, seed: int = 0) -> DataBundle:
    """Any accepted in-memory data (see the module docstring) as a validated DataBundle."""
    if isinstance(obj, DataBundle):
        obj.name = obj.name or name
        return obj.validate()
    if isinstance(obj, dict):
        return _from_splits(obj, name, seed)
    if isinstance(obj, tuple | list) and len(obj) == 2 and not all(_is_array(v) for v in obj):
        train, test = obj  # (train_dataset, test_dataset)
    elif isinstance(obj, tuple | list) and len(obj) != 2:
        raise EdgeKDError(
            f"data '{name}' is a {type(obj).__name__} of {len(obj)} items; give (X, y) arrays, "
            "a dict of splits, or a Dataset of (x, y) items"
        )
    else:
        train, test = obj, None
    classes = getattr(train, "classes", None)  # torchvision-style datasets name their classes
    num_classes = len(classes) if isinstance(classes, list | tuple) else None
    x, y = _pair(train, name, "train")
    x_test, y_test = _pair(test, name, "test") if test is not None else (None, None)
    return bundle_from_arrays(name, x, y, x_test, y_test, seed=seed, num_classes=num_classes)
