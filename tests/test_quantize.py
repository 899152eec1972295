"""edgekd.quantize: building variants, the shipping decision, the accuracy guard, node counts, CLI.

Latency is never asserted: where the decision depends on it, `compare_latency` is replaced by a
fake so the test checks the decision logic, not the (shared, noisy) host.
"""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch
from click.testing import CliRunner
from sklearn.datasets import load_digits
from torch import nn

import edgekd.quantize.decide as decide_mod
from edgekd.bench.latency import LatencyStats
from edgekd.cli import main
from edgekd.errors import EdgeKDError
from edgekd.evaluate import onnx_accuracy
from edgekd.export import export_onnx
from edgekd.quantize import (
    Candidate,
    QuantConfig,
    choose_quantization,
    count_int8_nodes,
    quantize_model,
)
from edgekd.quantize.config import compress_options, ignored_settings
from edgekd.quantize.core import is_single_file
from edgekd.quantize.decide import best_rejected
from edgekd.quantize.table import HEADERS as TABLE_HEADERS
from edgekd.quantize.table import candidate_rows

N_CAL = 200


@pytest.fixture(scope="module")
def data():
    d = load_digits()
    x = (d.data / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    y = d.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(x))
    return x[order], y[order]


def _train(model: nn.Module, x: np.ndarray, y: np.ndarray, epochs: int, lr: float) -> nn.Module:
    torch.manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr)
    xs, ys = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(epochs):
        for i in range(0, len(xs), 64):
            loss = nn.functional.cross_entropy(model(xs[i : i + 64]), ys[i : i + 64])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


class _Block(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.c2, self.b2 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)

    def forward(self, x):
        return torch.relu(x + self.b2(self.c2(torch.relu(self.b1(self.c1(x))))))


class ResCNN(nn.Module):
    """Tiny residual CNN: the input of each block feeds two consumers."""

    def __init__(self, c: int = 16):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, c, 3, padding=1), nn.ReLU())
        self.block = _Block(c)
        self.head = nn.Linear(c, 10)

    def forward(self, x):
        return self.head(self.block(self.stem(x)).mean((2, 3)))


class SpikyCNN(nn.Module):
    """conv2 gets one extra output channel that is a constant 1e4 and conv3 ignores: the float
    function is unchanged, but per-tensor quantization of conv2's output rounds every real
    channel to zero."""

    def __init__(self, c: int = 12):
        super().__init__()
        self.c = c
        self.conv1 = nn.Conv2d(1, c, 3, padding=1)
        self.conv2 = nn.Conv2d(c, c + 1, 3, padding=1)
        self.conv3 = nn.Conv2d(c + 1, c, 3, padding=1, stride=2)
        self.fc = nn.Linear(c * 16, 10)
        with torch.no_grad():
            self.conv2.weight[c].zero_()
            self.conv2.bias[c] = -1.0  # dead during training

    def forward(self, x):
        x = torch.relu(self.conv2(torch.relu(self.conv1(x))))
        return self.fc(torch.relu(self.conv3(x)).flatten(1))

    def add_outlier(self) -> SpikyCNN:
        with torch.no_grad():
            self.conv2.weight[self.c].zero_()
            self.conv2.bias[self.c] = 1e4
            self.conv3.weight[:, self.c].zero_()
        return self


def _node_with_weight(path, weight_name: str) -> str:
    return next(n.name for n in onnx.load(str(path)).graph.node if weight_name in n.input)


@pytest.fixture(scope="module")
def res_model(tmp_path_factory, data):
    x, y = data
    torch.set_num_threads(1)
    torch.manual_seed(0)  # the initial weights must not depend on which tests ran first
    model = _train(ResCNN(), x[N_CAL:], y[N_CAL:], epochs=4, lr=1e-2)
    return export_onnx(model, torch.from_numpy(x[:2]), tmp_path_factory.mktemp("q") / "res.onnx")


@pytest.fixture(scope="module")
def spiky_model(tmp_path_factory, data):
    x, y = data
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = _train(SpikyCNN(), x[N_CAL:], y[N_CAL:], epochs=6, lr=3e-3).add_outlier()
    return export_onnx(model, torch.from_numpy(x[:2]), tmp_path_factory.mktemp("q") / "spiky.onnx")


