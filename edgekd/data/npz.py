"""`path.npz` with keys X, y and optionally X_test, y_test and num_classes.

Saved with `numpy.savez` (stored, not compressed), X and X_test are memory-mapped straight
from the zip: a stored member is the .npy file's bytes at a fixed offset, so pages are read
only when a batch needs them. `numpy.savez_compressed` members cannot be mapped (each read
would inflate the stream from its start), so those are loaded into memory as before, and
so are tabular (2-D) X, which `--standardize` reads whole.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from edgekd.data.arrays import bundle_from_arrays
from edgekd.data.bundle import DataBundle
from edgekd.data.rows import ArraySource, Rows, file_fingerprint
from edgekd.errors import EdgeKDError, first_line


def read_npz(path: Path, what: str = "data") -> dict[str, np.ndarray]:
    if not path.is_file():
        raise EdgeKDError(f"{what} file '{path}' not found; check the path")
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
        raise EdgeKDError(
            f"{what} '{path}' is not a readable .npz of numeric arrays ({first_line(e)}); "
            "save it with numpy.savez"
        ) from None


def _member_memmap(path: Path, member: str) -> np.memmap | None:
    """`member` (e.g. 'X.npy') as a read-only memmap, or None when it is compressed."""
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(member)
        if info.compress_type != zipfile.ZIP_STORED or info.file_size < 1:
            return None
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        local = f.read(30)  # the local file header: name and extra lengths at bytes 26..29
        name_len = int.from_bytes(local[26:28], "little")
        extra_len = int.from_bytes(local[28:30], "little")
        f.seek(info.header_offset + 30 + name_len + extra_len)
        major, _ = np.lib.format.read_magic(f)
        read_header = (
            np.lib.format.read_array_header_1_0
            if major == 1
            else np.lib.format.read_array_header_2_0
        )
        shape, fortran, dtype = read_header(f)
        offset = f.tell()
    if dtype.hasobject or fortran or dtype.kind not in "fiub" or not shape or 0 in shape:
        return None
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape)


def _streamed_arrays(path: Path, workers: int) -> dict | None:
    """X (and X_test) as streamed Rows, y in memory; None when X cannot be mapped."""
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
        x = _member_memmap(path, "X.npy") if "X.npy" in names else None
    except (zipfile.BadZipFile, OSError, ValueError, KeyError):
        return None
    if x is None or x.ndim < 3:  # tabular rows stay in memory: standardize reads them whole
        return None
    source = ArraySource(x, file_fingerprint(path, "X"))
    arrays = {"X": Rows(source, np.arange(len(x)), workers=workers)}
    if "X_test.npy" in names:
        xt = _member_memmap(path, "X_test.npy")
        if xt is None or xt.ndim < 3:
            return None
        source = ArraySource(xt, file_fingerprint(path, "X_test"))
        arrays["X_test"] = Rows(source, np.arange(len(xt)), workers=workers)
    with np.load(path, allow_pickle=False) as z:
        arrays.update({k: z[k] for k in z.files if k not in ("X", "X_test")})
    return arrays


def load_npz(path: Path, seed: int = 0, workers: int = 0) -> DataBundle:
    streamed = _streamed_arrays(path, workers) if path.is_file() else None
    arrays = streamed if streamed is not None else read_npz(path)
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
