"""Latency of ONNX models on onnxruntime CPU.

Models compared in one call are timed interleaved (A B A B ...) because shared hosts drift:
a ratio measured that way is trustworthy where two separate runs are not. The per-call cost of
the timing loop itself is measured on a trivial graph and reported beside the percentiles, so a
tiny model's latency is not misread as the model's own cost.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from edgekd.bench.inputs import ORT_DTYPES, make_feeds

_ORT_DTYPES = ORT_DTYPES  # kept for callers of the first version of this module

Feeds = dict[str, np.ndarray]


@dataclass
class LatencyStats:
    p50: float
    p90: float
    p95: float
    p99: float
    mean: float
    std: float
    min: float
    threads: int
    batch: int
    runs: int

    def to_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}

    def percentile(self, name: str) -> float:
        """`"p90"` -> self.p90; budgets name the percentile they limit."""
        return float(getattr(self, name))


@dataclass
class ColdStart:
    """Session creation plus the first inference: what a user waits for at app start."""

    session_ms: float
    first_run_ms: float

    @property
    def total_ms(self) -> float:
        return self.session_ms + self.first_run_ms

    def to_dict(self) -> dict:
        return {
            "session": round(self.session_ms, 3),
            "first_run": round(self.first_run_ms, 3),
            "total": round(self.total_ms, 3),
        }


def make_session(
    path: str | Path | bytes, threads: int = 1, *, arena: bool = True, optimize: bool = True
) -> ort.InferenceSession:
    """One CPU session with a fixed intra-op thread count, so timings say which count they used.

    `threads=0` lets onnxruntime choose (for accuracy runs, where speed is not reported).
    `optimize=False` turns every graph optimisation off: a QDQ graph then runs op by op as the
    ONNX spec defines it (edgekd.quantize.spec), not through the host's fused int8 kernels.
    """
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.enable_cpu_mem_arena = arena
    opts.log_severity_level = 3
    if not optimize:
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    model = path if isinstance(path, bytes) else str(path)
    return ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])


def random_inputs(
    session: ort.InferenceSession,
    batch: int = 1,
    seed: int = 0,
    *,
    shapes: Mapping[str, Sequence[int]] | None = None,
) -> Feeds:
    """Inputs of the declared dtype; a symbolic first axis becomes `batch`, other symbols 1."""
    return make_feeds(session, shapes=shapes, batch=batch, seed=seed)[0]


def summarize(times_ms: np.ndarray, threads: int, batch: int) -> LatencyStats:
    p50, p90, p95, p99 = np.percentile(times_ms, [50, 90, 95, 99])
    return LatencyStats(
        p50=float(p50),
        p90=float(p90),
        p95=float(p95),
        p99=float(p99),
        mean=float(times_ms.mean()),
        std=float(times_ms.std()),
        min=float(times_ms.min()),
        threads=threads,
        batch=batch,
        runs=len(times_ms),
    )


def timed_rounds(
    sessions: Sequence[ort.InferenceSession],
    inputs: Sequence[Feeds],
    runs: int,
    duration: float | None,
) -> np.ndarray:
    """Interleaved rounds; the order flips each round so no model always follows the same one."""
    n = len(sessions)
    cap = runs if duration is None else 10_000_000
    rows: list[list[float]] = []
    deadline = None if duration is None else time.perf_counter() + duration
    order = list(range(n))
    for r in range(cap):
        row = [0.0] * n
        for i in order if r % 2 == 0 else reversed(order):
            s, x = sessions[i], inputs[i]
            t0 = time.perf_counter()
            s.run(None, x)
            row[i] = (time.perf_counter() - t0) * 1e3
        rows.append(row)
        if deadline is not None and time.perf_counter() >= deadline:
            break
    return np.asarray(rows).T


def compare_latency(
    paths: list[str | Path],
    *,
    threads: int = 1,
    batch: int = 1,
    runs: int = 200,
    warmup: int = 20,
    feeds: Feeds | Sequence[Feeds] | None = None,
    duration: float | None = None,
    shapes: Mapping[str, Sequence[int]] | None = None,
    arena: bool = True,
) -> list[LatencyStats]:
    """Time several models interleaved; one LatencyStats per path, in order.

    `feeds` is one dict for all models or one per model; `duration` (seconds) replaces `runs`.
    """
    if runs < 1 and duration is None:
        raise ValueError("runs must be at least 1")
    sessions = [make_session(p, threads, arena=arena) for p in paths]
    if feeds is None:
        inputs = [random_inputs(s, batch, shapes=shapes) for s in sessions]
    elif isinstance(feeds, Mapping):
        inputs = [dict(feeds)] * len(sessions)
    else:
        inputs = list(feeds)
    for s, x in zip(sessions, inputs, strict=True):
        for _ in range(warmup):
            s.run(None, x)
    times = timed_rounds(sessions, inputs, runs, duration)
    return [summarize(t, threads, batch) for t in times]


def measure_latency(path: str | Path, **kwargs) -> LatencyStats:
    return compare_latency([path], **kwargs)[0]


def trivial_model_bytes() -> bytes:
    """A one-node Identity graph on one float: running it costs only the call path itself."""
    from onnx import TensorProto, helper

    node = helper.make_node("Identity", ["x"], ["y"])
    graph = helper.make_graph(
        [node],
        "edgekd_loop_overhead",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model.SerializeToString()


@functools.lru_cache(maxsize=8)
def loop_overhead_ms(threads: int = 1, runs: int = 2000) -> float:
    """Median ms per call of the timing loop (Python + session.run) on a graph that does nothing.

    Cached per process: it is a property of host + runtime, not of the model being timed.
    """
    session = make_session(trivial_model_bytes(), threads)
    x = {"x": np.zeros(1, np.float32)}
    for _ in range(100):
        session.run(None, x)
    times = timed_rounds([session], [x], runs, None)[0]
    return float(np.median(times))


def cold_start(
    path: str | Path,
    *,
    threads: int = 1,
    feeds: Feeds | None = None,
    batch: int = 1,
    shapes: Mapping[str, Sequence[int]] | None = None,
    arena: bool = True,
    repeats: int = 3,
) -> ColdStart:
    """Median over `repeats` of session creation + first run (onnxruntime already imported)."""
    samples = []
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        session = make_session(path, threads, arena=arena)
        t1 = time.perf_counter()
        x = feeds if feeds is not None else random_inputs(session, batch, shapes=shapes)
        t2 = time.perf_counter()
        session.run(None, x)
        t3 = time.perf_counter()
        samples.append(((t1 - t0) * 1e3, (t3 - t2) * 1e3))
        del session
    arr = np.asarray(samples)
    best = int(np.argsort(arr.sum(axis=1))[len(arr) // 2])
    return ColdStart(session_ms=float(arr[best, 0]), first_run_ms=float(arr[best, 1]))


def throughput(
    paths: list[str | Path],
    batches: Sequence[int],
    *,
    threads: int = 1,
    runs: int = 50,
    warmup: int = 5,
    feeds_for_batch=None,
    shapes: Mapping[str, Sequence[int]] | None = None,
) -> list[list[dict]]:
    """Items per second at each batch size, per model (models interleaved at each batch).

    `feeds_for_batch(batch) -> list of feeds per model` supplies real data when the caller has it.
    """
    out: list[list[dict]] = [[] for _ in paths]
    for b in batches:
        feeds = feeds_for_batch(b) if feeds_for_batch is not None else None
        stats = compare_latency(
            paths, threads=threads, batch=b, runs=runs, warmup=warmup, feeds=feeds, shapes=shapes
        )
        for i, st in enumerate(stats):
            out[i].append(
                {"batch": b, "p50_ms": round(st.p50, 4), "items_per_s": round(b * 1e3 / st.p50, 2)}
            )
    return out
