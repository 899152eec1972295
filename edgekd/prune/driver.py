"""The pruning driver: `prune_model` (iterative steps with fine-tuning between them),
`prune_with_kd` (that fine-tuning as Hinton KD with the distillation teacher), and
`check_prunable` (a one-step trial on a copy, so an unprunable model fails before training)."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from edgekd.errors import EdgeKDError
from edgekd.prune.layers import _run_checked, channel_counts, count_params, output_layers
from edgekd.prune.methods import (
    _apply_step,
    _build_pruner,
    _require_prunable,
    _unstructured_step,
    _unstructured_targets,
    fold_masks,
    weight_sparsity,
)
from edgekd.prune.spec import PruneSpec

_TAYLOR_SAMPLES = 512


@dataclass
class PruneResult:
    """What pruning did, in plain numbers (the report's `pruning` section)."""

    spec: PruneSpec
    output_layers: list[str]
    params_before: int
    params_after: int
    channels_before: dict[str, int]
    channels_after: dict[str, int]
    sparsity: float | None = None
    val_accuracy_before: float | None = None
    history: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            **dataclasses.asdict(self.spec),
            "ratio_meaning": self.spec.meaning,
            "output_layers_kept": self.output_layers,
            "params_before": self.params_before,
            "params_after": self.params_after,
            "channels_before": self.channels_before,
            "channels_after": self.channels_after,
            "sparsity": self.sparsity,
            "val_accuracy_before": self.val_accuracy_before,
            "history": self.history,
        }


def prune_model(
    model: nn.Module,
    example: torch.Tensor,
    spec: PruneSpec,
    *,
    finetune: Callable[[nn.Module, int], None] | None = None,
    evaluate: Callable[[nn.Module], float] | None = None,
    loss_fn: Callable[[nn.Module], torch.Tensor] | None = None,
) -> PruneResult:
    """Prune `model` in place in `spec.steps` steps, calling `finetune(model, step)` after each.

    `evaluate(model)` (validation accuracy) is recorded before pruning and after each prune and
    fine-tune; `loss_fn(model)` gives the loss whose gradients Taylor importance reads (needed
    for `importance="taylor"`).
    """
    if spec.importance == "taylor" and spec.method == "structured" and loss_fn is None:
        raise EdgeKDError("Taylor importance needs a loss: pass loss_fn (prune_with_kd does)")
    model.eval()
    example = example[:2].to(next(model.parameters()).device)
    reference = _run_checked(model, example, "the model does not run")
    keep = output_layers(model, example)
    result = PruneResult(
        spec=spec,
        output_layers=keep,
        params_before=count_params(model),
        params_after=count_params(model),
        channels_before=channel_counts(model),
        channels_after=channel_counts(model),
        val_accuracy_before=evaluate(model) if evaluate else None,
    )
    if spec.ratio == 0:
        return result
    modules = dict(model.named_modules())
    _require_prunable(model, keep, spec.method)
    if spec.method == "structured":
        pruner = _build_pruner(model, example, spec, [modules[n] for n in keep])
        _require_prunable(model, keep, spec.method, pruner)
        targets = None
    else:
        pruner, targets = None, _unstructured_targets(model, set(keep))

    for step in range(1, spec.steps + 1):
        target = spec.ratio * step / spec.steps
        if pruner is not None:
            if spec.importance == "taylor":
                model.zero_grad(set_to_none=True)
                model.eval()
                with torch.enable_grad():
                    loss_fn(model).backward()
            _apply_step(pruner)
            model.zero_grad(set_to_none=True)
        else:
            _unstructured_step(targets, target)
        model.eval()
        example = example.to(next(model.parameters()).device)
        out = _run_checked(model, example, f"pruning step {step} broke the forward pass")
        if out.shape != reference.shape:
            raise EdgeKDError(
                f"pruning changed the output shape {tuple(reference.shape)} -> "
                f"{tuple(out.shape)}; the output layer(s) {keep} are not the logits' producers"
            )
        record = {"step": step, "target_ratio": round(target, 6), "params": count_params(model)}
        if evaluate:
            record["val_accuracy_pruned"] = evaluate(model)
        if finetune is not None:
            finetune(model, step)
            if evaluate:
                record["val_accuracy_finetuned"] = evaluate(model)
        result.history.append(record)

    if spec.method == "unstructured":
        fold_masks(model)
        result.sparsity = weight_sparsity(model, set(keep))
    model.eval()
    result.params_after = count_params(model)
    result.channels_after = channel_counts(model)
    return result


def prune_with_kd(
    model: nn.Module,
    data,
    spec: PruneSpec,
    train_cfg,
    *,
    epochs: int,
    teacher=None,
    x_transfer: np.ndarray | None = None,
    label: str = "prune",
) -> PruneResult:
    """`prune_model` with Hinton-KD fine-tuning (`fit(..., teacher=teacher)`) after every step.

    `epochs` is the fine-tuning length per step (0: prune only). Validation accuracy is read
    before and after each fine-tune; Taylor importance uses the KD loss on training samples.
    """
    from edgekd.distill.losses import kd_loss, soft_targets
    from edgekd.distill.trainer import accuracy, fit, predict_logits, resolve_device

    device = resolve_device(train_cfg.device)
    example = torch.from_numpy(data.x_train[:2])

    def evaluate(m: nn.Module) -> float:
        return accuracy(m, data.x_val, data.y_val, device)

    def finetune(m: nn.Module, step: int) -> None:
        if epochs > 0:
            fit(
                m,
                data.x_train,
                data.y_train,
                data.x_val,
                data.y_val,
                dataclasses.replace(train_cfg, epochs=epochs),
                teacher=teacher,
                x_transfer=x_transfer,
                label=f"{label} {step}/{spec.steps}",
            )

    taylor_x = data.x_train[:_TAYLOR_SAMPLES]
    taylor_probs = None
    if teacher is not None and spec.importance == "taylor":
        taylor_probs = soft_targets(
            torch.from_numpy(predict_logits(teacher, taylor_x, device)), train_cfg.temperature
        )

    def loss_fn(m: nn.Module) -> torch.Tensor:
        dev = next(m.parameters()).device
        logits = m(torch.from_numpy(taylor_x).to(dev))
        y = torch.from_numpy(data.y_train[:_TAYLOR_SAMPLES]).to(dev)
        probs = None if taylor_probs is None else taylor_probs.to(dev)
        return kd_loss(logits, y, probs, temperature=train_cfg.temperature, alpha=train_cfg.alpha)

    model.to(device)
    result = prune_model(
        model, example, spec, finetune=finetune, evaluate=evaluate, loss_fn=loss_fn
    )
    model.cpu().eval()
    return result


def check_prunable(
    model: nn.Module, example: torch.Tensor, spec: PruneSpec | str = "structured"
) -> None:
    """Dry run before any training: prune a copy once and run it.

    Raises the one-line EdgeKDError that pruning the real model would raise later (nothing to
    prune, a layer Torch-Pruning cannot trace, a forward pass that breaks once channels go).
    """
    if isinstance(spec, str):
        spec = PruneSpec(0.5, method=spec)
    trial = dataclasses.replace(spec, ratio=spec.ratio or 0.5, steps=1, importance="l2")
    prune_model(copy.deepcopy(model).cpu(), example[:2].cpu(), trial)
