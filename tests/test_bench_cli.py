"""`edgekd bench` and `edgekd profiles`: report.json names, budget exit codes, bad input."""

from __future__ import annotations

import json

import onnxruntime as ort
import pytest
from click.testing import CliRunner

from edgekd.cli import main
from tests.test_bench_helpers import CRG_MACS, conv_relu_gemm, qdq_conv_relu_gemm

FAST = ["--runs", "5", "--warmup", "1"]


def _bench(*args: str):
    return CliRunner().invoke(main, ["bench", *args], catch_exceptions=False)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return str(conv_relu_gemm(tmp_path_factory.mktemp("m") / "m.onnx"))


def test_json_has_report_json_field_names(model):
    r = _bench(model, "--json", "--runs", "7", "--warmup", "1", "--batch", "1", "--batch", "4")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    (art,) = out["artifacts"]
    for key in ("size_bytes", "gzip_bytes", "params", "macs", "peak_activation_bytes"):
        assert isinstance(art[key], int)
    assert art["macs"] == CRG_MACS
    lat = art["latency_ms"]
    assert {"p50", "p90", "p95", "p99", "mean", "std", "min", "threads", "batch", "runs"} <= set(
        lat
    )
    assert (lat["runs"], lat["batch"], lat["threads"]) == (7, 1, 1)
    assert lat["loop_overhead"] > 0
    mem = art["memory_mb"]
    assert mem["added"] == pytest.approx(mem["peak"] - mem["baseline"], abs=0.02)
    assert {"peak", "added"} <= set(mem["arena_off"])  # arena on and off both measured
    assert [t["batch"] for t in art["throughput"]] == [1, 4]
    assert art["inputs"] == {"x": {"shape": [1, 3, 8, 8], "dtype": "float"}}
    assert {"cpu", "cores", "onnxruntime"} <= set(out["host"])
    assert "budget" not in out


def test_two_models_are_compared_as_ratios(model, tmp_path):
    other = str(qdq_conv_relu_gemm(tmp_path / "q.onnx"))
    r = _bench(model, other, "--json", "--no-memory", *FAST)
    out = json.loads(r.stdout)
    a, b = out["artifacts"]
    (cmp,) = out["comparison"]
    assert out["settings"]["interleaved"] is True
    assert cmp["baseline"] == a["name"] and cmp["name"] == b["name"]
    assert cmp["p50_ratio"] == pytest.approx(b["latency_ms"]["p50"] / a["latency_ms"]["p50"], 1e-2)
    assert cmp["size_ratio"] == pytest.approx(b["size_bytes"] / a["size_bytes"], 1e-3)
    assert cmp["macs_ratio"] == 1.0


def test_budget_met_exit_0_missed_exit_1(model):
    r = _bench(model, "--budget", "iot", "--json", "--arena", "on", *FAST)
    assert r.exit_code == 0, r.output
    budget = json.loads(r.stdout)["budget"]
    assert budget["profile"] == "iot" and budget["ok"] is True
    assert {c["metric"] for c in budget["checks"]} == {
        "latency_p90_ms",
        "memory_added_mb",
        "size_kb",
    }

    r = _bench(model, "--budget", "mcu", "--max-size-kb", "1", "--no-memory", "--json", *FAST)
    assert r.exit_code == 1
    checks = {c["metric"]: c for c in json.loads(r.stdout)["budget"]["checks"]}
    assert checks["size_kb"]["ok"] is False and checks["size_kb"]["margin"] < 0
    assert checks["activation_kb"]["ok"] is True  # 2 KB estimate against mcu's 256 KB


def test_budget_sets_threads_unless_given(model):
    r = _bench(model, "--budget", "phone", "--no-memory", "--json", *FAST)
    assert json.loads(r.stdout)["artifacts"][0]["latency_ms"]["threads"] == 4
    r = _bench(model, "--budget", "phone", "--threads", "2", "--no-memory", "--json", *FAST)
    assert json.loads(r.stdout)["artifacts"][0]["latency_ms"]["threads"] == 2


def test_table_output_names_models_overhead_and_verdict(model):
    r = _bench(model, "--budget", "iot", "--max-latency-ms", "0.000001", "--no-memory", *FAST)
    assert r.exit_code == 1
    assert "m.onnx" in r.stdout and "loop overhead" in r.stdout and "MISSED" in r.stdout


def test_ort_writes_loadable_file_and_config_and_measures_it(model, tmp_path):
    out_dir = tmp_path / "ort"
    r = _bench(model, "--ort", "--ort-dir", str(out_dir), "--no-memory", "--json", *FAST)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    ort_file, config = out_dir / "m.ort", out_dir / "required_operators.config"
    assert out["ort"] == {"files": [str(ort_file)], "config": str(config)}
    s = ort.InferenceSession(str(ort_file), providers=["CPUExecutionProvider"])
    assert [i.name for i in s.get_inputs()] == ["x"]
    assert "Gemm" in config.read_text()
    names = [a["name"] for a in out["artifacts"]]
    assert names == ["m.onnx", "m.ort"]
    assert out["artifacts"][1]["macs"] == CRG_MACS  # from the source ONNX graph
    assert not list(out_dir.glob(".edgekd-ort-*"))  # no temp folders left behind


def test_profiles_lists_limits():
    r = CliRunner().invoke(main, ["profiles", "--json"])
    assert r.exit_code == 0
    by = {p["name"]: p for p in json.loads(r.stdout)}
    assert by["mcu"]["max_activation_kb"] == 256 and by["phone"]["threads"] == 4
    r = CliRunner().invoke(main, ["profiles"])
    assert all(name in r.stdout for name in ("phone", "iot", "mcu", "256 KB"))


def _bad_inputs(tmp_path, model):
    junk = tmp_path / "junk.onnx"
    junk.write_text("not a model at all\n" * 10)
    toml = tmp_path / "b.toml"
    toml.write_text("base = 'iot'\nmax_latency_ms = [\n")
    return {
        "missing file": ([str(tmp_path / "nope.onnx")], "not found"),
        "non-ONNX file": ([str(junk)], "not an ONNX model"),
        "unknown profile": ([model, "--budget", "fone"], "unknown budget profile"),
        "malformed TOML": ([model, "--budget", str(toml)], "not valid TOML"),
        "impossible shape": ([model, "--shape", "x=1x4x8x8"], "impossible"),
        "unknown input": ([model, "--shape", "y=1x3x8x8"], "does not have"),
        "bad shape text": ([model, "--shape", "x=1xbig"], "bad --shape"),
        "bad data": ([model, "--data", str(tmp_path / "d.npz")], "--data file not found"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "missing file",
        "non-ONNX file",
        "unknown profile",
        "malformed TOML",
        "impossible shape",
        "unknown input",
        "bad shape text",
        "bad data",
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, model, case):
    args, match = _bad_inputs(tmp_path, model)[case]
    r = CliRunner().invoke(main, ["bench", *args, "--no-memory", *FAST])
    assert r.exit_code == 2, r.output
    assert r.stderr.count("\n") == 1 and match in r.stderr
    assert r.stdout == ""
