"""Teachers: whatever the user has, behind one callable `Teacher` (Tensor -> logits Tensor).

Specs (`--teacher`, repeat for an ensemble):

- a zoo or recipe name (`teacher-cnn`): trained on the spot in the run's teacher stage;
- `weights.pt` / `.pth` / `.safetensors`: a state_dict, plus `--teacher-arch` (zoo name or
  `module:callable`); loaded with `torch.load(weights_only=True)`, never unpickled unless
  `--trust-pickle` is given (then a whole pickled `nn.Module` is accepted too);
- a TorchScript file (`torch.jit.save`), recognized by its contents;
- `model.onnx`, run by onnxruntime: a teacher from any framework, no source code needed;
- `module:callable` or `path/to/file.py:callable` returning an `nn.Module`;
- from Python (`edgekd.compress(teacher=...)`), in-memory objects: an `nn.Module`, an
  `onnx.ModelProto`, an `onnxruntime.InferenceSession`, or a callable `f(x: np.ndarray) ->
  scores` (`CallableTeacher`: no ONNX graph, so no teacher.onnx; see NO_GRAPH).

Teachers that output probabilities (softmax heads, skl2onnx's ZipMap dicts) are detected
(`--teacher-output auto`) or declared (`probs`), and their outputs become logits as
`log(p)` (clamped), so tempering still works: softmax(log(p) / T) is p sharpened or softened.

An ensemble's soft targets are the weighted mean of its members' *tempered* probabilities
(Hinton et al. 2015). `EnsembleTeacher` returns `T * log(sum_i w_i softmax(z_i / T))` at its
`temperature` T (the run's), whose softmax at T is exactly that mean, so the trainer's usual
`softmax(teacher(x) / T)` needs no special case. Its predictions (accuracy, `teacher.onnx`)
are the mean of the members' plain probabilities (T = 1).

`teacher.onnx` in the run directory: a torch teacher is exported (`export_onnx`) and checked
against PyTorch (`check_parity`); an ONNX teacher is copied after normalization (one score
output, float input, dynamic batch; see onnx_teacher.py); an ensemble of any members is
composed into one graph computing `log(sum_i w_i p_i)` and checked against the in-memory
ensemble. Every verdict and the retention are therefore measured against the ensemble.

All loading and checks (paths, formats, class counts, a forward pass on 2 samples) happen in
`load_teacher`, before the run directory exists; training a recipe teacher and measuring
accuracies happen in `prepare_teacher`, inside the run's teacher stage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from torch import nn

from edgekd.data import DataBundle
from edgekd.data.stream import inference_chunks
from edgekd.distill.ensemble import EnsembleTeacher
from edgekd.distill.onnx_teacher import load_onnx_checked
from edgekd.distill.students import build_module, check_forward, first_line, standardized
from edgekd.distill.teacher_kinds import (
    NO_GRAPH,
    OnnxTeacher,
    Teacher,
    TorchTeacher,
    load_onnx_teacher,
    to_logits,
)
from edgekd.distill.teacher_objects import CallableTeacher, load_object
from edgekd.distill.trainer import TrainConfig, fit
from edgekd.errors import EdgeKDError
from edgekd.loading import (
    TORCHSCRIPT_SUFFIXES,
    WEIGHT_SUFFIXES,
    is_callable_spec,
    is_torchscript,
    load_state_dict_into,
    load_torchscript,
    load_weights,
)
from edgekd.models import list_models

__all__ = [  # the teacher kinds live in their own modules; importable from here as before
    "NO_GRAPH",
    "CallableTeacher",
    "EnsembleTeacher",
    "OnnxTeacher",
    "Teacher",
    "TeacherInfo",
    "TorchTeacher",
    "build_teacher",
    "load_teacher",
    "prepare_teacher",
    "teacher_training",
    "to_logits",
]

BUILTIN_TEACHER = "teacher-cnn"
OUTPUT_KINDS = ("auto", "logits", "probs")
DETECT_SAMPLES = 64


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


def _looks_like_probs(scores: np.ndarray) -> bool:
    return bool(
        scores.size
        and scores.min() >= -1e-6
        and scores.max() <= 1 + 1e-6
        and np.allclose(scores.sum(axis=1), 1.0, atol=1e-3)
    )


def _decide_output(scores: np.ndarray, declared: str, spec: str, sure_probs: bool) -> str:
    if declared == "logits":
        return "logits"
    if declared == "probs":
        if not _looks_like_probs(scores):
            raise EdgeKDError(
                f"teacher '{spec}' was declared --teacher-output probs, but its outputs are not "
                f"probabilities (range {scores.min():.3g}..{scores.max():.3g}, rows sum to "
                f"{scores.sum(axis=1).mean():.3g}); use --teacher-output logits"
            )
        return "probs"
    return "probs" if sure_probs or _looks_like_probs(scores) else "logits"


def _load_one(
    spec: str,
    data: DataBundle,
    arch: str | None,
    trust_pickle: bool,
) -> Teacher:
    if spec in list_models():
        module = build_module(spec, data.input_shape, data.num_classes, what="teacher")
        if len(data.input_shape) == 1:  # rows of features: standardised, like the student
            module = standardized(module, data.x_train)
        return TorchTeacher(module, kind="recipe", spec=spec)
    path = Path(spec)
    if not path.exists() and is_callable_spec(spec):
        module = build_module(spec, data.input_shape, data.num_classes, what="teacher")
        return TorchTeacher(module, kind="callable", spec=spec)
    if path.suffix == ".onnx":
        return load_onnx_teacher(load_onnx_checked(path), path, data)
    suffixes = WEIGHT_SUFFIXES | TORCHSCRIPT_SUFFIXES | {".safetensors"}
    if not path.exists():
        if path.suffix in suffixes or "/" in spec:
            raise EdgeKDError(f"teacher file '{spec}' not found; check the path")
        names = ", ".join(list_models())
        raise EdgeKDError(
            f"teacher '{spec}' is not a zoo name ({names}), a file (.pt, .pth, .safetensors, "
            ".onnx, TorchScript) or module:callable"
        )
    if path.is_dir() or path.suffix not in suffixes:
        raise EdgeKDError(
            f"teacher '{spec}': unsupported file type; use .pt/.pth/.safetensors weights, "
            "a TorchScript file, or .onnx"
        )
    if path.suffix != ".safetensors" and is_torchscript(path):
        return TorchTeacher(load_torchscript(path), kind="torchscript", spec=spec)
    weights = load_weights(path, trust_pickle=trust_pickle)
    if isinstance(weights, nn.Module):
        return TorchTeacher(weights, kind="pickle", spec=spec)
    if not isinstance(weights, dict) or not all(
        isinstance(v, torch.Tensor) for v in weights.values()
    ):
        raise EdgeKDError(
            f"teacher '{spec}' holds a {type(weights).__name__}, not a state_dict of tensors; "
            "save model.state_dict()"
        )
    if arch is None:
        raise EdgeKDError(
            f"teacher '{spec}' is a state_dict (weights only); say which architecture they "
            "belong to with --teacher-arch (a zoo name or module:callable)"
        )
    module = build_module(arch, data.input_shape, data.num_classes, what="teacher architecture")
    load_state_dict_into(module, weights, spec=spec, arch=arch)
    return TorchTeacher(module, kind="state_dict", spec=spec)


def _probe(teacher: Teacher, data: DataBundle, declared: str) -> None:
    """Forward pass on a few samples: shapes, class count, logits or probabilities."""
    x = data.x_train[:DETECT_SAMPLES]
    if isinstance(teacher, OnnxTeacher):
        try:
            raw = teacher.scores_np(x[:2])
            raw = teacher.scores_np(x)
        except Exception as e:
            raise EdgeKDError(
                f"teacher '{teacher.spec}' rejects inputs of shape {data.input_shape} from data "
                f"'{data.name}' ({first_line(e)}); the data must match what it was trained on"
            ) from None
        scores = torch.from_numpy(raw)
        if scores.ndim != 2 or len(scores) != len(x):
            raise EdgeKDError(
                f"teacher '{teacher.spec}' returns {tuple(scores.shape)} for a batch of "
                f"{len(x)}; it must return (batch, classes) scores"
            )
    else:
        check_forward(
            teacher.scores, x, data.num_classes, what="teacher", spec=teacher.spec, data=data.name
        )
        with torch.no_grad():
            scores = teacher.scores(torch.from_numpy(x)).float()
    teacher.n_classes = int(scores.shape[1])
    if teacher.n_classes != data.num_classes:
        raise EdgeKDError(
            f"teacher '{teacher.spec}' outputs {teacher.n_classes} classes but data "
            f"'{data.name}' has {data.num_classes}; the class counts must match"
        )
    if teacher.kind == "recipe":
        teacher.output = "logits"
        return
    sure = isinstance(teacher, OnnxTeacher) and teacher.sure_probs
    teacher.output = _decide_output(scores.numpy(), declared, teacher.spec, sure)


def load_teacher(
    specs: list,
    data: DataBundle,
    *,
    arch: list[str] | None = None,
    output: str = "auto",
    weights: list[float] | None = None,
    trust_pickle: bool = False,
    temperature: float | str = 1.0,
) -> Teacher:
    """Load and check every teacher before anything is trained or written.

    `arch`: one architecture for every weights-file teacher, or one per weights file in order.
    """
    specs = list(specs) or [BUILTIN_TEACHER]
    arch, weights = list(arch or []), list(weights or [])
    if output not in OUTPUT_KINDS:
        raise EdgeKDError(f"--teacher-output must be one of {', '.join(OUTPUT_KINDS)}")
    if weights and len(weights) != len(specs):
        raise EdgeKDError(
            f"{len(weights)} --teacher-weight value(s) for {len(specs)} teacher(s); give one "
            "weight per --teacher, or none for equal weights"
        )
    if any(not math.isfinite(w) or w <= 0 for w in weights):
        raise EdgeKDError("--teacher-weight values must be positive numbers")
    needs_arch = [
        s
        for s in specs
        if isinstance(s, str)
        and Path(s).suffix in WEIGHT_SUFFIXES | {".safetensors"}
        and s not in list_models()
    ]
    if len(arch) > 1 and len(arch) != len(needs_arch):
        raise EdgeKDError(
            f"{len(arch)} --teacher-arch values for {len(needs_arch)} weights file(s); give one "
            "for all, or one per weights file in order"
        )
    members = []
    for spec in specs:
        a = None
        if isinstance(spec, str) and spec in needs_arch and arch:
            a = arch[0] if len(arch) == 1 else arch[needs_arch.index(spec)]
        if isinstance(spec, str):
            teacher = _load_one(spec, data, a, trust_pickle)
        else:
            teacher = load_object(spec, data)
        _probe(teacher, data, output)
        members.append(teacher)
    if len(members) == 1:
        return members[0]
    ensemble = EnsembleTeacher(members, weights or [1.0] * len(members))
    # "auto" (a searched T) is set by the caller once known; until then T = 1.
    ensemble.temperature = temperature if isinstance(temperature, int | float) else 1.0
    return ensemble


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


def teacher_training(train: TrainConfig) -> TrainConfig:
    """A teacher trains as edgekd always trained it (hard labels, one-cycle, no augmentation):
    the student's recipe is about distilling, not about the teacher."""
    return replace(train, recipe="hinton", augment="none", schedule="onecycle")


def prepare_teacher(
    teacher: Teacher,
    data: DataBundle,
    train: TrainConfig,
    console: Console,
    checkpoint: Path | None = None,
) -> TeacherInfo:
    """Train recipe members on the spot (saying so), then measure every member's accuracy.

    Members train as `teacher_training` says. `checkpoint`: training checkpoints there (one
    file per trained member), continuing from them."""
    train = teacher_training(train)
    rows = []
    checkpoints = member_checkpoints(teacher, checkpoint)
    for i, member in enumerate(teacher.members):
        val_acc = None
        if member.needs_training:
            resuming = checkpoints[i] is not None and checkpoints[i].exists()
            doing = f"continuing from {checkpoints[i]}" if resuming else "training it"
            console.print(
                f"[yellow]teacher '{member.spec}' is a recipe: {doing} on '{data.name}' "
                f"({train.epochs} epochs)[/yellow]"
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
    """`load_teacher` + `prepare_teacher`: a ready teacher and what to report about it."""
    teacher = load_teacher(specs, data, temperature=train.temperature, **options)
    return teacher, prepare_teacher(teacher, data, train, console)
