"""The candidates table: one row builder for report.md, the compress summary and `edgekd quantize`.

Rows are built from `QuantizationChoice.to_dict()` (the `quantization` section of report.json), so
a report read back from disk renders exactly like a choice made a moment ago.
"""

from __future__ import annotations

from rich.table import Table

HEADERS = [
    "candidate",
    "accuracy",
    "retention",
    "p50 ms",
    "p50/fp32",
    "size/fp32",
    "int8/float nodes",
    "kept in float",
    "spec acc",
    "numerics",
    "verdict",
]
RIGHT = {"accuracy", "spec acc", "retention", "p50 ms", "p50/fp32", "size/fp32", "int8/float nodes"}


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None else fmt.format(value)


def _kept(names: list[str]) -> str:
    if not names:
        return "-"
    if len(names) <= 2:
        return ", ".join(names)
    return f"{names[0]}, {names[1]} +{len(names) - 2} more"


def numerics(c: dict) -> str:
    """ "host-dependent" when this host's kernels and the ONNX spec disagree, "spec" when they
    agree, "-" when not checked (fp32, fp16, or a spec run that failed)."""
    if c.get("host_dependent"):
        return "host-dependent"
    return "spec" if c.get("spec_agreement") is not None else "-"


def candidate_row(c: dict) -> list[str]:
    built = c.get("p50_ms") is not None or c.get("mode") == "fp32"
    return [
        c["name"],
        _num(c.get("accuracy"), "{:.4f}"),
        _num(c.get("retention"), "{:.2%}"),
        _num(c.get("p50_ms"), "{:.4f}"),
        _num(c.get("latency_ratio_vs_fp32"), "{:.2f}"),
        _num(c.get("size_ratio_vs_fp32"), "{:.2f}"),
        f"{c['int8_nodes']}/{c['float_compute_nodes']}" if built else "-",
        _kept(c.get("float_nodes_kept") or []),
        _num(c.get("spec_accuracy"), "{:.4f}"),
        numerics(c),
        c.get("verdict", ""),
    ]


def candidate_rows(quant: dict) -> list[list[str]]:
    """fp32 first, then every candidate in the order it was built."""
    return [candidate_row(c) for c in [quant["baseline"], *quant["candidates"]]]


def caption(quant: dict) -> str:
    lat = quant["latency"]
    where = (
        f" (host timing, not {quant['target']}'s: the choice followed the target rule)"
        if quant.get("kernels_differ")
        else ""
    )
    return (
        f"{quant.get('judged_on', 'Validation split')}; p50{where} at batch {lat['batch']}, "
        f"{lat['threads']} thread(s), "
        f"{lat['runs']} runs, all candidates interleaved. retention = accuracy / fp32 accuracy "
        f"(tolerance {quant['max_accuracy_drop'] * 100:.2f} points). int8/float nodes: compute "
        f"nodes onnxruntime runs in int8 / in float after its graph optimizations. spec acc = the "
        f"same file by the ONNX spec's semantics (int8 only); numerics: host-dependent = this "
        f"host's kernels and the spec disagree (a prediction flips or a logit moves more than "
        f"1.5 8-bit steps), so the accuracy is this host's, not a device's; spec = they agree."
    )


def why_lines(quant: dict) -> list[str]:
    """Per candidate: why it did not ship, and which layers the accuracy guard kept in float."""
    lines = []
    for c in quant["candidates"]:
        if c.get("why_not") and c["name"] != quant["shipped"]:
            lines.append(f"{c['name']}: {c['why_not']}")
        if c.get("host_dependent"):
            lines.append(
                f"{c['name']}: host-dependent numerics: accuracy {c['accuracy']:.4f} here, "
                f"{c['spec_accuracy']:.4f} by the spec ({c['spec_path']}); "
                f"{c['spec_agreement']:.2%} of predictions equal"
            )
        elif c.get("spec_path", "").startswith("not checked"):
            lines.append(f"{c['name']}: spec numerics {c['spec_path']}")
        if c.get("float_nodes_kept"):
            lines.append(f"{c['name']}: kept in float: {', '.join(c['float_nodes_kept'])}")
    return lines


def rich_table(quant: dict, title: str | None = None) -> Table:
    table = Table(title=title or "quantization candidates", caption=caption(quant))
    for h in HEADERS:
        justify = "right" if h in RIGHT else "left"
        table.add_column(h, justify=justify, no_wrap=h in ("candidate", "numerics", "verdict"))
    for row in candidate_rows(quant):
        table.add_row(*row, style="bold green" if row[0] == quant["shipped"] else None)
    return table
