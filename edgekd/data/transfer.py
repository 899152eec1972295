"""Transfer sets: extra, unlabelled inputs on which the student learns the teacher's outputs.

In Hinton's sense the distilled model may learn on data the teacher never saw; the built-in
`mnist1d:N` draws N fresh signals from the generator with a seed the train/test data never use.
"""

from __future__ import annotations

import numpy as np

from edgekd.data.bundle import DataBundle
from edgekd.errors import EdgeKDError

MNIST1D_TRANSFER_SEED = 10_000  # the train/test set uses the package's seed 42


def _mnist1d(count: int, seed: int) -> np.ndarray:
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples, args.seed, args.train_split = count, MNIST1D_TRANSFER_SEED + seed, 1.0
    state = np.random.get_state()
    try:
        x = make_dataset(args)["x"]
    finally:
        np.random.set_state(state)
    return x.astype(np.float32)[:, None, :]


GENERATORS = {"mnist1d": _mnist1d}


def load_transfer(spec: str, data: DataBundle, seed: int = 0) -> np.ndarray:
    """Resolve `name:N`; the samples must have the shape the task's model takes."""
    name, _, count = spec.partition(":")
    if name not in GENERATORS or not count.isdigit() or int(count) < 1:
        raise EdgeKDError(
            f"transfer spec '{spec}' not understood; use one of "
            f"{', '.join(f'{g}:N' for g in GENERATORS)} with N > 0 samples"
        )
    x = GENERATORS[name](int(count), seed)
    if x.shape[1:] != data.input_shape:
        raise EdgeKDError(
            f"transfer set '{spec}' has inputs of shape {x.shape[1:]} but data "
            f"'{data.name}' has {data.input_shape}; use a transfer set of the same kind"
        )
    return x
