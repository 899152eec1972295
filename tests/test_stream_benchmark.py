"""benchmarks/stream_memory.py --quick: it runs compress in a child that reports its peak, decodes
PNGs at 0/1/2 workers, and its Markdown says what its JSON says. The figures are not asserted."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def test_stream_memory_quick(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEKD_CACHE", str(tmp_path / "cache"))
    main = runpy.run_path(str(BENCH / "stream_memory.py"))["main"]
    result = main(["--quick", "--out", str(tmp_path)])
    saved = json.loads((tmp_path / "stream_memory_quick.json").read_text())
    md = (tmp_path / "stream_memory_quick.md").read_text()
    assert saved == json.loads(json.dumps(result))
    memory = saved["memory"]
    assert memory["exit_code"] in (0, 1), memory["stderr_tail"]
    assert memory["peak_rss_mib"] > 0 and f"{memory['peak_rss_mib']:.0f} MiB" in md
    assert memory["float32_mib"] == 4 * memory["uint8_mib"]
    assert memory["target_met"] == (memory["peak_rss_mib"] < 1.5 * 1024)
    rows = saved["decode"]["rows"]
    assert [r["workers"] for r in rows] == [0, 1, 2]
    assert len({r["images"] for r in rows}) == 1 and rows[0]["images"] > 0
    for r in rows:
        assert f"| {r['workers']} | {r['images']} |" in md
