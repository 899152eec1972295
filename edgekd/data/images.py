"""An image folder: one subfolder per class (sorted names = class indices), read with Pillow.

`root/<class>/*.png` is split like any other source; `root/train/<class>/` plus
`root/test/<class>/` keeps the user's own test split. Files Pillow cannot read are skipped
with a warning, never fatal. Images become float32 (C, H, W): scaled to [0, 1], then
`(x - mean) / std` per channel (default 0.5 / 0.5, i.e. [-1, 1]).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from edgekd.data.arrays import bundle_from_arrays
from edgekd.data.bundle import DataBundle
from edgekd.errors import EdgeKDError


def _classes(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _read_tree(root: Path, classes: list[str], skipped: list[str]) -> tuple[list, list[int]]:
    from PIL import Image, UnidentifiedImageError

    images, labels = [], []
    for index, name in enumerate(classes):
        folder = root / name
        if not folder.is_dir():
            continue
        for f in sorted(folder.iterdir()):
            if f.name.startswith(".") or not f.is_file():
                continue
            try:
                with Image.open(f) as im:
                    im.load()
                    images.append(im.copy())
            except (UnidentifiedImageError, OSError, ValueError):
                skipped.append(str(f))
                continue
            labels.append(index)
    return images, labels


def _to_array(
    images: list,
    size: int | None,
    mode: str,
    mean: Sequence[float],
    std: Sequence[float],
    root: Path,
) -> np.ndarray:
    from PIL import Image

    if size is None:
        sizes = {im.size for im in images}
        if len(sizes) > 1:
            a, b = sorted(sizes)[:2]
            raise EdgeKDError(
                f"data '{root}': images have different sizes ({a[0]}x{a[1]}, {b[0]}x{b[1]}, ...); "
                "pass --image-size N to resize them all to N x N"
            )
    channels = 1 if mode == "L" else 3
    mean = list(mean) * channels if len(mean) == 1 else list(mean)
    std = list(std) * channels if len(std) == 1 else list(std)
    if len(mean) != channels or len(std) != channels:
        raise EdgeKDError(
            f"data '{root}': image mean/std need 1 or {channels} values, got "
            f"{len(mean)} and {len(std)}"
        )
    if any(s <= 0 for s in std):
        raise EdgeKDError(f"data '{root}': image std values must be > 0")
    out = []
    for im in images:
        im = im.convert(mode)
        if size is not None and im.size != (size, size):
            im = im.resize((size, size), Image.Resampling.BILINEAR)
        a = np.asarray(im, dtype=np.float32) / 255.0
        a = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
        out.append(a)
    x = np.stack(out)
    m = np.asarray(mean, np.float32)[:, None, None]
    s = np.asarray(std, np.float32)[:, None, None]
    return (x - m) / s


def load_image_folder(
    root: Path,
    seed: int = 0,
    *,
    size: int | None = None,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    warn: Callable[[str], None] | None = None,
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
        train, y = _read_tree(root / "train", classes, skipped)
        test, y_test = _read_tree(root / "test", classes, skipped)
    else:
        train, y = _read_tree(root, classes, skipped)
        test, y_test = [], []
    if skipped and warn is not None:
        first = ", ".join(Path(s).name for s in skipped[:3])
        warn(
            f"data '{root}': skipped {len(skipped)} file(s) that are not images Pillow can "
            f"read ({first}{', ...' if len(skipped) > 3 else ''})"
        )
    if not train:
        raise EdgeKDError(f"data '{root}': the train set is empty (no readable images)")
    everything = train + test
    modes = {im.mode for im in everything}
    mode = "L" if modes <= {"L", "1", "I", "I;16", "F"} else "RGB"
    mean, std = mean or [0.5], std or [0.5]
    x_all = _to_array(everything, size, mode, mean, std, root)
    x, x_test = x_all[: len(train)], x_all[len(train) :]
    return bundle_from_arrays(
        str(root),
        x,
        np.asarray(y),
        x_test if split_dirs else None,
        np.asarray(y_test) if split_dirs else None,
        seed=seed,
        num_classes=len(classes),
    )
