"""Accuracy, latency, memory and size of every artifact, in the report.json field names.

Latency of all artifacts is measured in one interleaved call, so the ratios between them
(student vs teacher, int8 vs fp32) come from the same stretch of a noisy host. Random inputs
are sized before they are drawn and refused above bench's default input limit (a share of
the memory available), and MACs that could not be counted are named (`macs_uncounted_nodes`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgekd.bench.graph import graph_stats
from edgekd.bench.latency import compare_latency
from edgekd.bench.memory import measure_memory
from edgekd.data import DataBundle
from edgekd.evaluate import onnx_accuracy


@dataclass
class Artifact:
    name: str
    path: Path
    precision: str


def measure_artifacts(
    artifacts: list[Artifact],
    data: DataBundle,
    *,
    threads: int,
    batch: int,
    runs: int,
    reference: float | None = None,
) -> list[dict]:
    """One report entry per artifact; the first artifact is the reference for retention,
    unless `reference` (a teacher accuracy measured without an ONNX file) is given."""
    latencies = compare_latency(
        [a.path for a in artifacts], threads=threads, batch=batch, runs=runs
    )
    rows = []
    for artifact, latency in zip(artifacts, latencies, strict=True):
        rows.append(
            {
                "name": artifact.name,
                "path": artifact.path.name,
                "precision": artifact.precision,
                **graph_stats(artifact.path).to_dict(),
                "accuracy": onnx_accuracy(artifact.path, data.x_test, data.y_test),
                "latency_ms": latency.to_dict(),
                "memory_mb": measure_memory(artifact.path, threads=threads, batch=batch).to_dict(),
            }
        )
    reference = rows[0]["accuracy"] if reference is None else reference
    for row in rows:
        row["retention"] = row["accuracy"] / reference if reference else 0.0
    return rows
