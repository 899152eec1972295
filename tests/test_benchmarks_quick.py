"""benchmarks/kd_vs_scratch.py and distill_speed.py --quick: they run, and what their Markdown
says matches their JSON. The figures themselves are claims of the full runs, not asserted."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _main(name: str):
    return runpy.run_path(str(BENCH / f"{name}.py"))["main"]


def test_kd_vs_scratch_quick(tmp_path):
    result = _main("kd_vs_scratch")(["--quick", "--out", str(tmp_path)])
    saved = json.loads((tmp_path / "kd_vs_scratch_quick.json").read_text())
    md = (tmp_path / "kd_vs_scratch_quick.md").read_text()
    assert saved == json.loads(json.dumps(result))
    assert saved["quick"] is True and {"cpu", "torch", "onnxruntime"} <= set(saved["host"])
    rows = {(s["dataset"], s["student"]): s for s in saved["summary"]}
    assert set(rows) == {("digits", "cnn-tiny"), ("mnist1d", "cnn-tiny")}
    variants = [v["variant"] for v in rows[("mnist1d", "cnn-tiny")]["variants"]]
    fm = ["scratch+aug", "fm"]  # function matching and its same-recipe baseline
    assert variants == [*fm, "kd T=2 a=0.5", "kd+transfer T=2 a=0.5"]  # transfer: mnist1d only
    assert [v["variant"] for v in rows[("digits", "cnn-tiny")]["variants"]] == [
        *fm,
        "kd T=2 a=0.5",
    ]
    for s in saved["summary"]:  # KD's own share is measured against scratch+aug
        by = {v["variant"]: v for v in s["variants"]}
        base, got = by["scratch+aug"]["accuracy"]["mean"], by["fm"]["accuracy"]["mean"]
        assert by["fm"]["own_baseline"] == base
        assert by["fm"]["loses_to_own_baseline"] == (
            got < base - 1 / (360 if s["dataset"] == "digits" else 1000)
        )
    assert {(r["dataset"], r["student"]) for r in saved["fm_targets"]} == set(rows)
    assert "## Function matching" in md
    for s in saved["summary"]:
        t, sc = s["teacher"]["mean"], s["scratch"]["mean"]
        for v in s["variants"]:
            k = v["accuracy"]["mean"]
            assert v["gain"] == pytest.approx(k - sc)
            if t > sc:
                assert v["gap_closed"] == pytest.approx((k - sc) / (t - sc))
            else:
                assert v["gap_closed"] is None
            assert f"{k * 100:.1f} ± 0.0" in md
    assert set(saved["targets"]) >= {"kd", "kd+transfer"}
    assert "## Targets" in md and "Where KD did not help" in md


def test_distill_speed_quick(tmp_path):
    result = _main("distill_speed")(["--quick", "--out", str(tmp_path)])
    saved = json.loads((tmp_path / "distill_speed_quick.json").read_text())
    md = (tmp_path / "distill_speed_quick.md").read_text()
    assert saved == json.loads(json.dumps(result))
    (row,) = saved["students"]
    modes = {m["mode"]: m for m in row["modes"]}
    assert set(modes) == {"student alone", "online KD", "cached KD", "function matching"}
    assert row["fm_ratio"] == modes["function matching"]["ratio"]
    assert modes["student alone"]["ratio"] == 1.0
    for m in modes.values():
        assert m["seconds"] > 0 and m["samples_per_s"] > 0
        assert m["ratio"] == pytest.approx(m["seconds"] / modes["student alone"]["seconds"], 1e-2)
        assert f"{m['ratio']:.2f}x" in md
    assert row["target_met"] == (row["cached_ratio"] <= saved["target_ratio"])


def test_device_estimates_quick(tmp_path):
    result = _main("device_estimates")(["--quick", "--out", str(tmp_path)])
    saved = json.loads((tmp_path / "device_estimates_quick.json").read_text())
    md = (tmp_path / "device_estimates_quick.md").read_text()
    assert saved == json.loads(json.dumps(result)) and saved["quick"] is True
    assert all(g["matches_estimator_table"] for g in saved["graphs"].values())
    roles = {(r["model"], r["role"]) for r in saved["rows"]}
    assert roles == {("ds-cnn", "held out"), ("fc-autoencoder", "calibration")}
    assert saved["held_out_inside"] == all(
        r["inside"] for r in saved["rows"] if r["model"] == "ds-cnn"
    )
    assert "## Held-out rows" in md and "## Calibration rows" in md
    for r in saved["rows"]:
        assert f"| {r['published_ms']:.2f} | {r['estimate_low_ms']:.2f} - " in md
