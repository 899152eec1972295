"""An image folder: one subfolder per class (sorted names = class indices), read with Pillow.

`root/<class>/*.png` is split like any other source; `root/train/<class>/` plus
`root/test/<class>/` keeps the user's own test split. Files Pillow cannot read are skipped
with a warning, never fatal. Only headers are read up front; images are decoded a batch at
a time (in DataLoader workers when training with --workers N) and kept as uint8 (C, H, W)
until the batch is normalised: scaled to [0, 1], then `(x - mean) / std` per channel
(default 0.5 / 0.5, i.e. [-1, 1]).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from edgekd.data.arrays import bundle_from_arrays
from edgekd.data.bundle import DataBundle
from edgekd.data.rows import ImageFileSource, Rows, norm_for_images
from edgekd.errors import EdgeKDError


def _classes(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _scan_tree(
    root: Path, classes: list[str], skipped: list[str]
) -> tuple[list[Path], list[int], list[tuple[str, tuple[int, int]]]]:
    """Files Pillow recognises (header only: nothing is decoded here), labels, (mode, size)."""
    from PIL import Image, UnidentifiedImageError

    files, labels, meta = [], [], []
    for index, name in enumerate(classes):
        folder = root / name
        if not folder.is_dir():
            continue
        for f in sorted(folder.iterdir()):
            if f.name.startswith(".") or not f.is_file():
                continue
            try:
                with Image.open(f) as im:
                    meta.append((im.mode, im.size))
            except (UnidentifiedImageError, OSError, ValueError):
                skipped.append(str(f))
                continue
            files.append(f)
            labels.append(index)
    return files, labels, meta


def _folder_fingerprint(root: Path, files: list[Path], size, mode: str) -> str:
    """Names, sizes and times of every file: any change to the folder changes it."""
    h = hashlib.sha256(f"{root.resolve()}:{size}:{mode}".encode())
    for f in files:
        st = f.stat()
        h.update(f"{f}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()


def load_image_folder(
    root: Path,
    seed: int = 0,
    *,
    size: int | None = None,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    warn: Callable[[str], None] | None = None,
    workers: int = 0,
) -> DataBundle:
    split_dirs = (root / "train").is_dir() and (root / "test").is_dir()
    classes = _classes(root / "train") if split_dirs else _classes(root)
    if len(classes) < 2:
        raise EdgeKDError(
            f"data '{root}' needs one subfolder per class (2 or more), found "
            f"{len(classes)}; lay it out as {root}/<class>/<image>"
        )
    skipped: list[str] = []
    if split_dirs:
        train, y, meta = _scan_tree(root / "train", classes, skipped)
        test, y_test, meta_test = _scan_tree(root / "test", classes, skipped)
        meta += meta_test
    else:
        train, y, meta = _scan_tree(root, classes, skipped)
        test, y_test = [], []
    if skipped and warn is not None:
        first = ", ".join(Path(s).name for s in skipped[:3])
        warn(
            f"data '{root}': skipped {len(skipped)} file(s) that are not images Pillow can "
            f"read ({first}{', ...' if len(skipped) > 3 else ''})"
        )
    if not train:
        raise EdgeKDError(f"data '{root}': the train set is empty (no readable images)")
    modes = {m for m, _ in meta}
    mode = "L" if modes <= {"L", "1", "I", "I;16", "F"} else "RGB"
    if size is None:
        sizes = {s for _, s in meta}
        if len(sizes) > 1:
            a, b = sorted(sizes)[:2]
            raise EdgeKDError(
                f"data '{root}': images have different sizes ({a[0]}x{a[1]}, {b[0]}x{b[1]}, ...); "
                "pass --image-size N to resize them all to N x N"
            )
        wh = meta[0][1]
    else:
        wh = (size, size)
    norm = norm_for_images(mean or [0.5], std or [0.5], 1 if mode == "L" else 3, str(root))

    def rows(files: list[Path]) -> Rows:
        source = ImageFileSource(files, mode, wh, _folder_fingerprint(root, files, wh, mode))
        return Rows(source, np.arange(len(files)), norm, workers)

    return bundle_from_arrays(
        str(root),
        rows(train),
        np.asarray(y),
        rows(test) if split_dirs else None,
        np.asarray(y_test) if split_dirs else None,
        seed=seed,
        num_classes=len(classes),
    )
