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

from edgekd.prune.checkpoint import layer_shapes, load_pruned, save_pruned
from edgekd.prune.driver import PruneResult, check_prunable, prune_model, prune_with_kd
from edgekd.prune.layers import channel_counts, count_params, output_layers, weighted_layers
from edgekd.prune.methods import fold_masks, onnx_weight_sparsity, weight_sparsity
from edgekd.prune.spec import IMPORTANCES, METHODS, SCOPES, PruneSpec, validate_prune

__all__ = [
    "IMPORTANCES", "METHODS", "SCOPES", "PruneResult", "PruneSpec", "channel_counts",
    "check_prunable", "count_params", "fold_masks", "layer_shapes", "load_pruned",
    "onnx_weight_sparsity", "output_layers", "prune_model", "prune_with_kd", "save_pruned",
    "validate_prune", "weight_sparsity", "weighted_layers",
]  # fmt: skip
