"""Pruning shrinks the exported ONNX graph (channels, params, MACs) and keeps parity."""

import copy

import numpy as np
import onnx
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from edgekd.bench.graph import graph_stats
from edgekd.errors import EdgeKDError
from edgekd.export import check_parity, export_onnx
from edgekd.models import create_model
from edgekd.prune import (
    PruneSpec,
    channel_counts,
    check_prunable,
    load_pruned,
    onnx_weight_sparsity,
    output_layers,
    prune_model,
    save_pruned,
    validate_prune,
)

SHAPE = (1, 8, 8)  # digits


def _x(n=64, shape=SHAPE, seed=0):
    return torch.from_numpy(np.random.default_rng(seed).standard_normal((n, *shape), np.float32))


def _conv_channels(path) -> list[int]:
    """Output channels of every Conv node of an ONNX file, in graph order."""
    model = onnx.load(str(path))
    inits = {i.name: list(i.dims) for i in model.graph.initializer}
    return [inits[n.input[1]][0] for n in model.graph.node if n.op_type == "Conv"]


def _export(model, tmp_path, name, x):
    path = export_onnx(model, x[:2], tmp_path / f"{name}.onnx")
    parity = check_parity(model, path, x.numpy())  # raises ParityError when they differ
    assert parity.top1_agreement >= 0.999
    return path


