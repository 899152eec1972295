"""Quantization inside `edgekd compress`: what ships, what is kept beside it, and the report.

Speed is host-dependent, so the real-timing run asserts the invariant (final is student-int8 iff
the candidate qualified, and the reason says why); the fp32-ships path is forced with a fake timer.
"""

from __future__ import annotations

import json

import onnxruntime as ort

import edgekd.quantize.decide as decide_mod
from edgekd.bench.latency import LatencyStats
from edgekd.quantize import count_int8_nodes
from tests.cli_runs import check_shipped_with_tract, run_compress


def _compress(tmp_path, *flags: str):
    run_dir, result = run_compress(tmp_path, *flags)
    assert result.exit_code == 0, result.output
    return run_dir, json.loads((run_dir / "report.json").read_text()), result


def test_int8_ships_iff_it_qualifies_and_flags_reach_the_candidate(tmp_path):
    run_dir, report, _ = _compress(
        tmp_path,
        "--student", "resnet-tiny", "--quantize", "int8", "--quant-format", "qoperator",
        "--calibration-method", "percentile", "--calibration-samples", "64",
        "--target", "host",  # the measured choice; tests/test_device_target.py has the rule
    )  # fmt: skip
    assert report["config"]["quantize"]["max_accuracy_drop"] == 0.5  # points in the config...
    quant = report["quantization"]
    assert quant["max_accuracy_drop"] == 0.005  # ...a fraction in the API it was converted for
    (cand,) = quant["candidates"]
    assert cand["name"] == "int8-qop-u8s8-pc-rr-percentile"
    assert cand["config"]["calibration_samples"] == 64 and cand["int8_nodes"] > 0

    names = [a["name"] for a in report["artifacts"]]
    assert "student-int8" in names  # measured on the test split whether or not it ships
    int8 = next(a for a in report["artifacts"] if a["name"] == "student-int8")
    assert count_int8_nodes(run_dir / int8["path"])["int8"] > 0
    assert (report["final"] == "student-int8") == cand["qualified"]
    if cand["qualified"]:
        assert quant["shipped"] == cand["name"] and "faster than fp32" in quant["reason"]
    else:
        assert quant["shipped"] == "fp32" and cand["why_not"] in quant["reason"]
        assert "for comparison only" in quant["reason"]
    md = (run_dir / "report.md").read_text()
    assert "| int8-qop-u8s8-pc-rr-percentile |" in md and "int8/float nodes" in md
    assert cand["spec_path"].startswith("its QDQ twin") and cand["spec_accuracy"] > 0
    skipped = check_shipped_with_tract(run_dir)  # a shipped QOperator file: the report says so
    assert (skipped is not None) == (report["final"] == "student-int8")


def test_fp32_ships_and_best_candidate_is_measured_beside_it(tmp_path, monkeypatch):
    def slower(paths, **kwargs):  # every quantized candidate 1.6x slower than fp32
        return [
            LatencyStats(p, p, p, p, p, 0.0, p, 1, 1, 10) for p in [1.0] + [1.6] * (len(paths) - 1)
        ]

    monkeypatch.setattr(decide_mod, "compare_latency", slower)
    run_dir, report, result = _compress(tmp_path, "--quantize", "auto", "--target", "host")

    assert report["final"] == "student"
    quant = report["quantization"]
    assert quant["shipped"] == "fp32" and quant["path"] is None
    assert len(quant["candidates"]) >= 3  # every candidate is kept in the report
    kept = [c for c in quant["candidates"] if c["verdict"].endswith("(file kept)")]
    assert [c["name"] for c in kept] == [quant["written"]]
    int8 = next(a for a in report["artifacts"] if a["name"] == "student-int8")
    assert int8["path"] == "student.int8.onnx" and int8["precision"] == "int8"
    assert 0 < int8["accuracy"] <= 1 and int8["latency_ms"]["p50"] > 0
    ort.InferenceSession(str(run_dir / int8["path"]))
    manifest = json.loads((run_dir / "manifest.json").read_text())
    stage = next(s for s in manifest["stages"] if s["stage"] == "quantize")
    assert "student.int8.onnx" in json.dumps(stage)

    md = (run_dir / "report.md").read_text()
    assert "## Quantization" in md and "too slow (file kept)" in md
    assert all(f"| {c['name']} |" in md for c in quant["candidates"])
    assert "quantization candidates" in result.output and quant["written"] in result.output
