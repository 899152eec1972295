"""The teacher kinds edgekd runs itself: the `Teacher` contract, eager/TorchScript PyTorch
(`TorchTeacher`) and ONNX graphs run by onnxruntime (`OnnxTeacher`).

Split from teachers.py (which loads and prepares teachers) so the kinds, the in-memory
callable teacher (teacher_objects.py) and the ensemble (ensemble.py) each stay one job.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from edgekd.atomic import atomic_path
from edgekd.data import DataBundle
from edgekd.distill.onnx_teacher import LOG_EPS, normalize, static_input_dims
from edgekd.distill.students import first_line
from edgekd.errors import EdgeKDError

NO_GRAPH = (
    "a Python callable, or a model edgekd runs in-process (Hugging Face; an ONNX text model on "
    "other inputs than the student's): it has no ONNX graph, so no teacher.onnx was written; its "
    "accuracy was measured by calling it on the test split, and retention is against that"
)


def _pick_tensor(out):
    """Models that return (logits, extras) or {'logits': ...}: keep the class scores."""
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, dict):
        if "logits" in out:
            return out["logits"]
        raise EdgeKDError(
            f"the teacher returns a dict with keys {sorted(out)}; edgekd needs a 'logits' entry"
        )
    if isinstance(out, tuple | list) and out and isinstance(out[0], torch.Tensor):
        return out[0]
    raise EdgeKDError(f"the teacher returns a {type(out).__name__}, not a tensor of class scores")


def to_logits(scores: torch.Tensor, output: str) -> torch.Tensor:
    scores = scores.float()
    return torch.log(scores.clamp_min(LOG_EPS)) if output == "probs" else scores


class Teacher:
    """A callable `x -> logits` with what edgekd needs to know about where it came from."""

    kind: str = "teacher"
    spec: str = ""
    n_classes: int = 0
    output: str = "logits"
    needs_training: bool = False
    has_graph: bool = True  # an ONNX graph exists, so teacher.onnx can be written

    @property
    def is_torch(self) -> bool:
        """Eager PyTorch: layers can be hooked (hints), the graph can be exported."""
        return False

    @property
    def members(self) -> list[Teacher]:
        return [self]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def onnx_model(self, data: DataBundle) -> tuple[onnx.ModelProto, dict]:
        """The normalized (`input` -> `scores`) ONNX graph and its parity evidence."""
        raise NotImplementedError  # pragma: no cover

    def export(self, path: str | Path, data: DataBundle) -> tuple[Path | None, dict]:
        """Write `teacher.onnx` atomically; return its path (None: no graph) and the parity
        evidence."""
        if not self.has_graph:
            return None, {"source": NO_GRAPH}
        model, parity = self.onnx_model(data)
        path = Path(path)
        with atomic_path(path) as tmp:
            onnx.save(model, str(tmp))
        return path, parity


class TorchTeacher(Teacher):
    def __init__(self, module: nn.Module, *, kind: str, spec: str, output: str = "logits"):
        self.module = module.eval()
        self.kind, self.spec, self.output = kind, spec, output
        self.needs_training = kind == "recipe"
        if not self.needs_training:
            self.freeze()

    def freeze(self) -> None:
        for p in self.module.parameters():
            p.requires_grad_(False)

    @property
    def is_torch(self) -> bool:
        return not isinstance(self.module, torch.jit.ScriptModule)

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        self.module.to(x.device)
        return _pick_tensor(self.module(x))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return to_logits(self.scores(x), self.output)

    def export(self, path: str | Path, data: DataBundle) -> tuple[Path, dict]:
        """export_onnx (atomic, one file) + check_parity against the PyTorch teacher."""
        from edgekd.export import check_parity, export_onnx

        module = _ScoresOnly(self.module).eval().cpu()
        example = torch.from_numpy(data.x_test[:2])
        try:
            if isinstance(self.module, torch.jit.ScriptModule):
                module = self.module.eval().cpu()
                path = _export_torchscript(module, example, Path(path))
            else:
                path = export_onnx(module, example, path)
        except Exception as e:
            raise EdgeKDError(
                f"teacher '{self.spec}' could not be exported to ONNX ({first_line(e)}); "
                "export it yourself and pass the .onnx file as --teacher"
            ) from None
        parity = check_parity(module, path, data.x_test)
        return path, {**parity.to_dict(), "source": "exported from PyTorch"}

    def onnx_model(self, data: DataBundle) -> tuple[onnx.ModelProto, dict]:
        with tempfile.TemporaryDirectory() as tmp:
            path, parity = self.export(Path(tmp) / "teacher.onnx", data)
            model = onnx.load(str(path))
        normalized, _ = normalize(model, Path(self.spec), len(data.input_shape))
        return normalized, parity


def _export_torchscript(module: nn.Module, example: torch.Tensor, path: Path) -> Path:
    """torch.export (the default exporter) cannot trace TorchScript; the TorchScript-based
    exporter can. Same contract as export_onnx: one file, dynamic batch, checker passed."""
    import warnings

    from edgekd.export import INPUT_NAME, OUTPUT_NAME

    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (example,),
            str(tmp),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            dynamo=False,
        )
        onnx.checker.check_model(str(tmp), full_check=True)
    return path


class _ScoresOnly(nn.Module):
    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module

    def forward(self, x):
        return _pick_tensor(self.module(x))


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
