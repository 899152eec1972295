"""Measuring ONNX artifacts with onnxruntime. Imports no torch, so it runs on the device itself.

The public names below are loaded on first use, so `import edgekd.bench.latency` (used by
evaluation) and the memory child stay as light as numpy + onnxruntime.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "benchmark": "edgekd.bench.run",
    "benchmark_many": "edgekd.bench.run",
    "host_info": "edgekd.bench.host",
    "Budget": "edgekd.bench.budgets",
    "BudgetVerdict": "edgekd.bench.budgets",
    "load_budget": "edgekd.bench.budgets",
    "check_budget": "edgekd.bench.budgets",
    "list_profiles": "edgekd.bench.budgets",
    "graph_stats": "edgekd.bench.graph",
    "GraphStats": "edgekd.bench.graph",
    "measure_memory": "edgekd.bench.memory",
    "MemoryStats": "edgekd.bench.memory",
    "measure_latency": "edgekd.bench.latency",
    "compare_latency": "edgekd.bench.latency",
    "loop_overhead_ms": "edgekd.bench.latency",
    "LatencyStats": "edgekd.bench.latency",
    "to_ort": "edgekd.bench.ort_format",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'edgekd.bench' has no attribute {name!r}")
