"""MACs agree across fp32, QDQ and QOperator files of every zoo model, and with PyTorch's count.

The QOperator file of a residual net is the case that went wrong: onnx has no schema for
com.microsoft QLinearAdd, so the shapes after each residual add were lost and the convolutions
there dropped out of the sum (resnet-tiny: 1.22 M of 2.69 M MACs counted, no warning).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, quantize_static
from torch import nn

from edgekd.bench.graph import graph_stats
from edgekd.export import export_onnx
from edgekd.models import create_model, list_models
from edgekd.quantize.core import preprocess

INPUT_SHAPE = (1, 32, 32)  # (C, H, W): big enough for a stride-32 backbone, small enough to be fast
WIDTH = 0.25


def _conv_bn(cin: int, cout: int, k: int = 3, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout))


class _Stack(nn.Module):
    """ResNet-8 stack: two 3x3 convs, a 1x1 projection shortcut when the stride is 2."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.a, self.b = _conv_bn(cin, cout, stride=stride), _conv_bn(cout, cout)
        self.short = _conv_bn(cin, cout, k=1, stride=stride) if stride > 1 else nn.Identity()

    def forward(self, x):
        return torch.relu(self.short(x) + self.b(torch.relu(self.a(x))))


class ResNet8(nn.Module):
    """MLPerf Tiny's image-classification ResNet-8 (32x32x3, 12,501,632 MACs): the issue's net."""

    def __init__(self, classes: int = 10):
        super().__init__()
        self.stem = nn.Sequential(_conv_bn(3, 16), nn.ReLU())
        self.stacks = nn.Sequential(_Stack(16, 16, 1), _Stack(16, 32, 2), _Stack(32, 64, 2))
        self.head = nn.Linear(64, classes)

    def forward(self, x):
        return self.head(self.stacks(self.stem(x)).mean(dim=(2, 3)))


def torch_macs(model: nn.Module, x: torch.Tensor) -> int:
    """Conv/Linear multiply-accumulates at batch 1, counted by forward hooks."""
    total = 0

    def hook(mod, _inp, out):
        nonlocal total
        if isinstance(mod, nn.Linear):
            total += out.numel() * mod.in_features
        else:
            total += out.numel() * (mod.in_channels // mod.groups) * math.prod(mod.kernel_size)

    handles = [
        m.register_forward_hook(hook)
        for m in model.modules()
        if isinstance(m, nn.Linear | nn.Conv1d | nn.Conv2d)
    ]
    with torch.no_grad():
        model(x[:1])
    for h in handles:
        h.remove()
    return total


class _Reader(CalibrationDataReader):
    def __init__(self, x: np.ndarray, name: str):
        self.rows = iter([{name: x[i : i + 1]} for i in range(len(x))])

    def get_next(self):
        return next(self.rows, None)


def three_formats(model: nn.Module, x: torch.Tensor, out: Path) -> dict[str, Path]:
    """fp32 export, then onnxruntime's static int8 (per-channel) in QDQ and QOperator."""
    fp32 = export_onnx(model, x, out / "fp32.onnx")
    pre = preprocess(fp32, out / "pre.onnx")
    name = onnx.load(str(fp32)).graph.input[0].name
    files = {"fp32": fp32}
    for fmt in ("QDQ", "QOperator"):
        files[fmt] = out / f"{fmt}.onnx"
        quantize_static(
            str(pre),
            str(files[fmt]),
            _Reader(x.numpy(), name),
            quant_format=getattr(QuantFormat, fmt),
            per_channel=True,
        )
    return files


def _model(name: str) -> tuple[nn.Module, tuple[int, ...]]:
    torch.manual_seed(0)
    if name == "mlperf-resnet8-testnet":
        return ResNet8().eval(), (3, 32, 32)
    return create_model(name, INPUT_SHAPE, 10, width=WIDTH).eval(), INPUT_SHAPE


@pytest.mark.parametrize("name", [*list_models(), "mlperf-resnet8-testnet"])
def test_macs_equal_across_formats_and_torch(name, tmp_path):
    model, shape = _model(name)
    x = torch.randn(4, *shape)
    files = three_formats(model, x, tmp_path)
    stats = {fmt: graph_stats(p) for fmt, p in files.items()}
    expected = torch_macs(model, x)
    assert expected > 0
    for fmt, s in stats.items():
        assert not s.uncounted, (fmt, s.uncounted)
        assert s.macs == expected, (fmt, s.macs, expected)
    # Weights only: int8 weights + int32 biases count as the float ones, scales do not.
    assert stats["QDQ"].params == stats["QOperator"].params
    assert stats["QDQ"].peak_activation_bytes == stats["QOperator"].peak_activation_bytes
    if name == "mlperf-resnet8-testnet":  # the net; its QOperator file counted 5,160,960
        assert expected == 12_501_632
    if name in ("resnet-tiny", "mlperf-resnet8-testnet"):  # the regression: shapes after QLinearAdd
        qop = onnx.load(str(files["QOperator"]))
        adds = [n.output[0] for n in qop.graph.node if n.op_type == "QLinearAdd"]
        assert adds and stats["QOperator"].macs_by_op.keys() == {"QLinearConv", "QGemm"}
