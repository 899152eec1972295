"""Verdicts for the device, not the build host: target classes, the int8 choice by target rule,
MCU estimates with a held-out published figure, and importing a device's own bench.

Host detection and timings are replaced by fakes where the decision depends on them, so these
tests check the logic on any host.
"""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import edgekd.bench.host as host_mod
import edgekd.quantize.choose as choose_mod
from edgekd.bench.budgets import load_budget
from edgekd.bench.graph import model_shapes
from edgekd.bench.layers import layer_work
from edgekd.bench.mcu import PUBLISHED, REFERENCE_WORK, calibration, estimate_file
from edgekd.bench.targets import host_class, kernels_differ
from edgekd.cli import main
from edgekd.config import resolve_config
from edgekd.errors import EdgeKDError
from edgekd.export import export_onnx
from edgekd.models import create_model
from edgekd.quantize import choose_quantization
from edgekd.stages.adapters import budget_of
from tests.cli_runs import run_compress
from tests.test_quantize import N_CAL, fake_latency, res_model  # noqa: F401 (fixture)


def test_profiles_name_their_target_and_target_overrides(tmp_path):
    assert {p: load_budget(p).target for p in ("phone", "iot", "mcu")} == {
        "phone": "arm64",
        "iot": "arm64",
        "mcu": "cortex-m4",
    }
    assert load_budget(None).target == "host"
    assert load_budget("phone", target="x86-vnni").target == "x86-vnni"
    assert budget_of(resolve_config(budget="mcu", target="cortex-m7")).target == "cortex-m7"
    toml = tmp_path / "pi.toml"
    toml.write_text('base = "iot"\ntarget = "host"\n')
    assert load_budget(toml).target == "host" and load_budget(toml).max_latency_ms == 50
    with pytest.raises(EdgeKDError, match="unknown target"):
        load_budget("phone", target="risc-v")


@pytest.mark.parametrize(
    ("features", "machine", "cls"),
    [
        (["avx2", "avx512f"], "x86_64", "x86-avx2"),
        (["avx2", "avx512f", "avx512_vnni"], "x86_64", "x86-vnni"),
        (["avx2", "avx_vnni"], "x86_64", "x86-vnni"),
        (["neon", "dotprod"], "aarch64", "arm64"),
        (["neon"], "aarch64", None),  # no dot product: not the arm64 class's kernels
        (None, "x86_64", None),
    ],
)
def test_host_class_from_cpu_features(features, machine, cls):
    assert host_class(features, machine) == cls
    assert kernels_differ("arm64", cls) is (cls != "arm64")
    assert kernels_differ("host", cls) is False


def _choose(model, data, out, target):
    x, y = data
    return choose_quantization(
        model,
        out,
        calibration=x[:N_CAL],
        val_x=x[N_CAL:],
        val_y=y[N_CAL:],
        runs=5,
        max_accuracy_drop=5.0,  # points
        target=target,
    )


@pytest.fixture(scope="module")
def data():
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.data / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    order = np.random.default_rng(0).permutation(len(x))
    return x[order], d.target.astype(np.int64)[order]


def test_int8_choice_ignores_host_timing_when_target_kernels_differ(
    res_model,  # noqa: F811
    data,
    tmp_path,
    monkeypatch,
):
    monkeypatch.setattr(host_mod, "this_host_class", lambda: "x86-avx2")
    fake_latency(monkeypatch, quantized_p50=1.6)  # every int8 candidate 1.6x slower here

    host = _choose(res_model, data, tmp_path / "host.int8.onnx", "x86-avx2")
    assert host.shipped == "fp32" and not host.kernels_differ  # same class: measured as today

    arm = _choose(res_model, data, tmp_path / "arm.int8.onnx", "arm64")
    assert arm.kernels_differ and arm.shipped != "fp32" and arm.path.is_file()
    assert "not evidence" in arm.reason and "x1.60" in arm.reason  # host timing, named as such
    shipped = arm.shipped_candidate
    assert shipped.int8_nodes > 0
    assert all(
        shipped.float_compute_nodes <= c.float_compute_nodes for c in arm.candidates if c.qualified
    )
    assert arm.to_dict()["target"] == "arm64" and arm.to_dict()["host_class"] == "x86-avx2"

    # a target whose int8 kernels are not its fast path gets no int8 on host timing's say-so
    monkeypatch.setattr(host_mod, "this_host_class", lambda: "x86-vnni")
    fake_latency(monkeypatch, quantized_p50=0.5)  # even when int8 is twice as fast here
    other = _choose(res_model, data, tmp_path / "other.int8.onnx", "x86-avx2")
    assert other.kernels_differ and other.shipped == "fp32"
    assert all("not its fast path" in c.why_not for c in other.candidates)


