"""Loading teachers: whatever the user has becomes one callable `Teacher` (Tensor -> logits).

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
output, float input, dynamic batch; see onnx_graph.py); an ensemble of any members is
composed into one graph computing `log(sum_i w_i p_i)` and checked against the in-memory
ensemble. Every verdict and the retention are therefore measured against the ensemble.

All loading and checks (paths, formats, class counts, a forward pass on 2 samples) happen in
`load_teacher`, before the run directory exists; training a recipe teacher and measuring
accuracies happen in `train.train_and_measure`, inside the run's teacher stage.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch import nn

from edgekd.data import DataBundle
from edgekd.distill.students import build_module, check_forward, standardized
from edgekd.errors import EdgeKDError, first_line
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
from edgekd.teachers.ensemble import EnsembleTeacher
from edgekd.teachers.kinds import Teacher, TorchTeacher
from edgekd.teachers.objects import load_object
from edgekd.teachers.onnx_graph import load_onnx_checked
from edgekd.teachers.onnx_teacher import OnnxTeacher, load_onnx_teacher

BUILTIN_TEACHER = "teacher-cnn"
OUTPUT_KINDS = ("auto", "logits", "probs")
DETECT_SAMPLES = 64


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
