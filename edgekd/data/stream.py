"""Training batches on the device, from in-memory arrays or from streamed sources.

The trainer asks one object for its batches. Small in-memory float arrays go to the device
whole, once, and batches are index slices there (for tiny models a loader would dominate the
time). Streamed rows (edgekd/data/rows.py) are read batch by batch, in DataLoader worker
processes when `workers` > 0, cross to the device in their stored dtype (uint8 images move
a quarter of the bytes) and are scaled and normalised there.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from edgekd.data.rows import Rows, is_streamed

INFERENCE_ELEMENTS = 2**19  # input values per inference batch (2 MiB as float32)


def inference_batch(sample_shape: tuple[int, ...], most: int = 1024) -> int:
    """Rows per batch when only predicting (evaluation, teacher logits, probes).

    A fixed 1,024 rows cost nothing on 8x8 digits but, on 32x32x3 images, a teacher's
    activations at that batch took hundreds of MiB: the distill stage of a shapes32:50000 run
    peaked at 1,442 MiB against 981 MiB after the teacher stage. Sized by the input instead.
    """
    return int(max(1, min(most, INFERENCE_ELEMENTS // max(1, int(np.prod(sample_shape))))))


def inference_chunks(x) -> Iterator[np.ndarray]:
    """`x` (an array or streamed rows) in order, one `inference_batch` of rows at a time."""
    step = inference_batch(tuple(x.shape[1:]))
    for i in range(0, len(x), step):
        yield np.asarray(x[i : i + step])


class _RawBatches(torch.utils.data.Dataset):
    """One item = one batch of raw rows: a DataLoader worker decodes a whole batch."""

    def __init__(self, rows: Rows):
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(self.rows.raw(index)))


class TrainRows:
    """The training rows (train set, then any transfer set) as device batches by index."""

    def __init__(self, x_train, x_transfer: np.ndarray | None, device: torch.device):
        parts = [x_train] + ([x_transfer] if x_transfer is not None and len(x_transfer) else [])
        self.device = device
        self.streamed = any(is_streamed(p) for p in parts)
        if self.streamed:
            self.parts = parts
            self.offsets = np.cumsum([0] + [len(p) for p in parts])
        else:  # the in-memory case: one float tensor on the device, sliced by index
            whole = (
                parts[0]
                if len(parts) == 1
                else np.concatenate([parts[0], parts[1].astype(parts[0].dtype)])
            )
            self.tensor = torch.from_numpy(np.ascontiguousarray(whole)).to(device)
        self.sample_shape = tuple(parts[0].shape[1:])
        self.workers = max((getattr(p, "workers", 0) for p in parts), default=0)

    def __len__(self) -> int:
        return len(self.tensor) if not self.streamed else int(self.offsets[-1])

    def _part_batch(self, part, index: np.ndarray) -> torch.Tensor:
        if is_streamed(part):
            raw = torch.from_numpy(np.ascontiguousarray(part.raw(index)))
            return part.norm.torch(raw.to(self.device, non_blocking=True))
        return torch.from_numpy(np.ascontiguousarray(part[index])).to(self.device)

    def fetch(self, index: torch.Tensor | np.ndarray) -> torch.Tensor:
        """Rows `index` (positions in train+transfer) as a float32 batch on the device."""
        if not self.streamed:
            return self.tensor[torch.as_tensor(index, device=self.device)]
        index = torch.as_tensor(index).cpu().numpy()
        if len(self.parts) == 1:
            return self._part_batch(self.parts[0], index)
        out = torch.empty((len(index), *self.sample_shape), device=self.device)
        for k, part in enumerate(self.parts):
            mask = (index >= self.offsets[k]) & (index < self.offsets[k + 1])
            if mask.any():
                where = torch.from_numpy(np.flatnonzero(mask)).to(self.device)
                out[where] = self._part_batch(part, index[mask] - self.offsets[k])
        return out

    def batches(self, order: torch.Tensor, batch_size: int) -> Iterator[tuple]:
        """(index, x) per step of `order` (on the device); x read ahead by workers if any."""
        steps = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        if not self.streamed or self.workers == 0 or len(self.parts) > 1:
            for idx in steps:
                yield idx, self.fetch(idx)
            return
        rows = self.parts[0]
        loader = torch.utils.data.DataLoader(
            _RawBatches(rows),
            batch_size=None,
            sampler=[s.cpu().numpy() for s in steps],
            num_workers=self.workers,
            pin_memory=self.device.type == "cuda",
            persistent_workers=False,
        )
        for idx, raw in zip(steps, loader, strict=True):
            yield idx, rows.norm.torch(raw.to(self.device, non_blocking=True))

    def in_order(self, batch_size: int | None = None) -> Iterator[torch.Tensor]:
        """Every row once, in order (for teacher logits)."""
        ordered = torch.arange(len(self))
        for _, x in self.batches(ordered, batch_size or inference_batch(self.sample_shape)):
            yield x

    def fingerprint(self) -> str:
        """Identifies the rows' content, for the on-disk teacher-logit cache."""
        import hashlib

        h = hashlib.sha256()
        if not self.streamed:
            h.update(self.tensor.cpu().numpy().tobytes())
            return h.hexdigest()
        for p in self.parts:
            if is_streamed(p):
                h.update(p.fingerprint().encode())
            else:
                h.update(np.ascontiguousarray(p).tobytes())
        return h.hexdigest()
