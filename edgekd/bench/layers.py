"""Per-layer work of an ONNX graph by kind (conv, depthwise, dense): the cost model's inputs.

An MCU int8 kernel's time is driven by two things per layer: the multiply-accumulates it does and
the bytes it moves (weights read once, activations read and written). Both depend on the layer's
kind: a depthwise convolution reuses nothing across channels, a dense layer at batch 1 reads
each weight exactly once. So the estimator (edgekd/bench/mcu.py) needs, per layer, its kind,
MACs and int8 bytes, counted here from the graph the same way `macs.py` counts MACs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import onnx
from onnx import helper

from edgekd.bench.macs import _CONV, _GEMM, _MATMUL, node_macs
from edgekd.bench.shapes import Known

KINDS = ("conv", "depthwise", "dense")


@dataclass(frozen=True)
class LayerWork:
    """One MAC-carrying node: its kind, MACs and the int8 bytes it touches (1 byte per value)."""

    name: str
    kind: str
    macs: int
    weight_bytes: int
    activation_bytes: int  # input read + output written

    @property
    def traffic_bytes(self) -> int:
        return self.weight_bytes + self.activation_bytes


def _kind(node: onnx.NodeProto, weight: list[int] | None) -> str:
    """conv, depthwise (one input channel per group, several groups) or dense."""
    if node.op_type in _CONV:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        group = attrs.get("group", 1)
        per_group = weight[1] if weight and len(weight) > 1 else None
        return "depthwise" if group > 1 and per_group == 1 else "conv"
    return "dense"


def layer_work(model: onnx.ModelProto, known: Known) -> tuple[list[LayerWork], list[str]]:
    """(work of every counted conv/dense node, `op:node` of those whose shapes stayed unknown)."""

    def shape_of(name: str) -> list[int] | None:
        return known.get(name, (0, None))[1]

    def size(name: str) -> int | None:
        dims = shape_of(name)
        return None if dims is None else math.prod(dims)

    layers, unknown = [], []
    for node in model.graph.node:
        slots = _CONV.get(node.op_type) or _MATMUL.get(node.op_type) or _GEMM.get(node.op_type)
        if slots is None:
            continue
        macs = node_macs(node, shape_of)
        sizes = [size(node.input[slots[0]]), size(node.input[slots[1]]), size(node.output[0])]
        if macs is None or None in sizes:
            unknown.append(f"{node.op_type}:{node.name or node.output[0]}")
            continue
        x, w, y = sizes
        kind = _kind(node, shape_of(node.input[slots[1]]))
        layers.append(LayerWork(node.name or node.output[0], kind, macs, w, x + y))
    return layers, unknown


def totals(layers: list[LayerWork]) -> dict[str, dict[str, int]]:
    """MACs and traffic bytes summed per kind (every kind present, zeros included)."""
    out = {k: {"macs": 0, "traffic_bytes": 0, "layers": 0} for k in KINDS}
    for lw in layers:
        out[lw.kind]["macs"] += lw.macs
        out[lw.kind]["traffic_bytes"] += lw.traffic_bytes
        out[lw.kind]["layers"] += 1
    return out