def test_host_dependent_candidates_do_not_ship_for_another_target(
    res_model,  # noqa: F811
    data,
    tmp_path,
    monkeypatch,
):
    monkeypatch.setattr(host_mod, "this_host_class", lambda: "x86-avx2")
    fake_latency(monkeypatch, quantized_p50=0.5)  # int8 twice as fast here: still not evidence
    build = choose_mod._build

    def flagged(quantizer, name, *args):  # the numerics check (another module) flags all but one
        cand = build(quantizer, name, *args)
        cand.host_dependent = name != "int8-qdq-u8s8-pc-rr"
        return cand

    monkeypatch.setattr(choose_mod, "_build", flagged)
    choice = _choose(res_model, data, tmp_path / "m.int8.onnx", "arm64")
    assert choice.shipped == "int8-qdq-u8s8-pc-rr"
    others = [c for c in choice.candidates if c.name != choice.shipped]
    assert others and all("host-dependent numerics" in c.why_not for c in others)
    entries = [e for e in choice.to_dict()["candidates"] if e["name"] != choice.shipped]
    assert all("host-dependent" in e["verdict"] for e in entries)


@pytest.fixture(scope="module")
def ds_cnn(tmp_path_factory):
    torch.manual_seed(0)
    model = create_model("ds-cnn", (1, 49, 10), 12).eval()
    path = tmp_path_factory.mktemp("mcu") / "ds-cnn.onnx"
    return export_onnx(model, torch.rand(2, 1, 49, 10), path)


def test_reference_work_is_what_the_graphs_count(ds_cnn, tmp_path):
    def work(path):
        layers, unknown = layer_work(*model_shapes(path))
        assert not unknown
        return sum(lw.macs for lw in layers), sum(lw.traffic_bytes for lw in layers)

    assert work(ds_cnn) == REFERENCE_WORK["ds-cnn"]
    bench = runpy.run_path(
        str(Path(__file__).resolve().parents[1] / "benchmarks/device_estimates.py")
    )
    assert work(bench["fc_autoencoder"](tmp_path / "ad.onnx")) == REFERENCE_WORK["fc-autoencoder"]


@pytest.mark.parametrize("target", ["cortex-m4", "cortex-m7"])
def test_mcu_range_holds_the_held_out_ds_cnn_figures(ds_cnn, target):
    held = [p for p in PUBLISHED if p.target == target and p.held_out]
    assert held and all(p.task == "kws" for p in held)
    assert all(p.task != "kws" for p in calibration(target))  # never calibrated on it
    est = estimate_file(ds_cnn, target)
    assert est.low_ms < est.high_ms
    for p in held:
        assert est.low_ms <= p.latency_ms <= est.high_ms, (p, est.low_ms, est.high_ms)
    assert est.label.startswith(f"estimated ({target}, calibrated on MLPerf Tiny v1.1")


