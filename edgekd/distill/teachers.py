"""Where the teacher comes from: a zoo/recipe name trained on the spot (for now)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console
from torch import nn

from edgekd.data import DataBundle
from edgekd.distill.trainer import TrainConfig, fit
from edgekd.errors import EdgeKDError
from edgekd.models import create_model, list_models

BUILTIN_TEACHER = "teacher-cnn"


@dataclass
class TeacherInfo:
    spec: str
    trained_here: bool
    val_accuracy: float | None


def build_teacher(
    specs: list[str], data: DataBundle, train: TrainConfig, console: Console
) -> tuple[nn.Module, TeacherInfo]:
    """Return an eval-mode teacher. With no spec, train the built-in recipe and say so."""
    spec = specs[0] if specs else BUILTIN_TEACHER
    if spec in list_models():
        if not specs:
            console.print(
                f"[yellow]no --teacher given: training the built-in recipe '{BUILTIN_TEACHER}' "
                f"on '{data.name}' ({train.epochs} epochs)[/yellow]"
            )
        model = create_model(spec, data.input_shape, data.num_classes)
        result = fit(
            model, data.x_train, data.y_train, data.x_val, data.y_val, train, label="teacher"
        )
        return model.eval(), TeacherInfo(spec, True, result.best_val_accuracy)
    raise EdgeKDError(
        f"teacher '{spec}' is not a zoo or recipe name; use one of: {', '.join(list_models())}"
    )
