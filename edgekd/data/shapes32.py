"""`shapes32:N`: a seeded, procedurally generated 32x32x3 image task of 10 classes, no download.

A stand-in for CIFAR-10-sized edge workloads (MLPerf Tiny image classification) that needs
no network: each class is one of five shapes (disk, square, triangle, ring, cross) with a
solid or a striped fill, drawn at a random place, size, rotation and colour on a gradient
background with clutter blobs (some occluding the shape) and sensor noise. Colour carries
no label information, so a model must learn shape and texture. Its accuracy figures are not
CIFAR figures.

Images are generated in fixed chunks (chunk k always from seed (seed, k), so a smaller N is
a prefix of a larger one) straight into a uint8 .npy memmap under $EDGEKD_CACHE (default
~/.cache/edgekd), written to a temp file and renamed: never float32, never all in RAM.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from edgekd.atomic import atomic_path
from edgekd.errors import EdgeKDError

VERSION = 1
CLASSES = 10
SIZE = 32
CHUNK = 1000
MIN_SAMPLES = 50
SHAPES = ("disk", "square", "triangle", "ring", "cross")
CLASS_NAMES = tuple(f"{s}-{t}" for t in ("solid", "striped") for s in SHAPES)


def cache_dir() -> Path:
    return Path(os.environ.get("EDGEKD_CACHE") or Path.home() / ".cache" / "edgekd")


def _shape_mask(kind: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(B, H, W) inside-the-shape masks; `u, v` are per-image rotated, scaled coordinates."""
    r2 = u * u + v * v
    au, av = np.abs(u), np.abs(v)
    masks = np.stack(
        [
            r2 <= 1.0,
            np.maximum(au, av) <= 0.78,
            (v >= -0.5) & (np.sqrt(3) * u + v <= 1.0) & (-np.sqrt(3) * u + v <= 1.0),
            (r2 >= 0.55**2) & (r2 <= 1.0),
            ((au <= 0.28) & (av <= 1.0)) | ((av <= 0.28) & (au <= 1.0)),
        ]
    )
    return masks[kind, np.arange(len(kind))]


def _blobs(canvas, rng, yy, xx, count: int, radius: tuple[float, float]) -> None:
    """Paint `count` random small disks of random colours onto `canvas` (B, 3, H, W)."""
    b = len(canvas)
    for _ in range(count):
        cx, cy = rng.uniform(0, SIZE, (2, b, 1, 1)).astype(np.float32)
        rad = rng.uniform(*radius, (b, 1, 1)).astype(np.float32)
        present = rng.random((b, 1, 1)) < 0.7
        mask = (((xx - cx) ** 2 + (yy - cy) ** 2) <= rad**2) & present
        colour = rng.uniform(0, 255, (b, 3, 1, 1)).astype(np.float32)
        canvas[:] = np.where(mask[:, None], colour, canvas)


