"""MLPerf Tiny-class models (image classification, visual wake words, keyword spotting) and a
ResNet-18-style teacher for the same input sizes.

Each follows the MLPerf Tiny reference (mlcommons/tiny, benchmark/training/*/keras_model.py or
vww_model.py) layer for layer, in PyTorch. Differences that change no shape or MAC: convs carry
no bias before a BatchNorm (export folds BN into a bias, so the ONNX file has the reference's
conv biases), Keras' asymmetric "same" padding on stride-2 convs is symmetric here (same output
sizes), and global average pooling is one ReduceMean (`GlobalAvgPool`). `width` scales every
channel count (the MobileNets' alpha); the input shape is checked up front so a wrong shape is
one EdgeKDError line, not a conv error deep inside the forward pass.
"""

from __future__ import annotations

from torch import nn

from edgekd.errors import EdgeKDError
from edgekd.models.registry import register_model
from edgekd.models.zoo import GlobalAvgPool, _ch


def _require_image(
    name: str, input_shape: tuple[int, ...], min_side: int, *, square: bool = False
) -> None:
    """(C, H, W) with both sides >= min_side (and H == W when `square`)."""
    ok = len(input_shape) == 3 and min(input_shape[1:]) >= min_side
    if ok and square:
        ok = input_shape[1] == input_shape[2]
    if not ok:
        kind = "square " if square else ""
        raise EdgeKDError(
            f"{name} takes a {kind}(C, H, W) image input with H, W >= {min_side}, got "
            f"{tuple(input_shape)}; resize the data (e.g. --image-size) or pick another model"
        )


def _cbr(cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, padding=k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class _BasicBlock(nn.Module):
    """ResNet v1 basic block; a strided 1x1 conv shortcut when the shape changes."""

    def __init__(self, cin: int, cout: int, stride: int, shortcut_bn: bool = True):
        super().__init__()
        self.body = nn.Sequential(
            _cbr(cin, cout, 3, stride),
            nn.Conv2d(cout, cout, 3, 1, padding=1, bias=False),
            nn.BatchNorm2d(cout),
        )
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            layers: list[nn.Module] = [nn.Conv2d(cin, cout, 1, stride, bias=not shortcut_bn)]
            if shortcut_bn:
                layers.append(nn.BatchNorm2d(cout))
            self.shortcut = nn.Sequential(*layers)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.act(self.body(x) + self.shortcut(x))


@register_model
def resnet8(input_shape: tuple[int, ...], num_classes: int, *, width: float = 1.0) -> nn.Module:
    """MLPerf Tiny image classification (CIFAR-10, 32x32x3): stem + 3 stacks of 16/32/64."""
    _require_image("resnet8", input_shape, 8)
    c1, c2, c3 = _ch(16, width), _ch(32, width), _ch(64, width)
    return nn.Sequential(
        _cbr(input_shape[0], c1),
        _BasicBlock(c1, c1, 1),
        # the reference's projection shortcuts are a bare 1x1 conv (bias, no BN)
        _BasicBlock(c1, c2, 2, shortcut_bn=False),
        _BasicBlock(c2, c3, 2, shortcut_bn=False),
        GlobalAvgPool(),
        nn.Linear(c3, num_classes),
    )


@register_model
def resnet18_32(input_shape: tuple[int, ...], num_classes: int, *, width: float = 1.0) -> nn.Module:
    """Teacher for 32x32-class inputs: ResNet-18 with a 3x3 stem and no max-pool (the CIFAR
    variant, ~11M params), two basic blocks per stage at 64/128/256/512 channels."""
    _require_image("resnet18-32", input_shape, 8)
    chans = [_ch(c, width) for c in (64, 128, 256, 512)]
    layers: list[nn.Module] = [_cbr(input_shape[0], chans[0])]
    cin = chans[0]
    for i, c in enumerate(chans):
        layers += [_BasicBlock(cin, c, 1 if i == 0 else 2), _BasicBlock(c, c, 1)]
        cin = c
    return nn.Sequential(*layers, GlobalAvgPool(), nn.Linear(cin, num_classes))


def _dw_sep(cin: int, cout: int, stride: int) -> nn.Sequential:
    """Depthwise 3x3 + BN + ReLU, then pointwise 1x1 + BN + ReLU (MobileNetV1)."""
    return nn.Sequential(_cbr(cin, cin, 3, stride, groups=cin), _cbr(cin, cout, 1))


# (output channels, stride) of MobileNetV1's 13 depthwise-separable blocks at alpha 1
_V1_BLOCKS = (
    ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2))
    + ((512, 1),) * 5
    + (
        (1024, 2),
        (1024, 1),
    )
)


