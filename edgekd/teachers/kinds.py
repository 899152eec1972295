"""The `Teacher` contract and the PyTorch kind edgekd runs itself (`TorchTeacher`: eager or
TorchScript).

The other kinds each have their module: `OnnxTeacher` (onnx_teacher.py), the in-memory
callable teacher (objects.py) and the ensemble (ensemble.py); loading specs is load.py's job.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import onnx
import torch
from torch import nn

from edgekd.atomic import atomic_path
from edgekd.data import DataBundle
from edgekd.errors import EdgeKDError, ParityError, first_line
from edgekd.teachers.onnx_graph import LOG_EPS, normalize

NO_GRAPH = (
    "a Python callable: it has no ONNX graph, so no teacher.onnx was written; its accuracy was "
    "measured by calling it on the test split, and retention is against that"
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
        """export_checked (atomic, one file, parity against the PyTorch teacher)."""
        from edgekd.export import export_checked, export_onnx, export_torchscript

        module, exporter = _ScoresOnly(self.module).eval().cpu(), export_onnx
        if isinstance(self.module, torch.jit.ScriptModule):
            module, exporter = self.module.eval().cpu(), export_torchscript
        try:
            path, parity = export_checked(module, data.x_test, path, exporter)
        except ParityError:
            raise
        except Exception as e:
            raise EdgeKDError(
                f"teacher '{self.spec}' could not be exported to ONNX ({first_line(e)}); "
                "export it yourself and pass the .onnx file as --teacher"
            ) from None
        return path, {**parity.to_dict(), "source": "exported from PyTorch"}

    def onnx_model(self, data: DataBundle) -> tuple[onnx.ModelProto, dict]:
        with tempfile.TemporaryDirectory() as tmp:
            path, parity = self.export(Path(tmp) / "teacher.onnx", data)
            model = onnx.load(str(path))
        normalized, _ = normalize(model, Path(self.spec), len(data.input_shape))
        return normalized, parity


class _ScoresOnly(nn.Module):
    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module

    def forward(self, x):
        return _pick_tensor(self.module(x))
