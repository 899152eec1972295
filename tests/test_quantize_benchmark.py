"""benchmarks/quantization.py --quick: runs, and its Markdown says what its JSON says.

The speed targets are timing claims, checked by the full benchmark on a quiet host, not here.
"""

from __future__ import annotations

import json
import runpy
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "quantization.py"


def test_quick_mode_writes_consistent_json_and_markdown(tmp_path):
    main = runpy.run_path(str(SCRIPT))["main"]
    result = main(["--quick", "--epochs", "1", "--runs", "10", "--out", str(tmp_path)])
    saved = json.loads((tmp_path / "quantization_quick.json").read_text())
    md = (tmp_path / "quantization_quick.md").read_text()
    assert saved == json.loads(json.dumps(result))
    assert saved["quick"] is True and saved["loop_overhead_ms"] > 0
    assert {"cpu", "cores", "onnxruntime"} <= set(saved["host"])
    assert [r["model"] for r in saved["rows"]] == ["digits-resnet-tiny-w1", "digits-dscnn-w1"]
    for row in saved["rows"]:
        v = row["variants"]
        assert list(v) == ["fp32", "ort-static", "ort-dynamic", "edgekd-auto"]
        assert v["fp32"]["ratio_vs_fp32"] == 1.0 and v["fp32"]["int8_nodes"] == 0
        assert v["ort-dynamic"]["int8_nodes"] > 0 and v["ort-static"]["int8_nodes"] > 0
        auto = v["edgekd-auto"]
        if row["auto_shipped"] == "fp32":  # the fp32 file, timed in a second session
            assert auto["size_bytes"] == v["fp32"]["size_bytes"] and auto["int8_nodes"] == 0
        else:
            assert auto["int8_nodes"] > 0
            assert row["auto_shipped"] in {c["name"] for c in row["auto_candidates"]}
        for variant in v.values():
            assert 0 < variant["accuracy"] <= 1 and variant["p50_ms"] > 0
            assert f"{variant['p50_ms']:.4f}" in md
        checks = row["checks"]
        drop = (v["fp32"]["accuracy"] - auto["accuracy"]) * 100
        assert abs(checks["auto_accuracy_drop_points"] - drop) < 0.01
        assert f"{checks['auto_vs_ort_static_speedup']:.2f}x" in md
        assert row["model"] in md and row["auto_reason"] in md
