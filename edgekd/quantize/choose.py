"""Choose what ships: build quantized candidates, measure them against fp32, keep the best.

A candidate ships only when it is both accurate enough (top-1 drop vs fp32 within tolerance on
held-out data) and measurably faster than fp32 (p50 at batch 1, timed interleaved with fp32 in
one `compare_latency` call, so host drift cancels out of the ratio). Otherwise fp32 ships and
the reason says which condition every candidate missed.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
import onnx

from edgekd.bench.latency import compare_latency
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
    ship,
    subsample,
)
from edgekd.quantize.data import check_array
from edgekd.quantize.guard import accuracy_guard
from edgekd.quantize.nodes import count_int8_nodes, matmul_heavy, thin_convs

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
    max_drop = drop_fraction(max_accuracy_drop)  # points, as the fraction the guard compares
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

        built = [c for c in candidates if c.path is not None]
        feeds = {quantizer.spec.name: val_x[:1]}
        baseline = _measure(fp32_path, fp32_acc, fp32_size, built, feeds, threads, runs)
        for c in built:
            _judge(c, max_drop, min_speedup)

        shipped, path, reason, written, written_path = _decide(
            candidates, built, baseline, Path(out_path), max_drop, threads, keep_best
        )
        for c in candidates:
            c.path = None  # the temporary files are gone after this block
        baseline.path = fp32_path
    return QuantizationChoice(
        shipped,
        path,
        reason + ".",
        candidates,
        baseline,
        max_drop,
        threads,
        runs,
        written,
        written_path,
    )


def _measure(
    fp32_path: Path,
    fp32_acc: float,
    fp32_size: int,
    built: list[Candidate],
    feeds: dict,
    threads: int,
    runs: int,
) -> Candidate:
    """p50/p90 of fp32 and every built candidate, interleaved in one run; returns the fp32
    baseline candidate."""
    stats = compare_latency(
        [fp32_path, *(c.path for c in built)],
        threads=threads,
        batch=1,
        runs=runs,
        warmup=max(5, runs // 10),
        feeds=feeds,
    )
    fp32_stats = stats[0]
    fp32_nodes = count_int8_nodes(fp32_path)
    for c, s in zip(built, stats[1:], strict=True):
        c.p50_ms, c.p90_ms = s.p50, s.p90
        c.latency_ratio_vs_fp32 = s.p50 / fp32_stats.p50
    return Candidate(
        name="fp32",
        mode="fp32",
        accuracy=fp32_acc,
        accuracy_drop=0.0,
        p50_ms=fp32_stats.p50,
        latency_ratio_vs_fp32=1.0,
        size_bytes=fp32_size,
        size_ratio_vs_fp32=1.0,
        int8_nodes=fp32_nodes["int8"],
        qualified=True,
        why_not="",
        p90_ms=fp32_stats.p90,
        float_compute_nodes=fp32_nodes["float"],
        path=fp32_path,
    )


def _decide(
    candidates: list[Candidate],
    built: list[Candidate],
    baseline: Candidate,
    out_path: Path,
    max_accuracy_drop: float,
    threads: int,
    keep_best: bool,
) -> tuple[str, Path | None, str, str | None, Path | None]:
    """(shipped, path, reason, written, written_path): the fastest qualified candidate is copied
    to `out_path`; none qualified: fp32 ships (and with `keep_best` the best rejected one is
    still written, for comparison)."""
    winners = sorted((c for c in candidates if c.qualified), key=lambda c: c.p50_ms)
    if winners:
        best = winners[0]
        ship(best.path, out_path)
        reason = (
            f"{best.name} runs {1 / best.latency_ratio_vs_fp32:.2f}x faster than fp32 "
            f"(p50 {best.p50_ms:.3f} vs {baseline.p50_ms:.3f} ms, {threads} thread(s), "
            f"batch 1) and {_drop_text(best.accuracy_drop)} "
            f"(limit {max_accuracy_drop * 100:.2f} points)"
        )
        if best.float_nodes_kept:
            reason += f"; kept in float: {', '.join(best.float_nodes_kept)}"
        return best.name, out_path, reason, best.name, out_path
    reason = "fp32 ships, no quantized candidate qualified: " + "; ".join(
        f"{c.name} {c.why_not}" for c in candidates
    )
    kept = best_rejected(built, max_accuracy_drop) if keep_best else None
    if kept is None:
        return "fp32", None, reason, None, None
    written_path = ship(kept.path, out_path)
    reason += f"; {kept.name} is written to {written_path.name} for comparison only"
    return "fp32", None, reason, kept.name, written_path


def best_rejected(built: list[Candidate], max_drop: float) -> Candidate | None:
    """The candidate worth keeping when none ships: the fastest of those accurate enough (only
    speed kept it out), else the most accurate (fastest among equals)."""
    accurate = [c for c in built if c.accuracy_drop <= max_drop]
    if accurate:
        return min(accurate, key=lambda c: c.p50_ms)
    return min(built, key=lambda c: (-c.accuracy, c.p50_ms), default=None)


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
    return cand


def _drop_text(drop: float) -> str:
    if drop > 0:
        return f"loses {drop * 100:.2f} points of top-1 accuracy"
    if drop < 0:
        return f"gains {-drop * 100:.2f} points of top-1 accuracy"
    return "loses no top-1 accuracy"


def _judge(c: Candidate, max_drop: float, min_speedup: float) -> None:
    problems = []
    if c.accuracy_drop > max_drop:
        kept = (
            f" even with {len(c.float_nodes_kept)} layer(s) kept in float"
            if c.float_nodes_kept
            else ""
        )
        problems.append(
            f"loses {c.accuracy_drop * 100:.2f} points of accuracy "
            f"(limit {max_drop * 100:.2f}){kept}"
        )
    if c.latency_ratio_vs_fp32 > 1 / min_speedup:
        verdict = "slower than" if c.latency_ratio_vs_fp32 > 1.02 else "not measurably faster than"
        problems.append(f"is {verdict} fp32 (p50 x{c.latency_ratio_vs_fp32:.2f})")
        if c.mode == "fp16":
            problems[-1] += "; fp16 pays off only on CPUs with native fp16 arithmetic"
        elif c.int8_nodes == 0:
            problems[-1] += "; onnxruntime fused no int8 kernels"
    c.qualified = not problems
    c.why_not = " and ".join(problems)