@pytest.fixture(scope="module")
def featuremap_model(tmp_path_factory):
    """One Conv, output [N, 4, 8, 8]: not a classifier."""
    w = onnx.numpy_helper.from_array(np.ones((4, 1, 3, 3), np.float32), "w")
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("Conv", ["input", "w"], ["out"], pads=[1, 1, 1, 1], name="conv")],
        "fm",
        [onnx.helper.make_tensor_value_info("input", onnx.TensorProto.FLOAT, ["N", 1, 8, 8])],
        [onnx.helper.make_tensor_value_info("out", onnx.TensorProto.FLOAT, ["N", 4, 8, 8])],
        [w],
    )
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)])
    path = tmp_path_factory.mktemp("q") / "featuremap.onnx"
    onnx.save(model, str(path))
    return path


def _stats(p50: float) -> LatencyStats:
    return LatencyStats(p50, p50, p50, p50, p50, 0.0, p50, 1, 1, 10)


def fake_latency(monkeypatch, quantized_p50: float | list[float], fp32_p50: float = 1.0):
    """Replace the timing in choose_quantization: fp32 first, then the candidates in order."""
    seen: list[list] = []

    def fake(paths, **kwargs):
        seen.append(list(paths))
        rest = quantized_p50 if isinstance(quantized_p50, list) else [quantized_p50] * len(paths)
        rest = rest + rest[-1:] * (len(paths) - 1 - len(rest))  # later candidates: the last
        return [_stats(fp32_p50)] + [_stats(v) for v in rest[: len(paths) - 1]]

    monkeypatch.setattr(decide_mod, "compare_latency", fake)
    return seen


def _choose(model, data, out, **kwargs):
    x, y = data
    return choose_quantization(
        model, out, calibration=x[:N_CAL], val_x=x[N_CAL:], val_y=y[N_CAL:], runs=5, **kwargs
    )


def test_int8_slower_than_fp32_ships_fp32(res_model, data, tmp_path, monkeypatch):
    calls = fake_latency(monkeypatch, quantized_p50=1.6)
    out = tmp_path / "res.int8.onnx"
    choice = _choose(res_model, data, out, max_accuracy_drop=5)

    assert choice.shipped == "fp32" and choice.path is None
    assert not out.exists()
    assert len(calls) == 1 and len(calls[0]) == 1 + len(choice.candidates)  # one interleaved call
    assert {c.name for c in choice.candidates} >= {"int8-qdq-s8s8", "int8-qdq-u8s8-pc-rr"}
    names = {c.name for c in choice.candidates}
    assert "dynamic" not in names and "fp16" not in names  # conv-heavy; fp16 only when asked
    for c in choice.candidates:
        assert not c.qualified and "slower than fp32" in c.why_not
        assert c.latency_ratio_vs_fp32 == pytest.approx(1.6)
    assert "fp32 ships" in choice.reason
    assert choice.to_dict()["shipped"] == "fp32"


def test_keep_best_writes_fastest_accurate_candidate_when_fp32_ships(
    res_model, data, tmp_path, monkeypatch
):
    fake_latency(monkeypatch, quantized_p50=[1.6, 1.3, 1.4])
    out = tmp_path / "res.int8.onnx"
    choice = _choose(res_model, data, out, max_accuracy_drop=5, keep_best=True)

    assert choice.shipped == "fp32" and choice.path is None  # nothing qualified: fp32 ships
    assert choice.written == "int8-qdq-u8s8-pc-rr" and choice.written_path == out
    assert out.exists() and is_single_file(out)
    assert "written to res.int8.onnx for comparison only" in choice.reason
    saved = choice.to_dict()
    assert json.loads(json.dumps(saved)) == saved
    verdicts = {c["name"]: c["verdict"] for c in saved["candidates"]}
    assert verdicts["int8-qdq-u8s8-pc-rr"] == "too slow (file kept)"
    assert verdicts["int8-qdq-s8s8"] == "too slow" and saved["baseline"]["verdict"] == "shipped"
    assert saved["max_accuracy_drop"] == 0.05 and saved["max_accuracy_drop_points"] == 5.0

    rows = candidate_rows(saved)
    assert [r[0] for r in rows] == ["fp32", *(c.name for c in choice.candidates)]
    assert len(rows[0]) == len(TABLE_HEADERS)
    u8 = rows[2]
    assert u8[4] == "1.30"  # p50 ratio vs fp32
    cand = choice.candidates[1]
    assert u8[6] == f"{cand.int8_nodes}/{cand.float_compute_nodes}" and cand.int8_nodes > 0


