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
    }
    return out
