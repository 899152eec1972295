"""Multiply-accumulates of an ONNX graph at batch 1, one rule per op kind.

MACs are those of convolutions and matrix products, as a PyTorch forward hook on Conv/Linear
counts them; a node with MACs edgekd cannot count is named in `uncounted` and the total is a
lower bound, never a silent undercount.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable

import onnx
from onnx import helper

ShapeOf = Callable[[str], list[int] | None]

# (data input index, weight input index) for every op whose MACs are counted.
_CONV = {"Conv": (0, 1), "FusedConv": (0, 1), "ConvInteger": (0, 1), "QLinearConv": (0, 3)}
_MATMUL = {
    "MatMul": (0, 1),
    "FusedMatMul": (0, 1),
    "MatMulInteger": (0, 1),
    "QLinearMatMul": (0, 3),
}
_MATMUL |= {"DynamicQuantizeMatMul": (0, 1), "MatMulIntegerToFloat": (0, 1)}
_GEMM = {"Gemm": (0, 1), "FusedGemm": (0, 1), "QGemm": (0, 3)}
# Default-domain ops that multiply-accumulate but are not counted: naming them keeps the figure
# honest (a lower bound) instead of silently low.
_UNCOUNTED_ONNX = {"Einsum", "LSTM", "GRU", "RNN", "Attention", "DeformConv"}
# Ops outside the default domain that do no MACs in this convention (elementwise, pooling,
# quantization, normalisation). Any other custom-domain op is named as uncounted.
_ZERO_MAC_CUSTOM = {
    "QLinearAdd",
    "QLinearMul",
    "QLinearSigmoid",
    "QLinearLeakyRelu",
    "QLinearSoftmax",
    "QLinearGlobalAveragePool",
    "QLinearAveragePool",
    "QLinearConcat",
    "QLinearReduceMean",
    "QLinearWhere",
    "QuantizeLinear",
    "DequantizeLinear",
    "DynamicQuantizeLinear",
    "NhwcMaxPool",
    "Gelu",
    "FastGelu",
    "BiasGelu",
    "QuickGelu",
    "BiasAdd",
    "SkipLayerNormalization",
    "SimplifiedLayerNormalization",
    "LayerNormalization",
}


def _conv_out_shape(node: onnx.NodeProto, x: list[int], w: list[int]) -> list[int] | None:
    """Conv output shape from the attributes, for when shape inference left it open."""
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    nsp = len(x) - 2
    kernel = list(attrs.get("kernel_shape", w[2:]))
    strides = list(attrs.get("strides", [1] * nsp))
    dil = list(attrs.get("dilations", [1] * nsp))
    pads = list(attrs.get("pads", [0] * (2 * nsp)))
    auto = attrs.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    out = [x[0], w[0]]
    for i in range(nsp):
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            out.append(math.ceil(x[2 + i] / strides[i]))
            continue
        span = (kernel[i] - 1) * dil[i] + 1
        pad = 0 if auto == "VALID" else pads[i] + pads[i + nsp]
        out.append((x[2 + i] + pad - span) // strides[i] + 1)
    return out if all(d > 0 for d in out) else None


def _conv_macs(node: onnx.NodeProto, shape_of: ShapeOf) -> int | None:
    xi, wi = _CONV[node.op_type]
    x, w = shape_of(node.input[xi]), shape_of(node.input[wi])
    if w is None:
        return None
    y = shape_of(node.output[0])
    if y is None and x is not None:
        y = _conv_out_shape(node, x, w)
    if y is None:
        return None
    # y = [N, M, *spatial], w = [M, C/group, *kernel]: each output element is C/g*k MACs.
    return math.prod(y) * math.prod(w[1:])


def _conv_transpose_macs(node: onnx.NodeProto, shape_of: ShapeOf) -> int | None:
    x, w = shape_of(node.input[0]), shape_of(node.input[1])
    if x is None or w is None:
        return None
    # w = [C, M/group, *kernel]: each input element scatters into M/g*k outputs.
    return math.prod(x) * math.prod(w[1:])


def _gemm_macs(node: onnx.NodeProto, shape_of: ShapeOf) -> int | None:
    ai, bi = _GEMM[node.op_type]
    a, b = shape_of(node.input[ai]), shape_of(node.input[bi])
    if a is None or b is None or len(a) != 2 or len(b) != 2:
        return None
    attrs = {at.name: helper.get_attribute_value(at) for at in node.attribute}
    m, k = (a[1], a[0]) if attrs.get("transA", 0) else (a[0], a[1])
    n = b[0] if attrs.get("transB", 0) else b[1]
    return m * k * n


def _matmul_macs(node: onnx.NodeProto, shape_of: ShapeOf) -> int | None:
    ai, bi = _MATMUL[node.op_type]
    a, b = shape_of(node.input[ai]), shape_of(node.input[bi])
    if a is None or b is None:
        return None
    a = [1, *a] if len(a) == 1 else a
    b = [*b, 1] if len(b) == 1 else b
    batch_a, batch_b = a[:-2], b[:-2]
    n = max(len(batch_a), len(batch_b))
    batch_a = [1] * (n - len(batch_a)) + batch_a
    batch_b = [1] * (n - len(batch_b)) + batch_b
    batch = math.prod(max(p, q) for p, q in zip(batch_a, batch_b, strict=True))
    return batch * a[-2] * a[-1] * b[-1]


def node_macs(node: onnx.NodeProto, shape_of: ShapeOf) -> int | None:
    """Multiply-accumulates of one node at batch 1; None when they cannot be counted (shapes
    unknown, or an op that multiplies but has no rule here)."""
    op = node.op_type
    if node.domain not in ("", "ai.onnx") and not (
        op in _CONV or op in _MATMUL or op in _GEMM or op in _ZERO_MAC_CUSTOM
    ):
        return None
    if op in _UNCOUNTED_ONNX:
        return None
    if op in _CONV:
        return _conv_macs(node, shape_of)
    if op == "ConvTranspose":
        return _conv_transpose_macs(node, shape_of)
    if op in _GEMM:
        return _gemm_macs(node, shape_of)
    if op in _MATMUL:
        return _matmul_macs(node, shape_of)
    return 0


def count_macs(model: onnx.ModelProto, shape_of: ShapeOf) -> tuple[int, dict[str, int], list[str]]:
    """(total MACs, MACs per op type, `op:node` of every node that could not be counted)."""
    macs = 0
    by_op: dict[str, int] = defaultdict(int)
    uncounted: list[str] = []
    for node in model.graph.node:
        n = node_macs(node, shape_of)
        if n is None:
            uncounted.append(f"{node.op_type}:{node.name or node.output[0]}")
            continue
        if n:
            by_op[node.op_type] += n
            macs += n
    return macs, dict(by_op), uncounted
