"""`compress --prune-ratio`: the pruned student is a measured artifact; bad input exits 2."""

import json

import onnxruntime as ort
import pytest
from click.testing import CliRunner

from edgekd.cli import main
from tests.cli_runs import run_compress


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("prune-e2e")
    return run_compress(tmp, "--prune-ratio", "0.5", "--prune-steps", "2")


def test_pruned_student_is_measured_between_student_and_quantized(run):
    run_dir, result = run
    assert result.exit_code == 0, result.output
    report = json.loads((run_dir / "report.json").read_text())
    rows = {a["name"]: a for a in report["artifacts"]}
    names = list(rows)
    assert names[:3] == ["teacher", "student", "student-pruned"]
    assert all(n.startswith("student-pruned-") for n in names[3:])  # quantized from pruned
    student, pruned = rows["student"], rows["student-pruned"]
    assert pruned["path"] == "student.pruned.onnx" and pruned["precision"] == "fp32"
    assert pruned["params"] < student["params"] / 2.5
    assert pruned["macs"] < student["macs"] / 2.5
    assert pruned["size_bytes"] < student["size_bytes"]
    for key in ("accuracy", "retention", "latency_ms", "memory_mb"):
        assert pruned[key]
    assert pruned["retention"] == pytest.approx(pruned["accuracy"] / rows["teacher"]["accuracy"])
    ort.InferenceSession(str(run_dir / "student.pruned.onnx"))
    quant = report.get("quantization") or {}
    if "baseline" in quant:  # quantization started from the pruned file
        assert quant["baseline"]["size_bytes"] == pruned["size_bytes"]

    pruning = report["pruning"]
    assert pruning["ratio"] == 0.5 and pruning["method"] == "structured"
    assert [h["step"] for h in pruning["history"]] == [1, 2]
    assert all("val_accuracy_finetuned" in h for h in pruning["history"])
    assert report["parity"]["student-pruned"]["top1_agreement"] >= 0.999
    stages = [s["stage"] for s in json.loads((run_dir / "manifest.json").read_text())["stages"]]
    assert stages.index("export") < stages.index("prune") < stages.index("measure")
    assert (run_dir / "student.pruned.pt").is_file()
    md = (run_dir / "report.md").read_text()
    assert "## Pruning" in md and "student-pruned" in md


def test_unstructured_report_says_dense_latency_does_not_drop(tmp_path):
    flags = ("--prune-ratio", "0.5", "--prune-method", "unstructured")
    run_dir, result = run_compress(tmp_path, *flags, quantize="none", epochs=1, prune_epochs=0)
    assert result.exit_code == 0, result.output
    report = json.loads((run_dir / "report.json").read_text())
    rows = {a["name"]: a for a in report["artifacts"]}
    assert rows["student-pruned"]["params"] == rows["student"]["params"]
    assert rows["student-pruned"]["gzip_bytes"] < rows["student"]["gzip_bytes"]
    assert report["pruning"]["sparsity"] == pytest.approx(0.5, abs=0.01)
    assert any("dense latency does not drop" in n for n in report["notes"])


USER_MODELS = """
import torch
from torch import nn


class OnlyHead(nn.Module):  # the output layer is the only weighted layer
    def __init__(self, num_classes):
        super().__init__()
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        return self.fc(x.flatten(1))


class HardCoded(nn.Module):  # splits 16 channels as [8, 8] whatever the conv has left
    def __init__(self, num_classes):
        super().__init__()
        self.c1 = nn.Conv2d(1, 16, 3, padding=1)
        self.c2 = nn.Conv2d(16, 16, 3, padding=1)
        self.fc = nn.Linear(16, num_classes)

    def forward(self, x):
        a, b = torch.split(self.c1(x), [8, 8], dim=1)
        return self.fc(self.c2(torch.cat([a, b], 1)).mean((2, 3)))


def only_head(num_classes):
    return OnlyHead(num_classes)


def hard_coded(num_classes):
    return HardCoded(num_classes)
"""


@pytest.mark.parametrize(
    "args,message",
    [
        (["--prune-ratio", "1"], "config key 'prune_ratio'"),
        (["--prune-ratio", "-0.5"], "config key 'prune_ratio'"),
        (["--prune-ratio", "0.5", "--prune-method", "random"], "config key 'prune_method'"),
        (["--prune-ratio", "0.5", "--student", "{models}:only_head"], "nothing to prune"),
        (["--prune-ratio", "0.5", "--student", "{models}:hard_coded"], "after layer 'c1'"),
    ],
)
def test_bad_prune_input_is_one_line_exit_2_and_nothing_written(tmp_path, args, message):
    models = tmp_path / "user_models.py"
    models.write_text(USER_MODELS)
    args = [a.format(models=models) for a in args]
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["compress", "--out", str(out), *args])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
    assert not out.exists()
