"""What ships once quantized candidates are built: measure them against fp32, judge, decide.

Every chooser builds its candidates its own way (float-input models: choose.py; token-id text
models, whose two int64 inputs the float chooser cannot feed: text.py), but what ships must be
decided by one rule for every model, or the same file could ship from one chooser and not the
other. So the measuring, judging, second-runtime check and the choice itself live here, once,
and both choosers end with `measure_and_decide`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgekd.bench.latency import compare_latency
from edgekd.bench.targets import KernelRule
from edgekd.evaluate import onnx_logits
from edgekd.quantize.candidates import Candidate, QuantizationChoice
from edgekd.quantize.core import ship
from edgekd.quantize.judge import judge, ship_reason, target_rank
from edgekd.quantize.nodes import count_int8_nodes
from edgekd.second_runtime import second_opinion


@dataclass(frozen=True)
class Rules:
    """What a candidate is judged by, as the caller of a chooser set it."""

    max_drop: float  # top-1 drop vs fp32 accepted, a fraction (0.005 = 0.5 points)
    min_speedup: float  # p50 fp32 / candidate a host-timed candidate must reach
    threads: int  # intra-op threads of the latency measurement
    runs: int  # timed runs per model
    keep_best: bool  # fp32 ships: still write the best rejected candidate, to compare
    rule: KernelRule  # the target's kernel rule (replaces the host timing where it differs)


def measure_against_fp32(
    fp32_path: Path, fp32_acc: float, built: list[Candidate], feeds: dict, rules: Rules
) -> Candidate:
    """p50/p90 of fp32 and every built candidate, interleaved in one `compare_latency` call so
    host drift cancels out of the ratios; returns the fp32 baseline as a candidate."""
    stats = compare_latency(
        [fp32_path, *(c.path for c in built)],
        threads=rules.threads,
        batch=1,
        runs=rules.runs,
        warmup=max(5, rules.runs // 10),
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
        size_bytes=fp32_path.stat().st_size,
        size_ratio_vs_fp32=1.0,
        int8_nodes=fp32_nodes["int8"],
        qualified=True,
        why_not="",
        p90_ms=fp32_stats.p90,
        float_compute_nodes=fp32_nodes["float"],
        path=fp32_path,
    )


def decide(
    candidates: list[Candidate],
    built: list[Candidate],
    baseline: Candidate,
    out_path: Path,
    rules: Rules,
    val_x: np.ndarray,
) -> tuple[str, Path | None, str, str | None, Path | None]:
    """(shipped, path, reason, written, written_path): every built candidate is judged, then
    the fastest qualified one (for a target rule: the most int8 coverage, then accuracy, then
    size) that a second runtime agrees with is copied to `out_path`; none: fp32 ships (and with
    `keep_best` the best rejected one is still written, for comparison)."""
    for c in built:
        judge(c, rules.max_drop, rules.min_speedup, rules.rule)
    qualified = [c for c in candidates if c.qualified]
    if not rules.rule.differs:
        winners = sorted(qualified, key=lambda c: c.p50_ms)
    else:
        winners = sorted(qualified, key=target_rank)
    best = next((c for c in winners if second_runtime_agrees(c, val_x)), None)
    if best is not None:
        ship(best.path, out_path)
        reason = ship_reason(best, baseline, rules.threads, rules.max_drop, rules.rule)
        if best.float_nodes_kept:
            reason += f"; kept in float: {', '.join(best.float_nodes_kept)}"
        return best.name, out_path, reason, best.name, out_path
    reason = "fp32 ships, no quantized candidate qualified: " + "; ".join(
        f"{c.name} {c.why_not}" for c in candidates
    )
    kept = best_rejected(built, rules.max_drop) if rules.keep_best else None
    if kept is None:
        return "fp32", None, reason, None, None
    written_path = ship(kept.path, out_path)
    reason += f"; {kept.name} is written to {written_path.name} for comparison only"
    return "fp32", None, reason, kept.name, written_path


def measure_and_decide(
    candidates: list[Candidate],
    fp32_path: Path,
    fp32_acc: float,
    out_path: Path,
    *,
    feeds: dict,
    val_x: np.ndarray,
    rules: Rules,
) -> QuantizationChoice:
    """The end of every chooser: time the built candidates against fp32, decide what ships
    (copied to `out_path`), and the choice. Call it while the candidates' files still exist:
    their paths are cleared afterwards, since a chooser builds them in a temporary folder."""
    built = [c for c in candidates if c.path is not None]
    baseline = measure_against_fp32(fp32_path, fp32_acc, built, feeds, rules)
    shipped, path, reason, written, written_path = decide(
        candidates, built, baseline, Path(out_path), rules, val_x
    )
    for c in candidates:
        c.path = None
    return QuantizationChoice(
        shipped, path, reason + ".", candidates, baseline, rules.max_drop, rules.threads,
        rules.runs, written, written_path, rules.rule,
    )  # fmt: skip


def second_runtime_agrees(c: Candidate, val_x: np.ndarray) -> bool:
    """Before a candidate ships, tract runs it on the validation split. When it predicts
    otherwise than onnxruntime (edgekd.numerics' tolerance), the accuracy measured here is not a
    property of the file but of this host's kernels, so it does not ship and the next one is
    tried. A file tract cannot run (QOperator's com.microsoft ops) or a missing tract is no
    evidence either way: the candidate ships as before and the reason is recorded."""
    c.second_runtime = second_opinion(c.path, val_x, onnx_logits(c.path, val_x))
    if c.second_runtime.get("agrees", True):
        return True
    c.qualified = False
    same = round(c.second_runtime["agreement"] * c.second_runtime["n"])
    c.why_not = (
        f"tract disagrees with onnxruntime on this host ({same} of {c.second_runtime['n']} "
        f"validation predictions equal, logits up to {c.second_runtime['max_logit_steps']:.1f} "
        "8-bit steps apart)"
    )
    return False


def best_rejected(built: list[Candidate], max_drop: float) -> Candidate | None:
    """The candidate worth keeping when none ships: the fastest of those accurate enough (only
    speed kept it out), else the most accurate (fastest among equals)."""
    accurate = [c for c in built if c.accuracy_drop <= max_drop]
    if accurate:
        return min(accurate, key=lambda c: c.p50_ms)
    return min(built, key=lambda c: (-c.accuracy, c.p50_ms), default=None)
