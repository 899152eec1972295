"""Pruning that makes the shipped ONNX file smaller and faster, not merely sparser.

Two methods:

- **structured** (default): whole channels (conv filters, linear neurons) are removed with
  Torch-Pruning's dependency graph, so every layer coupled to a removed channel (the BatchNorm
  after it, the depthwise conv that shares it, both sides of a residual add, a concatenation,
  the linear layer after a flatten) shrinks with it. The exported graph has fewer channels:
  fewer parameters, fewer MACs, a smaller file, less latency.
- **unstructured**: global magnitude (L1) pruning of individual weights. The masks are folded
  into the weights before export, so the ONNX file holds plain tensors with zeros in them. A
  dense runtime (onnxruntime CPU) does the same work on a zero as on any other number: file size
  and latency do NOT drop; only the gzip size does. Reports say so.

What `ratio` means:

- structured, `scope="uniform"`: the fraction of output channels removed from *each* prunable
  layer (Torch-Pruning's per-layer `pruning_ratio`). A conv whose inputs and outputs both shrink
  by R costs about (1 - R)^2 of its MACs, so R = 0.5 removes roughly 3-4x of a CNN's MACs.
- structured, `scope="global"`: the fraction of all prunable channels removed, ranked across
  layers (importance normalised by each group's mean), so layers that matter less lose more;
  every layer keeps at least one channel.
- unstructured: the fraction of weights zeroed among the prunable layers' weights.

Never pruned: the layers that produce the model's output (the classifier's output neurons are
the classes), found by walking the autograd graph back from the output.

`steps` > 1 prunes iteratively (the ratio grows linearly to R) and calls `finetune` after
every step; `prune_with_kd` makes that fine-tuning Hinton KD with the distillation teacher.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.utils import prune as torch_prune

from edgekd.atomic import atomic_path
from edgekd.errors import EdgeKDError

METHODS = ("structured", "unstructured")
IMPORTANCES = ("l2", "taylor")
SCOPES = ("uniform", "global")
CHECKPOINT_FORMAT = "edgekd.pruned/1"

_WEIGHTED = (nn.modules.conv._ConvNd, nn.Linear)
_TAYLOR_SAMPLES = 512


@dataclass(frozen=True)
class PruneSpec:
    """What to prune and how. `ratio` 0 means no pruning (see the module doc for its meaning)."""

    ratio: float
    method: str = "structured"
    steps: int = 1
    importance: str = "l2"
    scope: str = "uniform"
    round_to: int | None = None

    def __post_init__(self) -> None:
        validate_prune(self.ratio, self.method, self.steps, self.importance, self.scope)
        if self.round_to is not None and self.round_to < 1:
            raise EdgeKDError(f"prune round_to must be >= 1, got {self.round_to}")

    @property
    def meaning(self) -> str:
        if self.method == "unstructured":
            return "fraction of the prunable layers' weights set to zero (global magnitude)"
        if self.scope == "global":
            return "fraction of all prunable channels removed (ranked across layers)"
        return "fraction of output channels removed from each prunable layer"


def validate_prune(
    ratio: float,
    method: str = "structured",
    steps: int = 1,
    importance: str = "l2",
    scope: str = "uniform",
) -> None:
    """One-line EdgeKDError for a bad setting, raised before any training starts."""
    if not isinstance(ratio, int | float) or not 0 <= ratio < 1:
        raise EdgeKDError(
            f"prune ratio must lie in [0, 1) (the fraction of channels removed), got {ratio!r}; "
            "use e.g. --prune-ratio 0.5"
        )
    if method not in METHODS:
        raise EdgeKDError(f"unknown prune method '{method}'; choose one of: {', '.join(METHODS)}")
    if importance not in IMPORTANCES:
        raise EdgeKDError(
            f"unknown prune importance '{importance}'; choose one of: {', '.join(IMPORTANCES)}"
        )
    if scope not in SCOPES:
        raise EdgeKDError(f"unknown prune scope '{scope}'; choose one of: {', '.join(SCOPES)}")
    if not isinstance(steps, int) or steps < 1:
        raise EdgeKDError(f"prune steps must be an integer >= 1, got {steps!r}")


# ---------------------------------------------------------------- model inspection


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


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}"[:200]


def _run_checked(model: nn.Module, example: torch.Tensor, what: str) -> torch.Tensor:
    """Forward once; on failure an EdgeKDError naming the layer that failed."""
    with _layer_tracker(model) as where, torch.no_grad():
        try:
            return model(example)
        except Exception as e:
            raise EdgeKDError(
                f"{what}{where} ({_first_line(e)}); the model likely hard-codes a channel count "
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
                f"Torch-Pruning cannot trace the model{where} ({_first_line(e)}); simplify that "
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


# ---------------------------------------------------------------- the driver


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


# ---------------------------------------------------------------- saving and loading


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


# ---------------------------------------------------------------- pipeline stage


@dataclass
class PrunedStudent:
    model: nn.Module
    result: PruneResult
    checkpoint: Path
    onnx_path: Path
    parity: object

    def to_dict(self) -> dict:
        info = self.result.to_dict()
        info["checkpoint"] = self.checkpoint.name
        info["onnx"] = self.onnx_path.name
        info["onnx_weight_sparsity"] = round(onnx_weight_sparsity(self.onnx_path), 6)
        return info


def prune_and_export(
    student: nn.Module,
    data,
    spec: PruneSpec,
    train_cfg,
    run_dir: str | Path,
    *,
    epochs: int,
    teacher=None,
    x_transfer: np.ndarray | None = None,
) -> PrunedStudent:
    """The pipeline's prune stage: prune a copy of the distilled student with KD fine-tuning,
    save `student.pruned.pt`, export `student.pruned.onnx` and check its parity."""
    from edgekd.export import check_parity, export_onnx

    run_dir = Path(run_dir)
    model = copy.deepcopy(student)
    result = prune_with_kd(
        model, data, spec, train_cfg, epochs=epochs, teacher=teacher, x_transfer=x_transfer
    )
    checkpoint = save_pruned(model, run_dir / "student.pruned.pt", result)
    onnx_path = export_onnx(
        model, torch.from_numpy(data.x_test[:2]), run_dir / "student.pruned.onnx"
    )
    parity = check_parity(model, onnx_path, data.x_test)
    return PrunedStudent(model, result, checkpoint, onnx_path, parity)


def report_notes(pruning: dict, artifacts: list[dict]) -> list[str]:
    """Plain statements for the report: what the pruned file is, and what it is not."""
    rows = {a["name"]: a for a in artifacts}
    student, pruned = rows.get("student"), rows.get("student-pruned")
    notes = []
    if pruning["method"] == "unstructured":
        sizes = ""
        if student and pruned:
            sizes = (
                f" ({pruned['size_bytes'] / 1024:.1f} KB vs {student['size_bytes'] / 1024:.1f} KB "
                f"unpruned; gzip {pruned['gzip_bytes'] / 1024:.1f} KB vs "
                f"{student['gzip_bytes'] / 1024:.1f} KB)"
            )
        notes.append(
            f"unstructured pruning zeroed {pruning['sparsity']:.1%} of the prunable weights, but "
            f"the dense ONNX file keeps its size{sizes} and dense latency does not drop: "
            "onnxruntime multiplies zeros like any other number; only the gzip size shrinks. "
            "Use --prune-method structured to remove channels."
        )
    else:
        notes.append(
            f"{pruning['checkpoint']} is a state_dict of the pruned shapes plus their channel "
            "counts: it does not load into the unpruned architecture; use "
            "edgekd.prune.load_pruned(fresh_model, path)"
        )
    return notes
