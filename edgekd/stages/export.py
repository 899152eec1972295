"""Stage `export`: the distilled student as student.onnx, with a parity check against torch."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from edgekd.export import check_parity, export_onnx
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


@stage("export", ("data", "seed"))
def run(ctx: RunContext, student: DistillResult) -> ExportResult:
    x = ctx.data.x_test
    path = export_onnx(student.model, torch.from_numpy(x[:2]), ctx.run_dir / "student.onnx")
    parity = check_parity(student.model, path, x)
    if not ctx.data.is_text:
        return ExportResult(path, parity)
    from edgekd.text.export import check_tokenizer_parity, write_tokenizer

    tokenizer = write_tokenizer(ctx.data.text, ctx.run_dir)
    parity.tokenizer = check_tokenizer_parity(student.model, path, tokenizer, ctx.data.text, x)
    return ExportResult(path, parity, tokenizer=tokenizer)
