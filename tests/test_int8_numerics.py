"""int8 numerics: this host's onnxruntime kernels against the ONNX spec's semantics, and tract as
a second runtime before a file ships (edgekd.quantize.spec, edgekd.second_runtime).

The host-dependent cases need onnxruntime's saturating u8 x s8 path: x86 with AVX2 but neither
avx512_vnni nor avx_vnni. VNNI and ARM64's dot-product kernels accumulate in 32 bits, so there
host and spec agree and those cases are skipped. The model is a random-weight conv net built
from a fixed seed, torch-free: on an AVX2 host without VNNI its S8S8 and U8S8-without-
reduce_range files give logits several 8-bit steps apart between the host kernels and the spec
(calibrated on 200 digits and run on all 1,797, 5.0% and 8.6% of predictions flipped).
"""

from __future__ import annotations

import platform
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator
from sklearn.datasets import load_digits

import edgekd.quantize.decide as decide_mod
from edgekd.bench.latency import LatencyStats
from edgekd.evaluate import onnx_logits
from edgekd.numerics import MAX_STEPS, compare_logits
from edgekd.quantize import QuantConfig, choose_quantization, quantize_model
from edgekd.quantize.table import HEADERS as TABLE_HEADERS
from edgekd.quantize.table import candidate_rows, why_lines
from edgekd.second_runtime import tract_logits


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    line = next((ln for ln in text.splitlines() if ln.startswith("flags")), "")
    return set(line.partition(":")[2].split())


FLAGS = _cpu_flags()
SATURATES = (
    platform.machine() in ("x86_64", "AMD64")
    and "avx2" in FLAGS
    and not FLAGS & {"avx512_vnni", "avx_vnni"}
)
needs_saturation = pytest.mark.skipif(
    not SATURATES,
    reason="host and spec agree here: onnxruntime's u8 x s8 kernels saturate at 16 bits only on "
    f"x86 with AVX2 and no VNNI (machine {platform.machine()}, "
    f"vnni flags {sorted(FLAGS & {'avx512_vnni', 'avx_vnni'}) or 'none'})",
)
S8S8 = QuantConfig.ort_default()
U8S8 = QuantConfig(reduce_range=False)
U8S8_RR = QuantConfig()  # 7-bit weights: the 16-bit pair sums cannot saturate


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    return (d.data / 16).astype(np.float32).reshape(-1, 1, 8, 8), d.target.astype(np.int64)


