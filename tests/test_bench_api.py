"""The Python API the pipeline calls: benchmark() fields, to_ort() outputs, external weights."""

from __future__ import annotations

import onnx
import onnxruntime as ort
import pytest

from edgekd.bench import benchmark, graph_stats, to_ort
from edgekd.errors import EdgeKDError
from tests.test_bench_helpers import CRG_MACS, CRG_PARAMS, conv_relu_gemm


def test_benchmark_returns_report_json_artifact_fields(tmp_path):
    art = benchmark(conv_relu_gemm(tmp_path / "m.onnx"), runs=6, warmup=1, memory=False, batch=2)
    assert (art["macs"], art["params"]) == (CRG_MACS, CRG_PARAMS)
    lat = art["latency_ms"]
    assert (lat["runs"], lat["batch"]) == (6, 2)
    assert lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p95"] <= lat["p99"]
    assert art["memory_mb"] is None  # not measured, and says so
    assert art["inputs"]["x"]["shape"] == [2, 3, 8, 8]


def test_to_ort_returns_loadable_ort_and_config(tmp_path):
    ort_path, config = to_ort(conv_relu_gemm(tmp_path / "m.onnx"), tmp_path / "out")
    assert ort_path == tmp_path / "out" / "m.ort" and config.name == "required_operators.config"
    s = ort.InferenceSession(str(ort_path), providers=["CPUExecutionProvider"])
    assert [o.name for o in s.get_outputs()] == ["y"]
    text = config.read_text()
    assert str(ort_path) in text and "ai.onnx;" in text  # names the file that ships
    with pytest.raises(EdgeKDError, match="only ONNX models"):
        to_ort(ort_path, tmp_path / "again")


def test_external_weights_are_counted_in_size_with_a_note(tmp_path):
    src = conv_relu_gemm(tmp_path / "m.onnx")
    model = onnx.load(str(src))
    ext = tmp_path / "ext.onnx"
    onnx.save(model, str(ext), save_as_external_data=True, size_threshold=0, location="ext.data")
    s = graph_stats(ext)
    assert s.size_bytes == ext.stat().st_size + (tmp_path / "ext.data").stat().st_size
    assert s.params == CRG_PARAMS and s.macs == CRG_MACS
    assert any("side file" in n for n in s.notes)
    (tmp_path / "ext.data").unlink()
    with pytest.raises(EdgeKDError, match="missing"):
        graph_stats(ext)
