"""Training checkpoints that a resumed run continues from exactly where a killed one stopped.

A checkpoint holds everything the next step depends on: model, optimizer and scheduler state,
every random stream (torch CPU and CUDA, numpy, Python, and the loop's own generator that
draws the batch order), the epoch finished and the best-so-far (weights, accuracy, epoch).
So the resumed loop's next step is the uninterrupted loop's next step, bit for bit on CPU.

Only plain tensors, numbers, strings, lists and dicts are stored, so loading uses
`torch.load(..., weights_only=True)` and never unpickles code. Saved write-then-rename: a kill
during the save leaves the previous checkpoint, never half of one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from edgekd.atomic import atomic_path
from edgekd.errors import EdgeKDError, first_line

FORMAT = 1


@dataclass
class Progress:
    """What the loop needs besides the objects it restores in place."""

    epoch: int  # epochs finished; the loop continues at epoch + 1
    best_accuracy: float = -1.0
    best_epoch: int = 0
    best_state: dict[str, torch.Tensor] | None = None
    history: list[dict] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # plain values a caller wants back


def _rng_states(generator: torch.Generator | None) -> dict[str, Any]:
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, state, gauss_next = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "gauss": float(gauss),
        },
        "python": {"version": version, "state": list(state), "gauss_next": gauss_next},
        "generator": generator.get_state() if generator is not None else None,
    }


def _set_rng_states(states: dict[str, Any], generator: torch.Generator | None) -> None:
    torch.set_rng_state(states["torch"])
    if states["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    n = states["numpy"]
    np.random.set_state(
        (n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"])
    )
    p = states["python"]
    random.setstate((p["version"], tuple(p["state"]), p["gauss_next"]))
    if generator is not None and states["generator"] is not None:
        generator.set_state(states["generator"])


def save_checkpoint(
    path: str | Path,
    progress: Progress,
    *,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any | None = None,
    generator: torch.Generator | None = None,
) -> Path:
    """Write the loop's whole state to `path` atomically (call it at the end of an epoch)."""
    blob = {
        "format": FORMAT,
        "progress": {
            "epoch": progress.epoch,
            "best_accuracy": progress.best_accuracy,
            "best_epoch": progress.best_epoch,
            "best_state": progress.best_state,
            "history": progress.history,
            "extra": progress.extra,
        },
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "rng": _rng_states(generator),
    }
    with atomic_path(path) as tmp:
        torch.save(blob, tmp)
    return Path(path)


def load_checkpoint(
    path: str | Path,
    *,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any | None = None,
    generator: torch.Generator | None = None,
) -> Progress:
    """Restore freshly built objects (same architecture and hyper-parameters) from `path`, and
    every random stream; returns where the loop stood. EdgeKDError for an unreadable file."""
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated, not a checkpoint, or holding code
        raise EdgeKDError(
            f"checkpoint '{path}' cannot be read ({first_line(e)}); "
            "delete it to train from the start"
        ) from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise EdgeKDError(
            f"checkpoint '{path}' is not an edgekd checkpoint of format {FORMAT}; delete it to "
            "train from the start"
        )
    model.load_state_dict(blob["model"])
    if optimizer is not None and blob["optimizer"] is not None:
        optimizer.load_state_dict(blob["optimizer"])
    if scheduler is not None and blob["scheduler"] is not None:
        scheduler.load_state_dict(blob["scheduler"])
    _set_rng_states(blob["rng"], generator)
    return Progress(**blob["progress"])
