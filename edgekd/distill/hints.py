"""Intermediate-layer ("hint") distillation, FitNets-style (Romero et al. 2015).

`--hint TEACHER_LAYER:STUDENT_LAYER` names a module in each model (as in `named_modules()`).
The student's output at its layer is mapped by a learned adapter to the teacher's feature
shape and pulled towards the teacher's output by mean squared error; the loss added to KD is
`hint_weight * sum over hints of MSE(adapter(s), t)`. FitNets trains the hint in a stage of its
own; here it is one more term of the same loss, which is simpler and works as well for small
students.

Adapters (trained with the student, never exported):
- same shape: none;
- (N, C, *S) both, same rank: adaptive average pooling to the teacher's S when it differs, then
  a 1x1 convolution C_s -> C_t (FitNets' convolutional regressor);
- (N, D) both: a linear layer D_s -> D_t;
- otherwise: flatten both and a linear layer.

Hints need an eager PyTorch teacher (its layers are hooked); ONNX and TorchScript teachers and
ensembles are refused before training with a one-line error.
"""

from __future__ import annotations

import contextlib
import difflib
import math
from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from edgekd.errors import EdgeKDError, first_line


def parse_hint(spec: str) -> tuple[str, str]:
    teacher_layer, sep, student_layer = spec.partition(":")
    if not sep or not teacher_layer or not student_layer:
        raise EdgeKDError(
            f"hint '{spec}' must be TEACHER_LAYER:STUDENT_LAYER, e.g. '3:1' or 'features.2:body.1'"
        )
    return teacher_layer, student_layer


def _layer(model: nn.Module, name: str, who: str, spec: str) -> nn.Module:
    names = [n for n, _ in model.named_modules() if n]
    if name not in names:
        close = difflib.get_close_matches(name, names, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
        raise EdgeKDError(
            f"hint '{spec}': the {who} has no layer '{name}'; {hint}its layers: {shown}"
        )
    return model.get_submodule(name)


def _adapter(student: torch.Size, teacher: torch.Size) -> nn.Module:
    s, t = tuple(student[1:]), tuple(teacher[1:])
    if s == t:
        return nn.Identity()
    if len(s) == len(t) and len(s) in (2, 3, 4):
        conv = {2: nn.Conv1d, 3: nn.Conv2d, 4: nn.Conv3d}[len(s)]
        pool = {2: nn.AdaptiveAvgPool1d, 3: nn.AdaptiveAvgPool2d, 4: nn.AdaptiveAvgPool3d}[len(s)]
        layers = [] if s[1:] == t[1:] else [pool(t[1:])]
        return nn.Sequential(*layers, conv(s[0], t[0], 1))
    if len(s) == len(t) == 1:
        return nn.Linear(s[0], t[0])
    return nn.Sequential(nn.Flatten(), nn.Linear(math.prod(s), math.prod(t)))


class HintLoss(nn.Module):
    """`hint_weight * sum MSE(adapter(student feature), teacher feature)` for one batch.

    Call inside `attached()`: the student's features are captured by hooks while the trainer
    runs the student; `forward(x)` then runs the teacher on the same batch (no gradients) and
    returns the loss. Only the adapters are parameters; the teacher is held outside the module
    tree so neither the optimizer nor `.to()` touches it.
    """

    def __init__(
        self,
        teacher: nn.Module,
        student: nn.Module,
        hints: list[str],
        weight: float,
        example: np.ndarray,
    ):
        super().__init__()
        self._teacher = [teacher]  # a list: not a registered submodule
        self.weight = weight
        self.pairs = [parse_hint(h) for h in hints]
        named = list(zip(self.pairs, hints, strict=True))
        self._t_layers = [_layer(teacher, t, "teacher", h) for (t, _), h in named]
        self._s_layers = [_layer(student, s, "student", h) for (_, s), h in named]
        self._t_feats: list[torch.Tensor | None] = [None] * len(hints)
        self._s_feats: list[torch.Tensor | None] = [None] * len(hints)
        self._handles: list = []
        self._student = [student]
        x = torch.from_numpy(example[:2])
        with self.attached(), torch.no_grad():
            student.eval()
            student(x)
            teacher(x)
            captured = list(zip(self._s_feats, self._t_feats, strict=True))
        adapters = []
        for h, (s, t) in zip(hints, captured, strict=True):
            if not isinstance(s, torch.Tensor) or not isinstance(t, torch.Tensor):
                raise EdgeKDError(f"hint '{h}': a hinted layer does not output one tensor")
            adapters.append(_adapter(s.shape, t.shape))
            try:
                with torch.no_grad():
                    F.mse_loss(adapters[-1](s), t)
            except RuntimeError as e:
                raise EdgeKDError(
                    f"hint '{h}': student features {tuple(s.shape[1:])} cannot be mapped to the "
                    f"teacher's {tuple(t.shape[1:])} ({first_line(e)}); pick other layers"
                ) from None
        self.adapters = nn.ModuleList(adapters)

    def _hook(self, store: list, i: int):
        def hook(_module, _inputs, output):
            store[i] = output

        return hook

    @contextlib.contextmanager
    def attached(self) -> Iterator[HintLoss]:
        """Hooks on the hinted layers for the block's duration (never left in an export)."""
        for i, layer in enumerate(self._s_layers):
            self._handles.append(layer.register_forward_hook(self._hook(self._s_feats, i)))
        for i, layer in enumerate(self._t_layers):
            self._handles.append(layer.register_forward_hook(self._hook(self._t_feats, i)))
        try:
            yield self
        finally:
            for h in self._handles:
                h.remove()
            self._handles.clear()
            self._s_feats = [None] * len(self._s_feats)
            self._t_feats = [None] * len(self._t_feats)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        teacher = self._teacher[0].to(x.device).eval()
        with torch.no_grad():
            teacher(x)
        total = x.new_zeros(())
        for adapter, s, t in zip(self.adapters, self._s_feats, self._t_feats, strict=True):
            total = total + F.mse_loss(adapter(s), t.detach())
        return self.weight * total


def build_hints(
    hints: list[str], teacher, student: nn.Module, weight: float, example: np.ndarray
) -> HintLoss | None:
    """Check the hints against both models (a forward pass on 2 samples) before training."""
    if not hints:
        return None
    if len(teacher.members) > 1:
        raise EdgeKDError(
            "--hint needs a single PyTorch teacher; an ensemble has no one set of layers"
        )
    if not teacher.is_torch:
        raise EdgeKDError(
            f"--hint needs an eager PyTorch teacher, but teacher '{teacher.spec}' is "
            f"{'an ONNX model' if teacher.kind == 'onnx' else 'TorchScript'}: its layers "
            "cannot be hooked; drop --hint or pass the teacher as weights + --teacher-arch"
        )
    return HintLoss(teacher.module, student, hints, weight, example)
