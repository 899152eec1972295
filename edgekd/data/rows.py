"""Array-like views of data that stays on disk: the streamed half of a DataBundle.

A `Source` stores samples in their own dtype (uint8 images stay uint8) and reads rows by
index: a memory-mapped array (.npy, an uncompressed .npz member, the shapes32 cache) or an
image folder decoded file by file. `Rows` is one split of a source, an index array rather
than a copy, that behaves like the float32 arrays the rest of edgekd slices (`len`, `shape`,
`x[i:j]`, `x[index_array]`), so evaluation, calibration and parity read it batch by batch
and nothing materialises the whole set. Scaling and normalisation happen per batch: here
for numpy batches, on the device for training batches (edgekd/data/stream.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgekd.errors import EdgeKDError

FINITE_CHECK_CHUNK = 4096


@dataclass(frozen=True)
class Normalise:
    """`(raw / divisor - mean) / std`, per channel (axis 0 of a sample); identity by default.

    The same operations, in the same order, run in numpy and in torch, so a batch is
    bit-identical whichever side normalises it.
    """

    divisor: float = 1.0
    mean: tuple[float, ...] = (0.0,)
    std: tuple[float, ...] = (1.0,)

    @property
    def identity(self) -> bool:
        return self.divisor == 1.0 and set(self.mean) == {0.0} and set(self.std) == {1.0}

    def _stats(self, ndim: int) -> tuple[np.ndarray, np.ndarray]:
        shape = (-1,) + (1,) * (ndim - 2)  # (C, 1, 1) for a (N, C, H, W) batch
        m = np.asarray(self.mean, np.float32).reshape(shape)
        s = np.asarray(self.std, np.float32).reshape(shape)
        return m, s

    def numpy(self, raw: np.ndarray) -> np.ndarray:
        x = raw.astype(np.float32)
        if self.identity:
            return x
        m, s = self._stats(x.ndim)
        return (x / np.float32(self.divisor) - m) / s

    def torch(self, raw):
        """The same on a torch tensor, on whatever device it is already on."""
        import torch

        x = raw.to(torch.float32)
        if self.identity:
            return x
        m, s = (torch.from_numpy(a).to(x.device) for a in self._stats(x.ndim))
        return (x / self.divisor - m) / s


class ArraySource:
    """Rows of a (possibly memory-mapped) array, read only when asked for."""

    def __init__(self, array: np.ndarray, fingerprint: str):
        self.array, self._fingerprint = array, fingerprint
        self.sample_shape, self.dtype = tuple(array.shape[1:]), array.dtype

    def __len__(self) -> int:
        return len(self.array)

    def raw(self, index: np.ndarray) -> np.ndarray:
        index = np.asarray(index, dtype=np.int64)
        if len(index) > 1 and np.all(index[1:] > index[:-1]):
            lo, hi = int(index[0]), int(index[-1]) + 1
            if hi - lo <= 2 * len(index):  # dense and sorted: one sequential read
                return np.asarray(self.array[lo:hi])[index - lo]
        return np.asarray(self.array[index])

    def fingerprint(self) -> str:
        return self._fingerprint


class ImageFileSource:
    """Image files decoded with Pillow on demand (converted to `mode`, resized to `size`)."""

    def __init__(self, files: Sequence[Path], mode: str, size: tuple[int, int], fingerprint: str):
        self.files, self.mode, self.size = list(files), mode, size
        channels = 1 if mode == "L" else 3
        self.sample_shape, self.dtype = (channels, size[1], size[0]), np.dtype(np.uint8)
        self._fingerprint = fingerprint

    def __len__(self) -> int:
        return len(self.files)

    def decode(self, i: int) -> np.ndarray:
        from PIL import Image

        try:
            with Image.open(self.files[i]) as im:
                im = im.convert(self.mode)
                if im.size != self.size:
                    im = im.resize(self.size, Image.Resampling.BILINEAR)
                a = np.asarray(im, dtype=np.uint8)
        except (OSError, ValueError) as e:  # truncated or changed since the folder was scanned
            raise EdgeKDError(
                f"image '{self.files[i]}' could not be decoded ({e}); remove or replace it"
            ) from None
        return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)

    def raw(self, index: np.ndarray) -> np.ndarray:
        out = np.empty((len(index), *self.sample_shape), np.uint8)
        for k, i in enumerate(index):
            out[k] = self.decode(int(i))
        return out

    def fingerprint(self) -> str:
        return self._fingerprint


def file_fingerprint(path: Path, extra: str = "") -> str:
    """Path, size and modification time: cheap, and changes whenever the file does."""
    st = path.stat()
    return f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}:{extra}"


class Rows:
    """One split of a source: float32, normalised batches by index, like a numpy array.

    `workers` is how many DataLoader processes the trainer may use to read batches
    (image decoding is the slow part); 0 reads in the training process.
    """

    dtype = np.dtype(np.float32)

    def __init__(self, source, index: np.ndarray, norm: Normalise = Normalise(), workers: int = 0):
        self.source, self.norm, self.workers = source, norm, workers
        self.index = np.asarray(index, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.index)

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.index), *self.source.sample_shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def positions(self, key) -> np.ndarray:
        """Source row numbers for `key` (an int, a slice or an index array into this split)."""
        if isinstance(key, slice):
            return self.index[key]
        key = np.asarray(key)
        if key.dtype == np.bool_:
            return self.index[key]
        return self.index[key.astype(np.int64)]

    def raw(self, key) -> np.ndarray:
        """Rows in the source's own dtype (uint8 stays uint8), not normalised."""
        return self.source.raw(self.positions(np.atleast_1d(key) if np.isscalar(key) else key))

    def __getitem__(self, key) -> np.ndarray:
        if isinstance(key, int | np.integer):
            return self.norm.numpy(self.raw([key]))[0]
        return self.norm.numpy(self.raw(key))

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        """The whole split in RAM: correct, but what the streamed paths never do."""
        out = self[:]
        return out if dtype is None else out.astype(dtype)

    def chunks(self, size: int = FINITE_CHECK_CHUNK):
        for i in range(0, len(self), size):
            yield self[i : i + size]

    def min(self) -> np.float32:
        return min(c.min() for c in self.chunks())

    def max(self) -> np.float32:
        return max(c.max() for c in self.chunks())

    def all_finite(self) -> bool:
        """Integer sources are finite by construction; float sources are read in chunks."""
        if self.source.dtype.kind in "uib":
            return True
        return all(np.isfinite(c).all() for c in self.chunks())

    def fingerprint(self) -> str:
        """What identifies these rows: the source, the split's indices, the normalisation."""
        h = hashlib.sha256(self.source.fingerprint().encode())
        h.update(self.index.tobytes())
        h.update(repr(self.norm).encode())
        return h.hexdigest()


def is_streamed(x) -> bool:
    return isinstance(x, Rows)


def norm_for_images(mean: Sequence[float], std: Sequence[float], channels: int, what: str):
    """Image normalisation: [0, 1] then `(x - mean) / std` per channel."""
    mean = list(mean) * channels if len(mean) == 1 else list(mean)
    std = list(std) * channels if len(std) == 1 else list(std)
    if len(mean) != channels or len(std) != channels:
        raise EdgeKDError(
            f"data '{what}': image mean/std need 1 or {channels} values, got "
            f"{len(mean)} and {len(std)}"
        )
    if any(s <= 0 for s in std):
        raise EdgeKDError(f"data '{what}': image std values must be > 0")
    return Normalise(255.0, tuple(float(m) for m in mean), tuple(float(s) for s in std))
