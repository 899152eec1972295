"""A rich table of the candidates, for the command line."""

from __future__ import annotations

import math

from rich.table import Table

from edgekd.quantize.choose import Candidate, QuantizationChoice, verdict


def _num(value: float | None, fmt: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return fmt.format(value)


def _kept(names: list[str]) -> str:
    text = ", ".join(names)
    if not names:
        return "-"
    return text if len(text) <= 24 else f"{len(names)} layers"


def choice_table(choice: QuantizationChoice) -> Table:
    table = Table(
        title=f"p50 at batch 1, {choice.threads} thread(s), {choice.runs} interleaved runs",
        caption="retain: accuracy / fp32 accuracy; int8 nodes: compute nodes onnxruntime "
        "runs in int8 / all compute nodes",
    )
    table.add_column("candidate", no_wrap=True)
    table.add_column("acc", justify="right")
    table.add_column("retain", justify="right")
    table.add_column("p50 ms", justify="right")
    table.add_column("p50/fp32", justify="right")
    table.add_column("size/fp32", justify="right")
    table.add_column("int8 nodes", justify="right")
    table.add_column("kept float")
    table.add_column("verdict")

    def row(c: Candidate) -> None:
        table.add_row(
            c.name,
            _num(c.accuracy, "{:.4f}"),
            _num(c.retention, "{:.2%}"),
            _num(c.p50_ms, "{:.3f}"),
            _num(c.latency_ratio_vs_fp32, "{:.2f}"),
            _num(c.size_ratio_vs_fp32, "{:.2f}"),
            f"{c.int8_nodes}/{c.int8_nodes + c.float_compute_nodes}",
            _kept(c.float_nodes_kept),
            verdict(c, choice.shipped),
            style="bold green" if c.name == choice.shipped else None,
        )

    row(choice.baseline)
    for c in choice.candidates:
        row(c)
    return table


def why_not_lines(choice: QuantizationChoice) -> list[str]:
    """Per candidate: why it did not ship, and which layers the accuracy guard kept in float."""
    lines = []
    for c in choice.candidates:
        if c.why_not and c.name != choice.shipped:
            lines.append(f"{c.name}: {c.why_not}")
        if c.float_nodes_kept:
            lines.append(f"{c.name}: kept in float: {', '.join(c.float_nodes_kept)}")
    return lines
