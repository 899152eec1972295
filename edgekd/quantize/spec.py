"""Spec numerics of an int8 candidate: what its file computes by the ONNX definition of its
operators, beside what onnxruntime's optimised kernels compute on this host.

On an AVX2 host without VNNI, onnxruntime's u8 x s8 kernels add pairs of products in 16 bits and
saturate: QDQ S8S8 and U8S8 without reduce_range then give other logits (and up to 8.6% other
predictions on random-weight conv nets) than the same file on a VNNI or ARM64 CPU, tract, or the
spec (design.md, "Devices are not the build host"). The exact path per format, each checked on
these candidates on that host:

- QDQ: onnxruntime with every graph optimisation off runs DequantizeLinear -> float op ->
  QuantizeLinear literally, which is the spec's meaning of a QDQ graph. Its logits equalled
  onnx.reference.ReferenceEvaluator's bit for bit (which needs opset >= 19 for QDQ and is ~100x
  slower) and tract's within one output step, with no flipped prediction.
- QOperator: QLinearConv and the com.microsoft ops run the host's integer kernels even with
  optimisations off (identical logits, measured), and only onnxruntime runs com.microsoft ops.
  The spec defines QLinearConv as DequantizeLinear -> Conv -> QuantizeLinear of the same tensors,
  so the file's spec numerics are those of its QDQ twin (same settings, calibration cache and
  float layers) run as above; measured, the twin's host run equals the QOperator file's.
- dynamic: MatMulInteger/ConvInteger are also the host's kernels with optimisations off;
  onnx.reference computes them in exact int32 numpy, and dynamic candidates are built only for
  MatMul-heavy models, where that is quick. On a random-weight MLP (dynamic, no reduce_range)
  tract equalled onnx.reference bit for bit while the host, optimisations on or off, flipped
  0.11% of 1,797 digits.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx.reference import ReferenceEvaluator

from edgekd.evaluate import onnx_logits
from edgekd.numerics import compare_logits
from edgekd.quantize.candidates import Candidate
from edgekd.quantize.config import QuantConfig
from edgekd.quantize.core import Quantizer

ORT_OFF = "onnxruntime, graph optimisations off"
PATHS = {
    "QDQ": ORT_OFF,
    "QOperator": f"its QDQ twin, {ORT_OFF}",
    "dynamic": "onnx.reference (exact int32)",
}


def _reference_logits(path: Path, x: np.ndarray, batch_size: int = 512) -> np.ndarray:
    session = ReferenceEvaluator(onnx.load(str(path)))
    name = session.input_names[0]
    outs = [
        session.run(None, {name: x[i : i + batch_size]})[0] for i in range(0, len(x), batch_size)
    ]
    return np.concatenate(outs)


def spec_logits(
    quantizer: Quantizer, cand: Candidate, cfg: QuantConfig | None, path: Path, x: np.ndarray
) -> tuple[np.ndarray, str]:
    """(logits by the spec's semantics, the path that computed them) for an int8 candidate."""
    if cand.mode == "dynamic":
        return _reference_logits(path, x.astype(np.float32)), PATHS["dynamic"]
    if cfg is not None and cfg.format == "QOperator":
        twin = path.with_name(f"{path.stem}.qdq-twin.onnx")
        quantizer.build("int8", twin, cfg.qdq_twin(), cand.float_nodes_kept)
        return onnx_logits(twin, x, optimize=False), PATHS["QOperator"]
    return onnx_logits(path, x, optimize=False), PATHS["QDQ"]


def check_spec(
    quantizer: Quantizer,
    cand: Candidate,
    cfg: QuantConfig | None,
    path: Path,
    val_x: np.ndarray,
    val_y: np.ndarray,
) -> None:
    """Set the candidate's spec accuracy and whether its host figure is host-dependent."""
    host = onnx_logits(path, val_x)
    spec, cand.spec_path = spec_logits(quantizer, cand, cfg, path, val_x)
    agreement = compare_logits(host, spec)
    cand.spec_accuracy = float((spec.argmax(1) == val_y).mean())
    cand.spec_agreement, cand.spec_max_steps = agreement.agreement, agreement.max_steps
    cand.host_dependent = not agreement.agrees
