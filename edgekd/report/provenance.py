"""Where each figure of a report comes from, for the report's header: measured on this host,
measured on the device (an imported bench), estimated, or a property of the file; and for which
processor. Shared by report.md, report.html and `edgekd report`. Imports no torch."""

from __future__ import annotations

from typing import Any

from edgekd.bench.targets import TARGETS
from edgekd.bench.verdict import source_text


def provenance_lines(report: dict[str, Any]) -> list[str]:
    """One line per budget figure plus the host tables' and any imported device bench."""
    budget = report.get("budget") or {}
    host = report.get("host") or {}
    cpu = host.get("cpu", "this host")
    target = budget.get("target", "host")
    described = TARGETS[target].description if target in TARGETS else target
    lines = [
        f"Verdict for target {target} ({described}); this host: {cpu} "
        f"(class {host.get('target_class') or 'unknown'})."
    ]
    lines += [f"{c['metric']}: {source_text(c)}" for c in budget.get("checks", [])]
    lines.append(
        f"Tables below (accuracy, p50/p90, memory): host-measured on {cpu} with onnxruntime."
    )
    device = report.get("device_bench")
    if device:
        before = report.get("budget_host", {}).get("ok")
        host_word = {True: "met", False: "missed", None: "n/a"}[before]
        lines.append(
            f"Device bench imported from {device['file']}: {device['cpu']}; the verdict above is "
            f"recomputed from it (on the host's figures the budget was {host_word})."
        )
        if device.get("quantized_vs_fp32"):
            lines.append(f"On the device: {device['quantized_vs_fp32']['verdict']}.")
    return lines
