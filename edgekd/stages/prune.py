"""Stage `prune`: prune a copy of the distilled student with KD fine-tuning (edgekd/prune/),
saved as student.pruned.pt and exported as student.pruned.onnx with a parity check."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from edgekd.export import export_checked
from edgekd.measure import Artifact
from edgekd.prune import PruneResult, onnx_weight_sparsity, prune_with_kd, save_pruned
from edgekd.stages.adapters import prune_spec
from edgekd.stages.base import DATA, TRAIN, StageResult, stage
from edgekd.stages.context import RunContext
from edgekd.stages.distill import DistillResult
from edgekd.stages.teacher import TeacherResult

FIELDS = (
    *DATA, *TRAIN, "distill.temperature", "distill.alpha", "distill.transfer", "prune",
    "distill.epochs",  # the plan's prune fine-tune: half the distillation's epochs by default
)  # fmt: skip


@dataclass
class PruneStageResult(StageResult):
    model: nn.Module
    result: PruneResult
    checkpoint: Path
    path: Path  # student.pruned.onnx
    parity: Any
    name: str = "student-pruned"

    def files(self) -> list[Path]:
        return [self.checkpoint, self.path]

    @property
    def artifact(self) -> Artifact:
        return Artifact(self.name, self.path, "fp32")

    def to_dict(self) -> dict:
        """report.json `pruning`."""
        info = self.result.to_dict()
        info["checkpoint"] = self.checkpoint.name
        info["onnx"] = self.path.name
        info["onnx_weight_sparsity"] = round(onnx_weight_sparsity(self.path), 6)
        return info


@stage("prune", FIELDS)
def run(ctx: RunContext, student: DistillResult, teacher: TeacherResult) -> PruneStageResult:
    cfg, data = ctx.cfg, ctx.data
    model = copy.deepcopy(student.model)
    epochs = ctx.epochs("prune") or 0
    result = prune_with_kd(
        model,
        data,
        prune_spec(cfg),
        ctx.train_config(epochs),
        epochs=epochs,
        teacher=teacher.teacher,
        x_transfer=ctx.transfer,
    )
    checkpoint = save_pruned(model, ctx.run_dir / "student.pruned.pt", result)
    path, parity = export_checked(model, data.x_test, ctx.run_dir / "student.pruned.onnx")
    return PruneStageResult(model, result, checkpoint, path, parity)


def report_notes(pruning: dict, artifacts: list[dict]) -> list[str]:
    """Plain statements for the report: what the pruned file is, and what it is not."""
    rows = {a["name"]: a for a in artifacts}
    student, pruned = rows.get("student"), rows.get("student-pruned")
    notes = []
    if pruning["method"] == "unstructured":
        sizes = ""
        if student and pruned:
            sizes = (
                f" ({pruned['size_bytes'] / 1024:.1f} KB vs {student['size_bytes'] / 1024:.1f} KB "
                f"unpruned; gzip {pruned['gzip_bytes'] / 1024:.1f} KB vs "
                f"{student['gzip_bytes'] / 1024:.1f} KB)"
            )
        notes.append(
            f"unstructured pruning zeroed {pruning['sparsity']:.1%} of the prunable weights, but "
            f"the dense ONNX file keeps its size{sizes} and dense latency does not drop: "
            "onnxruntime multiplies zeros like any other number; only the gzip size shrinks. "
            "Use --prune-method structured to remove channels."
        )
    else:
        notes.append(
            f"{pruning['checkpoint']} is a state_dict of the pruned shapes plus their channel "
            "counts: it does not load into the unpruned architecture; use "
            "edgekd.prune.load_pruned(fresh_model, path)"
        )
    return notes