def generate_chunk(seed: int, chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """CHUNK images (uint8, (B, 3, 32, 32)) and labels, a pure function of (seed, chunk)."""
    rng = np.random.default_rng([seed, chunk])
    b = CHUNK
    y = rng.permutation(np.arange(b) % CLASSES).astype(np.int64)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) + 0.5

    # background: a two-colour gradient plus a low-frequency texture
    c1, c2 = rng.uniform(0, 255, (2, b, 3, 1, 1)).astype(np.float32)
    theta = rng.uniform(0, 2 * np.pi, (b, 1, 1)).astype(np.float32)
    t = ((xx - 16) * np.cos(theta) + (yy - 16) * np.sin(theta)) / SIZE + 0.5
    canvas = c1 * (1 - t[:, None]) + c2 * t[:, None]
    wave = rng.uniform(0.1, 0.5, (b, 2, 1, 1)).astype(np.float32)
    texture = 18 * np.sin(wave[:, 0] * xx + rng.uniform(0, 6, (b, 1, 1))) * np.cos(wave[:, 1] * yy)
    canvas += texture[:, None].astype(np.float32)
    _blobs(canvas, rng, yy, xx, 4, (1.0, 3.0))  # clutter behind the shape

    # the object: shape (label % 5) and fill (label // 5) at a random pose
    cx, cy = rng.uniform(10, 22, (2, b, 1, 1)).astype(np.float32)
    radius = rng.uniform(5.5, 11, (b, 1, 1)).astype(np.float32)
    phi = rng.uniform(0, 2 * np.pi, (b, 1, 1)).astype(np.float32)
    dx, dy = xx - cx, yy - cy
    u = (dx * np.cos(phi) + dy * np.sin(phi)) / radius
    v = (-dx * np.sin(phi) + dy * np.cos(phi)) / radius
    mask = _shape_mask(y % 5, u, v)
    bg_mean = canvas.mean(axis=(2, 3), keepdims=True)
    fg = (bg_mean + rng.uniform(70, 186, (b, 3, 1, 1))) % 256  # contrast, colour uninformative
    psi = rng.uniform(0, np.pi, (b, 1, 1)).astype(np.float32)
    freq = rng.uniform(2.5, 5.0, (b, 1, 1)).astype(np.float32)
    stripes = np.sin(2 * np.pi * freq * (xx * np.cos(psi) + yy * np.sin(psi)) / SIZE) > 0
    striped = (y // 5 == 1)[:, None, None] & ~stripes
    shade = 1 - 0.25 * (v + 1)[:, None] / 2  # gentle lighting on every fill
    fill = np.where(striped[:, None], 0.45 * fg + 0.55 * bg_mean, fg) * shade
    canvas = np.where(mask[:, None], fill, canvas)
    _blobs(canvas, rng, yy, xx, 2, (1.0, 2.5))  # clutter occluding the shape

    sigma = rng.uniform(3, 16, (b, 1, 1, 1)).astype(np.float32)
    canvas += rng.standard_normal(canvas.shape, dtype=np.float32) * sigma
    return np.clip(np.rint(canvas), 0, 255).astype(np.uint8), y


def cache_paths(count: int, seed: int) -> tuple[Path, Path]:
    stem = cache_dir() / f"shapes32-v{VERSION}-n{count}-s{seed}"
    return stem.with_suffix(".x.npy"), stem.with_suffix(".y.npy")


def _cached(x_path: Path, y_path: Path, count: int) -> bool:
    try:
        x = np.load(x_path, mmap_mode="r")
        y = np.load(y_path, mmap_mode="r")
    except (OSError, ValueError):
        return False
    return x.shape == (count, 3, SIZE, SIZE) and x.dtype == np.uint8 and y.shape == (count,)


def materialise(count: int, seed: int = 0, progress: bool = True) -> tuple[Path, Path]:
    """The cached (x, y) .npy files for `count` images, generated chunk by chunk if missing."""
    x_path, y_path = cache_paths(count, seed)
    if _cached(x_path, y_path, count):
        return x_path, y_path
    from rich.progress import Progress

    y_all = np.empty(count, np.int64)
    chunks = -(-count // CHUNK)
    with (
        atomic_path(x_path) as tmp,
        Progress(transient=True, disable=not progress or count < 5 * CHUNK) as bar,
    ):
        task = bar.add_task(f"generating shapes32:{count}", total=chunks)
        x = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(count, 3, SIZE, SIZE))
        for k in range(chunks):
            xs, ys = generate_chunk(seed, k)
            n = min(CHUNK, count - k * CHUNK)
            x[k * CHUNK : k * CHUNK + n], y_all[k * CHUNK : k * CHUNK + n] = xs[:n], ys[:n]
            bar.advance(task)
        x.flush()
        del x
        with atomic_path(y_path) as ytmp:  # labels land first: x's rename completes the pair
            np.save(ytmp, y_all)
    return x_path, y_path


def parse_count(spec: str) -> int:
    _, _, count = spec.partition(":")
    if not count.isdigit() or int(count) < MIN_SAMPLES:
        raise EdgeKDError(
            f"data spec '{spec}' not understood; use shapes32:N with N >= {MIN_SAMPLES} "
            "images, e.g. shapes32:50000"
        )
    return int(count)


def load_shapes32(spec: str, seed: int = 0, workers: int = 0):
    """`shapes32:N` as a streamed DataBundle over the cached uint8 memmap, normalised to
    [-1, 1] per batch. The images are the same for every --seed (like digits); the seed
    picks the validation split."""
    from edgekd.data.arrays import bundle_from_arrays
    from edgekd.data.rows import ArraySource, Normalise, Rows

    count = parse_count(spec)
    x_path, y_path = materialise(count)
    x = np.load(x_path, mmap_mode="r")
    source = ArraySource(x, f"shapes32-v{VERSION}:{count}:0")
    norm = Normalise(255.0, (0.5,) * 3, (0.5,) * 3)
    rows = Rows(source, np.arange(count), norm, workers)
    y = np.load(y_path)
    return bundle_from_arrays(spec, rows, y, seed=seed, num_classes=CLASSES)