@register_model
def mobilenet_v1(
    input_shape: tuple[int, ...], num_classes: int, *, width: float = 1.0
) -> nn.Module:
    """MobileNetV1; `width` is alpha (MLPerf Tiny visual wake words: 0.25 at 96x96x3)."""
    _require_image("mobilenet-v1", input_shape, 32, square=True)
    cin = _ch(32, width)
    layers: list[nn.Module] = [_cbr(input_shape[0], cin, 3, 2)]
    for cout, stride in _V1_BLOCKS:
        layers.append(_dw_sep(cin, _ch(cout, width), stride))
        cin = _ch(cout, width)
    return nn.Sequential(*layers, GlobalAvgPool(), nn.Linear(cin, num_classes))


def _divisible(v: float, divisor: int = 8) -> int:
    """MobileNetV2's channel rounding: nearest multiple of 8, never more than 10% below v."""
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


class _InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        hidden = cin * expand
        layers: list[nn.Module] = [_cbr(cin, hidden, 1)] if expand != 1 else []
        layers += [
            _cbr(hidden, hidden, 3, stride, groups=hidden),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.body(x) if self.residual else self.body(x)


# (expansion t, channels c, repeats n, first stride s) of MobileNetV2 at alpha 1
_V2_STAGES = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


@register_model
def mobilenet_v2(
    input_shape: tuple[int, ...], num_classes: int, *, width: float = 1.0
) -> nn.Module:
    """MobileNetV2 with alpha = `width` (0.35-1.0 in the paper); channels rounded to 8 and the
    1280-channel head kept at 1280 for alpha <= 1, as Keras' reference does."""
    _require_image("mobilenet-v2", input_shape, 32, square=True)
    cin = _divisible(32 * width)
    layers: list[nn.Module] = [_cbr(input_shape[0], cin, 3, 2)]
    for t, c, n, s in _V2_STAGES:
        cout = _divisible(c * width)
        for i in range(n):
            layers.append(_InvertedResidual(cin, cout, s if i == 0 else 1, t))
            cin = cout
    head = _divisible(1280 * width) if width > 1.0 else 1280
    layers.append(_cbr(cin, head, 1))
    return nn.Sequential(*layers, GlobalAvgPool(), nn.Linear(head, num_classes))


def _ds_cnn(
    name: str, input_shape: tuple[int, ...], num_classes: int, channels: int, blocks: int
) -> nn.Module:
    """DS-CNN (Hello Edge, Zhang et al. 2017; MLPerf Tiny keyword spotting on 49x10 MFCC):
    a 10x4 stride-2 conv, `blocks` depthwise-separable blocks, average pool, linear."""
    _require_image(name, input_shape, 10)
    layers: list[nn.Module] = [
        nn.Conv2d(input_shape[0], channels, (10, 4), 2, padding=(5, 1), bias=False),
        nn.BatchNorm2d(channels),
        nn.ReLU(inplace=True),
        nn.Dropout(0.2),
    ]
    layers += [_dw_sep(channels, channels, 1) for _ in range(blocks)]
    return nn.Sequential(
        *layers, nn.Dropout(0.4), GlobalAvgPool(), nn.Linear(channels, num_classes)
    )


@register_model
def ds_cnn(input_shape: tuple[int, ...], num_classes: int, *, width: float = 1.0) -> nn.Module:
    """DS-CNN small (the MLPerf Tiny KWS reference): 64 channels, 4 blocks."""
    return _ds_cnn("ds-cnn", input_shape, num_classes, _ch(64, width), 4)


@register_model
def ds_cnn_medium(
    input_shape: tuple[int, ...], num_classes: int, *, width: float = 1.0
) -> nn.Module:
    """DS-CNN medium (Hello Edge): 172 channels, 4 blocks."""
    return _ds_cnn("ds-cnn-medium", input_shape, num_classes, _ch(172, width), 4)


@register_model
def ds_cnn_large(
    input_shape: tuple[int, ...], num_classes: int, *, width: float = 1.0
) -> nn.Module:
    """DS-CNN large (Hello Edge): 276 channels, 5 blocks."""
    return _ds_cnn("ds-cnn-large", input_shape, num_classes, _ch(276, width), 5)
