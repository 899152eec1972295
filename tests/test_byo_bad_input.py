"""Bad input: one line on stderr naming the problem and the fix, exit 2, no run directory."""

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from torch import nn

from edgekd.cli import main
from edgekd.config import resolve_config
from edgekd.export import export_onnx


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    rng = np.random.default_rng(0)
    y = np.arange(40) % 3
    x = (rng.normal(size=(40, 5)) + y[:, None]).astype(np.float32)
    np.savez(d / "good.npz", X=x, y=y)
    torch.manual_seed(0)
    export_onnx(nn.Sequential(nn.Linear(5, 3)), torch.from_numpy(x[:2]), d / "lin3.onnx")
    export_onnx(nn.Sequential(nn.Linear(5, 4)), torch.from_numpy(x[:2]), d / "lin4.onnx")
    export_onnx(nn.Sequential(nn.Linear(7, 3)), torch.randn(2, 7), d / "lin7.onnx")
    blob = (d / "lin3.onnx").read_bytes()
    (d / "truncated.onnx").write_bytes(blob[: len(blob) // 2])
    (d / "text.onnx").write_text("this is a README, not a model\n")
    np.savez(d / "nokeys.npz", features=x, labels=y)
    np.savez(d / "lengths.npz", X=x, y=y[:-3])
    np.savez(d / "range.npz", X=x, y=y, num_classes=2)
    np.savez(d / "negative.npz", X=x, y=y - 1)
    bad = x.copy()
    bad[3, 1] = np.nan
    np.savez(d / "nan.npz", X=bad, y=y)
    bad[3, 1] = np.inf
    np.savez(d / "inf.npz", X=bad, y=y)
    np.savez(d / "empty.npz", X=np.zeros((0, 5), np.float32), y=np.zeros(0, np.int64))
    (d / "raises.py").write_text("import torch\nraise RuntimeError('boom at import')\n")
    (d / "models.py").write_text(
        "import torch\n"
        "def two_classes(input_shape, num_classes):\n"
        "    return torch.nn.Linear(input_shape[0], 2)\n"
        "def seven_features(input_shape, num_classes):\n"
        "    return torch.nn.Linear(7, num_classes)\n"
        "def not_a_module():\n"
        "    return 42\n"
    )
    torch.save(nn.Linear(5, 3), d / "whole.pt")
    return d


def _cases(d):
    good = ["--data", str(d / "good.npz"), "--student", "mlp"]
    return {
        "missing data": (["--data", str(d / "missing.npz")], "not found"),
        "missing teacher": ([*good, "--teacher", str(d / "nope.onnx")], "not found"),
        "missing weights": ([*good, "--teacher", str(d / "nope.pt")], "not found"),
        "truncated onnx": ([*good, "--teacher", str(d / "truncated.onnx")], "not a usable ONNX"),
        "text named .onnx": ([*good, "--teacher", str(d / "text.onnx")], "not a usable ONNX"),
        "npz without X/y": (["--data", str(d / "nokeys.npz")], "needs 'X' (features) and 'y'"),
        "X y lengths": (["--data", str(d / "lengths.npz")], "must have the same length"),
        "labels >= classes": (["--data", str(d / "range.npz")], "labels must lie in [0, 2)"),
        "negative labels": (["--data", str(d / "negative.npz")], "found -1..1"),
        "nan": (["--data", str(d / "nan.npz")], "NaN or inf"),
        "inf": (["--data", str(d / "inf.npz")], "NaN or inf"),
        "empty": (["--data", str(d / "empty.npz")], "empty"),
        "teacher classes": ([*good, "--teacher", str(d / "lin4.onnx")], "4 classes but data"),
        "student classes": (
            ["--data", str(d / "good.npz"), "--student", f"{d}/models.py:two_classes"],
            "2 classes but data",
        ),
        "teacher input shape": ([*good, "--teacher", str(d / "lin7.onnx")], "input shape"),
        "student input shape": (
            ["--data", str(d / "good.npz"), "--student", f"{d}/models.py:seven_features"],
            "rejects inputs of shape (5,)",
        ),
        "conv student on tabular": (
            ["--data", str(d / "good.npz"), "--student", "dscnn"],
            "use 'mlp'",
        ),
        "file raises on import": (
            [*good, "--teacher", f"{d}/raises.py:make"],
            "raised RuntimeError: boom at import",
        ),
        "missing callable": ([*good, "--teacher", f"{d}/models.py:maek"], "no attribute 'maek'"),
        "missing module": ([*good, "--teacher", "no_such_pkg_xyz.models:make"], "not found"),
        "callable not a module": (
            ["--data", str(d / "good.npz"), "--student", f"{d}/models.py:not_a_module"],
            "must return a torch.nn.Module",
        ),
        "pickle refused": ([*good, "--teacher", str(d / "whole.pt")], "--trust-pickle"),
        "hint on onnx teacher": (
            [*good, "--teacher", str(d / "lin3.onnx"), "--hint", "0:1"],
            "--hint needs an eager PyTorch teacher",
        ),
        "bad teacher output": (
            [*good, "--teacher", str(d / "lin3.onnx"), "--teacher-output", "probs"],
            "not probabilities",
        ),
        "transfer shape": (
            [*good, "--teacher", str(d / "lin3.onnx"), "--transfer", str(d / "nan.npz")],
            "NaN or inf",
        ),
    }


CASES = list(_cases(__import__("pathlib").Path("/x")))


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_line_exit_2_and_nothing_written(inputs, tmp_path, case):
    args, message = _cases(inputs)[case]
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["compress", "--out", str(out), *args])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("edgekd: error: ") and message in lines[0], lines[0]
    assert not out.exists()


def test_an_interrupted_run_leaves_a_consistent_directory(inputs, tmp_path, monkeypatch):
    import edgekd.pipeline as pipeline
    import edgekd.stages.distill as distill_stage

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(distill_stage, "fit", interrupted)
    cfg = resolve_config(
        data=str(inputs / "good.npz"),
        student="mlp",
        teacher=[str(inputs / "lin3.onnx")],
        out=str(tmp_path / "run"),
        allow_weak_teacher=True,  # a toy linear teacher: this test is about the interruption
    )
    with pytest.raises(KeyboardInterrupt):
        pipeline.compress(cfg)
    run = tmp_path / "run"
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert [s["stage"] for s in manifest["stages"]] == ["teacher"]
    names = sorted(p.name for p in run.iterdir() if p.is_file())
    assert names == ["config.yaml", "manifest.json", "teacher.onnx"]  # no temp, no student.pt
    kept = (
        [p.name for p in (run / "checkpoints").iterdir()] if (run / "checkpoints").exists() else []
    )
    assert all(n.startswith("teacher") for n in kept), kept  # only what --resume reuses


def test_first_line_quotes_an_exception_in_one_short_line():
    """The one helper every error message uses to quote an exception."""
    from edgekd.errors import LINE_LIMIT, first_line

    e = ValueError("\n  shapes differ: (2, 3) vs (2, 4)\nTraceback follows\n")
    assert first_line(e) == "shapes differ: (2, 3) vs (2, 4)"
    assert first_line(e, kind=True) == "ValueError: shapes differ: (2, 3) vs (2, 4)"
    assert first_line(KeyError()) == "KeyError"  # says nothing: its type
    assert len(first_line(RuntimeError("x" * 1000))) == LINE_LIMIT
