"""Model inspection for pruning: weighted layers, channel counts, and the output layers that
must never be pruned (found by walking the autograd graph back from the output)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

from edgekd.errors import EdgeKDError, first_line

_WEIGHTED = (nn.modules.conv._ConvNd, nn.Linear)


def weighted_layers(model: nn.Module) -> dict[str, nn.Module]:
    """Convolutions and linear layers by qualified name: the layers pruning acts on."""
    return {n: m for n, m in model.named_modules() if isinstance(m, _WEIGHTED)}


def channel_counts(model: nn.Module) -> dict[str, int]:
    """Output channels (conv) or features (linear) of every weighted layer."""
    return {
        n: int(m.out_channels if isinstance(m, nn.modules.conv._ConvNd) else m.out_features)
        for n, m in weighted_layers(model).items()
    }


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


class _Where:
    """Which leaf module ran last, and whether it finished: names the layer a failure is in."""

    def __init__(self) -> None:
        self.name: str | None = None
        self.done = False

    def __str__(self) -> str:
        if self.name is None:
            return ""
        return f" after layer '{self.name}'" if self.done else f" at layer '{self.name}'"

    def enter(self, name: str) -> None:
        self.name, self.done = name, False

    def leave(self, name: str) -> None:
        if self.name == name:
            self.done = True


@contextlib.contextmanager
def _layer_tracker(model: nn.Module) -> Iterator[_Where]:
    where = _Where()
    handles = []
    for name, m in model.named_modules():
        if name and not list(m.children()):
            handles.append(m.register_forward_pre_hook(lambda _m, _i, n=name: where.enter(n)))
            handles.append(m.register_forward_hook(lambda _m, _i, _o, n=name: where.leave(n)))
    try:
        yield where
    finally:
        for h in handles:
            h.remove()


def _run_checked(model: nn.Module, example: torch.Tensor, what: str) -> torch.Tensor:
    """Forward once; on failure an EdgeKDError naming the layer that failed."""
    with _layer_tracker(model) as where, torch.no_grad():
        try:
            return model(example)
        except Exception as e:
            raise EdgeKDError(
                f"{what}{where} ({first_line(e, kind=True)}); "
                "the model likely hard-codes a channel count "
                "there or uses an op Torch-Pruning cannot follow: read shapes from the input, "
                "or use --prune-method unstructured"
            ) from None


def output_layers(model: nn.Module, example: torch.Tensor) -> list[str]:
    """Names of the conv/linear layers that produce the output (never pruned).

    Walks the autograd graph back from the output and stops at the first conv/linear on each
    path, so an output layer behind BatchNorm, pooling or a flatten is found too.
    """
    names = weighted_layers(model)
    fn_to_name: dict = {}

    def hook(name):
        def record(_m, _inputs, out):
            if isinstance(out, torch.Tensor) and out.grad_fn is not None:
                fn_to_name[out.grad_fn] = name

        return record

    handles = [m.register_forward_hook(hook(n)) for n, m in names.items()]
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            out = model(example)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    if not isinstance(out, torch.Tensor):
        raise EdgeKDError(
            f"pruning needs a model that returns one logits tensor, got {type(out).__name__}; "
            "wrap the model so forward returns the logits"
        )
    found, seen, stack = [], set(), [out.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        if fn in fn_to_name:
            found.append(fn_to_name[fn])
            continue
        stack.extend(nxt for nxt, _ in fn.next_functions)
    return sorted(set(found))
