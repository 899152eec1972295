"""ONNX models built with onnx.helper (no torch), with costs known by hand.

conv_relu_gemm: x[N,3,8,8] -Conv(4x3x3x3, pad 1)-> [N,4,8,8] -Relu-Flatten-> [N,256]
  -Gemm(10x256)-> y[N,10]
  MACs  = 4*8*8 * 3*3*3 + 256*10 = 6912 + 2560 = 9472
  params = 108 + 4 + 2560 + 10 = 2682
  peak activation (batch 1, float32): Relu step holds conv out + relu out = 2 * 1024 B = 2048 B
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

CRG_MACS = 9472
CRG_PARAMS = 2682
CRG_PEAK_ACT = 2048


def _save(graph: onnx.GraphProto, path: Path, opset: int = 17) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def _init(name: str, arr: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(arr, name)


def conv_relu_gemm(path: Path, *, batch: int | str = "N", seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    inits = [
        _init("W", rng.standard_normal((4, 3, 3, 3)).astype(np.float32)),
        _init("B", rng.standard_normal(4).astype(np.float32)),
        _init("W2", rng.standard_normal((10, 256)).astype(np.float32)),
        _init("B2", rng.standard_normal(10).astype(np.float32)),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "W", "B"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("Flatten", ["r"], ["f"]),
        helper.make_node("Gemm", ["f", "W2", "B2"], ["y"], transB=1),
    ]
    g = helper.make_graph(
        nodes,
        "crg",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 10])],
        inits,
    )
    return _save(g, path)


def depthwise_pointwise(path: Path) -> Path:
    """Depthwise 3x3 (group=4): 4*64*9 = 2304 MACs; pointwise 4->8: 8*64*4 = 2048. Total 4352."""
    rng = np.random.default_rng(1)
    inits = [
        _init("Wd", rng.standard_normal((4, 1, 3, 3)).astype(np.float32)),
        _init("Wp", rng.standard_normal((8, 4, 1, 1)).astype(np.float32)),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "Wd"], ["d"], group=4, pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["d", "Wp"], ["y"]),
    ]
    g = helper.make_graph(
        nodes,
        "dw",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 8, 8])],
        inits,
    )
    return _save(g, path)


def matmul_seq(path: Path) -> Path:
    """x[N, S, 16] @ W[16, 7] with S symbolic: at S=5, batch 1: 5*16*7 = 560 MACs."""
    w = np.random.default_rng(2).standard_normal((16, 7)).astype(np.float32)
    g = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["y"])],
        "mm",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", "S", 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", "S", 7])],
        [_init("W", w)],
    )
    return _save(g, path)


def qdq_conv_relu_gemm(path: Path) -> Path:
    """conv_relu_gemm in QDQ form: int8 weights and int32 biases behind DequantizeLinear."""
    rng = np.random.default_rng(3)
    f32 = np.float32
    inits = [
        _init("s", np.array(0.05, f32)),
        _init("zp", np.array(128, np.uint8)),
        _init("ws", np.array(0.02, f32)),
        _init("wzp", np.array(0, np.int8)),
        _init("bs", np.array(0.001, f32)),
        _init("bzp", np.array(0, np.int32)),
        _init("Wq", rng.integers(-127, 127, (4, 3, 3, 3)).astype(np.int8)),
        _init("Bq", rng.integers(-100, 100, 4).astype(np.int32)),
        _init("W2q", rng.integers(-127, 127, (10, 256)).astype(np.int8)),
        _init("B2q", rng.integers(-100, 100, 10).astype(np.int32)),
    ]
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s", "zp"], ["xq"]),
        helper.make_node("DequantizeLinear", ["xq", "s", "zp"], ["xd"]),
        helper.make_node("DequantizeLinear", ["Wq", "ws", "wzp"], ["W"]),
        helper.make_node("DequantizeLinear", ["Bq", "bs", "bzp"], ["B"]),
        helper.make_node("Conv", ["xd", "W", "B"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("QuantizeLinear", ["r", "s", "zp"], ["rq"]),
        helper.make_node("DequantizeLinear", ["rq", "s", "zp"], ["rd"]),
        helper.make_node("Flatten", ["rd"], ["f"]),
        helper.make_node("DequantizeLinear", ["W2q", "ws", "wzp"], ["W2"]),
        helper.make_node("DequantizeLinear", ["B2q", "bs", "bzp"], ["B2"]),
        helper.make_node("Gemm", ["f", "W2", "B2"], ["y"], transB=1),
    ]
    g = helper.make_graph(
        nodes,
        "qdq",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])],
        inits,
    )
    return _save(g, path)


def qlinear_conv(path: Path) -> Path:
    """QOperator form: uint8 in, QLinearConv (int8 weights), DequantizeLinear out. 6912 MACs."""
    rng = np.random.default_rng(4)
    f32 = np.float32
    inits = [
        _init("s", np.array(0.05, f32)),
        _init("zp", np.array(128, np.uint8)),
        _init("ws", np.array(0.02, f32)),
        _init("wzp", np.array(0, np.int8)),
        _init("Wq", rng.integers(-127, 127, (4, 3, 3, 3)).astype(np.int8)),
        _init("Bq", rng.integers(-100, 100, 4).astype(np.int32)),
    ]
    nodes = [
        helper.make_node(
            "QLinearConv",
            ["xq", "s", "zp", "Wq", "ws", "wzp", "s", "zp", "Bq"],
            ["yq"],
            pads=[1, 1, 1, 1],
        ),
        helper.make_node("DequantizeLinear", ["yq", "s", "zp"], ["y"]),
    ]
    g = helper.make_graph(
        nodes,
        "qlinear",
        [helper.make_tensor_value_info("xq", TensorProto.UINT8, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])],
        inits,
    )
    return _save(g, path)


def matmul_einsum(path: Path) -> Path:
    """x[N,8] @ W[8,4] (32 MACs, counted) then Einsum with V[4,3] (12 MACs, no rule: uncounted)."""
    rng = np.random.default_rng(5)
    g = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "W"], ["h"], name="mm"),
            helper.make_node("Einsum", ["h", "V"], ["y"], name="mix", equation="bi,ij->bj"),
        ],
        "einsum",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
        [
            _init("W", rng.standard_normal((8, 4)).astype(np.float32)),
            _init("V", rng.standard_normal((4, 3)).astype(np.float32)),
        ],
    )
    return _save(g, path)


def huge_input_relu(path: Path, elements: int = 2_000_000_000) -> Path:
    """One Relu on an input declared [1, elements]: 8 GB of float32 at 2e9."""
    g = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "huge",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, elements])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, elements])],
    )
    return _save(g, path)