def test_bench_mcu_verdict_is_an_estimate(ds_cnn):
    result = CliRunner().invoke(
        main, ["bench", str(ds_cnn), "--budget", "mcu", "--runs", "10", "--no-memory", "--json"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    check = next(c for c in out["budget"]["checks"] if c["metric"].startswith("latency"))
    est = out["artifacts"][0]["estimate"]
    assert check["source"] == "estimated" and check["value"] == est["high_ms"]
    assert check["range_ms"] == [est["low_ms"], est["high_ms"]] and est["high_ms"] > 1
    assert out["artifacts"][0]["latency_ms"]["p90"] < est["low_ms"]  # the host is far faster
    assert out["budget"]["target"] == "cortex-m4"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("run")
    run_dir, result = run_compress(tmp, "--budget", "iot", "--quantize", "none")
    assert result.exit_code == 0, result.output
    return run_dir


def _device_json(run_dir, tmp_path, p90: float, sha: str | None = None):
    report = json.loads((run_dir / "report.json").read_text())
    final = next(a for a in report["artifacts"] if a["name"] == report["final"])
    art = {
        "name": final["path"],
        "sha256": sha or final["sha256"],
        "latency_ms": {"p50": p90 / 2, "p90": p90, "p95": p90, "p99": p90},
        "memory_mb": {"peak": 60.0, "added": 5.0},
    }
    dev = {"host": {"cpu": "Cortex-A76 (test)", "cpu_features": ["neon", "dotprod"]}}
    path = tmp_path / "device.json"
    path.write_text(json.dumps({**dev, "settings": {"threads": 1}, "artifacts": [art]}))
    return path


def test_device_bench_decides_the_verdict(run, tmp_path):
    before = json.loads((run / "report.json").read_text())
    assert before["budget"]["ok"] is True  # a tiny model on this host fits iot

    slow = _device_json(run, tmp_path, p90=80.0)  # iot's limit is 50 ms
    result = CliRunner().invoke(main, ["report", str(run), "--device-bench", str(slow)])
    assert result.exit_code == 1, result.output
    after = json.loads((run / "report.json").read_text())
    check = next(c for c in after["budget"]["checks"] if c["metric"] == "latency_p90_ms")
    assert after["budget"]["ok"] is False and check["value"] == 80.0
    assert check["source"] == "device-measured (imported)" and "Cortex-A76" in check["processor"]
    assert after["budget_host"] == before["budget"]
    md = (run / "report.md").read_text()
    assert "device-measured (imported)" in md and "Device bench imported from" in md

    fast = _device_json(run, tmp_path, p90=10.0)
    assert (
        CliRunner().invoke(main, ["report", str(run), "--device-bench", str(fast)]).exit_code == 0
    )
    assert json.loads((run / "report.json").read_text())["budget"]["ok"] is True


def test_device_bench_of_another_file_is_refused(run, tmp_path):
    before = (run / "report.json").read_text()
    other = _device_json(run, tmp_path, p90=10.0, sha="0" * 64)
    result = CliRunner().invoke(main, ["report", str(run), "--device-bench", str(other)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "bench that file on the device" in lines[0]
    assert (run / "report.json").read_text() == before  # nothing half-written


def test_device_bench_of_both_files_says_whether_int8_paid_there(tmp_path):
    from edgekd.report.device import import_device_bench

    def art(name, sha, p50, precision):
        lat = {"p50": p50, "p90": p50, "p95": p50, "p99": p50}
        return {"name": name, "path": f"{name}.onnx", "sha256": sha, "precision": precision,
                "latency_ms": lat, "memory_mb": {"added": 1.0}, "size_bytes": 1000}  # fmt: skip

    report = {
        "host": {"cpu": "host cpu"},
        "artifacts": [
            art("student", "a" * 64, 1.0, "fp32"),
            art("student-int8", "b" * 64, 1.5, "int8"),
        ],
        "final": "student-int8",
        "budget": {"profile": "iot", "ok": True, "checks": []},
        "budget_spec": load_budget("iot").model_dump(),
    }
    for int8_p50, faster in ((0.5, True), (2.0, False)):
        arts = [art("student.onnx", "a" * 64, 1.0, "fp32"), art("x", "b" * 64, int8_p50, "int8")]
        device = {"host": {"cpu": "board"}, "artifacts": arts}
        path = tmp_path / "device.json"
        path.write_text(json.dumps(device))
        got = import_device_bench(report, path)["device_bench"]["quantized_vs_fp32"]
        assert got["p50_ratio"] == int8_p50 and got["fp32"] == "student"
        assert ("right choice" in got["verdict"]) is faster
        assert ("--quantize none" in got["verdict"]) is not faster


def test_target_rule_prefers_a_file_a_second_runtime_can_check():
    """Equal coverage and accuracy: the QDQ file (tract can confirm it) beats a smaller QOperator
    file, which only onnxruntime runs; more int8 coverage still comes first."""
    from edgekd.quantize.candidates import Candidate
    from edgekd.quantize.judge import target_rank

    def cand(name, fmt, size, float_nodes=0):
        return Candidate(
            name, "int8", 0.9, 0.0, 1.0, 1.0, size, size / 1000, 6 - float_nodes,
            float_compute_nodes=float_nodes, config={"format": fmt},
        )  # fmt: skip

    qop, qdq = cand("qop", "QOperator", 500), cand("qdq", "QDQ", 700)
    thin = cand("thin", "QDQ", 400, float_nodes=1)
    assert [c.name for c in sorted([thin, qop, qdq], key=target_rank)] == ["qdq", "qop", "thin"]
