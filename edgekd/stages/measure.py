"""Stage `measure`: every artifact's accuracy, latency, memory and size by onnxruntime, and the
budget verdict on the one that ships."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edgekd.bench.budgets import check_budget, metrics_from_result
from edgekd.data.labels import stamp_onnx
from edgekd.measure import Artifact, measure_artifacts
from edgekd.stages.base import DATA, StageResult, stage
from edgekd.stages.context import RunContext

FIELDS = (*DATA, "budget")


@dataclass
class MeasureResult(StageResult):
    rows: list[dict]  # report.json `artifacts`, the teacher first
    final: str
    verdict: Any  # edgekd.bench.budgets verdict

    @property
    def final_row(self) -> dict:
        return next(m for m in self.rows if m["name"] == self.final)

    def accuracies(self) -> dict[str, float]:
        return {m["name"]: m["accuracy"] for m in self.rows}


@stage("measure", FIELDS)
def run(
    ctx: RunContext,
    produced: list[StageResult | None],
    final: str,
    reference: float | None = None,
) -> MeasureResult:
    """`produced`: the results whose artifacts are measured, in report order (teacher first:
    it is the reference for retention; None: a stage that did not run); `final`: the name of
    the one that ships; `reference`: the teacher accuracy retention is against when the teacher
    has no ONNX file to measure."""
    artifacts: list[Artifact] = [
        r.artifact for r in produced if r is not None and r.artifact is not None
    ]
    if ctx.data.class_ids is not None:  # so a device can map outputs back to the user's ids
        for artifact in artifacts:
            stamp_onnx(artifact.path, ctx.data.class_ids)
    rows = measure_artifacts(
        artifacts,
        ctx.data,
        threads=ctx.threads,
        batch=ctx.budget.batch,
        runs=ctx.cfg.budget.latency_runs,
        reference=reference,
    )
    final_row = next(m for m in rows if m["name"] == final)
    verdict = check_budget(ctx.budget, metrics_from_result(final_row, ctx.budget))
    return MeasureResult(rows, final, verdict)
