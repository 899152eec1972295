"""`edgekd report RUN_DIR --device-bench device.json`: the device's own figures decide.

`edgekd bench model.onnx --json > device.json`, run on the phone or board itself (torch-free),
measures the shipped file where it will run. Importing it recomputes the run's verdict from the
device's latency and memory (size and activations are the file's, retention the run's), records
which figures came from where, and redraws the views. The artifact is matched by sha256: a
measurement of any other file is refused, since a verdict on another file is no verdict.
Imports no torch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from edgekd.bench.budgets import Budget
from edgekd.bench.verdict import judge
from edgekd.errors import EdgeKDError


def read_device_bench(path: str | Path) -> dict[str, Any]:
    """An `edgekd bench --json` output, checked enough to use; EdgeKDError otherwise."""
    path = Path(path)
    if not path.is_file():
        raise EdgeKDError(f"device bench file '{path}' not found; run `edgekd bench MODEL --json`")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise EdgeKDError(
            f"'{path}' is not valid JSON ({e}); pass `edgekd bench --json` output"
        ) from None
    ok = isinstance(data, dict) and isinstance(data.get("artifacts"), list)
    if not ok or not isinstance(data.get("host"), dict):
        raise EdgeKDError(f"'{path}' is not `edgekd bench --json` output (no host/artifacts)")
    return data


def _final(report: dict[str, Any]) -> dict[str, Any]:
    return next(a for a in report["artifacts"] if a["name"] == report["final"])


def _match(device: dict[str, Any], final: dict[str, Any], path: str | Path) -> dict[str, Any]:
    """The device artifact measuring the run's final file, by sha256; EdgeKDError otherwise."""
    want = final.get("sha256")
    if not want:
        raise EdgeKDError(
            f"the run's report.json has no sha256 for {final['name']}; rerun compress with this "
            "edgekd version to import a device measurement"
        )
    for art in device["artifacts"]:
        if art.get("sha256") == want:
            return art
    got = ", ".join(f"{a.get('name')} ({str(a.get('sha256'))[:12]})" for a in device["artifacts"])
    raise EdgeKDError(
        f"'{path}' measured {got}, not this run's {final['path']} (sha256 {want[:12]}); "
        f"bench that file on the device"
    )


def _int8_on_device(report: dict[str, Any], device: dict[str, Any]) -> dict[str, Any] | None:
    """When the device also measured the fp32 file the shipped one was quantized from: their
    p50 ratio there, which is the evidence the host could not give (None otherwise)."""
    final = _final(report)
    if final.get("precision") == "fp32":
        return None
    source_name = final["name"].rsplit("-", 1)[0]
    source = next((a for a in report["artifacts"] if a["name"] == source_name), None)
    by_sha = {a.get("sha256"): a for a in device["artifacts"]}
    if source is None or source.get("sha256") not in by_sha:
        return None
    q, f = (
        by_sha[final["sha256"]]["latency_ms"]["p50"],
        by_sha[source["sha256"]]["latency_ms"]["p50"],
    )
    ratio = q / f
    verdict = (
        f"{final['name']} runs {1 / ratio:.2f}x faster than {source_name} on the device: the "
        "quantized file was the right choice"
        if ratio < 1
        else f"{source_name} (fp32) is faster on the device (p50 x{ratio:.2f} for "
        f"{final['name']}): rerun compress with --quantize none"
    )
    return {"fp32": source_name, "p50_ratio": round(ratio, 4), "verdict": verdict}


def import_device_bench(report: dict[str, Any], path: str | Path) -> dict[str, Any]:
    """report.json with the verdict recomputed from the device bench at `path`.

    The host-measured verdict is kept under `budget_host`; `device_bench` says which device,
    which file and where the figures came from.
    """
    device = read_device_bench(path)
    final = _final(report)
    art = _match(device, final, path)
    budget = Budget(**report["budget_spec"])
    measured = {**art, "host": device["host"]}
    verdict = judge(final, budget, report["host"]["cpu"], device=measured).to_dict()
    out = dict(report)
    out["budget_host"] = report.get("budget_host", report["budget"])
    out["budget"] = verdict
    out["device_bench"] = {
        "file": str(path),
        "artifact": final["name"],
        "sha256": final["sha256"],
        "cpu": device["host"].get("cpu"),
        "cpu_features": device["host"].get("cpu_features"),
        "settings": device.get("settings"),
        "latency_ms": art.get("latency_ms"),
        "memory_mb": art.get("memory_mb"),
        "quantized_vs_fp32": _int8_on_device(report, device),
    }
    return out
