"""PyTorch -> one self-contained ONNX file, checked and compared against PyTorch.

torch >= 2.9 writes weights to a side `.onnx.data` file by default; a device wants one file,
so weights are embedded. The file only counts as exported once it computes what the
PyTorch model computes on real inputs (parity), because "accuracy lost after export" is
the failure users meet most.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from edgekd.atomic import atomic_path
from edgekd.bench.latency import make_session
from edgekd.errors import ParityError

INPUT_NAME = "input"
OUTPUT_NAME = "logits"


def _quiet_exporter() -> None:
    """The exporter logs a warning per missing torchvision op; edgekd needs none of them."""
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)


def export_onnx(model: nn.Module, example: torch.Tensor, path: str | Path) -> Path:
    """Export with a dynamic batch axis, embedded weights, and `onnx.checker` passed."""
    return _write_onnx(model.eval().cpu(), example[:2].cpu(), Path(path), dynamo=True)


def export_torchscript(module: nn.Module, example: torch.Tensor, path: str | Path) -> Path:
    """torch.export (export_onnx's exporter) cannot trace TorchScript; the TorchScript-based
    exporter can. Same contract as export_onnx: one file, dynamic batch, checker passed."""
    return _write_onnx(module.eval().cpu(), example, Path(path), dynamo=False)


def _write_onnx(model: nn.Module, example: torch.Tensor, path: Path, *, dynamo: bool) -> Path:
    """One atomic, checked file; the dynamo exporter's debug metadata stripped."""
    _quiet_exporter()
    legacy = {"dynamo": False}  # the TorchScript-based exporter
    options = {"external_data": False, "dynamo": True, "verbose": False} if dynamo else legacy
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (example,),
            str(tmp),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            **options,
        )
        if dynamo:
            _strip_debug_metadata(tmp)
        onnx.checker.check_model(str(tmp), full_check=True)
    return path


def _strip_debug_metadata(path: Path) -> None:
    """Drop the exporter's per-node stack traces and FX names: for a tiny student they are
    over 40% of the file, and a microcontroller budget counts every kilobyte."""
    proto = onnx.load(str(path))
    for node in proto.graph.node:
        del node.metadata_props[:]
        node.doc_string = ""
    onnx.save(proto, str(path))


@dataclass
class Parity:
    max_abs_diff: float
    top1_agreement: float
    samples: int

    def to_dict(self) -> dict:
        return {
            "max_abs_diff": self.max_abs_diff,
            "top1_agreement": self.top1_agreement,
            "samples": self.samples,
        }


def check_parity(
    model: nn.Module,
    onnx_path: str | Path,
    inputs: np.ndarray,
    *,
    atol: float = 1e-3,
    min_agreement: float = 0.999,
    batch_size: int = 256,
) -> Parity:
    """Compare PyTorch and onnxruntime logits on `inputs`; raise ParityError when they differ."""
    model = model.eval().cpu()
    session = make_session(onnx_path)
    diffs, agree = [], 0
    for start in range(0, len(inputs), batch_size):
        x = inputs[start : start + batch_size].astype(np.float32)
        with torch.no_grad():
            ref = model(torch.from_numpy(x)).numpy()
        got = session.run(None, {INPUT_NAME: x})[0]
        diffs.append(float(np.abs(ref - got).max()))
        agree += int((ref.argmax(1) == got.argmax(1)).sum())
    parity = Parity(max(diffs), agree / len(inputs), len(inputs))
    scale = max(1.0, float(np.abs(ref).max()))
    if parity.max_abs_diff > atol * scale or parity.top1_agreement < min_agreement:
        raise ParityError(
            f"{Path(onnx_path).name} differs from PyTorch (max |dlogit| {parity.max_abs_diff:.2e}, "
            f"top-1 agreement {parity.top1_agreement:.4f}); the model likely uses an op the "
            "exporter mis-translates: simplify it or report the layer"
        )
    return parity


def export_checked(
    model: nn.Module,
    inputs: np.ndarray,
    path: str | Path,
    exporter: Callable[[nn.Module, torch.Tensor, Path], Path] = export_onnx,
) -> tuple[Path, Parity]:
    """Export `model` to `path` (traced on two of `inputs`), then `check_parity` on all of them:
    a file only counts as exported once it computes what the model computes. `exporter`: how to
    write the file (TorchScript teachers need their own)."""
    path = exporter(model, torch.from_numpy(inputs[:2]), Path(path))
    return path, check_parity(model, path, inputs)
