"""The two pruning methods' steps: structured (Torch-Pruning dependency graph, whole
channels) and unstructured (global L1 magnitude, masks folded before export)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.nn.utils import prune as torch_prune

from edgekd.errors import EdgeKDError, first_line
from edgekd.prune.layers import (
    _layer_tracker,
    weighted_layers,
)
from edgekd.prune.spec import PruneSpec

# ---------------------------------------------------------------- structured


def _importance(name: str):
    import torch_pruning as tp

    if name == "taylor":
        return tp.importance.GroupTaylorImportance()
    return tp.importance.GroupMagnitudeImportance(p=2)


def _build_pruner(model: nn.Module, example: torch.Tensor, spec: PruneSpec, ignored: list):
    import torch_pruning as tp

    with _layer_tracker(model) as where:
        try:
            pruner = tp.pruner.BasePruner(
                model,
                example,
                importance=_importance(spec.importance),
                pruning_ratio=spec.ratio,
                iterative_steps=spec.steps,
                # Isomorphic ranking (ECCV 2024) only compares groups of identical structure; in
                # edgekd's small students nearly every group is unique, so it would degenerate to
                # the uniform ratio. Plain global ranking over mean-normalised importance instead.
                global_pruning=spec.scope == "global",
                ignored_layers=ignored,
                round_to=spec.round_to,
            )
        except EdgeKDError:
            raise
        except Exception as e:
            raise EdgeKDError(
                f"Torch-Pruning cannot trace the model{where} ({first_line(e, kind=True)}); "
                "simplify that "
                "layer or prune with --prune-method unstructured"
            ) from None
    # Torch-Pruning silently skips a group whose target would remove every channel (a 4-channel
    # layer at ratio 0.8 keeps all 4). Let such groups through; `_apply_step` keeps the most
    # important channel of each and runs the original check afterwards.
    pruner._edgekd_check_group = pruner.DG.check_pruning_group
    pruner.DG.check_pruning_group = lambda group: True
    return pruner


def _prunable_groups(pruner) -> int:
    return sum(
        1
        for _ in pruner.DG.get_all_groups(
            ignored_layers=pruner.ignored_layers, root_module_types=pruner.root_module_types
        )
    )


def _apply_step(pruner) -> None:
    """One Torch-Pruning step, keeping at least one channel in every group."""
    dg = pruner.DG
    for group in pruner.step(interactive=True):
        dep, idxs = group[0].dep, group[0].idxs
        module, handler = dep.target.module, dep.handler
        n = dg.get_out_channels(module) if dg.is_out_channel_pruning_fn(handler) else None
        if n is None and dg.is_in_channel_pruning_fn(handler):
            n = dg.get_in_channels(module)
        if n is not None and len(set(idxs)) >= n:
            full = dg.get_pruning_group(module, handler, list(range(n)))
            imp = pruner.estimate_importance(full)
            keep = int(torch.argmax(imp[:n]).item()) if imp is not None else 0
            idxs = [i for i in range(n) if i != keep]
            if not idxs:
                continue
            group = dg.get_pruning_group(module, handler, idxs)
        if pruner._edgekd_check_group(group):
            group.prune()


def _require_prunable(model: nn.Module, keep: list[str], method: str, pruner=None) -> None:
    """One-line EdgeKDError when there is nothing for `method` to prune."""
    rest = [n for n in weighted_layers(model) if n not in keep]
    if not rest:
        raise EdgeKDError(
            "the model has nothing to prune: no convolution or linear layer besides the output "
            f"layer ({', '.join(keep) or 'none found'}); use a larger student or --prune-ratio 0"
        )
    if method == "structured" and pruner is not None and _prunable_groups(pruner) == 0:
        raise EdgeKDError(
            "the model has nothing to prune: every channel is tied to the output layer "
            f"({', '.join(keep)}); use --prune-method unstructured or --prune-ratio 0"
        )


# ---------------------------------------------------------------- unstructured


def _unstructured_targets(model: nn.Module, keep: set[str]) -> list[tuple[nn.Module, str]]:
    return [(m, "weight") for n, m in weighted_layers(model).items() if n not in keep]


def _unstructured_step(targets: list[tuple[nn.Module, str]], target_ratio: float) -> None:
    """Zero the smallest weights globally until `target_ratio` of them are zero."""
    total = sum(getattr(m, n).numel() for m, n in targets)
    already = sum(
        int((m.weight_mask == 0).sum()) if torch_prune.is_pruned(m) else 0 for m, _ in targets
    )
    amount = int(round(total * target_ratio)) - already
    if amount > 0:
        torch_prune.global_unstructured(
            targets, pruning_method=torch_prune.L1Unstructured, amount=amount
        )


def fold_masks(model: nn.Module) -> nn.Module:
    """Make pruning masks permanent: plain `weight` tensors, no `weight_orig`/`weight_mask`."""
    for m in model.modules():
        hooks = [
            h for h in m._forward_pre_hooks.values() if isinstance(h, torch_prune.BasePruningMethod)
        ]
        for h in hooks:
            torch_prune.remove(m, h._tensor_name)
    return model


def weight_sparsity(model: nn.Module, exclude: set[str] | None = None) -> float:
    """Fraction of zeros among the conv/linear weights (outside `exclude`)."""
    zeros = total = 0
    for n, m in weighted_layers(model).items():
        if exclude and n in exclude:
            continue
        w = m.weight.detach()
        zeros += int((w == 0).sum())
        total += w.numel()
    return zeros / total if total else 0.0


def onnx_weight_sparsity(path: str | Path) -> float:
    """Fraction of zeros in the float weight tensors (rank >= 2) of an ONNX file."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    zeros = total = 0
    for init in model.graph.initializer:
        if len(init.dims) < 2 or init.data_type != onnx.TensorProto.FLOAT:
            continue
        arr = numpy_helper.to_array(init)
        zeros += int((arr == 0).sum())
        total += arr.size
    return zeros / total if total else 0.0
