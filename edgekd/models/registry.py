"""One factory for every built-in architecture, timm-style: same signature for all."""

from __future__ import annotations

import difflib
from collections.abc import Callable

from torch import nn

from edgekd.errors import EdgeKDError

ModelFn = Callable[..., nn.Module]
_REGISTRY: dict[str, ModelFn] = {}


def register_model(fn: ModelFn) -> ModelFn:
    """Register `fn(input_shape, num_classes, width=1.0)` under its name with `_` as `-`."""
    _REGISTRY[fn.__name__.replace("_", "-")] = fn
    return fn


def list_models() -> list[str]:
    from edgekd.models import edge, zoo  # noqa: F401  (registers the built-ins)

    return sorted(_REGISTRY)


def create_model(
    name: str, input_shape: tuple[int, ...], num_classes: int, *, width: float = 1.0
) -> nn.Module:
    names = list_models()
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, names, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise EdgeKDError(f"unknown model '{name}'; {hint}choose from: {', '.join(names)}")
    if width <= 0:
        raise EdgeKDError(f"model width must be > 0, got {width}")
    return _REGISTRY[name](tuple(input_shape), num_classes, width=width)