@pytest.mark.parametrize("arch", ["resnet-tiny", "dscnn"])
def test_structured_half_shrinks_onnx_like_a_half_width_model(arch, tmp_path):
    """Ratio 0.5 removes half of every prunable layer's channels: the exported graph then has
    exactly the channels, params and MACs of the same architecture built at width 0.5."""
    torch.manual_seed(0)
    x = _x()
    model = create_model(arch, SHAPE, 10)
    full = _export(model, tmp_path, "full", x)
    result = prune_model(model, x, PruneSpec(0.5))
    pruned = _export(model, tmp_path, "pruned", x)
    half = _export(create_model(arch, SHAPE, 10, width=0.5), tmp_path, "half", x)

    full_ch, pruned_ch = _conv_channels(full), _conv_channels(pruned)
    assert pruned_ch == [c // 2 for c in full_ch] == _conv_channels(half)
    s_full, s_pruned, s_half = graph_stats(full), graph_stats(pruned), graph_stats(half)
    assert s_pruned.params == s_half.params and s_pruned.macs == s_half.macs
    assert s_full.params / s_pruned.params > 2.5  # conv-to-conv weights shrink ~4x
    assert s_full.macs / s_pruned.macs > 2.5
    assert s_pruned.size_bytes < s_full.size_bytes  # graph overhead (~20 KB) stays
    assert result.params_after < result.params_before
    out = result.output_layers
    assert len(out) == 1 and result.channels_after[out[0]] == 10  # classes never pruned


class UserNet(nn.Module):
    """A user model (module:callable style): concat, depthwise, residual add, flatten->linear."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(1, 8, 3, padding=1)
        self.b = nn.Conv2d(1, 8, 3, padding=1)
        self.dw = nn.Conv2d(16, 16, 3, padding=1, groups=16, bias=False)
        self.bn = nn.BatchNorm2d(16)
        self.pw = nn.Conv2d(16, 16, 1)
        self.res = nn.Conv2d(16, 16, 3, padding=1)
        self.head = nn.Linear(16 * 4 * 4, 10)

    def forward(self, x):
        x = torch.cat([F.relu(self.a(x)), F.relu(self.b(x))], 1)
        x = F.relu(self.pw(F.relu(self.bn(self.dw(x)))))
        x = F.relu(x + self.res(x))
        return self.head(torch.flatten(F.max_pool2d(x, 2), 1))


def test_user_model_with_concat_depthwise_residual_and_flatten(tmp_path):
    torch.manual_seed(0)
    x = _x()
    model = UserNet()
    assert output_layers(model, x[:2]) == ["head"]
    full = _export(model, tmp_path, "full", x)
    result = prune_model(model, x, PruneSpec(0.5))
    after = result.channels_after
    assert after["a"] + after["b"] == after["dw"] == after["pw"] == after["res"] == 8
    assert model.head.in_features == 8 * 4 * 4 and model.head.out_features == 10
    pruned = _export(model, tmp_path, "pruned", x)
    assert graph_stats(pruned).params < graph_stats(full).params / 2.5


def test_global_scope_and_taylor_importance_in_steps_with_finetune():
    torch.manual_seed(0)
    x = _x()
    model = create_model("dscnn", SHAPE, 10)
    calls = []
    spec = PruneSpec(0.5, steps=2, importance="taylor", scope="global")
    result = prune_model(
        model,
        x,
        spec,
        finetune=lambda m, step: calls.append(step),
        evaluate=lambda m: 0.5,
        loss_fn=lambda m: m(x).logsumexp(1).mean(),
    )
    assert calls == [1, 2]
    assert [h["target_ratio"] for h in result.history] == [0.25, 0.5]
    assert result.history[0]["params"] > result.history[1]["params"] == result.params_after
    assert {"val_accuracy_pruned", "val_accuracy_finetuned"} <= set(result.history[1])
    prunable = [n for n in result.channels_before if n not in result.output_layers]
    kept = sum(result.channels_after[n] for n in prunable)
    assert kept / sum(result.channels_before[n] for n in prunable) == pytest.approx(0.5, abs=0.1)
    assert all(result.channels_after[n] >= 1 for n in prunable)


def test_every_layer_keeps_a_channel_at_high_ratio():
    model = create_model("cnn-tiny", SHAPE, 10)  # 8 channels at 0.9 would round to 0
    result = prune_model(model, _x(), PruneSpec(0.9))
    assert all(c >= 1 for c in result.channels_after.values())
    assert result.channels_after["0.0"] == 1


def test_unstructured_folds_masks_keeps_dense_size(tmp_path):
    torch.manual_seed(0)
    x = _x(shape=(1, 40))
    model = create_model("dscnn", (1, 40), 10)
    full = _export(model, tmp_path, "full", x)
    result = prune_model(model, x, PruneSpec(0.6, method="unstructured", steps=2))
    assert result.sparsity == pytest.approx(0.6, abs=0.01)
    names = [n for n, _ in model.named_parameters()] + list(model.state_dict())
    assert not [n for n in names if n.endswith(("_orig", "_mask"))]
    pruned = _export(model, tmp_path, "pruned", x)
    onnx_names = [i.name for i in onnx.load(str(pruned)).graph.initializer]
    assert not [n for n in onnx_names if "orig" in n or "mask" in n]
    s_full, s_pruned = graph_stats(full), graph_stats(pruned)
    assert s_pruned.params == s_full.params and s_pruned.macs == s_full.macs
    assert abs(s_pruned.size_bytes - s_full.size_bytes) < 0.02 * s_full.size_bytes
    assert s_pruned.gzip_bytes < 0.8 * s_full.gzip_bytes
    assert onnx_weight_sparsity(pruned) > 0.5


def test_pruned_checkpoint_reloads_weights_only(tmp_path):
    x = _x()
    model = create_model("resnet-tiny", SHAPE, 10)
    result = prune_model(model, x, PruneSpec(0.5))
    path = save_pruned(model, tmp_path / "student.pruned.pt", result)
    with pytest.raises(RuntimeError):  # the plain state_dict does not fit the unpruned model
        create_model("resnet-tiny", SHAPE, 10).load_state_dict(torch.load(path)["state_dict"])
    loaded = load_pruned(create_model("resnet-tiny", SHAPE, 10), path)
    assert channel_counts(loaded) == channel_counts(model)
    torch.testing.assert_close(loaded(x), model.eval()(x))


class HardCoded(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 16, 3, padding=1)
        self.c2 = nn.Conv2d(16, 16, 3, padding=1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.c1(x)
        a, b = torch.split(x, [8, 8], dim=1)  # channel counts written into the code
        return self.fc(self.c2(torch.cat([a, b], 1)).mean((2, 3)))


class OnlyHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc(x.flatten(1))


def test_unprunable_models_get_one_line_naming_the_layer():
    x = _x(4)
    model = HardCoded()
    before = copy.deepcopy(model.state_dict())
    with pytest.raises(EdgeKDError, match="after layer 'c1'") as err:
        check_prunable(model, x, PruneSpec(0.5))
    assert "\n" not in str(err.value)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # dry run
    with pytest.raises(EdgeKDError, match="nothing to prune.*fc"):
        check_prunable(OnlyHead(), x, PruneSpec(0.5))
    with pytest.raises(EdgeKDError, match="nothing to prune"):
        check_prunable(OnlyHead(), x, "unstructured")


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"ratio": 1.0}, "prune ratio must lie in"),
        ({"ratio": -0.1}, "prune ratio must lie in"),
        ({"ratio": 0.5, "method": "random"}, "unknown prune method"),
        ({"ratio": 0.5, "importance": "hessian"}, "unknown prune importance"),
        ({"ratio": 0.5, "steps": 0}, "prune steps"),
    ],
)
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(EdgeKDError, match=message):
        validate_prune(**kwargs)
    with pytest.raises(EdgeKDError, match=message):
        PruneSpec(**kwargs)
