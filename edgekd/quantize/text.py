"""int8 for text models: the embedding table (Gather) and the MatMul/Gemm weights.

The float-input chooser (edgekd/quantize/choose.py) feeds one float tensor; a text model takes
two int64 tensors. So text candidates are built here, then measured, judged and decided by the
same function as every other model (quantize/decide.py): dynamic int8 (weights int8,
activations quantized at run time; no Conv, which ran slower dynamically here) and static QDQ
int8 (U8S8, per-channel, reduce_range, calibrated on training texts; Conv included). The
fastest candidate within the accuracy tolerance ships, as for every model; the sequence axis
stays dynamic in both.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import (
    CalibrationDataReader,
    QuantFormat,
    QuantType,
    quantize_dynamic,
    quantize_static,
)

from edgekd.bench import host
from edgekd.bench.inputs import token_feeds
from edgekd.config.units import drop_fraction
from edgekd.evaluate import onnx_accuracy
from edgekd.quantize.candidates import Candidate, QuantizationChoice
from edgekd.quantize.core import check_out_path, preprocess, quiet, subsample
from edgekd.quantize.decide import Rules, measure_and_decide
from edgekd.quantize.nodes import count_int8_nodes

DYNAMIC_OPS = ["Gather", "MatMul", "Gemm"]
STATIC_OPS = ["Gather", "MatMul", "Gemm", "Conv"]
BATCH = 32


class TokenReader(CalibrationDataReader):
    """Calibration batches of token ids as the model's two inputs."""

    def __init__(self, x: np.ndarray, names: list[str]):
        self.feeds = [token_feeds(x[i : i + BATCH], names) for i in range(0, len(x), BATCH)]
        self.next = 0

    def get_next(self) -> dict | None:
        if self.next >= len(self.feeds):
            return None
        self.next += 1
        return self.feeds[self.next - 1]

    def rewind(self) -> None:
        self.next = 0


def _inputs(path: Path) -> list[str]:
    return [i.name for i in onnx.load(str(path)).graph.input]


def _build(name: str, fp32: Path, work: Path, calibration: np.ndarray) -> Path:
    out = work / f"{name}.onnx"
    with quiet():
        if name == "dynamic":
            quantize_dynamic(
                str(fp32), str(out), op_types_to_quantize=DYNAMIC_OPS, weight_type=QuantType.QInt8
            )
        else:
            pre = preprocess(fp32, work / "pre.onnx")
            quantize_static(
                str(pre),
                str(out),
                TokenReader(calibration, _inputs(fp32)),
                quant_format=QuantFormat.QDQ,
                op_types_to_quantize=STATIC_OPS,
                per_channel=True,
                reduce_range=True,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
            )
    return out


def _candidate(name: str, path: Path | None, fp32_acc: float, fp32_size: int, val) -> Candidate:
    acc = onnx_accuracy(path, *val) if path else float("nan")
    size = path.stat().st_size if path else 0
    return Candidate(
        name=name,
        mode="dynamic" if name == "dynamic" else "int8",
        accuracy=acc,
        accuracy_drop=fp32_acc - acc if path else float("nan"),
        p50_ms=float("nan"),
        latency_ratio_vs_fp32=float("nan"),
        size_bytes=size,
        size_ratio_vs_fp32=size / fp32_size,
        int8_nodes=count_int8_nodes(path)["int8"] if path else 0,
        path=path,
    )


def choose_text_quantization(
    fp32_path: str | Path,
    out_path: str | Path,
    *,
    calibration: np.ndarray,
    val_x: np.ndarray,
    val_y: np.ndarray,
    max_accuracy_drop: float = 0.5,
    threads: int = 1,
    runs: int = 200,
    calibration_samples: int = 256,
    min_speedup: float = 1.05,
    keep_best: bool = False,
    target: str = "host",
) -> QuantizationChoice:
    """Build dynamic and static int8 of a text model, measure, ship the best (or fp32).
    `max_accuracy_drop`: points, as for compress; `target`: as for choose_quantization."""
    max_accuracy_drop, rule = drop_fraction(max_accuracy_drop), host.kernel_rule(target)
    fp32_path = Path(fp32_path)
    check_out_path(fp32_path, out_path)
    fp32_acc, fp32_size = onnx_accuracy(fp32_path, val_x, val_y), fp32_path.stat().st_size
    calibration = subsample(np.asarray(calibration), calibration_samples)
    with tempfile.TemporaryDirectory(prefix="edgekd-text-quant-") as tmp:
        work, candidates = Path(tmp), []
        for name in ("dynamic", "int8-qdq-u8s8"):
            try:
                path = _build(name, fp32_path, work, calibration)
                candidates.append(_candidate(name, path, fp32_acc, fp32_size, (val_x, val_y)))
            except Exception as e:  # a failed build is a row of the table, not a failed run
                c = _candidate(name, None, fp32_acc, fp32_size, None)
                c.why_not = f"failed to build ({str(e).splitlines()[0][:160]})"
                candidates.append(c)
        rules = Rules(max_accuracy_drop, min_speedup, threads, runs, keep_best, rule)
        feeds = token_feeds(val_x[:1], _inputs(fp32_path))
        return measure_and_decide(
            candidates, fp32_path, fp32_acc, out_path, feeds=feeds, val_x=val_x, rules=rules
        )
