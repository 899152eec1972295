"""Latency: interleaving order, stats, the trivial-graph loop overhead, cold start.

No timed assertions: order and bookkeeping are checked with recording fake sessions.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort

from edgekd.bench import latency as lat
from tests.test_bench_helpers import conv_relu_gemm


class _Recorder:
    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self.log = name, log

    def run(self, outputs, feeds):
        self.log.append(self.name)
        return []


def _fake_sessions(monkeypatch, names):
    log: list[str] = []
    it = iter(names)
    monkeypatch.setattr(lat, "make_session", lambda p, t=1, **k: _Recorder(next(it), log))
    return log


def test_models_are_timed_interleaved_not_back_to_back(monkeypatch):
    log = _fake_sessions(monkeypatch, ["A", "B"])
    stats = lat.compare_latency(["a.onnx", "b.onnx"], runs=4, warmup=2, feeds={"x": np.zeros(1)})
    assert log[:4] == ["A", "A", "B", "B"]  # warm-up per model
    assert log[4:] == ["A", "B", "B", "A", "A", "B", "B", "A"]  # rounds, order flipped each round
    assert [s.runs for s in stats] == [4, 4]


def test_duration_mode_gives_every_model_the_same_rounds(monkeypatch):
    log = _fake_sessions(monkeypatch, ["A", "B", "C"])
    stats = lat.compare_latency(
        ["a", "b", "c"], runs=1, warmup=0, duration=0.02, feeds={"x": np.zeros(1)}
    )
    assert len({s.runs for s in stats}) == 1
    assert log.count("A") == log.count("B") == log.count("C") == stats[0].runs


def test_summary_percentiles_are_ordered():
    times = np.random.default_rng(0).exponential(2.0, 500)
    s = lat.summarize(times, threads=2, batch=4)
    assert s.min <= s.p50 <= s.p90 <= s.p95 <= s.p99
    assert s.p90 == np.percentile(times, 90) and s.percentile("p90") == s.p90
    d = s.to_dict()
    assert set(d) == {"p50", "p90", "p95", "p99", "mean", "std", "min", "threads", "batch", "runs"}
    assert (d["threads"], d["batch"], d["runs"]) == (2, 4, 500)


def test_loop_overhead_graph_is_a_single_identity():
    s = ort.InferenceSession(lat.trivial_model_bytes(), providers=["CPUExecutionProvider"])
    (y,) = s.run(None, {"x": np.array([3.5], np.float32)})
    assert y.tolist() == [3.5]
    assert lat.loop_overhead_ms(1) > 0


def test_real_model_stats_and_cold_start(tmp_path):
    path = conv_relu_gemm(tmp_path / "m.onnx")
    stats = lat.measure_latency(path, runs=5, warmup=1, batch=2)
    assert (stats.runs, stats.batch, stats.threads) == (5, 2, 1)
    c = lat.cold_start(path, repeats=1)
    assert c.total_ms == c.session_ms + c.first_run_ms
    assert set(c.to_dict()) == {"session", "first_run", "total"}
