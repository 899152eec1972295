"""Arrays a user brings -> one validated DataBundle, checked before anything trains.

Every file-based source (npz, csv, image folder, module:callable) ends here, so the checks
(lengths, label range, NaN/inf, empty sets) and the splits are the same for all of them.
"""

from __future__ import annotations

import numpy as np

from edgekd.data.bundle import DataBundle
from edgekd.data.labels import compact_labels
from edgekd.data.rows import Rows, is_streamed
from edgekd.errors import EdgeKDError

VAL_FRACTION = 0.1
TEST_FRACTION = 0.2


def _split(x: np.ndarray, y: np.ndarray, fraction: float, seed: int):
    """Stratified when every class can be split, plain seeded shuffle otherwise."""
    from sklearn.model_selection import train_test_split

    try:
        x_keep, x_held, y_keep, y_held = train_test_split(
            x, y, test_size=fraction, stratify=y, random_state=seed
        )
    except ValueError:
        x_keep, x_held, y_keep, y_held = train_test_split(
            x, y, test_size=fraction, random_state=seed
        )
    return x_keep, y_keep, x_held, y_held


def as_labels(y, name: str, split: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise EdgeKDError(
            f"data '{name}': {split} labels must be one class index per sample, got shape "
            f"{y.shape}; pass class indices, not one-hot rows"
        )
    if y.dtype.kind == "f":
        if not np.isfinite(y).all() or not np.equal(np.round(y), y).all():
            raise EdgeKDError(
                f"data '{name}': {split} labels must be whole class indices 0..K-1, found "
                "fractional or NaN values"
            )
    elif y.dtype.kind in "US":  # class names: numbered by compact_labels
        return y
    elif y.dtype.kind not in "iub":
        raise EdgeKDError(
            f"data '{name}': {split} labels have type {y.dtype}; use integer class indices"
        )
    return y.astype(np.int64)


def as_features(x, name: str, split: str) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind not in "fiub":
        raise EdgeKDError(
            f"data '{name}': {split} features have type {x.dtype}; features must be numeric"
        )
    if x.ndim < 2:
        raise EdgeKDError(
            f"data '{name}': {split} features must have one row per sample (2 or more "
            f"dimensions), got shape {x.shape}"
        )
    return np.ascontiguousarray(x, dtype=np.float32)


def _check_pair(x, y: np.ndarray, name: str, split: str) -> None:
    if len(x) == 0:
        raise EdgeKDError(f"data '{name}': the {split} set is empty (0 samples); supply samples")
    if len(x) != len(y):
        raise EdgeKDError(
            f"data '{name}': {split} has {len(x)} samples (X) but {len(y)} labels (y); "
            "X and y must have the same length"
        )
    if is_streamed(x):
        if not x.all_finite():
            raise EdgeKDError(
                f"data '{name}': {split} features contain NaN or inf; clean or impute them first"
            )
        return
    if not np.isfinite(x).all():
        bad = int((~np.isfinite(x.reshape(len(x), -1))).any(axis=1).sum())
        raise EdgeKDError(
            f"data '{name}': {split} features contain NaN or inf in {bad} sample(s); "
            "clean or impute them first"
        )


def _check_labels(name: str, y: np.ndarray, y_test, num_classes: int | None) -> int:
    labels = y if y_test is None else np.concatenate([y, y_test])
    low, high = int(labels.min()), int(labels.max())
    if num_classes is None:
        num_classes = high + 1
    if low < 0 or high >= num_classes:
        raise EdgeKDError(
            f"data '{name}': labels must lie in [0, {num_classes}); found {low}..{high}; "
            "map them to class indices 0..K-1"
        )
    if num_classes < 2:
        raise EdgeKDError(f"data '{name}': needs at least 2 classes, found {num_classes}")
    return num_classes


def split_indices(
    name: str, y: np.ndarray, own_test: bool, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(train, val, test) row numbers: test 20% stratified (seed 0) unless the data has its
    own, then val 10% (seed `seed`). Index arrays, never copies: the same rows as splitting
    the arrays themselves, whether the data is in memory or streamed."""
    rest, test = np.arange(len(y)), None
    if not own_test:
        if len(y) < 10:
            raise EdgeKDError(
                f"data '{name}': {len(y)} samples are too few to split into train, validation "
                "and test sets; supply at least 10"
            )
        rest, _, test, _ = _split(rest, y, TEST_FRACTION, seed=0)
    train, _, val, _ = _split(rest, y[rest], VAL_FRACTION, seed=seed)
    return train, val, test


def bundle_from_arrays(
    name: str,
    x,
    y,
    x_test=None,
    y_test=None,
    *,
    seed: int = 0,
    num_classes: int | None = None,
) -> DataBundle:
    """Split (test 20% stratified unless given, then val 10%) and validate.

    `x` (and `x_test`) may be streamed `Rows` (edgekd/data/rows.py): then the splits are
    index arrays into the same source and nothing is read into memory here.
    """
    streamed = is_streamed(x)
    x = x if streamed else as_features(x, name, "train")
    y = as_labels(y, name, "train")
    _check_pair(x, y, name, "train")
    if (x_test is None) != (y_test is None):
        raise EdgeKDError(f"data '{name}': give both X_test and y_test, or neither")
    if x_test is not None:
        x_test = x_test if is_streamed(x_test) else as_features(x_test, name, "test")
        y_test = as_labels(y_test, name, "test")
        _check_pair(x_test, y_test, name, "test")
        if x_test.shape[1:] != x.shape[1:]:
            raise EdgeKDError(
                f"data '{name}': X_test samples have shape {x_test.shape[1:]} but X samples "
                f"have {x.shape[1:]}; they must match"
            )
    class_ids = None
    if num_classes is None:  # declared classes are indices; otherwise ids may be renumbered
        y, y_test, class_ids = compact_labels(y, y_test)
    num_classes = _check_labels(name, y, y_test, num_classes)
    train, val, test = split_indices(name, y, x_test is not None, seed)
    if test is not None:
        x_test, y_test = _take(x, test), y[test]
    bundle = DataBundle(
        name,
        _take(x, train), y[train], _take(x, val), y[val], x_test, y_test, num_classes, class_ids,
    )  # fmt: skip
    return bundle.validate()


def _take(x, index: np.ndarray):
    """Rows `index` of `x`: a copy for an in-memory array, a narrower view for streamed rows."""
    if is_streamed(x):
        return Rows(x.source, x.index[index], x.norm, x.workers)
    return x[index]
