"""benchmarks/resume.py --quick: a run SIGKILLed in distillation resumes to a finished run
without retraining its teacher, and the table matches the JSON. Times are the full run's
claims, not asserted."""

import json
import runpy
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def test_resume_benchmark_quick(tmp_path):
    main = runpy.run_path(str(BENCH / "resume.py"))["main"]
    result = main(["--quick", "--out", str(tmp_path)])
    saved = json.loads((tmp_path / "resume_quick.json").read_text())
    md = (tmp_path / "resume_quick.md").read_text()
    assert saved == json.loads(json.dumps(result)) and saved["quick"] is True
    rows = saved["rows"]
    assert [r["kill_point"] for r in rows] == ["distill"]  # quick: one of four
    for r in rows:
        assert r["resumed_rc"] == 0, r
        # a run killed past its teacher stage never trains the teacher again
        assert ("teacher" in r["skipped"]) == (r["killed_in"] != "teacher"), r
        assert abs(r["resumed_accuracy"] - r["uninterrupted_accuracy"]) <= 0.05, r
        assert f"| {r['kill_point']} | {r['killed_in']} |" in md
