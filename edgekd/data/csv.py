"""`path.csv`: numeric feature columns plus one label column (by name, else the last one).

A header row is detected (any non-numeric cell in the first row). Labels may be integers
0..K-1 or names; names are numbered in sorted order, the order scikit-learn uses, so a
teacher trained on the same names by scikit-learn agrees on the class indices.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from edgekd.data.arrays import bundle_from_arrays
from edgekd.data.bundle import DataBundle
from edgekd.errors import EdgeKDError


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def read_csv(path: Path, what: str = "data") -> tuple[list[str] | None, list[list[str]]]:
    if not path.is_file():
        raise EdgeKDError(f"{what} file '{path}' not found; check the path")
    try:
        with open(path, newline="") as f:
            rows = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
    except (UnicodeDecodeError, csv.Error) as e:
        raise EdgeKDError(f"{what} '{path}' is not a readable CSV text file ({e})") from None
    header = None
    if rows and not all(_is_number(c) for c in rows[0]):
        header, rows = [c.strip() for c in rows[0]], rows[1:]
    widths = {len(r) for r in rows}
    if len(widths) > 1:
        bad = next(i for i, r in enumerate(rows) if len(r) != len(rows[0]))
        raise EdgeKDError(
            f"{what} '{path}': row {bad + 1 + (header is not None)} has {len(rows[bad])} "
            f"columns but the first has {len(rows[0])}; every row needs the same columns"
        )
    return header, rows


def _floats(rows: list[list[str]], cols: list[int], path: Path, header) -> np.ndarray:
    out = np.empty((len(rows), len(cols)), dtype=np.float32)
    for i, row in enumerate(rows):
        for j, c in enumerate(cols):
            cell = row[c].strip()
            try:
                out[i, j] = float(cell) if cell else np.nan
            except ValueError:
                name = header[c] if header else f"column {c + 1}"
                raise EdgeKDError(
                    f"data '{path}': '{cell}' in {name}, row {i + 1} is not a number; "
                    "features must be numeric (encode categories first)"
                ) from None
    return out


def label_index(header: list[str] | None, ncols: int, label_column: str | None, path) -> int:
    if label_column is None:
        return ncols - 1
    if header and label_column in header:
        return header.index(label_column)
    if label_column.lstrip("-").isdigit() and -ncols <= int(label_column) < ncols:
        return int(label_column) % ncols
    import difflib

    close = difflib.get_close_matches(label_column, header or [], n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    raise EdgeKDError(
        f"data '{path}' has no label column '{label_column}'; {hint}columns: "
        f"{', '.join(header) if header else f'{ncols} unnamed'}"
    )


def read_features(path: Path, label_column: str | None = None) -> np.ndarray:
    """Unlabelled rows (a transfer set): every column, less `label_column` when present."""
    header, rows = read_csv(path, "transfer set")
    if not rows:
        raise EdgeKDError(f"transfer set '{path}' has no rows")
    cols = list(range(len(rows[0])))
    if label_column is not None and header and label_column in header:
        cols.remove(header.index(label_column))
    return _floats(rows, cols, path, header)


def load_csv(path: Path, seed: int = 0, label_column: str | None = None) -> DataBundle:
    header, rows = read_csv(path)
    if not rows:
        raise EdgeKDError(f"data '{path}': the train set is empty (0 samples); supply samples")
    ncols = len(rows[0])
    if ncols < 2:
        raise EdgeKDError(f"data '{path}' needs feature columns and a label column")
    label = label_index(header, ncols, label_column, path)
    features = [c for c in range(ncols) if c != label]
    x = _floats(rows, features, path, header)
    raw = [r[label].strip() for r in rows]
    # names are numbered (and the names kept) where every source's labels are checked
    y = np.array([float(v) for v in raw]) if all(_is_number(v) for v in raw) else np.array(raw)
    return bundle_from_arrays(str(path), x, y, seed=seed)
