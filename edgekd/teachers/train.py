"""Making a loaded teacher ready: recipe members train on the spot (hard labels), then every
member's accuracy is measured; `TeacherInfo` is what the report says about it.

Apart from load.py because loading happens before the run directory exists (every check up
front) while training happens inside the run's teacher stage.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from rich.console import Console

from edgekd.data import DataBundle
from edgekd.data.stream import inference_chunks
from edgekd.distill.trainer import TrainConfig, fit
from edgekd.teachers.ensemble import EnsembleTeacher
from edgekd.teachers.kinds import Teacher
from edgekd.teachers.load import load_teacher


@dataclass
class TeacherInfo:
    """What the report says about the teacher (`training.teacher` in report.json)."""

    spec: str
    trained_here: bool
    val_accuracy: float | None
    kind: str = "recipe"
    output: str = "logits"
    n_classes: int = 0
    test_accuracy: float | None = None
    members: list[dict] = field(default_factory=list)


@torch.no_grad()
def _accuracy(fn, x: np.ndarray, y: np.ndarray) -> float:
    preds = [fn(torch.from_numpy(c)).argmax(1).numpy() for c in inference_chunks(x)]
    return float((np.concatenate(preds) == y).mean())


def member_checkpoints(teacher: Teacher, checkpoint: Path | None) -> list[Path | None]:
    """Where each member trained on the spot checkpoints its training (None: not trained)."""
    members = teacher.members
    if checkpoint is None:
        return [None] * len(members)
    paths = [checkpoint.with_name(f"{checkpoint.stem}-{i + 1}.pt") for i in range(len(members))]
    paths = [checkpoint] if len(members) == 1 else paths
    return [path if m.needs_training else None for path, m in zip(paths, members, strict=True)]


def teacher_training(train: TrainConfig, views: str = "none") -> TrainConfig:
    """A teacher trains on hard labels with one-cycle, whatever the student's recipe, through
    its own views (--teacher-augment, resolved by `distill.augment.teacher_views`)."""
    return replace(train, recipe="hinton", augment=views, schedule="onecycle")


def _views_note(augment: str) -> str:
    return "" if augment == "none" else f", through views: {augment.replace(',', ', ')}"


def untrained_copy(teacher: Teacher) -> torch.nn.Module | None:
    """A copy of a single built-in teacher before it trains, for the cross-validation of its
    recipe (None: a given teacher, or an ensemble, is judged on the validation split)."""
    members = teacher.members
    if len(members) == 1 and members[0].needs_training:
        return copy.deepcopy(members[0].module)
    return None


def train_and_measure(
    teacher: Teacher,
    data: DataBundle,
    train: TrainConfig,
    console: Console,
    checkpoint: Path | None = None,
    views: str = "none",
) -> TeacherInfo:
    """Train recipe members on the spot (saying so), then measure every member's accuracy.

    Members train as `teacher_training` says, through `views`. `checkpoint`: training
    checkpoints every epoch there (one file per trained member), continuing from them."""
    train = teacher_training(train, views)
    rows = []
    checkpoints = member_checkpoints(teacher, checkpoint)
    for i, member in enumerate(teacher.members):
        val_acc = None
        if member.needs_training:
            resuming = checkpoints[i] is not None and checkpoints[i].exists()
            doing = f"continuing from {checkpoints[i]}" if resuming else "training it"
            console.print(
                f"[yellow]teacher '{member.spec}' is a recipe: {doing} on '{data.name}' "
                f"({train.epochs} epochs{_views_note(train.augment)})[/yellow]"
            )
            label = "teacher" if len(teacher.members) == 1 else f"teacher {i + 1}"
            result = fit(
                member.module,
                data.x_train,
                data.y_train,
                data.x_val,
                data.y_val,
                train,
                label=label,
                checkpoint=checkpoints[i],
            )
            member.needs_training = False
            member.freeze()
            val_acc = result.best_val_accuracy
        call = member.logits_at if isinstance(member, EnsembleTeacher) else member
        rows.append(
            {
                "spec": member.spec,
                "kind": member.kind,
                "output": member.output,
                "trained_here": member.kind == "recipe",
                "val_accuracy": val_acc
                if val_acc is not None
                else _accuracy(call, data.x_val, data.y_val),
                "test_accuracy": _accuracy(call, data.x_test, data.y_test),
            }
        )
    weights = getattr(teacher, "weights", [1.0])
    for row, w in zip(rows, weights, strict=True):
        row["weight"] = w
    if isinstance(teacher, EnsembleTeacher):

        def fn(x):
            return teacher.logits_at(x, 1.0)

        val, test = _accuracy(fn, data.x_val, data.y_val), _accuracy(fn, data.x_test, data.y_test)
        for row in rows:
            console.print(f"  teacher {row['spec']}: test accuracy {row['test_accuracy']:.4f}")
        console.print(f"  ensemble of {len(rows)}: test accuracy {test:.4f}")
        members = rows
    else:
        val, test, members = rows[0]["val_accuracy"], rows[0]["test_accuracy"], []
    return TeacherInfo(
        spec=teacher.spec,
        trained_here=any(r["trained_here"] for r in rows),
        val_accuracy=val,
        kind=teacher.kind,
        output=teacher.output,
        n_classes=teacher.n_classes,
        test_accuracy=test,
        members=members,
    )


def build_teacher(
    specs: list[str], data: DataBundle, train: TrainConfig, console: Console, **options
) -> tuple[Teacher, TeacherInfo]:
    """`load_teacher` + `train_and_measure`: a ready teacher and what to report about it."""
    teacher = load_teacher(specs, data, temperature=train.temperature, **options)
    return teacher, train_and_measure(teacher, data, train, console)
