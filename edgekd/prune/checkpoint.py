"""Pruned checkpoints: a state_dict plus the pruned layer shapes (weights_only-safe), and
loading one into a freshly built, unpruned model."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from edgekd.atomic import atomic_path
from edgekd.errors import EdgeKDError
from edgekd.prune.driver import PruneResult

CHECKPOINT_FORMAT = "edgekd.pruned/1"


def layer_shapes(model: nn.Module) -> dict[str, dict[str, int]]:
    """The shape attributes a pruned model differs in, per module (weights_only-safe)."""
    shapes: dict[str, dict[str, int]] = {}
    for name, m in model.named_modules():
        if isinstance(m, nn.modules.conv._ConvNd):
            shapes[name] = {
                "in_channels": m.in_channels,
                "out_channels": m.out_channels,
                "groups": m.groups,
            }
        elif isinstance(m, nn.Linear):
            shapes[name] = {"in_features": m.in_features, "out_features": m.out_features}
        elif isinstance(m, nn.modules.batchnorm._NormBase):
            shapes[name] = {"num_features": m.num_features}
    return shapes


def save_pruned(model: nn.Module, path: str | Path, result: PruneResult | None = None) -> Path:
    """A state_dict plus the pruned layer shapes; reload with `load_pruned(fresh_model, path)`.

    The state_dict alone does not load into the unpruned architecture (its tensors are smaller).
    """
    payload = {
        "format": CHECKPOINT_FORMAT,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "shapes": layer_shapes(model),
        "pruning": result.to_dict() if result else {},
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return Path(path)


def load_pruned(model: nn.Module, path: str | Path) -> nn.Module:
    """Shrink a freshly built (unpruned) `model` to the saved shapes and load the weights."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise EdgeKDError(f"{path} is not an edgekd pruned checkpoint ({CHECKPOINT_FORMAT})")
    state, shapes = payload["state_dict"], payload["shapes"]
    for name, m in model.named_modules():
        for attr, value in shapes.get(name, {}).items():
            setattr(m, attr, value)
        prefix = f"{name}." if name else ""
        for pname, p in list(m.named_parameters(recurse=False)):
            saved = state.get(prefix + pname)
            if saved is not None and saved.shape != p.shape:
                setattr(m, pname, nn.Parameter(torch.empty_like(saved)))
        for bname, b in list(m.named_buffers(recurse=False)):
            saved = state.get(prefix + bname)
            if b is not None and saved is not None and saved.shape != b.shape:
                m._buffers[bname] = torch.empty_like(saved)
    model.load_state_dict(state)
    return model.eval()
