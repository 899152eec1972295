"""`OnnxTeacher`: a teacher from any framework, its ONNX graph run by onnxruntime on CPU.

The graph is normalized first (one score output, float input, dynamic batch; onnx_graph.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import torch

from edgekd.data import DataBundle
from edgekd.errors import EdgeKDError, first_line
from edgekd.teachers.kinds import Teacher, to_logits
from edgekd.teachers.onnx_graph import normalize, static_input_dims


class OnnxTeacher(Teacher):
    kind = "onnx"

    def __init__(self, path: Path, model: onnx.ModelProto, sure_probs: bool):
        import onnxruntime as ort

        self.spec, self.path, self.model, self.sure_probs = str(path), path, model, sure_probs
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        opts.intra_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(
                model.SerializeToString(), opts, providers=["CPUExecutionProvider"]
            )
        except Exception as e:
            raise EdgeKDError(
                f"teacher '{path}' does not load in onnxruntime ({first_line(e)}); "
                "re-export it with an opset onnxruntime supports"
            ) from None

    def scores_np(self, x: np.ndarray) -> np.ndarray:
        outs = [
            self.session.run(None, {"input": x[i : i + 4096].astype(np.float32)})[0]
            for i in range(0, len(x), 4096)
        ]
        return np.concatenate(outs).astype(np.float32)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        scores = torch.from_numpy(self.scores_np(x.detach().cpu().numpy()))
        return to_logits(scores, self.output).to(x.device)

    def onnx_model(self, data: DataBundle) -> tuple[onnx.ModelProto, dict]:
        return self.model, {"source": "user's ONNX file, normalized (one score output)"}


def load_onnx_teacher(model: onnx.ModelProto, path: Path, data: DataBundle) -> OnnxTeacher:
    normalized, sure_probs = normalize(model, path, len(data.input_shape))
    teacher = OnnxTeacher(path, normalized, sure_probs)
    _check_onnx_dims(static_input_dims(model), data, str(path))
    return teacher


def _check_onnx_dims(dims: list, data: DataBundle, spec: str) -> None:
    for want, have in zip(dims[1:], data.input_shape, strict=False):
        if want is not None and want != have:
            shape = "(" + ", ".join("N" if d is None else str(d) for d in dims) + ")"
            raise EdgeKDError(
                f"teacher '{spec}' takes inputs of shape {shape} but data '{data.name}' has "
                f"samples of shape {data.input_shape}; the input shape must match"
            )
