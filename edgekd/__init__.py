"""edgekd: distill, prune, quantize and measure classifiers for edge devices.

    import edgekd
    result = edgekd.compress(edgekd.CompressConfig(data="mnist1d"))
    edgekd.benchmark("student.int8.onnx", threads=1)

Names are resolved lazily so `edgekd.bench` (measuring on a device) never imports torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_API = {
    "compress": "edgekd.pipeline",
    "RunResult": "edgekd.result",
    "CompressConfig": "edgekd.config",
    "resolve_config": "edgekd.config",
    "KDLoss": "edgekd.distill.losses",
    "kd_loss": "edgekd.distill.losses",
    "fit": "edgekd.distill.trainer",
    "TrainConfig": "edgekd.distill.trainer",
    "load_data": "edgekd.data",
    "create_model": "edgekd.models",
    "list_models": "edgekd.models",
    "export_onnx": "edgekd.export",
    "check_parity": "edgekd.export",
    "choose_quantization": "edgekd.quantize",
    "quantize_model": "edgekd.quantize",
    "benchmark": "edgekd.bench",
    "load_budget": "edgekd.bench.budgets",
    "check_budget": "edgekd.bench.budgets",
    "EdgeKDError": "edgekd.errors",
}

__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module 'edgekd' has no attribute '{name}'")
    return getattr(importlib.import_module(_API[name]), name)
