"""Budgets: design.md's profiles, TOML files, overrides, and the report.json verdict contract."""

from __future__ import annotations

import pytest

from edgekd.bench.budgets import check_budget, list_profiles, load_budget, metrics_from_result
from edgekd.errors import EdgeKDError


def test_builtin_profiles_match_design():
    p = {b.name: b for b in list_profiles()}
    assert (p["phone"].threads, p["phone"].max_latency_ms, p["phone"].max_memory_mb) == (4, 20, 100)
    assert p["phone"].max_size_kb == 20 * 1024
    assert (p["iot"].threads, p["iot"].max_latency_ms, p["iot"].max_memory_mb) == (1, 50, 32)
    assert p["iot"].max_size_kb == 4 * 1024
    assert (p["mcu"].max_latency_ms, p["mcu"].max_activation_kb, p["mcu"].max_size_kb) == (
        100,
        256,
        1024,
    )
    assert p["mcu"].max_memory_mb is None
    assert {b.latency_percentile for b in p.values()} == {"p90"}


def test_toml_base_and_overrides(tmp_path):
    f = tmp_path / "pi4.toml"
    f.write_text('base = "iot"\nmax_latency_ms = 15\nlatency_percentile = "p99"\nthreads = 4\n')
    b = load_budget(str(f))
    assert (b.name, b.threads, b.max_latency_ms, b.latency_percentile) == ("pi4", 4, 15, "p99")
    assert b.max_memory_mb == 32 and b.max_size_kb == 4096  # inherited from iot
    b2 = load_budget(str(f), max_memory_mb=8, max_size_kb=None)
    assert b2.max_memory_mb == 8 and b2.max_size_kb == 4096  # None overrides are ignored
    assert load_budget("phone", min_retention=0.95).min_retention == 0.95


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (
            'base = "iot"\nmax_latncy_ms = 5\n',
            "unknown budget key 'max_latncy_ms'.*'max_latency_ms'",
        ),
        ("max_latency_ms = \n", "not valid TOML"),
        ('base = "tablet"\n', "not a built-in profile"),
        ("max_latency_ms = -3\n", "bad budget value max_latency_ms"),
        ('latency_percentile = "p42"\n', "latency_percentile"),
    ],
)
def test_bad_toml_gives_one_clear_error(tmp_path, text, match):
    f = tmp_path / "b.toml"
    f.write_text(text)
    with pytest.raises(EdgeKDError, match=match) as e:
        load_budget(str(f))
    assert "\n" not in str(e.value)


def test_unknown_profile_and_missing_file():
    with pytest.raises(EdgeKDError, match="unknown budget profile 'phnoe'.*'phone'"):
        load_budget("phnoe")
    with pytest.raises(EdgeKDError, match="not found"):
        load_budget("nowhere/b.toml")
    with pytest.raises(EdgeKDError, match="unknown budget override"):
        load_budget("iot", max_latency=3)


def test_verdict_contract_margins_and_unchecked_limits():
    b = load_budget("iot")
    v = check_budget(
        b, {"latency_p90_ms": 60.0, "memory_added_mb": 10.0, "size_bytes": 1024 * 1024}
    )
    d = v.to_dict()
    assert set(d) == {"profile", "target", "ok", "checks"} and d["profile"] == "iot"
    assert d["target"] == "arm64"  # iot is a Raspberry-Pi-class board
    assert d["ok"] is False and v.ok is False
    by = {c["metric"]: c for c in d["checks"]}
    assert set(by) == {"latency_p90_ms", "memory_added_mb", "size_kb"}  # None limits not checked
    assert by["latency_p90_ms"] == {
        "metric": "latency_p90_ms",
        "limit": 50,
        "value": 60.0,
        "ok": False,
        "margin": -10.0,
    }
    assert by["memory_added_mb"]["ok"] and by["memory_added_mb"]["margin"] == 22.0
    assert by["size_kb"]["value"] == 1024.0 and by["size_kb"]["ok"]


def test_percentile_min_retention_and_unmeasured():
    b = load_budget(None, max_latency_ms=5, min_retention=0.9)
    b = b.model_copy(update={"latency_percentile": "p99"})
    v = check_budget(b, {"latency_p99_ms": 4.0, "latency_p90_ms": 99.0, "retention": 0.85})
    by = {c["metric"]: c for c in v.checks}
    assert by["latency_p99_ms"]["ok"] is True  # the budget's percentile, not p90
    assert by["retention"]["ok"] is False and by["retention"]["margin"] == pytest.approx(-0.05)
    v2 = check_budget(load_budget("iot"), {"latency_p90_ms": 1.0, "size_bytes": 10})
    assert v2.ok is True and v2.unmeasured == ["memory_added_mb"]
    assert [c["value"] for c in v2.checks if c["metric"] == "memory_added_mb"] == [None]


def test_metrics_from_benchmark_result():
    b = load_budget("mcu")
    result = {
        "size_bytes": 2048,
        "peak_activation_bytes": 300 * 1024,
        "latency_ms": {"p50": 1.0, "p90": 2.0},
        "memory_mb": {"added": 5.0},
    }
    v = check_budget(b, metrics_from_result(result, b))
    by = {c["metric"]: c for c in v.checks}
    assert by["activation_kb"]["value"] == 300 and by["activation_kb"]["ok"] is False
    assert by["latency_p90_ms"]["value"] == 2.0 and not v.ok
