"""Stage `ort`: the shipped model for ONNX Runtime Mobile: a .ort file and the operator config
a reduced build needs; their names and size are added to the shipped artifact's report row."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgekd.bench.ort_format import to_ort
from edgekd.stages.base import StageResult, stage
from edgekd.stages.context import RunContext
from edgekd.stages.measure import MeasureResult


@dataclass
class OrtResult(StageResult):
    path: Path
    config: Path

    def files(self) -> list[Path]:
        return [self.path, self.config]


@stage("ort", ("run.ort",))
def run(ctx: RunContext, measured: MeasureResult) -> OrtResult:
    row = measured.final_row
    ort_path, ort_config = to_ort(ctx.run_dir / row["path"], ctx.run_dir)
    row.update(
        ort_path=ort_path.name,
        ort_config=ort_config.name,
        ort_size_bytes=ort_path.stat().st_size,
    )
    return OrtResult(ort_path, ort_config)
