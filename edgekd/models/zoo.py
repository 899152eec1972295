"""Built-in students and the teacher recipe, for 1-D signals (C, L) and 2-D images (C, H, W).

Convolutional models pick Conv1d or Conv2d from the input rank, so one definition serves
digits and mnist1d alike. Widths scale with `width` and never drop below 4 channels.
"""

from __future__ import annotations

import math

from torch import nn

from edgekd.errors import EdgeKDError
from edgekd.models.registry import register_model


def _ch(base: int, width: float) -> int:
    return max(4, int(math.ceil(base * width)))


class GlobalAvgPool(nn.Module):
    """Mean over every spatial axis, (N, C, ...) -> (N, C).

    AdaptiveAvgPool + Flatten exports (dynamo, dynamic batch) as an 11-node Shape/Range/Gather
    chain whose shapes onnx cannot infer, so MACs and activations went uncounted; a plain mean
    exports as one ReduceMean.
    """

    def forward(self, x):
        return x.mean(dim=tuple(range(2, x.ndim)))


def _spatial_ops(input_shape: tuple[int, ...]) -> tuple[type, type, type]:
    """(Conv, BatchNorm, MaxPool) for the input's rank."""
    if len(input_shape) == 2:
        return nn.Conv1d, nn.BatchNorm1d, nn.MaxPool1d
    if len(input_shape) == 3:
        return nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d
    raise EdgeKDError(
        f"convolutional models take (C, L) or (C, H, W) inputs, got {input_shape}; use 'mlp'"
    )


def _conv_bn_relu(conv, bn, cin: int, cout: int, groups: int = 1, k: int = 3) -> nn.Sequential:
    return nn.Sequential(
        conv(cin, cout, k, padding=k // 2, groups=groups, bias=False), bn(cout), nn.ReLU()
    )


@register_model
def mlp(input_shape: tuple[int, ...], num_classes: int, *, width: float = 1.0) -> nn.Module:
    """Two hidden layers; the baseline mnist1d's paper reports ~68% for."""
    features = math.prod(input_shape)
    h = _ch(64, width)
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(features, h),
        nn.ReLU(),
        nn.Linear(h, h),
        nn.ReLU(),
        nn.Linear(h, num_classes),
    )


@register_model
def teacher_mlp(input_shape: tuple[int, ...], num_classes: int, *, width: float = 1.0) -> nn.Module:
    """The built-in teacher recipe for rows of features: an MLP far wider than the student's."""
    features = math.prod(input_shape)
    h = _ch(256, width)
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(features, h),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(h, h),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(h, num_classes),
    )


@register_model
def cnn_tiny(input_shape: tuple[int, ...], num_classes: int, *, width: float = 1.0) -> nn.Module:
    """Three plain conv blocks, the smallest thing that still sees spatial structure."""
    conv, bn, pool = _spatial_ops(input_shape)
    c1, c2, c3 = _ch(8, width), _ch(16, width), _ch(24, width)
    return nn.Sequential(
        _conv_bn_relu(conv, bn, input_shape[0], c1),
        _conv_bn_relu(conv, bn, c1, c2),
        pool(2),
        _conv_bn_relu(conv, bn, c2, c3),
        GlobalAvgPool(),
        nn.Linear(c3, num_classes),
    )


class _DepthwiseSeparable(nn.Module):
    """Depthwise 3x3 then pointwise 1x1 (MobileNet): ~k^2 fewer MACs than a full conv."""

    def __init__(self, conv, bn, cin: int, cout: int):
        super().__init__()
        self.depthwise = _conv_bn_relu(conv, bn, cin, cin, groups=cin)
        self.pointwise = _conv_bn_relu(conv, bn, cin, cout, k=1)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


@register_model
def dscnn(input_shape: tuple[int, ...], num_classes: int, *, width: float = 1.0) -> nn.Module:
    """Depthwise-separable CNN (MLPerf Tiny's keyword-spotting DS-CNN shape)."""
    conv, bn, pool = _spatial_ops(input_shape)
    c1, c2, c3 = _ch(24, width), _ch(48, width), _ch(72, width)
    return nn.Sequential(
        _conv_bn_relu(conv, bn, input_shape[0], c1),
        _DepthwiseSeparable(conv, bn, c1, c2),
        pool(2),
        _DepthwiseSeparable(conv, bn, c2, c3),
        GlobalAvgPool(),
        nn.Linear(c3, num_classes),
    )


class _ResidualBlock(nn.Module):
    def __init__(self, conv, bn, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            _conv_bn_relu(conv, bn, channels, channels),
            conv(channels, channels, 3, padding=1, bias=False),
            bn(channels),
        )
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(x + self.body(x))


@register_model
def resnet_tiny(input_shape: tuple[int, ...], num_classes: int, *, width: float = 1.0) -> nn.Module:
    """A stem and two residual blocks: the case where int8 signedness choices matter."""
    conv, bn, pool = _spatial_ops(input_shape)
    c1, c2 = _ch(16, width), _ch(32, width)
    return nn.Sequential(
        _conv_bn_relu(conv, bn, input_shape[0], c1),
        _ResidualBlock(conv, bn, c1),
        pool(2),
        _conv_bn_relu(conv, bn, c1, c2),
        _ResidualBlock(conv, bn, c2),
        GlobalAvgPool(),
        nn.Linear(c2, num_classes),
    )


@register_model
def teacher_cnn(input_shape: tuple[int, ...], num_classes: int, *, width: float = 1.0) -> nn.Module:
    """The built-in teacher recipe: wide VGG-style CNN, far above the students' capacity."""
    conv, bn, pool = _spatial_ops(input_shape)
    c1, c2, c3 = _ch(64, width), _ch(128, width), _ch(256, width)
    return nn.Sequential(
        _conv_bn_relu(conv, bn, input_shape[0], c1),
        _conv_bn_relu(conv, bn, c1, c1),
        pool(2),
        _conv_bn_relu(conv, bn, c1, c2),
        _conv_bn_relu(conv, bn, c2, c2),
        pool(2),
        _conv_bn_relu(conv, bn, c2, c3),
        GlobalAvgPool(),
        nn.Dropout(0.3),
        nn.Linear(c3, num_classes),
    )
