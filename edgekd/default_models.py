"""The built-in teacher and student chosen by the data's shape when none is given.

(Not "recipes": a recipe is how a student is distilled, distill/recipe.py.)

One default cannot fit every data set: a convolution needs a channel axis and a length (or
height and width), a table row has neither. Rows of features get MLPs (both standardised
inside, on the training split's statistics), 1-D signals (C, L) 1-D convolutions and images
(C, H, W) 2-D convolutions (the convolutional models pick Conv1d or Conv2d from the rank).
"""

from __future__ import annotations

from typing import NamedTuple

AUTO = "auto"


class DefaultModels(NamedTuple):
    kind: str
    teacher: str
    student: str


BY_RANK = {
    1: DefaultModels("rows of features", "teacher-mlp", "mlp"),
    2: DefaultModels("1-D signals", "teacher-cnn", "dscnn"),
    3: DefaultModels("images", "teacher-cnn", "dscnn"),
}


def defaults_for(input_shape: tuple[int, ...]) -> DefaultModels:
    """The built-in pair for samples of `input_shape`; other ranks get the images' pair, whose
    shape check then names the problem."""
    return BY_RANK.get(len(input_shape), BY_RANK[3])


def resolve_models(teacher: list[str], student: str, input_shape: tuple[int, ...]):
    """(teacher, student, note): an empty teacher list and a student of "auto" replaced by the
    default for the data's shape; `note` says what was chosen (None when nothing was)."""
    pair = defaults_for(input_shape)
    chosen = []
    if not teacher:
        teacher = [pair.teacher]
        chosen.append(f"teacher {pair.teacher}")
    if student == AUTO:
        student = pair.student
        chosen.append(f"student {pair.student}")
    if not chosen:
        return teacher, student, None
    shape = "x".join(str(d) for d in input_shape)
    return teacher, student, f"data samples are {pair.kind} ({shape}): {' and '.join(chosen)}"