def _cand(name: str, drop: float, p50: float) -> Candidate:
    nan = float("nan")
    return Candidate(name, "int8", 0.9 - drop, drop, p50, p50, 1, nan, 1)


def test_best_rejected_is_fastest_accurate_else_most_accurate():
    fast_bad, slow_ok, slower_ok = _cand("a", 0.03, 0.5), _cand("b", 0.0, 1.3), _cand("c", 0, 1.4)
    assert best_rejected([fast_bad, slower_ok, slow_ok], max_drop=0.005).name == "b"
    worse = _cand("d", 0.05, 0.4)
    assert best_rejected([worse, fast_bad], max_drop=0.005).name == "a"
    assert best_rejected([], max_drop=0.005) is None


def test_compress_options_map_flags_onto_configs():
    opts = compress_options("int8", "qoperator", "percentile", 64)
    assert opts["calibration_samples"] == 64
    assert opts["config"] == QuantConfig(
        format="QOperator", calibrate_method="Percentile", calibration_samples=64
    )
    assert opts["config"].label == "qop-u8s8-pc-rr-percentile"
    assert compress_options("auto", "qdq", "minmax", 256) == {"calibration_samples": 256}
    assert ignored_settings("auto", "qdq", "minmax") is None
    assert "int8 only" in ignored_settings("auto", "qoperator", "minmax")
    with pytest.raises(EdgeKDError, match="unknown calibration method"):
        compress_options("int8", "qdq", "kl", 64)


def test_fastest_accurate_candidate_ships(res_model, data, tmp_path, monkeypatch):
    fake_latency(monkeypatch, quantized_p50=[0.9, 0.5, 0.7])
    out = tmp_path / "res.int8.onnx"
    choice = _choose(res_model, data, out, max_accuracy_drop=5)

    assert choice.shipped == choice.candidates[1].name == "int8-qdq-u8s8-pc-rr"
    assert choice.path == out and out.exists() and is_single_file(out)
    assert "2.00x faster" in choice.reason
    x, y = data
    assert onnx_accuracy(out, x[N_CAL:], y[N_CAL:]) == pytest.approx(choice.candidates[1].accuracy)
    assert list(tmp_path.iterdir()) == [out]  # no temp or .data files left beside it


def test_accuracy_guard_keeps_outlier_layer_in_float(spiky_model, data, tmp_path, monkeypatch):
    fake_latency(monkeypatch, quantized_p50=0.5)
    sensitive = _node_with_weight(spiky_model, "conv2.weight")
    tolerance = 0.01
    choice = _choose(
        spiky_model, data, tmp_path / "s.onnx", mode="int8", max_accuracy_drop=tolerance * 100
    )

    (cand,) = choice.candidates
    first = cand.guard_history[0]["accuracy"]
    assert choice.baseline.accuracy - first > 0.3  # quantizing everything destroys it
    assert sensitive in cand.float_nodes_kept
    assert len(cand.float_nodes_kept) <= 3
    assert cand.accuracy_drop <= tolerance and cand.qualified
    assert choice.shipped == cand.name and sensitive in choice.reason
    assert count_int8_nodes(tmp_path / "s.onnx")["int8"] >= 1  # the rest is still int8


def test_auto_adds_dynamic_only_for_matmul_heavy_models(data, tmp_path, monkeypatch):
    x, y = data
    flat = x.reshape(len(x), 64)
    mlp = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    mlp = _train(mlp, flat[N_CAL:], y[N_CAL:], epochs=3, lr=1e-2)
    path = export_onnx(mlp, torch.from_numpy(flat[:2]), tmp_path / "mlp.onnx")
    fake_latency(monkeypatch, quantized_p50=[0.9, 0.8, 0.7, 0.6])
    choice = choose_quantization(
        path,
        tmp_path / "mlp.q.onnx",
        calibration=flat[:N_CAL],
        val_x=flat[N_CAL:],
        val_y=y[N_CAL:],
        max_accuracy_drop=5,
        runs=5,
    )
    dynamic = next(c for c in choice.candidates if c.name == "dynamic")
    assert dynamic.int8_nodes >= 2 and dynamic.accuracy_drop <= 0.05
    assert choice.shipped == "dynamic"


