"""The budget verdict with every figure's provenance: measured on this host, measured on the
device (an imported `edgekd bench --json`), estimated, or a property of the file.

A latency printed under the name `phone` means nothing unless it says which processor ran it.
So each check carries `source` and `processor`. For an MCU target no MCU ran anything: the
latency checked is the upper end of the calibrated estimate (bench/mcu.py), so "fits" means
"fits even at the slow end of the published efficiencies". For a CPU target other than the host,
host timings are still checked (they are all there is) but named as the host's; importing the
device's own bench output replaces them (report/device.py).
"""

from __future__ import annotations

from typing import Any

from edgekd.bench import host
from edgekd.bench import targets as tgt
from edgekd.bench.budgets import Budget, BudgetVerdict, check_budget, metrics_from_result
from edgekd.bench.targets import TARGETS, processor_of

HOST, DEVICE, ESTIMATED, FILE = "host-measured", "device-measured (imported)", "estimated", "file"


def _latency_source(result: dict[str, Any], budget: Budget, host_cpu: str) -> dict[str, Any]:
    est = result.get("estimate")
    if TARGETS[budget.target].kind == "mcu":
        if not est:
            return {"source": "not measured", "processor": processor_of(budget.target, host_cpu)}
        return {
            "source": ESTIMATED,
            "processor": est["processor"],
            "target": est["target"],
            "range_ms": [est["low_ms"], est["high_ms"]],
            "basis": est["basis"],
        }
    if tgt.kernels_differ(budget.target, host.this_host_class()):
        return {"source": HOST, "processor": host_cpu, "not_on": budget.target}
    return {"source": HOST, "processor": host_cpu}


def judge(
    result: dict[str, Any],
    budget: Budget,
    host_cpu: str,
    device: dict[str, Any] | None = None,
) -> BudgetVerdict:
    """The verdict on one artifact's figures (report.json artifact / bench artifact shape).

    `device`: the matching artifact of an imported device bench, with its `host` block; its
    latency and memory replace the host's (size and activations are the file's either way).
    """
    metrics = metrics_from_result(result, budget)
    latency = _latency_source(result, budget, host_cpu)
    memory = {"source": HOST, "processor": host_cpu}
    if latency["source"] == ESTIMATED:
        metrics[budget.latency_metric] = result["estimate"]["high_ms"]
    elif latency["source"] != HOST:
        metrics[budget.latency_metric] = None
    if device is not None:
        measured = metrics_from_result(device, budget)
        cpu = f"{device['host']['cpu']} (device)"
        metrics[budget.latency_metric] = measured[budget.latency_metric]
        metrics["memory_added_mb"] = measured["memory_added_mb"]
        latency = memory = {"source": DEVICE, "processor": cpu}
    sources = {
        budget.latency_metric: latency,
        "memory_added_mb": memory,
        "size_kb": {"source": FILE, "processor": "any processor"},
        "activation_kb": {"source": ESTIMATED, "processor": "from the graph, any processor"},
        "retention": {"source": HOST, "processor": f"{host_cpu} (onnxruntime)"},
    }
    verdict = check_budget(budget, metrics)
    for check in verdict.checks:
        check.update(sources[check["metric"]])
    return verdict


def source_text(check: dict[str, Any]) -> str:
    """Where one check's value comes from, in words (tables and reports)."""
    source = check.get("source")
    if source is None:  # a verdict written before figures named their source
        return "host-measured"
    if source == ESTIMATED and "range_ms" in check:
        low, high = check["range_ms"]
        return (
            f"estimated {low:.3g}-{high:.3g} ms ({check['target']}, calibrated on "
            f"{check['basis']}); upper end checked"
        )
    text = f"{source} ({check['processor']})"
    if check.get("not_on"):
        text += (
            f"; not measured on {check['not_on']}: run `edgekd bench FILE --json` there and "
            "import it with `edgekd report RUN_DIR --device-bench`"
        )
    return text
