"""The teacher's logits on the training rows, cached on disk in the run directory.

Without augmentation every epoch shows the teacher the same rows, so its logits are computed
once. On disk (a .npy memmap beside a small JSON key) they survive the process: a rerun of
the same run directory skips the teacher pass when the teacher file and the data are the
same, and recomputes when either changed. Raw logits are stored, not soft targets, so one
cache serves every temperature.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from edgekd.atomic import atomic_path, write_text_atomic
from edgekd.data.stream import TrainRows
from edgekd.manifest import file_sha256

KEY_VERSION = 1


@dataclass(frozen=True)
class LogitCache:
    """Where the logits live (`path`, a .npy) and which file the teacher was (`teacher_file`)."""

    path: Path
    teacher_file: Path

    @property
    def key_path(self) -> Path:
        return self.path.with_suffix(".key.json")


@torch.no_grad()
def _compute(teacher: Callable, rows: TrainRows, out: np.ndarray | None = None) -> np.ndarray:
    if isinstance(teacher, torch.nn.Module):
        teacher.eval().to(rows.device)
    parts, start = [], 0
    for x in rows.in_order():
        logits = teacher(x).float().cpu().numpy()
        if out is None:
            parts.append(logits)
        else:
            out[start : start + len(logits)] = logits
        start += len(logits)
    return np.concatenate(parts) if out is None else out


def _probe_classes(teacher: Callable, rows: TrainRows) -> int:
    with torch.no_grad():
        return int(teacher(rows.fetch(np.arange(min(2, len(rows))))).shape[1])


def teacher_logits(teacher: Callable, rows: TrainRows, cache: LogitCache | None) -> np.ndarray:
    """Logits for every training row: from `cache` when its key matches, else computed.

    The key is the teacher file's SHA-256 and the rows' fingerprint (source, split indices,
    normalisation, transfer set); a mismatch recomputes and rewrites both files atomically.
    """
    if cache is None:
        return _compute(teacher, rows)
    key = {
        "version": KEY_VERSION,
        "teacher_sha256": file_sha256(cache.teacher_file),
        "data": rows.fingerprint(),
        "rows": len(rows),
    }
    if cache.path.is_file() and cache.key_path.is_file():
        try:
            same = json.loads(cache.key_path.read_text()) == key
        except (OSError, ValueError):
            same = False
        if same:
            logits = np.load(cache.path, mmap_mode="r")
            if len(logits) == len(rows):
                return logits
    cache.key_path.unlink(missing_ok=True)  # no stale key may ever vouch for new logits
    classes = _probe_classes(teacher, rows)
    with atomic_path(cache.path) as tmp:
        shape = (len(rows), classes)
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=shape)
        _compute(teacher, rows, out)
        out.flush()
        del out
    write_text_atomic(cache.key_path, json.dumps(key, indent=1))
    return np.load(cache.path, mmap_mode="r")
