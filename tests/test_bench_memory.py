"""Memory is measured in a fresh child from VmHWM, so a large parent does not leak into it."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from edgekd.bench import memory
from edgekd.bench.memory import measure_memory
from tests.test_bench_helpers import conv_relu_gemm

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="VmHWM is Linux")


def _own_vmhwm_mb() -> float:
    with open("/proc/self/status") as f:
        line = next(ln for ln in f if ln.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


@linux_only
def test_child_reports_its_own_peak_not_the_large_parents(tmp_path):
    path = conv_relu_gemm(tmp_path / "m.onnx")
    big = np.ones(500 * 1024 * 1024 // 8)  # 500 MB, touched by np.ones
    big[::4096] = 2.0
    try:
        parent_peak = _own_vmhwm_mb()
        assert parent_peak > 500
        stats = measure_memory(path)
    finally:
        del big
    assert stats.peak_mb is not None and stats.peak_mb < 300 < parent_peak
    assert stats.baseline_mb < stats.peak_mb
    assert stats.added_mb == pytest.approx(stats.peak_mb - stats.baseline_mb, abs=0.01)
    assert stats.to_dict() == {
        "peak": stats.peak_mb,
        "baseline": stats.baseline_mb,
        "added": stats.added_mb,
        "arena": True,
    }


@linux_only
def test_arena_flag_reaches_the_child(tmp_path):
    stats = measure_memory(conv_relu_gemm(tmp_path / "m.onnx"), arena=False, threads=2)
    assert stats.to_dict()["arena"] is False and stats.threads == 2
    assert stats.peak_mb > 0


def test_no_proc_status_says_so_instead_of_guessing(tmp_path, monkeypatch):
    monkeypatch.setattr(memory, "run_child", lambda args, timeout=300: {"vmhwm_kb": None})
    stats = measure_memory(conv_relu_gemm(tmp_path / "m.onnx"))
    assert (stats.peak_mb, stats.baseline_mb, stats.added_mb) == (None, None, None)
    assert "Linux" in stats.note and "ru_maxrss" in stats.note


def test_child_failure_is_one_clear_error(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00garbage" * 10)
    with pytest.raises(memory.EdgeKDError, match="memory measurement failed"):
        measure_memory(bad)
