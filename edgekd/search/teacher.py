"""The search's one teacher: trained (or converted) once into out/teacher.onnx by the same
`teacher` stage function `compress` runs, reused while its config matches, and shared by every
worker of the study; plus the student families a search may try on this data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from rich.console import Console

from edgekd.atomic import atomic_path, write_text_atomic
from edgekd.config import CompressConfig
from edgekd.errors import EdgeKDError
from edgekd.manifest import config_hash, file_sha256
from edgekd.search.space import DEFAULT_FAMILIES, SearchSettings

# Config keys a trial always overrides (the teacher is the search's teacher.onnx).
TEACHER_KEYS = ("teacher", "teacher_arch", "teacher_output", "teacher_weight", "trust_pickle")


def families(base: CompressConfig, settings: SearchSettings, data, given: bool) -> list[str]:
    """Student families that build for this data; defaults that do not are dropped quietly,
    families the user named must all build."""
    from edgekd.distill.students import build_student

    names = list(settings.space["student"].choices)
    if not given and len(data.input_shape) >= 2:
        names += [f for f in DEFAULT_FAMILIES if f not in names]
    widths = settings.space["student_width"]
    width = widths.high if widths.choices is None else max(widths.choices)
    kept = []
    for name in names:
        try:
            build_student(name, data, width=width, standardize=base.student.standardize)
        except EdgeKDError:
            if given or name == base.student.name:
                raise
            continue
        kept.append(name)
    return kept


def search_teacher_onnx(
    base: CompressConfig, data, out: Path, console: Console, study_sha: str | None = None
) -> dict:
    """Train/convert the teacher once into out/teacher.onnx (reused when its config matches).

    `study_sha`: the teacher of the study this worker joins; a --teacher file with exactly those
    bytes (another worker's teacher.onnx) is copied as is, so both workers hold the same file.
    """
    from edgekd.evaluate import onnx_accuracy

    names = (*TEACHER_KEYS, "teacher_epochs", "data", "seed", "lr", "batch_size", "device")
    keys = {k: base.flat(k) for k in names}
    spec_hash = config_hash(keys)
    path, info_path = out / "teacher.onnx", out / "teacher.json"
    if path.is_file() and info_path.is_file():
        info = json.loads(info_path.read_text())
        if info.get("spec_hash") == spec_hash and info.get("sha256") == file_sha256(path):
            console.print(f"teacher: reusing {path} (val accuracy {info['val_accuracy']:.4f})")
            return info
    given = Path(base.teacher.specs[0]) if len(base.teacher.specs) == 1 else None
    if study_sha and given is not None and given.is_file() and file_sha256(given) == study_sha:
        with atomic_path(path) as tmp:
            shutil.copyfile(given, tmp)
        info = {
            "spec": base.teacher.specs,
            "spec_hash": spec_hash,
            "sha256": study_sha,
            "kind": "onnx",
            "trained_here": False,
            "val_accuracy": onnx_accuracy(path, data.x_val, data.y_val),
            "test_accuracy": onnx_accuracy(path, data.x_test, data.y_test),
        }
        write_text_atomic(info_path, json.dumps(info, indent=2))
        console.print(f"teacher: {given} is this study's teacher; copied to {path}")
        return info
    from edgekd.stages import teacher
    from edgekd.stages.models import build_models

    # The models `compress` builds first (the same random draws), then its teacher stage's own
    # work: a recipe teacher trained here is the one `edgekd compress` would train.
    made = teacher.train_and_export(base, build_models(base, data).teacher, data, path, console)
    teacher_info, teacher_path = made.info, made.path
    rename_scores(teacher_path)
    info = {
        "spec": base.teacher.specs or ["teacher-cnn"],
        "spec_hash": spec_hash,
        "sha256": file_sha256(teacher_path),
        "kind": teacher_info.kind,
        "trained_here": teacher_info.trained_here,
        "val_accuracy": onnx_accuracy(teacher_path, data.x_val, data.y_val),
        "test_accuracy": onnx_accuracy(teacher_path, data.x_test, data.y_test),
    }
    if teacher_info.kind == "ensemble":
        info["note"] = (
            "teacher.onnx is the ensemble in one graph (the mean of its members' probabilities "
            "at T = 1); trials temper that mean, not each member"
        )
    write_text_atomic(info_path, json.dumps(info, indent=2))
    return info


def rename_scores(path: Path) -> None:
    """An ONNX teacher comes back from `export` normalized, with its output named `scores`;
    loading such a file as a teacher again (every trial does) would define `scores` twice, so
    the output is renamed `teacher_scores` (the graph is otherwise untouched)."""
    import onnx

    model = onnx.load(str(path))
    if [o.name for o in model.graph.output] != ["scores"]:
        return
    for node in model.graph.node:
        node.output[:] = ["teacher_scores" if n == "scores" else n for n in node.output]
        node.input[:] = ["teacher_scores" if n == "scores" else n for n in node.input]
    model.graph.output[0].name = "teacher_scores"
    with atomic_path(path) as tmp:
        onnx.save(model, str(tmp))
