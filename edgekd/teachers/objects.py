"""In-memory teachers handed to `edgekd.compress(teacher=...)`: modules, ONNX models,
onnxruntime sessions and plain Python callables (`CallableTeacher`, which has no graph).

Apart from load.py because only the Python API needs them; spec strings never do.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from edgekd.data import DataBundle
from edgekd.errors import EdgeKDError
from edgekd.objects import describe, is_onnx_model, is_ort_session, is_tensor, ort_model_bytes
from edgekd.teachers.kinds import Teacher, TorchTeacher, to_logits
from edgekd.teachers.onnx_graph import check_onnx
from edgekd.teachers.onnx_teacher import load_onnx_teacher


class CallableTeacher(Teacher):
    """A Python function `f(x: np.ndarray) -> scores` (logits or probabilities): any model a
    caller can call, from any library. There is no graph to write as teacher.onnx (NO_GRAPH)."""

    kind = "python-callable"
    has_graph = False

    def __init__(self, fn, spec: str):
        self.fn, self.spec = fn, spec

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        out = self.fn(x.detach().cpu().numpy())
        if is_tensor(out):
            out = out.detach().cpu().numpy()
        try:
            scores = np.asarray(out, dtype=np.float32)
        except (TypeError, ValueError):
            raise EdgeKDError(
                f"teacher '{self.spec}' returned a {type(out).__name__}; it must return an array "
                "of (batch, classes) logits or probabilities"
            ) from None
        return torch.from_numpy(scores).to(x.device)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return to_logits(self.scores(x), self.output)


def load_object(obj, data: DataBundle) -> Teacher:
    """An in-memory teacher. A module is deep-copied (freezing, eval mode and device moves stay
    off the caller's object); an ONNX model or session is normalized like a .onnx file."""
    label = describe(obj)
    if isinstance(obj, nn.Module):
        kind = "torchscript" if isinstance(obj, torch.jit.ScriptModule) else "module"
        return TorchTeacher(copy.deepcopy(obj), kind=kind, spec=label)
    raw = ort_model_bytes(obj) if is_ort_session(obj) else None
    if is_onnx_model(obj) or raw is not None:
        model = obj if raw is None else onnx.load_from_string(raw)
        return load_onnx_teacher(check_onnx(model, Path(label)), Path(label), data)
    if is_ort_session(obj):  # onnxruntime kept no model: run the session, first output
        name = obj.get_inputs()[0].name
        return CallableTeacher(lambda x: obj.run(None, {name: x})[0], label)
    if callable(obj):
        return CallableTeacher(obj, label)
    raise EdgeKDError(
        f"teacher {label} is not a usable teacher; pass an nn.Module, an onnx.ModelProto, an "
        "onnxruntime.InferenceSession, a callable f(x) -> scores, or a spec string"
    )
