"""benchmarks/prune_sweep.py --quick runs end to end, and its Markdown says what its JSON says.

The targets themselves (MACs, latency, retention at ratio 0.5) are claims of the full sweep in
benchmarks/results/prune_sweep.md, not asserted here.
"""

from __future__ import annotations

import json
import runpy
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "prune_sweep.py"


def test_quick_sweep_writes_consistent_json_and_markdown(tmp_path):
    main = runpy.run_path(str(SCRIPT))["main"]
    result = main(["--quick", "--runs", "20", "--out", str(tmp_path)])
    saved = json.loads((tmp_path / "prune_sweep_quick.json").read_text())
    md = (tmp_path / "prune_sweep_quick.md").read_text()
    assert saved == json.loads(json.dumps(result))
    assert saved["quick"] is True and {"cpu", "cores", "onnxruntime"} <= set(saved["host"])
    base, half = saved["rows"]
    assert (base["ratio"], half["ratio"]) == (0.0, 0.5)
    assert base["macs_x"] == base["p50_x"] == 1.0
    assert half["macs_x"] >= 2.5 and half["params"] < base["params"]
    assert half["macs_x"] == base["macs"] / half["macs"]
    for key in ("retention_oneshot", "retention_after_kd", "p50_ms"):
        assert half[key] > 0
    (check,) = saved["targets"]
    assert check["macs_ok"] is True
    assert f"{half['macs']:,}" in md and f"{half['p50_ms']:.4f}" in md
    assert "## Targets at ratio 0.5" in md
