"""One factory for every built-in architecture: `create_model(name, input_shape, num_classes,
width=...)`. Importing it registers the built-ins (zoo.py, edge.py)."""

from __future__ import annotations

import difflib

from torch import nn

from edgekd.errors import EdgeKDError
from edgekd.models import edge, text, zoo  # noqa: F401  (registers the built-ins)
from edgekd.models.registry import registered


def list_models() -> list[str]:
    return sorted(registered())


def create_model(
    name: str, input_shape: tuple[int, ...], num_classes: int, *, width: float = 1.0
) -> nn.Module:
    models = registered()
    if name not in models:
        close = difflib.get_close_matches(name, sorted(models), n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise EdgeKDError(f"unknown model '{name}'; {hint}choose from: {', '.join(sorted(models))}")
    if width <= 0:
        raise EdgeKDError(f"model width must be > 0, got {width}")
    return models[name](tuple(input_shape), num_classes, width=width)
