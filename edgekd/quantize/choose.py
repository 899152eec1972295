"""Choose what ships: build quantized candidates, measure them against fp32, keep the best.

A candidate ships only when it is both accurate enough (top-1 drop vs fp32 within tolerance on
held-out data) and measurably faster than fp32 (p50 at batch 1, timed interleaved with fp32 in
one `compare_latency` call, so host drift cancels out of the ratio), and tract, a second
runtime, predicts on the validation split what onnxruntime predicts. Otherwise fp32 ships and
the reason says which condition every candidate missed. Every int8 candidate is also run by
the ONNX spec's semantics (quantize/spec.py): `host_dependent` marks those whose figures here
are this host's kernels', not the file's.

That speed test is evidence only for this host's processor class. For a target whose int8
kernels differ (an ARM64 phone or VNNI x86 judged on an AVX2 host, an MCU), the target rule
replaces it (`quantize/judge.py`): where int8 conv/GEMM kernels are the target's fast path
(edgekd/bench/targets.py cites why), a candidate qualifies on accuracy (the spec-numerics
accuracy when measured), numerics that do not depend on the host, and running int8 kernels; the
most int8 coverage wins, then accuracy, then size. Host timings stay in the table as host
timings; a device's own bench (`edgekd report --device-bench`) is what confirms the speed.
Measuring and deciding live in quantize/decide.py, shared with the text chooser (text.py).
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
import onnx

from edgekd.bench import host
from edgekd.config.units import drop_fraction
from edgekd.errors import EdgeKDError, first_line
from edgekd.evaluate import onnx_accuracy, onnx_logits
from edgekd.quantize.candidates import Candidate, QuantizationChoice
from edgekd.quantize.config import (
    AUTO_STATIC_CANDIDATES,
    AUTO_THIN_CHANNELS,
    CHOOSE_MODES,
    QuantConfig,
    check_mode,
    check_numbers,
)
from edgekd.quantize.core import (
    DYNAMIC_DEFAULT,
    DYNAMIC_MATMUL_OPS,
    Quantizer,
    check_out_path,
    subsample,
)
from edgekd.quantize.data import check_array
from edgekd.quantize.decide import Rules, measure_and_decide
from edgekd.quantize.guard import accuracy_guard
from edgekd.quantize.nodes import count_int8_nodes, matmul_heavy, thin_convs
from edgekd.quantize.spec import check_spec

PROBE_SAMPLES = 64  # samples used to rank layer sensitivity


def _check_classifier(path: Path, x: np.ndarray, y: np.ndarray) -> None:
    out = onnx_logits(path, x[:2])
    if out.ndim != 2 or out.shape[0] != len(x[:2]) or out.shape[1] < 2:
        raise EdgeKDError(
            f"{path.name} outputs shape {list(out.shape)}, not [batch, classes] logits; "
            "quantization candidates are judged on top-1 accuracy, so pass a classifier"
        )
    if y.ndim != 1 or len(y) != len(x):
        raise EdgeKDError(f"labels have shape {list(y.shape)}; pass one class index per sample")
    if y.min() < 0 or y.max() >= out.shape[1]:
        raise EdgeKDError(
            f"labels span {int(y.min())}..{int(y.max())} but the model has {out.shape[1]} classes; "
            "pass the labels the model was trained on"
        )


def _plan(
    mode: str, quantizer: Quantizer, config: QuantConfig | None, calibration_samples: int
) -> list[tuple[str, str, QuantConfig | None]]:
    """(name, mode, config) of each candidate."""
    if mode == "int8":
        cfg = config or QuantConfig(calibration_samples=calibration_samples)
        return [(f"int8-{cfg.label}", "int8", cfg)]
    if mode == "dynamic":
        return [("dynamic", "dynamic", config)]
    if mode == "fp16":
        return [("fp16", "fp16", None)]
    plan = [
        (name, "int8", cfg.model_copy(update={"calibration_samples": calibration_samples}))
        for name, cfg in AUTO_STATIC_CANDIDATES
    ]
    pre = onnx.load(str(quantizer.pre_path))
    seen: list[list[str]] = [[]]
    for below in AUTO_THIN_CHANNELS:  # one candidate per distinct, non-empty set of thin convs
        thin = thin_convs(pre, below)
        if thin not in seen:
            seen.append(thin)
            cfg = QuantConfig(float_below_channels=below, calibration_samples=calibration_samples)
            plan.append((f"int8-{cfg.label}", "int8", cfg))
    if config is not None:
        plan.append((f"int8-{config.label}", "int8", config))
    if matmul_heavy(pre):
        plan.append(
            (
                "dynamic",
                "dynamic",
                DYNAMIC_DEFAULT.model_copy(update={"op_types": DYNAMIC_MATMUL_OPS}),
            )
        )
    return plan


def choose_quantization(
    fp32_path: str | Path,
    out_path: str | Path,
    *,
    calibration: np.ndarray,
    val_x: np.ndarray,
    val_y: np.ndarray,
    mode: str = "auto",
    max_accuracy_drop: float = 0.5,
    threads: int = 1,
    runs: int = 200,
    config: QuantConfig | None = None,
    calibration_samples: int = 256,
    min_speedup: float = 1.05,
    guard_tries: int = 6,
    keep_best: bool = False,
    target: str = "host",
) -> QuantizationChoice:
    """Build, measure and pick; the winner is copied to `out_path`, fp32 ships otherwise.

    mode "auto" tries static int8 QDQ S8S8 (onnxruntime's default), QDQ U8S8 per-channel
    reduce_range, QOperator U8S8, plus dynamic int8 when MatMul/Gemm carry most of the work.
    "int8", "dynamic" and "fp16" build only that variant (still measured). A static candidate
    losing over `max_accuracy_drop` points (as for compress; config/units.py) gets up to
    `guard_tries` of its most harmful layers kept in float. A candidate qualifies when its drop
    is within tolerance and its p50 is at least `min_speedup` times faster than fp32's. Built-in
    configs calibrate on `calibration_samples` rows of `calibration`; a `config` on its own count.

    `keep_best`: when fp32 ships, still write the best built candidate to `out_path` so it can be
    measured beside fp32 (`choice.written`; `choice.path` stays None because it did not ship).
    The best is the fastest candidate within the accuracy tolerance, else the most accurate one.
    """
    check_mode(mode, CHOOSE_MODES)
    max_drop, rule = drop_fraction(max_accuracy_drop), host.kernel_rule(target)  # points->fraction
    check_numbers(threads, runs, calibration_samples, min_speedup, guard_tries)
    fp32_path = Path(fp32_path)
    check_out_path(fp32_path, out_path)
    with tempfile.TemporaryDirectory(prefix="edgekd-choose-") as tmp:
        work = Path(tmp)
        quantizer = Quantizer(fp32_path, work)
        if quantizer.spec.fixed_batch is not None:
            raise EdgeKDError(
                f"{fp32_path.name} has a fixed batch size of {quantizer.spec.fixed_batch}; "
                "export it with a dynamic batch axis (edgekd's export does)"
            )
        calibration = quantizer.set_calibration(calibration)
        val_x = check_array(val_x, quantizer.spec, "validation data")
        val_y = np.asarray(val_y)
        _check_classifier(fp32_path, val_x, val_y)
        fp32_acc, fp32_size = onnx_accuracy(fp32_path, val_x, val_y), fp32_path.stat().st_size

        probe = subsample(calibration, PROBE_SAMPLES)  # deterministic: rows spread evenly
        guarded: dict[str, list[str]] = {}  # QDQ-twin label -> layers its guard kept in float
        plan = _plan(mode, quantizer, config, calibration_samples)
        shared = (work, fp32_acc, fp32_size, max_drop, val_x, val_y, probe, guard_tries)
        candidates = [_build(quantizer, n, m, cfg, *shared, guarded) for n, m, cfg in plan]

        rules = Rules(max_drop, min_speedup, threads, runs, keep_best, rule)
        feeds = {quantizer.spec.name: val_x[:1]}
        return measure_and_decide(
            candidates, fp32_path, fp32_acc, out_path, feeds=feeds, val_x=val_x, rules=rules
        )


def _check_spec(
    quantizer: Quantizer, c: Candidate, cfg: QuantConfig | None, val_x: np.ndarray, val_y
) -> None:
    """Spec numerics of a built int8 candidate; a failure there is recorded, not fatal."""
    if c.path is None or c.mode not in ("int8", "dynamic"):
        return
    try:
        check_spec(quantizer, c, cfg, c.path, val_x, val_y)
    except Exception as e:  # e.g. an operator onnx.reference lacks: say so, keep the candidate
        c.spec_path = f"not checked: {first_line(e)}"


def _build(
    quantizer: Quantizer,
    name: str,
    mode: str,
    cfg: QuantConfig | None,
    work: Path,
    fp32_acc: float,
    fp32_size: int,
    max_drop: float,
    val_x: np.ndarray,
    val_y: np.ndarray,
    probe_x: np.ndarray,
    guard_tries: int,
    guarded: dict[str, list[str]],
) -> Candidate:
    nan = math.nan
    cand = Candidate(
        name=name,
        mode=mode,
        accuracy=nan,
        accuracy_drop=nan,
        p50_ms=nan,
        latency_ratio_vs_fp32=nan,
        size_bytes=0,
        size_ratio_vs_fp32=nan,
        int8_nodes=0,
        config=cfg.model_dump(mode="json") if cfg else None,
    )
    try:
        path = quantizer.build(mode, work / f"{name}.onnx", cfg)
        acc = onnx_accuracy(path, val_x, val_y)
        if mode == "int8" and fp32_acc - acc > max_drop and guard_tries > 0:
            twin = cfg.qdq_twin().label  # same numerics in QOperator: start from its answer
            result = accuracy_guard(
                quantizer,
                name,
                cfg,
                path=path,
                accuracy=acc,
                fp32_accuracy=fp32_acc,
                max_accuracy_drop=max_drop,
                val_x=val_x,
                val_y=val_y,
                probe_x=probe_x,
                max_tries=guard_tries,
                start_kept=guarded.get(twin, ()),
            )
            guarded[twin] = result.kept
            path, acc = result.path, result.accuracy
            cand.float_nodes_kept, cand.guard_history = result.kept, result.history
        nodes = count_int8_nodes(path)
    except Exception as e:  # one broken variant must not stop the others from being measured
        cand.why_not = f"could not be built or run: {first_line(e)}"
        return cand
    cand.path = path
    cand.accuracy, cand.accuracy_drop = acc, fp32_acc - acc
    cand.size_bytes = path.stat().st_size
    cand.size_ratio_vs_fp32 = cand.size_bytes / fp32_size
    cand.int8_nodes, cand.float_compute_nodes = nodes["int8"], nodes["float"]
    _check_spec(quantizer, cand, cfg, val_x, val_y)
    return cand
