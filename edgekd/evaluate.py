"""Accuracy of the file that ships: the ONNX artifact run by onnxruntime, never the torch object."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgekd.bench.inputs import onnx_feeds
from edgekd.bench.latency import make_session


def onnx_logits(
    path: str | Path, x: np.ndarray, *, batch_size: int = 512, optimize: bool = True
) -> np.ndarray:
    """onnxruntime's first output on `x`; `optimize=False`: graph optimisations off."""
    session = make_session(path, threads=0, optimize=optimize)
    outs = [
        session.run(None, onnx_feeds(session, x[i : i + batch_size]))[0]
        for i in range(0, len(x), batch_size)
    ]
    return np.concatenate(outs)


def onnx_accuracy(path: str | Path, x: np.ndarray, y: np.ndarray) -> float:
    return float((onnx_logits(path, x).argmax(1) == y).mean())
