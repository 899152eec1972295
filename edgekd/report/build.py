"""Assemble report.json: the contract in design.md, plus the evidence behind it."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

from edgekd.bench.run import host_info as bench_host_info


def host_info() -> dict[str, Any]:
    """The bench package's host facts plus the training-side library versions."""
    return {**bench_host_info(), "onnx": version("onnx"), "torch": version("torch")}


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
