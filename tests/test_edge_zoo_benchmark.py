"""benchmarks/edge_zoo.py --quick: it runs, its table says what its JSON says, and the targets
are judged from the measured ratios. The figures themselves are claims of the full run."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def test_edge_zoo_quick(tmp_path):
    result = runpy.run_path(str(BENCH / "edge_zoo.py"))["main"](["--quick", "--out", str(tmp_path)])
    saved = json.loads((tmp_path / "edge_zoo_quick.json").read_text())
    md = (tmp_path / "edge_zoo_quick.md").read_text()
    assert saved == json.loads(json.dumps(result))
    assert set(saved["cpu_flags"]) == {"avx2", "avx512f", "avx512_vnni"}
    assert "avx512_vnni" in md and "Load average" in md
    (model,) = saved["models"]
    assert model["model"] == "resnet8" and model["input"] == [3, 32, 32]
    rows = model["variants"]
    assert list(rows) == ["fp32", "edgekd int8", "ort-default int8", "pruned-0.5 fp32"]
    assert rows["fp32"]["macs"] == 12_501_632 and rows["pruned-0.5 fp32"]["macs"] < 0.45e7
    assert rows["edgekd int8"]["size_bytes"] < 0.4 * rows["fp32"]["size_bytes"]  # int8 weights
    names = [c["name"] for c in model["candidates"]]
    assert rows["edgekd int8"]["candidate"] in names
    assert "int8-qdq-u8s8-pc-rr-thin16" in names  # resnet8's 3-channel stem conv stays float
    for t in saved["threads"]:
        for r in rows.values():
            assert r[f"speedup_{t}t"] == pytest.approx(
                rows["fp32"][f"p50_ms_{t}t"] / r[f"p50_ms_{t}t"], rel=2e-2
            )
            assert f"{r[f'p50_ms_{t}t']:.3f}" in md and f"{r[f'speedup_{t}t']:.2f}x" in md
    assert {t["target"] for t in saved["targets"]} == {"int8_speedup_1t", "pruned_speedup_1t"}
    for t in saved["targets"]:
        variant = "edgekd int8" if t["target"].startswith("int8") else "pruned-0.5 fp32"
        assert t["measured"] == rows[variant]["speedup_1t"]
        assert t["met"] == (t["measured"] >= t["goal"])
        assert (
            f"{t['measured']:.2f}x (goal {t['goal']:.1f}x): {'met' if t['met'] else 'MISSED'}" in md
        )
