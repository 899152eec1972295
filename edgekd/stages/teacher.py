"""Stage `teacher`: train the built-in recipe (or take the given teacher) and write teacher.onnx.

torch teachers are exported with a parity check; an ONNX teacher is copied normalized; an
ensemble's members are composed into one graph.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from edgekd.atomic import write_text_atomic
from edgekd.config import CompressConfig
from edgekd.data import DataBundle
from edgekd.distill.recipe import check_teacher, cleared_by_validation
from edgekd.distill.teacher_cv import cross_validate
from edgekd.heartbeat import counting_steps
from edgekd.measure import Artifact
from edgekd.plan import teacher_epochs
from edgekd.stages.adapters import teacher_views_of, train_config
from edgekd.stages.base import DATA, TRAIN, StageResult, checkpoint_path, stage
from edgekd.stages.context import RunContext
from edgekd.teachers import (
    NO_GRAPH,
    TeacherInfo,
    member_checkpoints,
    teacher_training,
    train_and_measure,
    untrained_copy,
)

# "student": the student is built first, so its random draws precede the teacher's.
FIELDS = (*DATA, *TRAIN, "student", "teacher", "distill.temperature")


@dataclass
class TeacherResult(StageResult):
    teacher: Any  # the trained Teacher the later stages distil from
    info: TeacherInfo
    path: Path | None  # None: a plain Python callable teacher has no graph to write
    parity: Any  # export parity (dict) of a torch teacher, or None
    check: Any = None  # distill.recipe.check_teacher's verdict (weak teachers stop the run)
    cv_steps: int = 0  # steps the check's cross-validation took (0: the split cleared it)

    def files(self) -> list[Path]:
        return [self.path] if self.path else []

    @property
    def artifact(self) -> Artifact | None:
        return Artifact("teacher", self.path, "fp32") if self.path else None

    @property
    def reference(self) -> float | None:
        """The accuracy retention is measured against when there is no teacher.onnx to measure
        (a callable teacher, scored by calling it on the test split); None: measure the file."""
        return None if self.path else self.info.test_accuracy


def train_and_export(
    cfg: CompressConfig,
    teacher: Any,
    data: DataBundle,
    path: Path,
    console: Console,
    checkpoint: Path | None = None,
    epochs: int | None = None,
) -> TeacherResult:
    """Train (when it is a recipe) and export `teacher` to `path`: the stage's work, also used
    by `edgekd search` to make its one teacher.onnx. `checkpoint`: as for `train_and_measure`;
    `epochs`: the run's plan (None: --teacher-epochs, else planned by data size)."""
    train = train_config(cfg, _epochs(cfg, data, epochs))
    info = train_and_measure(teacher, data, train, console, checkpoint, teacher_views_of(cfg, data))
    teacher_path, parity = teacher.export(path, data)
    return TeacherResult(teacher, info, teacher_path, parity)


def _epochs(cfg: CompressConfig, data: DataBundle, planned: int | None) -> int:
    return (
        planned or cfg.teacher.epochs or teacher_epochs(len(data.y_train), cfg.distill.batch_size)
    )


def _checked(ctx: RunContext, result: TeacherResult, untrained: Any) -> TeacherResult:
    """The weak-teacher check; on a validation split too small to clear the teacher, with its
    recipe cross-validated (edgekd/distill/teacher_cv.py; its steps counted apart)."""
    cv = None
    val, data = result.info.val_accuracy, ctx.data
    if untrained is not None and not cleared_by_validation(val, data):
        epochs = _epochs(ctx.cfg, data, ctx.epochs("teacher"))
        train = teacher_training(train_config(ctx.cfg, epochs), teacher_views_of(ctx.cfg, data))
        with counting_steps() as steps:
            cv = cross_validate(untrained, data, train)
        result.cv_steps = steps[0]
    allow = ctx.cfg.teacher.allow_weak_teacher
    result.check = check_teacher(val, data, allow, ctx.console, cv, _advice(ctx))
    return result


def _advice(ctx: RunContext) -> str:
    """How this run could train a better teacher: a time budget that cut its epochs is named."""
    planned = ctx.plan.stages.get("teacher")
    if planned is None or planned.source != "time budget":
        return "train it longer (--teacher-epochs)"
    recipe = _epochs(ctx.cfg, ctx.data, None)
    return (
        f"give the run more time (--time-budget {ctx.cfg.run.time_budget} left the teacher "
        f"{planned.epochs} of its {recipe} epochs) or set --teacher-epochs"
    )


def restore(ctx: RunContext, teacher: Any) -> TeacherResult | None:
    """The finished stage's result without training or exporting again: each trained member
    reloads its last checkpoint (its best weights, the very ones in teacher.onnx, so hints
    still hook a torch teacher), the parity evidence comes from the stage's note beside them."""
    checkpoint = checkpoint_path(ctx, "teacher")
    if checkpoint is None or not checkpoint.with_suffix(".json").exists():
        return None
    if not all(p.exists() for p in member_checkpoints(teacher, checkpoint) if p is not None):
        return None
    parity = json.loads(checkpoint.with_suffix(".json").read_text())
    untrained = untrained_copy(teacher)
    train = train_config(ctx.cfg, _epochs(ctx.cfg, ctx.data, ctx.epochs("teacher")))
    views = teacher_views_of(ctx.cfg, ctx.data)
    info = train_and_measure(teacher, ctx.data, train, ctx.console, checkpoint, views)
    path = ctx.run_dir / "teacher.onnx" if parity.get("source") != NO_GRAPH else None
    return _checked(ctx, TeacherResult(teacher, info, path, parity), untrained)


@stage("teacher", FIELDS, restore)
def run(ctx: RunContext, teacher: Any) -> TeacherResult:
    checkpoint = checkpoint_path(ctx, "teacher")
    path = ctx.run_dir / "teacher.onnx"
    untrained = untrained_copy(teacher)
    result = train_and_export(
        ctx.cfg, teacher, ctx.data, path, ctx.console, checkpoint, ctx.epochs("teacher")
    )
    if checkpoint is not None:  # what `restore` needs besides the checkpoints
        write_text_atomic(checkpoint.with_suffix(".json"), json.dumps(result.parity, default=str))
    return _checked(ctx, result, untrained)