@pytest.fixture(scope="module")
def conv_net(tmp_path_factory) -> Path:
    """Conv 1->16, Conv 16->16, global pool, Gemm 16->10; weights drawn from seed 1."""
    rng = np.random.default_rng(1)
    c = 16
    weights = {
        "w1": rng.normal(0, 1, (c, 1, 3, 3)),
        "b1": rng.normal(0, 0.1, c),
        "w2": rng.normal(0, 1 / np.sqrt(9 * c), (c, c, 3, 3)),
        "b2": rng.normal(0, 0.1, c),
        "w3": rng.normal(0, 1 / np.sqrt(c), (10, c)),
        "b3": np.zeros(10),
    }
    node = helper.make_node
    nodes = [
        node("Conv", ["x", "w1", "b1"], ["h1"], pads=[1, 1, 1, 1]),
        node("Relu", ["h1"], ["r1"]),
        node("Conv", ["r1", "w2", "b2"], ["h2"], pads=[1, 1, 1, 1]),
        node("Relu", ["h2"], ["r2"]),
        node("GlobalAveragePool", ["r2"], ["g"]),
        node("Flatten", ["g"], ["f"]),
        node("Gemm", ["f", "w3", "b3"], ["y"], transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "conv_net",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])],
        [numpy_helper.from_array(v.astype(np.float32), k) for k, v in weights.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path_factory.mktemp("numerics") / "conv_net.onnx"
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="module")
def mlp(tmp_path_factory) -> Path:
    """MatMul 64->128, Relu, MatMul 128->10; weights drawn from seed 0."""
    rng = np.random.default_rng(0)
    weights = {"w1": rng.normal(0, 0.3, (64, 128)), "w2": rng.normal(0, 0.1, (128, 10))}
    node = helper.make_node
    graph = helper.make_graph(
        [
            node("Flatten", ["x"], ["f"]),
            node("MatMul", ["f", "w1"], ["h"]),
            node("Relu", ["h"], ["r"]),
            node("MatMul", ["r", "w2"], ["y"]),
        ],
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])],
        [numpy_helper.from_array(v.astype(np.float32), k) for k, v in weights.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path_factory.mktemp("numerics") / "mlp.onnx"
    onnx.save(model, str(path))
    return path


def _fast_int8(monkeypatch) -> None:
    """Every candidate times 2x faster than fp32, so shipping hinges on numerics alone."""

    def fake(paths, **kwargs):
        return [
            LatencyStats(p, p, p, p, p, 0.0, p, 1, 1, 5) for p in [1.0] + [0.5] * (len(paths) - 1)
        ]

    monkeypatch.setattr(decide_mod, "compare_latency", fake)


def _choose(model: Path, digits, out: Path, config: QuantConfig):
    x, y = digits
    return choose_quantization(
        model, out, calibration=x[:300], val_x=x[300:], val_y=y[300:], mode="int8",
        config=config, max_accuracy_drop=1.0, guard_tries=0, runs=5,
    )  # fmt: skip


def test_agreement_tolerance_is_one_output_step_and_no_flip():
    ref = np.array([[0.0, 2.55], [2.55, 0.0]])  # range 2.55: one 8-bit step is 0.01
    assert compare_logits(ref + 0.01, ref).agrees  # a rounding step: same numerics
    assert not compare_logits(ref + [[0.0, 0.02], [0.0, 0.0]], ref).agrees  # two steps
    flipped = compare_logits(np.array([[0.0, 2.55], [0.0, 2.55]]), ref)
    assert flipped.agreement == 0.5 and not flipped.agrees


@pytest.mark.parametrize(
    "config, dependent",
    [
        pytest.param(S8S8, True, marks=needs_saturation),
        pytest.param(U8S8, True, marks=needs_saturation),
        pytest.param(U8S8.model_copy(update={"format": "QOperator"}), True, marks=needs_saturation),
        (U8S8_RR, False),
        (U8S8_RR.model_copy(update={"format": "QOperator"}), False),
    ],
    ids=lambda v: v.label if isinstance(v, QuantConfig) else str(v),
)
def test_host_dependent_flag_follows_the_kernels(conv_net, digits, tmp_path, config, dependent):
    (cand,) = _choose(conv_net, digits, tmp_path / "q.int8.onnx", config).candidates
    assert cand.host_dependent is dependent
    assert cand.spec_path.startswith("its QDQ twin" if config.format == "QOperator" else "onnx")
    record = cand.to_dict()
    assert record["host_dependent"] is dependent and 0 < record["spec_accuracy"] <= 1
    if dependent:  # the saturated sums move logits by several 8-bit steps
        assert cand.spec_max_steps > MAX_STEPS
    else:
        assert cand.spec_agreement == 1 and cand.spec_accuracy == cand.accuracy


@needs_saturation
def test_dynamic_int8_is_checked_by_the_reference_evaluator(mlp, digits, tmp_path):
    x, y = digits  # dynamic int8 without reduce_range: MatMulInteger's u8 x s8 sums saturate
    no_rr = QuantConfig(per_channel=False, reduce_range=False)  # onnxruntime's own defaults
    choice = choose_quantization(
        mlp, tmp_path / "q.onnx", calibration=x[:300], val_x=x, val_y=y, mode="dynamic",
        config=no_rr, runs=5,
    )  # fmt: skip
    (cand,) = choice.candidates
    assert cand.spec_path.startswith("onnx.reference") and cand.host_dependent
    assert cand.spec_agreement < 1 and cand.spec_max_steps > MAX_STEPS


@needs_saturation
def test_spec_path_equals_onnx_reference_and_tract_not_the_host(conv_net, digits, tmp_path):
    x = digits[0][:256]
    path = quantize_model(conv_net, tmp_path / "s8s8.onnx", mode="int8", calibration=x, config=S8S8)
    spec = onnx_logits(path, x, optimize=False)
    opset19 = onnx.version_converter.convert_version(onnx.load(str(path)), 19)
    reference = ReferenceEvaluator(opset19).run(None, {"x": x})[0]
    np.testing.assert_allclose(spec, reference, atol=1e-5)
    assert compare_logits(tract_logits(path, x), spec).agrees
    assert not compare_logits(onnx_logits(path, x), spec).agrees


@needs_saturation
def test_candidate_tract_disagrees_with_is_not_shipped(conv_net, digits, tmp_path, monkeypatch):
    _fast_int8(monkeypatch)
    out = tmp_path / "q.int8.onnx"
    choice = _choose(conv_net, digits, out, S8S8)
    (cand,) = choice.candidates
    assert choice.shipped == "fp32" and not out.exists()
    assert cand.second_runtime["agrees"] is False
    assert "tract disagrees" in cand.why_not and "tract disagrees" in choice.reason
    quant = choice.to_dict()
    assert quant["candidates"][0]["verdict"] == "tract disagrees"
    row = candidate_rows(quant)[1]
    assert row[TABLE_HEADERS.index("numerics")] == "host-dependent"
    why = why_lines(quant)
    assert any(line.startswith(f"{cand.name}: host-dependent numerics") for line in why)


def test_candidate_tract_agrees_with_ships(conv_net, digits, tmp_path, monkeypatch):
    _fast_int8(monkeypatch)
    out = tmp_path / "q.int8.onnx"
    choice = _choose(conv_net, digits, out, U8S8_RR)
    (cand,) = choice.candidates
    assert choice.shipped == cand.name and out.exists()
    assert cand.second_runtime["agrees"] is True and cand.second_runtime["agreement"] == 1.0
