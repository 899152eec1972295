"""Architectures from specs, and the student checked against the data before training.

A model spec is a zoo name with options (`mlp`, `dscnn:width=0.5`) or `module:callable` /
`file.py:callable`. A callable is called with those of `input_shape`, `num_classes` and
`width` that it names as parameters, and must return an `nn.Module`.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from edgekd.data import DataBundle
from edgekd.errors import EdgeKDError, first_line
from edgekd.loading import call_with_known_args, is_callable_spec, resolve_callable
from edgekd.models import create_model, list_models
from edgekd.objects import describe, spec_label

ZOO_OPTIONS = {"width": float}


def parse_model_spec(spec: str) -> tuple[str, dict[str, float]]:
    """`dscnn:width=0.5` -> ('dscnn', {'width': 0.5}); a callable spec has no options."""
    name, sep, rest = spec.partition(":")
    if not sep or "=" not in rest:
        return spec, {}
    options: dict[str, float] = {}
    for item in rest.split(","):
        key, eq, value = item.partition("=")
        key = key.strip()
        if key not in ZOO_OPTIONS or not eq:
            raise EdgeKDError(
                f"model spec '{spec}': unknown option '{key}'; zoo models take "
                f"{', '.join(f'{k}=...' for k in ZOO_OPTIONS)}"
            )
        try:
            options[key] = ZOO_OPTIONS[key](value)
        except ValueError:
            raise EdgeKDError(
                f"model spec '{spec}': {key} must be a number, got '{value}'"
            ) from None
    return name, options


def build_module(
    spec,
    input_shape: tuple[int, ...],
    num_classes: int,
    *,
    width: float = 1.0,
    what: str = "student",
) -> nn.Module:
    """`spec`: a zoo name with options, `module:callable`, or an in-memory factory callable."""
    if callable(spec):
        return _call_factory(spec, describe(spec), input_shape, num_classes, width, what)
    name, options = parse_model_spec(spec)
    width = options.get("width", width)
    if name in list_models():
        return create_model(name, input_shape, num_classes, width=width)
    if is_callable_spec(spec):
        factory = resolve_callable(spec, what)
        return _call_factory(factory, spec, input_shape, num_classes, width, what)
    return create_model(name, input_shape, num_classes, width=width)  # names the close match


def _call_factory(
    factory, spec: str, input_shape: tuple[int, ...], num_classes: int, width: float, what: str
) -> nn.Module:
    model = call_with_known_args(
        factory,
        spec,
        what,
        input_shape=tuple(input_shape),
        num_classes=num_classes,
        width=width,
    )
    if not isinstance(model, nn.Module):
        raise EdgeKDError(
            f"{what} '{spec}' returned a {type(model).__name__}; it must return a torch.nn.Module"
        )
    return model


class Standardize(nn.Module):
    """(x - mean) / std with the training split's statistics, baked into the exported graph.

    Tabular features come in their own units (cm, counts, dollars); a small MLP trains badly
    on them while the device still sends raw values. Standardizing inside the student keeps
    the ONNX input the raw features.
    """

    def __init__(self, mean: np.ndarray, std: np.ndarray):
        super().__init__()
        self.register_buffer("mean", torch.from_numpy(mean.astype(np.float32)))
        self.register_buffer("std", torch.from_numpy(std.astype(np.float32)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class StandardizedModel(nn.Module):
    def __init__(self, standardize: Standardize, model: nn.Module):
        super().__init__()
        self.standardize, self.model = standardize, model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(self.standardize(x))


def standardized(model: nn.Module, x_train: np.ndarray) -> nn.Module:
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)
    return StandardizedModel(Standardize(mean, std), model)


def inner_model(model: nn.Module) -> nn.Module:
    """The user's own module, under the Standardize wrapper when there is one."""
    return model.model if isinstance(model, StandardizedModel) else model


def check_forward(
    fn, x: np.ndarray, num_classes: int, *, what: str, spec: str, data: str
) -> torch.Tensor:
    """Run 2 samples through a model; its output must be (2, num_classes)."""
    try:
        with torch.no_grad():
            out = fn(torch.from_numpy(x[:2]))
    except EdgeKDError:
        raise
    except Exception as e:
        raise EdgeKDError(
            f"{what} '{spec}' rejects inputs of shape {tuple(x.shape[1:])} from data '{data}' "
            f"({first_line(e)}); give a model built for these inputs"
        ) from None
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[0] != len(x[:2]):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise EdgeKDError(
            f"{what} '{spec}' returns {shape} for a batch of 2; it must return "
            f"(batch, classes) scores"
        )
    if out.shape[1] != num_classes:
        raise EdgeKDError(
            f"{what} '{spec}' outputs {out.shape[1]} classes but data '{data}' has "
            f"{num_classes}; the class counts must match"
        )
    return out


def build_student(
    spec,
    data: DataBundle,
    *,
    width: float = 1.0,
    standardize: bool | None = None,
) -> nn.Module:
    """The student, checked by a forward pass on 2 samples before anything trains.

    `spec`: a zoo name, `module:callable`, an in-memory factory `(input_shape, num_classes)
    -> nn.Module`, or an `nn.Module`, which is deep-copied: training never touches the
    caller's object. `standardize` None: on for flat feature vectors (tabular data).
    """
    if isinstance(spec, nn.Module):
        model = copy.deepcopy(spec)
    else:
        model = build_module(spec, data.input_shape, data.num_classes, width=width, what="student")
    spec = spec_label(spec)
    if standardize is None:
        standardize = len(data.input_shape) == 1
    if standardize:
        model = standardized(model, data.x_train)
    model.eval()
    check_forward(model, data.x_train, data.num_classes, what="student", spec=spec, data=data.name)
    return model