def test_count_int8_nodes(res_model, data, tmp_path):
    x, _ = data
    fp32 = count_int8_nodes(res_model)
    assert fp32["int8"] == 0 and fp32["float"] >= 4

    out = quantize_model(res_model, tmp_path / "q.onnx", mode="int8", calibration=x[:64])
    q = count_int8_nodes(out)
    assert q["by_op"].get("QLinearConv", 0) >= 3
    assert q["int8"] >= 4 and q["float"] == 0

    # onnxruntime's default S8S8 leaves the convs whose input feeds two consumers in float
    s8 = quantize_model(
        res_model,
        tmp_path / "s8.onnx",
        mode="int8",
        calibration=x[:64],
        config=QuantConfig.ort_default(),
    )
    assert count_int8_nodes(s8)["int8"] >= 1


@pytest.mark.parametrize("mode", ["int8", "dynamic", "fp16"])
def test_quantize_model_writes_one_accurate_file(res_model, data, tmp_path, mode):
    x, y = data
    out = quantize_model(res_model, tmp_path / f"{mode}.onnx", mode=mode, calibration=x[:64])
    assert is_single_file(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{mode}.onnx"]
    fp32 = onnx_accuracy(res_model, x[N_CAL:], y[N_CAL:])
    assert onnx_accuracy(out, x[N_CAL:], y[N_CAL:]) >= fp32 - 0.05


def test_api_bad_input(res_model, featuremap_model, data, tmp_path):
    x, y = data
    with pytest.raises(EdgeKDError, match="unknown quantization mode"):
        quantize_model(res_model, tmp_path / "o.onnx", mode="int4", calibration=x)
    with pytest.raises(EdgeKDError, match=r"shape \[10, 64\]"):
        quantize_model(
            res_model, tmp_path / "o.onnx", mode="int8", calibration=x[:10].reshape(10, 64)
        )
    with pytest.raises(EdgeKDError, match="not \\[batch, classes\\]"):
        _choose(featuremap_model, data, tmp_path / "o.onnx")
    assert not (tmp_path / "o.onnx").exists()


@pytest.fixture()
def npz(data, tmp_path):
    x, y = data
    path = tmp_path / "d.npz"
    np.savez(path, X=x[:400], y=y[:400])
    return path


def _bad_inputs(tmp_path, res_model, featuremap_model, npz, data):
    x, y = data
    flat = tmp_path / "flat.npz"
    np.savez(flat, X=x[:400].reshape(400, 64), y=y[:400])
    nolabels = tmp_path / "nolabels.npz"
    np.savez(nolabels, X=x[:400])
    text = tmp_path / "notes.onnx"
    text.write_text("not a model\n")
    return {
        "unknown mode": ([str(res_model), "--data", str(npz), "--mode", "int4"], "unknown"),
        "wrong shape": ([str(res_model), "--data", str(flat)], "shape [200, 64]"),
        "no labels": ([str(res_model), "--data", str(nolabels)], "needs X"),
        "not a classifier": ([str(featuremap_model), "--data", str(npz)], "not [batch, classes]"),
        "missing model": ([str(tmp_path / "nope.onnx"), "--data", str(npz)], "not found"),
        "not onnx": ([str(text), "--data", str(npz)], "not an ONNX model"),
        "missing data": ([str(res_model), "--data", str(tmp_path / "no.npz")], "not found"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "unknown mode",
        "wrong shape",
        "no labels",
        "not a classifier",
        "missing model",
        "not onnx",
        "missing data",
    ],
)
def test_cli_bad_input_exits_2(case, tmp_path, res_model, featuremap_model, npz, data):
    args, message = _bad_inputs(tmp_path, res_model, featuremap_model, npz, data)[case]
    out = tmp_path / "out" / "q.onnx"
    result = CliRunner().invoke(main, ["quantize", *args, "--out", str(out), "--runs", "3"])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("edgekd: error:") and message in lines[0]
    assert not out.exists()


def test_cli_prints_table_and_writes_winner(res_model, npz, tmp_path, monkeypatch):
    fake_latency(monkeypatch, quantized_p50=[0.9, 0.5, 0.7])
    out = tmp_path / "q.onnx"
    args = ["quantize", str(res_model), "--data", str(npz), "--out", str(out)]
    result = CliRunner().invoke(main, [*args, "--max-accuracy-drop", "5"])
    assert result.exit_code == 0, result.output
    assert "int8-qdq-u8s8-pc-rr" in result.output and "shipped" in result.output
    assert out.exists() and is_single_file(out)
