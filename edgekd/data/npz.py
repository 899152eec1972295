"""`path.npz` with keys X, y and optionally X_test, y_test and num_classes."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from edgekd.data.arrays import bundle_from_arrays
from edgekd.data.bundle import DataBundle
from edgekd.errors import EdgeKDError


def read_npz(path: Path, what: str = "data") -> dict[str, np.ndarray]:
    if not path.is_file():
        raise EdgeKDError(f"{what} file '{path}' not found; check the path")
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise EdgeKDError(
            f"{what} '{path}' is not a readable .npz of numeric arrays ({msg}); "
            "save it with numpy.savez"
        ) from None


def load_npz(path: Path, seed: int = 0) -> DataBundle:
    arrays = read_npz(path)
    if "X" not in arrays or "y" not in arrays:
        raise EdgeKDError(
            f"data '{path}' has keys [{', '.join(sorted(arrays))}]; it needs 'X' (features) "
            "and 'y' (labels), optionally 'X_test', 'y_test' and 'num_classes'"
        )
    num_classes = None
    if "num_classes" in arrays:
        value = arrays["num_classes"]
        if value.size != 1 or value.dtype.kind not in "iu":
            raise EdgeKDError(f"data '{path}': 'num_classes' must be one integer")
        num_classes = int(value.reshape(()))
    return bundle_from_arrays(
        str(path),
        arrays["X"],
        arrays["y"],
        arrays.get("X_test"),
        arrays.get("y_test"),
        seed=seed,
        num_classes=num_classes,
    )
