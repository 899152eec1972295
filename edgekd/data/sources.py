"""Built-in data sets, generated or bundled locally: nothing is downloaded at run time."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from edgekd.data.bundle import DataBundle
from edgekd.data.splits import stratified_split
from edgekd.errors import EdgeKDError
from edgekd.loading import is_callable_spec

VAL_FRACTION = 0.1
TEST_FRACTION = 0.2


def _digits(seed: int) -> DataBundle:
    """scikit-learn's bundled UCI digits: 1797 8x8 images, pixel values 0..16."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images.astype(np.float32) / 16.0 - 0.5) / 0.5
    x = x[:, None, :, :]
    y = d.target.astype(np.int64)
    x_rest, y_rest, x_test, y_test = stratified_split(x, y, TEST_FRACTION, seed=0)
    x_tr, y_tr, x_val, y_val = stratified_split(x_rest, y_rest, VAL_FRACTION, seed=seed)
    return DataBundle("digits", x_tr, y_tr, x_val, y_val, x_test, y_test, num_classes=10)


def _mnist1d(seed: int) -> DataBundle:
    """The mnist1d paper's set: 5000 signals of length 40, its own 4000/1000 train/test split."""
    from mnist1d.data import get_dataset_args, make_dataset

    state = np.random.get_state()
    try:
        d = make_dataset(get_dataset_args())
    finally:
        np.random.set_state(state)
    x, x_test = d["x"].astype(np.float32)[:, None, :], d["x_test"].astype(np.float32)[:, None, :]
    y, y_test = d["y"].astype(np.int64), d["y_test"].astype(np.int64)
    x_tr, y_tr, x_val, y_val = stratified_split(x, y, VAL_FRACTION, seed=seed)
    return DataBundle("mnist1d", x_tr, y_tr, x_val, y_val, x_test, y_test, num_classes=10)


BUILTIN: dict[str, Callable[[int], DataBundle]] = {"digits": _digits, "mnist1d": _mnist1d}


def load_data(
    spec,
    seed: int = 0,
    *,
    label_column: str | None = None,
    image_size: int | None = None,
    image_mean: list[float] | None = None,
    image_std: list[float] | None = None,
    warn: Callable[[str], None] | None = None,
    workers: int = 0,
    text_column: str | None = None,
    max_length: int | None = None,
    vocab_size: int | None = None,
    tokenizer=None,
    student_tokenizer: Path | None = None,
) -> DataBundle:
    """Resolve a data spec (see design.md) into a validated DataBundle.

    `digits`, `mnist1d`, `shapes32:N`, `path.npz`, `path.csv`, `path/` (image folder),
    `module:callable` or `file.py:callable`. Every problem is an EdgeKDError naming the file
    and the fix; an in-memory object (data/objects.py: `(X, y)`, a dict of splits, a
    Dataset) enters the same way. shapes32, uncompressed .npz and image folders stream
    (data/rows.py); `workers` is how many DataLoader processes read their training batches.
    `text_column`: the file holds texts (data/text.py: `max_length`, `vocab_size` and
    the teacher's `tokenizer` shape its token ids; `student_tokenizer`, an interrupted run's
    tokenizer.json, is read as it is instead).
    """
    if not isinstance(spec, str):
        from edgekd.data.objects import bundle_from_object
        from edgekd.objects import describe

        return bundle_from_object(spec, describe(spec), seed)
    if spec in BUILTIN:
        return BUILTIN[spec](seed).validate()
    if spec.startswith("shapes32:"):
        from edgekd.data.shapes32 import load_shapes32

        return load_shapes32(spec, seed, workers)
    path = Path(spec)
    if text_column is not None:
        from edgekd.data.text import load_text

        return load_text(
            path, text_column, label_column=label_column, seed=seed, max_length=max_length,
            vocab_size=vocab_size, tokenizer=tokenizer, student_tokenizer=student_tokenizer,
            warn=warn,
        )  # fmt: skip
    if path.suffix in (".jsonl", ".ndjson"):
        raise EdgeKDError(f"data '{spec}' is JSON Lines: name its text field with --text-column")
    if path.suffix == ".npz":
        from edgekd.data.npz import load_npz

        return load_npz(path, seed, workers)
    if path.suffix == ".csv":
        from edgekd.data.csv import load_csv

        return load_csv(path, seed, label_column)
    if path.is_dir():
        from edgekd.data.images import load_image_folder

        return load_image_folder(
            path, seed, size=image_size, mean=image_mean, std=image_std, warn=warn, workers=workers
        )
    if not path.exists() and is_callable_spec(spec):
        from edgekd.data.callables import load_callable_data

        return load_callable_data(spec, seed)
    if path.suffix or "/" in spec or "\\" in spec:
        if not path.exists():
            raise EdgeKDError(f"data path '{spec}' not found; check the path")
        raise EdgeKDError(
            f"data file '{spec}' has an unsupported type; use .npz, .csv or a folder of images"
        )
    raise EdgeKDError(
        f"unknown data spec '{spec}'; use one of: {', '.join(sorted(BUILTIN))}, shapes32:N, "
        "a .npz or .csv file, an image folder, or module:callable"
    )
