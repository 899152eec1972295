"""benchmarks/profiler_agreement.py --quick: runs, and its Markdown says what its JSON says.

The 10% agreement itself is a timing claim, checked by the full benchmark, not asserted here.
"""

from __future__ import annotations

import json
import runpy
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "profiler_agreement.py"


def test_quick_mode_writes_consistent_json_and_markdown(tmp_path):
    main = runpy.run_path(str(SCRIPT))["main"]
    result = main(["--quick", "--runs", "10", "--out", str(tmp_path)])
    saved = json.loads((tmp_path / "profiler_agreement_quick.json").read_text())
    md = (tmp_path / "profiler_agreement_quick.md").read_text()
    assert saved == json.loads(json.dumps(result))
    assert saved["quick"] is True and saved["loop_overhead_ms"] > 0
    (row,) = saved["rows"]
    assert row["runs"] == 10 and row["profiler_runs"] == 10  # warm-up events dropped
    assert row["macs"] == 3 * 32 * 32 * 9 * 64 * 64
    ours, theirs = row["edgekd_p50_ms"], row["profiler_p50_ms"]
    assert abs(row["rel_diff"] - (ours - theirs) / theirs) < 1e-3
    if abs(abs(row["rel_diff"]) - 0.10) > 1e-3:  # away from the rounding edge
        assert row["within_tolerance"] == (abs(row["rel_diff"]) <= 0.10)
    assert f"{ours:.4f}" in md and f"{theirs:.4f}" in md and row["model"] in md
