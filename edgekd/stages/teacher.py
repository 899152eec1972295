"""Stage `teacher`: train the built-in recipe (or take the given teacher) and write teacher.onnx.

torch teachers are exported with a parity check; an ONNX teacher is copied normalized; an
ensemble's members are composed into one graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from edgekd.config import CompressConfig
from edgekd.data import DataBundle
from edgekd.distill.recipe import check_teacher
from edgekd.distill.teachers import TeacherInfo, prepare_teacher
from edgekd.measure import Artifact
from edgekd.stages.base import DATA_FIELDS, STUDENT_FIELDS, TRAIN_FIELDS, StageResult, stage
from edgekd.stages.context import RunContext, train_config

FIELDS = (
    *DATA_FIELDS,
    *TRAIN_FIELDS,
    *STUDENT_FIELDS[:3],  # the student is built first: its random draws precede the teacher's
    "teacher", "teacher_arch", "teacher_output", "teacher_weight", "trust_pickle",
    "teacher_epochs", "temperature", "allow_weak_teacher",
)  # fmt: skip


@dataclass
class TeacherResult(StageResult):
    teacher: Any  # the trained Teacher the later stages distil from
    info: TeacherInfo
    path: Path | None  # None: a plain Python callable teacher has no graph to write
    parity: Any  # export parity (dict) of a torch teacher, or None
    check: Any = None  # distill.recipe.check_teacher's verdict (weak teachers stop the run)

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


def prepare(
    cfg: CompressConfig, teacher: Any, data: DataBundle, path: Path, console: Console
) -> TeacherResult:
    """Train (when it is a recipe) and export `teacher` to `path`: the stage's work, also used
    by `edgekd search` to make its one teacher.onnx."""
    info = prepare_teacher(teacher, data, train_config(cfg, cfg.teacher_epochs), console)
    teacher_path, parity = teacher.export(path, data)
    return TeacherResult(teacher, info, teacher_path, parity)


@stage("teacher", FIELDS)
def run(ctx: RunContext, teacher: Any) -> TeacherResult:
    result = prepare(ctx.cfg, teacher, ctx.data, ctx.run_dir / "teacher.onnx", ctx.console)
    result.check = check_teacher(
        result.info.val_accuracy, ctx.data, ctx.cfg.allow_weak_teacher, ctx.console
    )
    return result
