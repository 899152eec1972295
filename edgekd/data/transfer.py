"""Transfer sets: extra, unlabelled inputs on which the student learns the teacher's outputs.

In Hinton's sense the distilled model may learn on data the teacher never saw; the built-in
`mnist1d:N` draws N fresh signals from the generator with a seed the train/test data never use.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgekd.data.bundle import DataBundle
from edgekd.errors import EdgeKDError

MNIST1D_TRANSFER_SEED = 10_000  # the train/test set uses the package's seed 42


def _mnist1d(count: int, seed: int) -> np.ndarray:
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    # make_dataset draws num_samples // 10 per class: round up, then keep exactly `count`
    per_class_total = -(-count // 10) * 10
    args.num_samples, args.seed = per_class_total, MNIST1D_TRANSFER_SEED + seed
    args.train_split = 1.0
    state = np.random.get_state()
    try:
        x = make_dataset(args)["x"]
    finally:
        np.random.set_state(state)
    return x.astype(np.float32)[:count, None, :]  # already shuffled across classes


GENERATORS = {"mnist1d": _mnist1d}


def _from_file(path: Path, label_column: str | None) -> np.ndarray:
    if path.suffix == ".npz":
        from edgekd.data.npz import read_npz

        arrays = read_npz(path, "transfer set")
        if "X" not in arrays:
            raise EdgeKDError(
                f"transfer set '{path}' has keys [{', '.join(sorted(arrays))}]; it needs 'X' "
                "(unlabelled samples)"
            )
        x = arrays["X"]
    else:
        from edgekd.data.csv import read_features

        x = read_features(path, label_column)
    return _checked(x, str(path))


def _checked(x: np.ndarray, spec: str) -> np.ndarray:
    if x.dtype.kind not in "fiub":
        raise EdgeKDError(f"transfer set '{spec}': X has type {x.dtype}; it must be numeric")
    x = np.ascontiguousarray(x, dtype=np.float32)
    if len(x) == 0:
        raise EdgeKDError(f"transfer set '{spec}' is empty (0 samples)")
    if not np.isfinite(x).all():
        raise EdgeKDError(f"transfer set '{spec}' contains NaN or inf; clean or drop those rows")
    return x


def load_transfer(
    spec, data: DataBundle, seed: int = 0, *, label_column: str | None = None
) -> np.ndarray:
    """Resolve `name:N`, `path.npz` (key X) or `path.csv`, or take an in-memory array or
    tensor of samples; samples must fit the task's model."""
    if not isinstance(spec, str):
        from edgekd.data.datasets import to_numpy
        from edgekd.objects import describe

        label = describe(spec)
        x, spec = _checked(to_numpy(spec), label), label
    elif (path := Path(spec)).suffix in (".npz", ".csv"):
        if not path.is_file():
            raise EdgeKDError(f"transfer set '{spec}' not found; check the path")
        x = _from_file(path, label_column)
    else:
        name, _, count = spec.partition(":")
        if name not in GENERATORS or not count.isdigit() or int(count) < 1:
            raise EdgeKDError(
                f"transfer spec '{spec}' not understood; use a .npz (key X), a .csv, or one of "
                f"{', '.join(f'{g}:N' for g in GENERATORS)} with N > 0 samples"
            )
        x = GENERATORS[name](int(count), seed)
    if x.shape[1:] != data.input_shape:
        raise EdgeKDError(
            f"transfer set '{spec}' has inputs of shape {x.shape[1:]} but data "
            f"'{data.name}' has {data.input_shape}; use a transfer set of the same kind"
        )
    return x
