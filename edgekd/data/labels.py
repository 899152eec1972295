"""Class ids a user brings -> class indices 0..K-1, and the way back for the device.

A model has one output per class index, so labels {0, 1, 1000} taken literally train a
1,001-way classifier for a 3-class problem. Labels that are whole numbers >= 0 but not exactly
0..K-1, and names (strings in a CSV), are numbered in sorted order (the order scikit-learn
uses, so a teacher trained on the same labels agrees); the user's ids, index by index, go to
report.json and into the shipped ONNX files' metadata so a device can map outputs back.
Negative numbers are refused by the range check instead: they are more often a mistake (a
-1 "missing" marker) than a class.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

METADATA_KEY = "edgekd.class_ids"


def compact_labels(
    y: np.ndarray, y_test: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None, list | None]:
    """(y, y_test, class_ids): indices 0..K-1 and the user's id of each index, or the labels
    unchanged and None when they already are 0..K-1 (or negative, left to the range check)."""
    both = y if y_test is None else np.concatenate([y, y_test])
    ids = np.unique(both)
    if both.dtype.kind in "iub" and (ids[0] < 0 or np.array_equal(ids, np.arange(len(ids)))):
        return y, y_test, None

    def index(labels: np.ndarray | None) -> np.ndarray | None:
        return None if labels is None else np.searchsorted(ids, labels).astype(np.int64)

    return index(y), index(y_test), ids.tolist()


def notice(name: str, class_ids: list) -> str:
    """The one line that tells the user their labels were renumbered, and where the map is."""
    shown = ", ".join(f"{c}->{i}" for i, c in enumerate(class_ids[:8]))
    more = f", ... ({len(class_ids)} classes)" if len(class_ids) > 8 else ""
    return (
        f"data '{name}': labels are not class indices 0..{len(class_ids) - 1}; numbered in "
        f"sorted order ({shown}{more}); the map is in report.json and the ONNX metadata "
        f"('{METADATA_KEY}')"
    )


def stamp_onnx(path: str | Path, class_ids: list) -> None:
    """Add the user's class ids (JSON list, output index -> id) to an ONNX file's metadata."""
    import onnx

    from edgekd.atomic import atomic_path

    model = onnx.load(str(path))
    kept = [p for p in model.metadata_props if p.key != METADATA_KEY]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    model.metadata_props.add(key=METADATA_KEY, value=json.dumps(class_ids))
    with atomic_path(path) as tmp:
        onnx.save(model, str(tmp))
