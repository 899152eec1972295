"""Stage `export`: the distilled student as student.onnx, with a parity check against torch."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgekd.export import export_checked
from edgekd.measure import Artifact
from edgekd.stages.base import StageResult, stage
from edgekd.stages.context import RunContext
from edgekd.stages.distill import DistillResult


@dataclass
class ExportResult(StageResult):
    path: Path
    parity: Any  # edgekd.export parity result
    name: str = "student"  # the artifact's name in the report

    def files(self) -> list[Path]:
        return [self.path]

    @property
    def artifact(self) -> Artifact:
        return Artifact(self.name, self.path, "fp32")


@stage("export", ("data.source", "run.seed"))
def run(ctx: RunContext, student: DistillResult) -> ExportResult:
    return ExportResult(
        *export_checked(student.model, ctx.data.x_test, ctx.run_dir / "student.onnx")
    )
