"""Graph costs counted from ONNX files built by hand, so every expected number is derivable."""

from __future__ import annotations

import gzip
import hashlib

import numpy as np
import pytest
from onnxruntime.quantization import (
    CalibrationDataReader,
    QuantFormat,
    QuantType,
    quantize_dynamic,
    quantize_static,
)

from edgekd.bench.graph import graph_stats
from edgekd.errors import EdgeKDError
from tests.test_bench_helpers import (
    CRG_MACS,
    CRG_PARAMS,
    CRG_PEAK_ACT,
    conv_relu_gemm,
    depthwise_pointwise,
    matmul_einsum,
    matmul_seq,
    qdq_conv_relu_gemm,
    qlinear_conv,
)


def test_conv_relu_gemm_exact_costs(tmp_path):
    path = conv_relu_gemm(tmp_path / "m.onnx")
    s = graph_stats(path)
    assert s.macs == CRG_MACS
    assert s.macs_by_op == {"Conv": 6912, "Gemm": 2560}
    assert s.params == CRG_PARAMS
    assert s.peak_activation_bytes == CRG_PEAK_ACT
    data = path.read_bytes()
    assert s.size_bytes == len(data)
    assert s.gzip_bytes == len(gzip.compress(data, compresslevel=6, mtime=0))
    assert s.sha256 == hashlib.sha256(data).hexdigest()
    assert set(s.to_dict()) == {
        "size_bytes",
        "gzip_bytes",
        "sha256",
        "params",
        "macs",
        "peak_activation_bytes",
    }


def test_grouped_and_depthwise_conv(tmp_path):
    s = graph_stats(depthwise_pointwise(tmp_path / "dw.onnx"))
    assert s.macs == 4 * 64 * 9 + 8 * 64 * 4  # group=4 divides the input channels per output
    assert s.params == 4 * 9 + 8 * 4
    assert s.peak_activation_bytes == 1024 + 2048  # step 2 holds d (4x8x8) and y (8x8x8) floats


def test_matmul_symbolic_dims_follow_shape_override(tmp_path):
    path = matmul_seq(tmp_path / "mm.onnx")
    assert graph_stats(path).macs == 1 * 16 * 7  # S defaults to 1
    assert graph_stats(path, shapes={"x": [1, 5, 16]}).macs == 5 * 16 * 7
    assert graph_stats(path, shapes={"x": [8, 5, 16]}).macs == 5 * 16 * 7  # per sample


def test_qdq_model_counts_quantized_weights_and_same_macs(tmp_path):
    s = graph_stats(qdq_conv_relu_gemm(tmp_path / "qdq.onnx"))
    assert s.macs == CRG_MACS  # Conv/Gemm weight shapes come through DequantizeLinear
    assert s.params == CRG_PARAMS  # int8 weights + int32 biases; scales / zero points excluded
    # int8 activations between Q and DQ are what a fused int8 kernel keeps.
    assert s.peak_activation_bytes < CRG_PEAK_ACT


def test_qoperator_qlinearconv(tmp_path):
    s = graph_stats(qlinear_conv(tmp_path / "ql.onnx"))
    assert s.macs_by_op == {"QLinearConv": 6912}
    assert s.params == 108 + 4
    assert s.peak_activation_bytes == 256 + 1024  # uint8 conv output + float graph output


class _Reader(CalibrationDataReader):
    def __init__(self) -> None:
        rng = np.random.default_rng(0)
        self.it = iter([{"x": rng.random((1, 3, 8, 8), np.float32)} for _ in range(4)])

    def get_next(self):
        return next(self.it, None)


@pytest.mark.parametrize("fmt", [QuantFormat.QDQ, QuantFormat.QOperator, "dynamic"])
def test_onnxruntime_quantized_models_keep_the_float_macs(tmp_path, fmt):
    src = conv_relu_gemm(tmp_path / "f.onnx", batch=1)
    out = tmp_path / "q.onnx"
    if fmt == "dynamic":
        quantize_dynamic(str(src), str(out), weight_type=QuantType.QUInt8)
    else:
        quantize_static(str(src), str(out), _Reader(), quant_format=fmt, per_channel=True)
    s = graph_stats(out)
    assert s.macs == CRG_MACS
    assert not s.uncounted
    assert s.params >= CRG_PARAMS


def test_missing_and_non_onnx_files_raise_one_clear_error(tmp_path):
    with pytest.raises(EdgeKDError, match="not found"):
        graph_stats(tmp_path / "nope.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_text("this is not a protobuf\n" * 20)
    with pytest.raises(EdgeKDError, match="not an ONNX model"):
        graph_stats(bad)


def test_node_without_mac_rule_is_named_and_macs_are_a_lower_bound(tmp_path):
    s = graph_stats(matmul_einsum(tmp_path / "e.onnx"))
    assert s.macs == 8 * 4  # the MatMul; the Einsum's 4 * 3 are not counted
    assert s.uncounted == ["Einsum:mix"]
    assert s.to_dict()["macs_uncounted_nodes"] == ["Einsum:mix"]
    assert any("lower bound" in n and "Einsum:mix" in n for n in s.notes)
    assert "macs_uncounted_nodes" not in graph_stats(conv_relu_gemm(tmp_path / "c.onnx")).to_dict()


def test_unknown_custom_domain_op_is_not_counted_as_zero(tmp_path):
    from onnx import TensorProto, helper

    g = helper.make_graph(
        [helper.make_node("MatMulNBits", ["x", "w"], ["y"], name="q4", domain="com.microsoft")],
        "nbits",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor("w", TensorProto.UINT8, [4, 1, 4], bytes(16), raw=True)],
    )
    model = helper.make_model(
        g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    )
    model.ir_version = 8
    path = tmp_path / "nbits.onnx"
    path.write_bytes(model.SerializeToString())
    s = graph_stats(path)
    assert s.uncounted == ["MatMulNBits:q4"] and s.macs == 0


def test_bench_prints_a_lower_bound_and_names_the_node(tmp_path):
    import json

    from click.testing import CliRunner

    from edgekd.cli import main
    from edgekd.report.render import macs_cell

    model = str(matmul_einsum(tmp_path / "e.onnx"))
    fast = ["--runs", "2", "--warmup", "0", "--no-memory"]
    r = CliRunner().invoke(main, ["bench", model, "--json", *fast])
    (art,) = json.loads(r.stdout)["artifacts"]
    assert art["macs"] == 32 and art["macs_uncounted_nodes"] == ["Einsum:mix"]
    assert macs_cell(art) == "≥ 32" and macs_cell({**art, "macs_uncounted_nodes": []}) == "32"
    table = CliRunner().invoke(main, ["bench", model, *fast]).output
    assert "≥ 32" in table and "Einsum:mix" in table
