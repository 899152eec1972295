"""Numbers as short human text (file sizes, parameter counts), for markdown and HTML alike;
and the Markdown table both report.md files are made of."""

from __future__ import annotations


def size_text(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def count_text(n: int) -> str:
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= div:
            return f"{n / div:.1f}{suffix}"
    return str(n)


def macs_cell(a: dict) -> str:
    """MACs, with "≥" when graph counting named nodes it could not count (a lower bound)."""
    macs = a.get("macs")
    if not isinstance(macs, int | float):
        return "n/a"
    return ("≥ " if a.get("macs_uncounted_nodes") else "") + count_text(macs)


def retention_text(retention: float) -> str:
    """Retention above 1 means the student beat its teacher: say so, never a bare 4.29."""
    text = f"{retention:.3f}"
    return text + " (teacher is the weaker model)" if retention > 1 else text


def md_table(headers: list[str], rows: list[list[str]]) -> str:
    """A GitHub Markdown table; a `|` inside a cell (a spec, a note) is escaped so it cannot
    split the cell."""

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(headers), "|" + "---|" * len(headers), *map(line, rows)])
