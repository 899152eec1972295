"""The edge zoo: every model exports, matches PyTorch and prunes at 0.5; `edgekd zoo`'s static
figures are what the built models really have; bad input shapes fail in one line; `edgekd zoo`
runs without torch."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from edgekd.bench.graph import graph_stats
from edgekd.errors import EdgeKDError
from edgekd.export import check_parity, export_onnx
from edgekd.models import create_model, list_models
from edgekd.models.catalog import ZOO, zoo_entry
from edgekd.prune import PruneSpec, channel_counts, prune_model
from tests.test_bench_torchfree import BLOCK, CLI

EDGE = ("resnet8", "mobilenet-v1", "mobilenet-v2", "ds-cnn", "ds-cnn-medium", "ds-cnn-large")


def _built(entry, width=None):
    torch.manual_seed(0)
    model = create_model(
        entry.name, entry.input_shape, entry.num_classes, width=width or entry.width
    )
    with torch.no_grad():  # BN statistics that are not the identity, so folding is exercised
        model.train()
        model(torch.rand(8, *entry.input_shape))
    return model.eval()


def test_catalog_lists_every_registered_model_once():
    names = [e.name for e in ZOO]
    assert len(names) == len(set(names))
    assert set(names) == set(list_models())
    assert set(EDGE) | {"resnet18-32"} <= set(names)


def _check_figures(entry, model, x, path) -> None:
    stats = graph_stats(path).to_dict()
    assert (stats["params"], stats["macs"]) == (entry.params, entry.macs)
    with torch.no_grad():
        assert model(x).shape == (len(x), entry.num_classes)


@pytest.mark.parametrize("entry", [e for e in ZOO if e.name not in EDGE], ids=lambda e: e.spec)
def test_catalog_figures_match_the_exported_model(entry, tmp_path):
    model = _built(entry)
    x = torch.rand(4, *entry.input_shape)
    _check_figures(entry, model, x, export_onnx(model, x, tmp_path / "m.onnx"))


@pytest.mark.parametrize("name", EDGE)
def test_edge_model_exports_passes_parity_and_prunes(name, tmp_path):
    """Also checks the catalog row of each edge model (one export serves both)."""
    entry = zoo_entry(name)
    model = _built(entry)
    x = torch.rand(16, *entry.input_shape)
    path = export_onnx(model, x, tmp_path / "m.onnx")
    _check_figures(entry, model, x, path)
    assert check_parity(model, path, x.numpy()).top1_agreement == 1.0
    ops = set(_ops(path))
    assert "ReduceMean" in ops and not ops & {"Shape", "Gather", "Range", "GlobalAveragePool"}

    before = channel_counts(model)
    result = prune_model(model, x[:2], PruneSpec(ratio=0.5))
    assert result.params_after < 0.45 * result.params_before  # ~(1 - 0.5)^2 of conv weights
    after = channel_counts(model)
    assert after != before
    pruned = export_onnx(model, x, tmp_path / "p.onnx")
    check_parity(model, pruned, x.numpy())
    assert graph_stats(pruned).to_dict()["macs"] < 0.45 * entry.macs


def _ops(path) -> list[str]:
    import onnx

    return [n.op_type for n in onnx.load(str(path)).graph.node]


def test_width_scales_channels():
    small = create_model("mobilenet-v1", (3, 96, 96), 2, width=0.25)
    full = create_model("mobilenet-v1", (3, 96, 96), 2, width=1.0)
    assert small[-1].in_features == 256 and full[-1].in_features == 1024
    assert create_model("mobilenet-v2", (3, 96, 96), 2, width=0.35)[0][0].out_channels == 16
    assert create_model("ds-cnn", (1, 49, 10), 12, width=0.5)[-1].in_features == 32


@pytest.mark.parametrize(
    ("name", "shape", "message"),
    [
        ("resnet8", (1, 40), "resnet8 takes a (C, H, W) image input with H, W >= 8"),
        ("mobilenet-v1", (3, 96, 64), "mobilenet-v1 takes a square (C, H, W)"),
        ("mobilenet-v2", (3, 16, 16), "H, W >= 32, got (3, 16, 16)"),
        ("ds-cnn", (1, 8, 8), "ds-cnn takes a (C, H, W) image input with H, W >= 10"),
        ("resnet18-32", (3, 4, 4), "resnet18-32 takes"),
    ],
)
def test_bad_input_shape_is_one_line(name, shape, message):
    with pytest.raises(EdgeKDError, match=message.replace("(", r"\(").replace(")", r"\)")) as e:
        create_model(name, shape, 10)
    assert "\n" not in str(e.value) and "--image-size" in str(e.value)


def test_zoo_command_runs_without_torch(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCK)
    env = {"PYTHONPATH": f"{site}:{':'.join(sys.path)}", "PATH": ""}
    r = subprocess.run(
        [sys.executable, "-c", CLI, "zoo", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    rows = {row["spec"]: row for row in json.loads(r.stdout)}
    assert rows["mobilenet-v1:width=0.25"]["input_shape"] == [3, 96, 96]
    assert rows["resnet8"]["macs"] == zoo_entry("resnet8").macs
    assert len(rows) == len(ZOO)
    table = subprocess.run(
        [sys.executable, "-c", CLI, "zoo"], capture_output=True, text=True, env=env, timeout=120
    )
    assert table.returncode == 0 and "12.50 M" in table.stdout and "ds-cnn-large" in table.stdout
