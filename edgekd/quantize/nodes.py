"""What actually runs in int8: count compute nodes in the graph onnxruntime executes.

A QDQ file only says which tensors *may* be int8; onnxruntime decides at load time which
DequantizeLinear -> Conv -> QuantizeLinear groups it fuses into an int8 kernel. So the count is
taken on the optimized graph onnxruntime saves, not on the file.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

import onnx
import onnxruntime as ort

from edgekd.quantize.data import load_onnx

INT8_OPS = frozenset(
    {
        "QLinearConv",
        "QLinearMatMul",
        "QLinearConvTranspose",
        "ConvInteger",
        "MatMulInteger",
        "MatMulIntegerToFloat",
        "DynamicQuantizeMatMul",
        "QGemm",
        "QAttention",
        "DynamicQuantizeLSTM",
        "QOrderedMatMul",
    }
)
FLOAT_OPS = frozenset(
    {
        "Conv",
        "ConvTranspose",
        "MatMul",
        "Gemm",
        "FusedConv",
        "FusedGemm",
        "FusedMatMul",
        "NchwcConv",
        "Attention",
        "LSTM",
        "GRU",
    }
)


def count_int8_nodes(path: str | Path, *, level: str = "all") -> dict:
    """Compute nodes running int8 vs float after onnxruntime's graph optimizations.

    Returns {"int8": n, "float": m, "by_op": {op_type: count, ...}, "float_nodes": [names]}.
    `level` is "extended" or "all" (the level a default session runs at).
    """
    load_onnx(path)  # clear error for a missing or non-ONNX file
    opts = ort.SessionOptions()
    opts.graph_optimization_level = {
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    }[level]
    opts.log_severity_level = 3
    opts.intra_op_num_threads = 1
    with tempfile.TemporaryDirectory(prefix="edgekd-opt-") as work:
        opts.optimized_model_filepath = str(Path(work) / "optimized.onnx")
        ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        nodes = list(onnx.load(opts.optimized_model_filepath).graph.node)
    by_op = Counter(n.op_type for n in nodes)
    return {
        "int8": sum(c for op, c in by_op.items() if op in INT8_OPS),
        "float": sum(c for op, c in by_op.items() if op in FLOAT_OPS),
        "by_op": dict(sorted(by_op.items())),
        "float_nodes": [n.name for n in nodes if n.op_type in FLOAT_OPS],
    }


def thin_convs(model: onnx.ModelProto, below: int) -> list[str]:
    """Names of the Conv nodes with fewer than `below` input channels (group x weight dim 1)."""
    weights = {t.name: list(t.dims) for t in model.graph.initializer}
    out = []
    for node in model.graph.node:
        w = weights.get(node.input[1]) if node.op_type == "Conv" else None
        group = next((a.i for a in node.attribute if a.name == "group"), 1)
        if w is not None and len(w) > 1 and w[1] * group < below:
            out.append(node.name)
    return out


def node_macs(model: onnx.ModelProto) -> dict[str, tuple[str, int]]:
    """Per counted node name: (op type, multiply-accumulates at batch 1), by bench's one MAC
    counter (edgekd/bench/macs.py) on the shapes onnx infers."""
    from edgekd.bench.macs import node_macs as count
    from edgekd.bench.shapes import infer_shapes

    known = infer_shapes(model)
    out = {}
    for node in model.graph.node:
        n = count(node, lambda name: known.get(name, (0, None))[1])
        if n:
            out[node.name or node.output[0]] = (node.op_type, n)
    return out


def mac_split(model: onnx.ModelProto) -> dict[str, int]:
    """Multiply-accumulates per sample in Conv vs MatMul/Gemm."""
    macs = {"conv": 0, "matmul": 0}
    for op, n in node_macs(model).values():
        macs["conv" if "Conv" in op else "matmul"] += n
    return macs


def matmul_heavy(model: onnx.ModelProto) -> bool:
    """True when MatMul/Gemm carry at least half of the multiply-accumulates."""
    macs = mac_split(model)
    return macs["matmul"] > 0 and macs["matmul"] >= macs["conv"]
