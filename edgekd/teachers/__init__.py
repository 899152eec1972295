"""Teachers: whatever the user has, behind one callable `Teacher` (Tensor -> logits Tensor).

`load.py` turns specs (`--teacher`) and in-memory objects into teachers, checking everything
before the run directory exists; `train.py` trains recipe members and measures accuracies (the
run's teacher stage); the kinds: `kinds.py` (`Teacher`, `TorchTeacher`), `onnx_teacher.py`
(`OnnxTeacher`; its graph surgery in `onnx_graph.py`), `objects.py` (Python objects, among them
`CallableTeacher`), `ensemble.py` (`EnsembleTeacher`).
"""

from edgekd.teachers.ensemble import EnsembleTeacher
from edgekd.teachers.kinds import NO_GRAPH, Teacher, TorchTeacher, to_logits
from edgekd.teachers.load import load_teacher
from edgekd.teachers.objects import CallableTeacher
from edgekd.teachers.onnx_teacher import OnnxTeacher
from edgekd.teachers.train import (
    TeacherInfo,
    build_teacher,
    member_checkpoints,
    teacher_training,
    train_and_measure,
    untrained_copy,
)

__all__ = [
    "NO_GRAPH",
    "CallableTeacher",
    "EnsembleTeacher",
    "OnnxTeacher",
    "Teacher",
    "TeacherInfo",
    "TorchTeacher",
    "build_teacher",
    "load_teacher",
    "member_checkpoints",
    "teacher_training",
    "to_logits",
    "train_and_measure",
    "untrained_copy",
]
