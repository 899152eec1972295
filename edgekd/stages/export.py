"""Stage `export`: the distilled student as student.onnx, with a parity check against torch;
for texts also tokenizer.json beside it, checked with the ONNX file on the raw test texts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgekd.atomic import write_text_atomic
from edgekd.data.tokenizer import shipped_json
from edgekd.export import TOKENIZER_FILE, check_tokenizer_parity, export_checked
from edgekd.measure import Artifact
from edgekd.stages.base import StageResult, stage
from edgekd.stages.context import RunContext
from edgekd.stages.distill import DistillResult


@dataclass
class ExportResult(StageResult):
    path: Path
    parity: Any  # edgekd.export parity result
    name: str = "student"  # the artifact's name in the report
    tokenizer: Path | None = None  # texts: tokenizer.json, shipped beside student.onnx

    def files(self) -> list[Path]:
        return [self.path, self.tokenizer] if self.tokenizer else [self.path]

    @property
    def artifact(self) -> Artifact:
        return Artifact(self.name, self.path, "fp32")


@stage("export", ("data.source", "run.seed"))
def run(ctx: RunContext, student: DistillResult) -> ExportResult:
    data = ctx.data
    path, parity = export_checked(student.model, data.x_test, ctx.run_dir / "student.onnx")
    if not data.is_text:
        return ExportResult(path, parity)
    tokenizer = ctx.run_dir / TOKENIZER_FILE  # truncation at the model's length, no padding
    write_text_atomic(tokenizer, shipped_json(data.text.tokenizer, data.text.max_length))
    parity.tokenizer = check_tokenizer_parity(
        student.model, path, tokenizer, data.text.texts_test, data.x_test
    )
    return ExportResult(path, parity, tokenizer=tokenizer)
