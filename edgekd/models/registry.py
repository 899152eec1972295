"""The table of built-in architectures, timm-style: same signature for all.

Only the table and its decorator live here, so the zoo modules can register into it without
a cycle; `edgekd.models.factory` imports the zoo modules and builds from the table.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

ModelFn = Callable[..., nn.Module]
_REGISTRY: dict[str, ModelFn] = {}


def register_model(fn: ModelFn) -> ModelFn:
    """Register `fn(input_shape, num_classes, width=1.0)` under its name with `_` as `-`."""
    _REGISTRY[fn.__name__.replace("_", "-")] = fn
    return fn


_TEXT: dict[str, ModelFn] = {}


def register_text_model(fn: ModelFn) -> ModelFn:
    """Register a text student `fn(input_shape, num_classes, width=1.0, vocab_size=...)`: it
    reads int64 token ids, so it lives apart from the float-input zoo (models/text.py)."""
    _TEXT[fn.__name__.replace("_", "-")] = fn
    return fn


def text_models() -> dict[str, ModelFn]:
    """Every text student registered so far, by name (a copy)."""
    return dict(_TEXT)


def registered() -> dict[str, ModelFn]:
    """Every architecture registered so far, by name (a copy)."""
    return dict(_REGISTRY)
