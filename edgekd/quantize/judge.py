"""Whether one quantized candidate may ship, and the words that say why.

On the host's own processor class a candidate must be accurate enough and measurably faster
here; for a target whose int8 kernels differ, host timing is no evidence and the target rule
(`target_problems`) replaces the speed test.
"""

from __future__ import annotations

import math

from edgekd.bench import targets as tgt
from edgekd.bench.targets import KernelRule
from edgekd.quantize.candidates import Candidate


def ship_reason(
    best: Candidate,
    baseline: Candidate,
    threads: int,
    max_drop: float,
    rule: KernelRule,
) -> str:
    """Why `best` ships: measured faster here, or (for a target rule) chosen without host
    timing as evidence."""
    limit = f"limit {max_drop * 100:.2f} points"
    if not rule.differs:
        return (
            f"{best.name} runs {1 / best.latency_ratio_vs_fp32:.2f}x faster than fp32 "
            f"(p50 {best.p50_ms:.3f} vs {baseline.p50_ms:.3f} ms, {threads} thread(s), "
            f"batch 1) and {drop_text(best.accuracy_drop)} ({limit})"
        )
    return (
        f"{best.name} ships for target {rule.target}, whose int8 conv/GEMM kernels are its fast "
        f"path; this host ({rule.host_class or 'unknown class'}) runs other int8 kernels, so its "
        f"timing (p50 x{best.latency_ratio_vs_fp32:.2f} of fp32, host timing) is not evidence. "
        f"Chosen on accuracy ({drop_text(target_drop(best))}, {limit}), int8 coverage "
        f"({best.int8_nodes} int8 / {best.float_compute_nodes} float compute nodes) and size "
        f"(x{best.size_ratio_vs_fp32:.2f} of fp32); bench it on the device to confirm"
    )


def drop_text(drop: float) -> str:
    if drop > 0:
        return f"loses {drop * 100:.2f} points of top-1 accuracy"
    if drop < 0:
        return f"gains {-drop * 100:.2f} points of top-1 accuracy"
    return "loses no top-1 accuracy"


def target_drop(c: Candidate) -> float:
    """The accuracy drop the target will see: from the spec-numerics accuracy when measured."""
    spec = getattr(c, "spec_accuracy", None)
    if spec is None or (isinstance(spec, float) and math.isnan(spec)):
        return c.accuracy_drop
    return (c.accuracy + c.accuracy_drop) - spec


def target_rank(c: Candidate) -> tuple:
    """Order of the qualified candidates for a target whose kernels differ: most int8 coverage,
    then the target's accuracy, then a file a second runtime can check (QDQ is standard ONNX;
    QOperator's com.microsoft ops run only on onnxruntime, so tract cannot confirm it), then
    size."""
    only_onnxruntime = (c.config or {}).get("format") == "QOperator"
    return (c.float_compute_nodes, target_drop(c), only_onnxruntime, c.size_bytes)


def _target_problems(c: Candidate, target: str) -> list[str]:
    """Why a candidate cannot ship for a target whose int8 kernels differ from the host's."""
    if c.mode == "fp16":
        return [f"is fp16, which has no fast path known for {target} (host timing is no evidence)"]
    if not tgt.get_target(target).int8_fast:
        return [f"{target}'s int8 kernels are not its fast path and host timing is no evidence"]
    problems = []
    if getattr(c, "host_dependent", False):
        problems.append(f"has host-dependent numerics (its figures here are not {target}'s)")
    if c.int8_nodes == 0:
        problems.append("runs no int8 kernels")
    return problems


def judge(c: Candidate, max_drop: float, min_speedup: float, rule: KernelRule) -> None:
    """Qualified: accurate enough and faster here; for a target whose int8 kernels differ from
    the host's, the target rule replaces the host speed test."""
    problems = []
    drop = target_drop(c) if rule.differs else c.accuracy_drop
    if drop > max_drop:
        kept = (
            f" even with {len(c.float_nodes_kept)} layer(s) kept in float"
            if c.float_nodes_kept
            else ""
        )
        problems.append(
            f"loses {drop * 100:.2f} points of accuracy (limit {max_drop * 100:.2f}){kept}"
        )
    if rule.differs:
        problems += _target_problems(c, rule.target)
    elif c.latency_ratio_vs_fp32 > 1 / min_speedup:
        verdict = "slower than" if c.latency_ratio_vs_fp32 > 1.02 else "not measurably faster than"
        problems.append(f"is {verdict} fp32 (p50 x{c.latency_ratio_vs_fp32:.2f})")
        if c.mode == "fp16":
            problems[-1] += "; fp16 pays off only on CPUs with native fp16 arithmetic"
        elif c.int8_nodes == 0:
            problems[-1] += "; onnxruntime fused no int8 kernels"
    c.qualified = not problems
    c.why_not = " and ".join(problems)
