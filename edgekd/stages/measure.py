"""Stage `measure`: every artifact's accuracy, latency, memory and size by onnxruntime, the
budget verdict on the one that ships, and a second runtime's predictions on that one (tract,
edgekd.second_runtime: its agreement is stated beside the verdict, which says when it
disagrees)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edgekd.bench.host import cpu_name
from edgekd.bench.mcu import BOARDS, estimate_file
from edgekd.bench.verdict import judge
from edgekd.data.labels import stamp_onnx
from edgekd.evaluate import onnx_logits
from edgekd.measure import Artifact, measure_artifacts
from edgekd.second_runtime import second_opinion
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
    if ctx.budget.target in BOARDS:  # an MCU: its latency is estimated from each graph
        for row, artifact in zip(rows, artifacts, strict=True):
            row["estimate"] = estimate_file(artifact.path, ctx.budget.target).to_dict()
    final_row = next(m for m in rows if m["name"] == final)
    shipped = next(a.path for a in artifacts if a.name == final)
    x_test = ctx.data.x_test
    final_row["second_runtime"] = second_opinion(shipped, x_test, onnx_logits(shipped, x_test))
    verdict = judge(final_row, ctx.budget, cpu_name())
    return MeasureResult(rows, final, verdict)
