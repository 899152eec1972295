"""Assemble report.json: the contract in design.md, plus the evidence behind it."""

from __future__ import annotations

import os
import platform
from importlib.metadata import version
from typing import Any


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def host_info() -> dict[str, Any]:
    return {
        "cpu": _cpu_name(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "onnxruntime": version("onnxruntime"),
        "onnx": version("onnx"),
        "torch": version("torch"),
    }


def build_report(
    *,
    cfg,
    artifacts: list[dict],
    final: str,
    budget: dict,
    notes: list[str] | None = None,
    **evidence: Any,
) -> dict:
    """`evidence` (training, parity, quantization...) is kept under its own keys."""
    return {
        "edgekd_version": version("edgekd"),
        "host": host_info(),
        "config": cfg.model_dump(),
        "artifacts": artifacts,
        "final": final,
        "budget": budget,
        "notes": [n for n in (notes or []) if n],
        **evidence,
    }
