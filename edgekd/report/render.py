"""Human-facing views of report.json: Markdown and the terminal table share one row builder."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from edgekd.atomic import write_text_atomic

HEADERS = [
    "artifact",
    "precision",
    "accuracy",
    "retention",
    "size",
    "params",
    "MACs",
    "p50 ms",
    "p90 ms",
    "mem added MB",
]


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _count(n: int) -> str:
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= div:
            return f"{n / div:.1f}{suffix}"
    return str(n)


def artifact_rows(report: dict) -> list[list[str]]:
    rows = []
    for a in report["artifacts"]:
        mem = a["memory_mb"].get("added")
        name = a["name"] + (" (final)" if a["name"] == report["final"] else "")
        rows.append(
            [
                name,
                a["precision"],
                f"{a['accuracy']:.4f}",
                f"{a['retention']:.3f}",
                _size(a["size_bytes"]),
                _count(a["params"]),
                _count(a["macs"]),
                f"{a['latency_ms']['p50']:.3f}",
                f"{a['latency_ms']['p90']:.3f}",
                "n/a" if mem is None else f"{mem:.1f}",
            ]
        )
    return rows


def check_rows(report: dict) -> list[list[str]]:
    verdicts = {True: "ok", False: "MISSED", None: "not measured"}
    return [
        [
            c["metric"],
            "n/a" if c["value"] is None else f"{c['value']:.4g}",
            f"{c['limit']:.4g}",
            verdicts[c["ok"]],
        ]
        for c in report["budget"]["checks"]
    ]


def _verdict(report: dict) -> str:
    b = report["budget"]
    return f"budget '{b['profile']}': " + ("all limits met" if b["ok"] else "a limit is MISSED")


def _md_table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def render_markdown(report: dict) -> str:
    host = report["host"]
    lat = report["artifacts"][0]["latency_ms"]
    parts = [
        f"# edgekd report: {report['config']['data']} -> {report['final']}",
        f"**{_verdict(report)}**",
        _md_table(HEADERS, artifact_rows(report)),
        f"Accuracy on the held-out test split, measured by onnxruntime on the ONNX files. "
        f"Latency: batch {lat['batch']}, {lat['threads']} thread(s), {lat['runs']} runs "
        f"after warm-up, models interleaved. Memory: peak of a fresh child process (VmHWM) "
        f"minus the bare runtime.",
        "## Budget checks",
        _md_table(["metric", "value", "limit", "verdict"], check_rows(report)),
    ]
    quant = report.get("quantization")
    if quant:
        parts += ["## Quantization", quant["reason"]]
    if report.get("notes"):
        parts += ["## Notes", "\n".join(f"- {n}" for n in report["notes"])]
    parts.append(
        f"Host: {host['cpu']}, {host['cores']} cores; onnxruntime {host['onnxruntime']}, "
        f"torch {host['torch']}; edgekd {report['edgekd_version']}."
    )
    return "\n\n".join(parts) + "\n"


def write_reports(run_dir: Path, report: dict) -> list[Path]:
    paths = [
        write_text_atomic(run_dir / "report.json", json.dumps(report, indent=2)),
        write_text_atomic(run_dir / "report.md", render_markdown(report)),
    ]
    return paths


def print_summary(report: dict, console: Console) -> None:
    table = Table(title=f"edgekd: {report['config']['data']} -> {report['final']}")
    for h in HEADERS:
        table.add_column(h, justify="left" if h in ("artifact", "precision") else "right")
    for row in artifact_rows(report):
        table.add_row(*row)
    console.print(table)
    checks = Table(title=_verdict(report))
    for h in ("metric", "value", "limit", "verdict"):
        checks.add_column(h)
    for row in check_rows(report):
        checks.add_row(*row, style=None if row[-1] == "ok" else "bold red")
    console.print(checks)
