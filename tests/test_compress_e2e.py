"""The whole chain with tiny epochs: files, report contract, and exit codes 0/1/2."""

import json

import onnxruntime as ort
import pytest
from click.testing import CliRunner

from edgekd.cli import main
from edgekd.config import resolve_config
from tests.cli_runs import check_shipped_with_tract, run_compress

ARTIFACT_KEYS = {
    "name", "path", "precision", "size_bytes", "params", "macs", "accuracy", "retention",
    "latency_ms", "memory_mb",
}  # fmt: skip


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_compress(tmp_path_factory.mktemp("e2e"), teacher_epochs=3, epochs=4)


def test_default_chain_writes_every_artifact_and_exits_0(run):
    run_dir, result = run
    assert result.exit_code == 0, result.output
    names = {p.name for p in run_dir.iterdir()}
    assert {"config.yaml", "teacher.onnx", "student.onnx", "student.pt", "report.json",
            "report.md", "report.html", "manifest.json"} <= names  # fmt: skip
    assert not [n for n in names if n.endswith((".data", ".tmp")) or n.startswith(".")]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "done"
    assert [s["stage"] for s in manifest["stages"]][:3] == ["teacher", "distill", "export"]
    # a running peak: each stage's figure is the process's high-water mark when it ended
    peaks = [s["peak_rss_mib"] for s in manifest["stages"]]
    assert peaks[0] > 50 and peaks == sorted(peaks), peaks


def test_report_json_follows_the_contract(run):
    run_dir, _ = run
    report = json.loads((run_dir / "report.json").read_text())
    assert {"edgekd_version", "host", "config", "artifacts", "final", "budget"} <= set(report)
    assert {"cpu", "cores", "onnxruntime"} <= set(report["host"])
    names = [a["name"] for a in report["artifacts"]]
    assert names[:2] == ["teacher", "student"] and report["final"] in names
    for a in report["artifacts"]:
        assert set(a) >= ARTIFACT_KEYS
        assert (run_dir / a["path"]).stat().st_size == a["size_bytes"]
        assert 0 < a["latency_ms"]["p50"] <= a["latency_ms"]["p90"] <= a["latency_ms"]["p99"]
        assert a["memory_mb"]["peak"] > a["memory_mb"]["added"] > 0
        assert a["params"] > 0 and a["macs"] > 0
        ort.InferenceSession(str(run_dir / a["path"]))  # every claimed artifact loads
    teacher, student = report["artifacts"][:2]
    assert teacher["retention"] == 1.0
    assert student["retention"] == pytest.approx(student["accuracy"] / teacher["accuracy"])
    assert teacher["params"] > 10 * student["params"]
    budget = report["budget"]
    assert budget["ok"] is True and budget["profile"] == "iot"
    assert {c["metric"] for c in budget["checks"]} >= {"latency_p90_ms", "size_kb"}
    assert report["parity"]["student"]["top1_agreement"] >= 0.999
    md = (run_dir / "report.md").read_text()
    assert all(n in md for n in names)


def test_shipped_file_agrees_with_tract_on_the_test_split(run):
    skipped = check_shipped_with_tract(run[0])
    if skipped:
        pytest.skip(f"tract cannot load the shipped format: {skipped}")


def test_saved_config_reproduces_the_run(run):
    run_dir, _ = run
    saved = resolve_config(run_dir / "config.yaml")
    report = json.loads((run_dir / "report.json").read_text())
    assert saved.model_dump() == report["config"]


def test_missed_limit_exits_1_and_still_reports(tmp_path):
    run_dir, result = run_compress(tmp_path, "--max-size-kb", "0.5", epochs=1, quantize="none")
    assert result.exit_code == 1, result.output
    report = json.loads((run_dir / "report.json").read_text())
    assert report["budget"]["ok"] is False
    missed = [c["metric"] for c in report["budget"]["checks"] if not c["ok"]]
    assert missed == ["size_kb"]


@pytest.mark.parametrize(
    "args,message",
    [
        (["--data", "cifar"], "unknown data spec"),
        (["--student", "dscn"], "did you mean 'dscnn'"),
        (["--budget", "watch"], "unknown budget profile"),
        (["--alpha", "2"], "config key 'alpha'"),
        (["--config", "missing.yaml"], "not found"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(tmp_path, args, message):
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["compress", "--out", str(out), *args])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert not out.exists()
