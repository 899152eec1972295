"""Stage `distill`: train the student on the teacher's soft targets (plus hints, transfer set)
and save its state_dict as student.pt."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from edgekd.atomic import atomic_path
from edgekd.distill.logit_cache import LogitCache
from edgekd.distill.trainer import TrainResult, fit
from edgekd.stages.base import (
    DATA,
    TRAIN,
    StageResult,
    checkpoint_path,
    stage,
)
from edgekd.stages.context import RunContext
from edgekd.stages.teacher import TeacherResult

FIELDS = (*DATA, *TRAIN, "student", "distill")


@dataclass
class DistillResult(StageResult):
    model: nn.Module  # the trained student (the object given, trained in place)
    train: TrainResult
    checkpoint: Path

    def files(self) -> list[Path]:
        return [self.checkpoint]

    def resolve(self, ctx: RunContext) -> RunContext:
        """`ctx` with `augment` the views distillation kept, when auto dropped some the teacher
        misreads (distill/views.py): the prune fine-tune distils through the same views, and
        the same-recipe baseline's recipe stays the same."""
        if not self.train.views_dropped:
            return ctx
        return ctx.with_cfg(augment=",".join(self.train.views) or "none")

    def to_dict(self) -> dict:
        """report.json `training.student`."""
        return {
            "best_val_accuracy": self.train.best_val_accuracy,
            "best_epoch": self.train.best_epoch,
            "seconds": round(self.train.seconds, 2),
        }


def _train(ctx: RunContext, student: nn.Module, teacher: TeacherResult, hints: Any) -> TrainResult:
    """Distil `student` in place, continuing from the stage's checkpoint when there is one."""
    data, cfg = ctx.data, ctx.cfg
    with hints.attached() if hints else contextlib.nullcontext():
        return fit(
            student,
            data.x_train,
            data.y_train,
            data.x_val,
            data.y_val,
            ctx.train_config(ctx.epochs("distill")),
            teacher=teacher.teacher,
            x_transfer=ctx.transfer,
            hint_loss=hints,
            label=f"distill {cfg.student.name}",
            on_epoch=ctx.on_epoch,
            # un-augmented teacher logits kept on disk, reused while the teacher file matches
            logit_cache=LogitCache(ctx.run_dir / "teacher_logits.npy", teacher.path)
            if teacher.path
            else None,
            checkpoint=checkpoint_path(ctx, "distill"),
        )


def restore(
    ctx: RunContext, student: nn.Module, teacher: TeacherResult, hints: Any
) -> DistillResult | None:
    """The finished stage's result: its last checkpoint gives the training record (no epoch is
    left to train), student.pt the weights."""
    checkpoint = checkpoint_path(ctx, "distill")
    if checkpoint is None or not checkpoint.exists():
        return None
    train = _train(ctx, student, teacher, hints)
    path = ctx.run_dir / "student.pt"
    student.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return DistillResult(student, train, path)


@stage("distill", FIELDS, restore)
def run(ctx: RunContext, student: nn.Module, teacher: TeacherResult, hints: Any) -> DistillResult:
    train = _train(ctx, student, teacher, hints)
    with atomic_path(ctx.run_dir / "student.pt") as tmp:
        torch.save(student.state_dict(), tmp)
    return DistillResult(student, train, ctx.run_dir / "student.pt")
