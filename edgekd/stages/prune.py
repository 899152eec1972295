"""Stage `prune`: prune a copy of the distilled student with KD fine-tuning (edgekd/prune.py),
saved as student.pruned.pt and exported as student.pruned.onnx."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgekd.measure import Artifact
from edgekd.prune import PrunedStudent, prune_and_export
from edgekd.stages.base import DATA_FIELDS, KD_FIELDS, TRAIN_FIELDS, StageResult, stage
from edgekd.stages.context import RunContext, prune_spec
from edgekd.stages.distill import DistillResult
from edgekd.stages.teacher import TeacherResult

FIELDS = (
    *DATA_FIELDS, *TRAIN_FIELDS, *KD_FIELDS[:2], "transfer", "prune_ratio", "prune_method",
    "prune_steps", "prune_epochs", "prune_importance", "prune_scope",
)  # fmt: skip


@dataclass
class PruneStageResult(StageResult):
    pruned: PrunedStudent
    name: str = "student-pruned"

    @property
    def path(self) -> Path:
        return self.pruned.onnx_path

    def files(self) -> list[Path]:
        return [self.pruned.checkpoint, self.pruned.onnx_path]

    @property
    def artifact(self) -> Artifact:
        return Artifact(self.name, self.path, "fp32")


@stage("prune", FIELDS)
def run(ctx: RunContext, student: DistillResult, teacher: TeacherResult) -> PruneStageResult:
    cfg = ctx.cfg
    pruned = prune_and_export(
        student.model,
        ctx.data,
        prune_spec(cfg),
        ctx.train_config(cfg.prune_epochs),
        ctx.run_dir,
        epochs=cfg.prune_epochs,
        teacher=teacher.teacher,
        x_transfer=ctx.transfer,
    )
    return PruneStageResult(pruned)
