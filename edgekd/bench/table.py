"""Rich tables for `edgekd bench` and `edgekd profiles`: one column per model, ratios beside.

Rendering only: every number shown comes from the result dict that `--json` prints.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from edgekd.bench.budgets import Budget


def _num(v: Any, fmt: str = "{:,.3f}") -> str:
    return "—" if v is None else fmt.format(v)


def _ms(v: Any) -> str:
    """4 significant digits under 10 ms (tiny models), 2 decimals above."""
    return "—" if v is None else (f"{v:.4g}" if v < 10 else f"{v:,.2f}")


def _kb(v: Any) -> str:
    return "—" if v is None else f"{v / 1024:,.1f} KB"


def _count(v: Any) -> str:
    if v is None:
        return "—"
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if v >= div:
            return f"{v / div:,.2f} {unit}"
    return f"{v:,}"


class AtLeast(int):
    """A count that is a lower bound (some nodes could not be counted); prints as "≥ ..."."""


def macs_of(art: dict) -> int | None:
    """The artifact's MACs, as AtLeast when `macs_uncounted_nodes` names what is missing."""
    macs = art.get("macs")
    return AtLeast(macs) if macs is not None and art.get("macs_uncounted_nodes") else macs


def count_text(v: Any) -> str:
    """_count, with "≥ " before a lower bound."""
    return f"≥ {_count(v)}" if isinstance(v, AtLeast) else _count(v)


def host_line(host: dict) -> str:
    """The CPU's int8-relevant instruction sets and what they mean, for every report."""
    feats = host.get("cpu_features")
    listed = ", ".join(feats) if feats else ("none found" if feats == [] else "unknown")
    return f"CPU features: {listed} — int8: {host.get('int8_path', 'unknown')}"


def _get(art: dict, *keys: str) -> Any:
    cur: Any = art
    for k in keys:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(k)
    return cur


Row = tuple[str, Callable[[dict], Any], Callable[[Any], str], bool]

ROWS: list[Row] = [
    ("file size", lambda a: a.get("size_bytes"), _kb, True),
    ("gzip size", lambda a: a.get("gzip_bytes"), _kb, True),
    ("params", lambda a: a.get("params"), _count, True),
    ("MACs (batch 1)", macs_of, count_text, True),
    ("peak activations (est.)", lambda a: a.get("peak_activation_bytes"), _kb, True),
    ("latency p50 ms", lambda a: _get(a, "latency_ms", "p50"), _ms, True),
    ("latency p90 ms", lambda a: _get(a, "latency_ms", "p90"), _ms, True),
    ("latency p95 ms", lambda a: _get(a, "latency_ms", "p95"), _ms, True),
    ("latency p99 ms", lambda a: _get(a, "latency_ms", "p99"), _ms, True),
    (
        "latency mean ± std ms",
        lambda a: _get(a, "latency_ms"),
        lambda d: "—" if not d else f"{_ms(d['mean'])} ± {_ms(d['std'])}",
        False,
    ),
    ("latency min ms", lambda a: _get(a, "latency_ms", "min"), _ms, True),
    ("cold start ms", lambda a: _get(a, "cold_start_ms", "total"), _ms, True),
    ("memory peak MB", lambda a: _get(a, "memory_mb", "peak"), lambda v: _num(v, "{:,.1f}"), True),
    (
        "memory added MB",
        lambda a: _get(a, "memory_mb", "added"),
        lambda v: _num(v, "{:,.1f}"),
        True,
    ),
    (
        "memory added MB, arena off",
        lambda a: _get(a, "memory_mb", "arena_off", "added"),
        lambda v: _num(v, "{:,.1f}"),
        True,
    ),
]


def bench_table(result: dict[str, Any]) -> Table:
    arts = result["artifacts"]
    s = result["settings"]
    runs = f"{s['runs']} runs" if s.get("runs") else f"{s['duration_s']} s"
    title = f"threads {s['threads']} · batch {s['batch']} · {runs} after {s['warmup']} warm-up" + (
        " · interleaved" if s.get("interleaved") else ""
    )
    t = Table(title=title, title_justify="left")
    t.add_column("")
    for i, a in enumerate(arts):
        head = a["name"] if i == 0 else f"{a['name']}\n(× {arts[0]['name']})"
        t.add_column(head, justify="right")

    def cells(vals: list[Any], fmt: Callable[[Any], str], ratio: bool) -> list[str]:
        out = []
        for i, v in enumerate(vals):
            text, base = fmt(v), vals[0]
            if i > 0 and ratio and isinstance(v, int | float) and isinstance(base, int | float):
                text += f" ({v / base:.2f}x)" if base else ""
            out.append(text)
        return out

    for label, get, fmt, ratio in ROWS:
        vals = [get(a) for a in arts]
        if any(v is not None for v in vals):
            t.add_row(label, *cells(vals, fmt, ratio))
    batches = sorted({tp["batch"] for a in arts for tp in a.get("throughput", [])})
    for b in batches:
        vals = []
        for a in arts:
            hit = [tp for tp in a.get("throughput", []) if tp["batch"] == b]
            vals.append(hit[0]["items_per_s"] if hit else None)
        t.add_row(
            f"throughput items/s @ batch {b}", *cells(vals, lambda v: _num(v, "{:,.0f}"), True)
        )
    return t


def verdict_table(budget: dict[str, Any]) -> Table:
    """One row per limit: value, limit, margin (headroom: positive met, negative missed)."""
    ok = budget["ok"]
    unmeasured = sum(c["ok"] is None for c in budget["checks"])
    extra = f" ({unmeasured} limit(s) not measured here)" if unmeasured else ""
    from edgekd.bench.verdict import source_text

    target = f" (target {budget.get('target', 'host')})"
    t = Table(
        title=f"budget {budget['profile']}{target}: {'[green]met' if ok else '[red]MISSED'}[/]"
        f"{extra}",
        title_justify="left",
    )
    with_artifact = any("artifact" in c for c in budget["checks"])
    if with_artifact:
        t.add_column("model")
    t.add_column("metric")
    for col in ("value", "limit", "margin"):
        t.add_column(col, justify="right")
    t.add_column("status")
    t.add_column("source")
    for c in budget["checks"]:
        status = {True: "[green]ok", False: "[red]missed", None: "[yellow]not measured"}[c["ok"]]
        row = [c["metric"], _num(c["value"], "{:,.4g}"), _num(c["limit"], "{:,.4g}")]
        row += [_num(c["margin"], "{:+,.4g}"), status, source_text(c)]
        t.add_row(*([c["artifact"]] if with_artifact else []), *row)
    return t


def make_console() -> Console:
    """A terminal's own width; 160 columns when piped, so tables do not wrap into a mess."""
    c = Console()
    return c if c.is_terminal else Console(width=160)


def render_bench(result: dict[str, Any], out: Console | None = None) -> None:
    console = out or make_console()
    h = result["host"]
    console.print(
        f"[bold]edgekd bench[/] on {h['cpu']} ({h['cores']} cores), onnxruntime {h['onnxruntime']}"
        " — host timings, not device timings"
    )
    console.print(host_line(h))
    console.print(bench_table(result))
    overhead = _get(result["artifacts"][0], "latency_ms", "loop_overhead")
    if overhead is not None:
        console.print(f"timing-loop overhead: {overhead * 1e3:,.1f} µs per call (trivial graph)")
    for a in result["artifacts"]:
        for note in a.get("notes", []):
            console.print(f"[yellow]note[/] {a['name']}: {note}")
    if result.get("ort"):
        o = result["ort"]
        console.print(f"wrote {', '.join(o['files'])} and {o['config']}")
    if result.get("budget"):
        console.print(verdict_table(result["budget"]))


def profiles_table(profiles: Sequence[Budget]) -> Table:
    t = Table(title="budget profiles (override with a TOML file or --max-* options)")
    for col in ("profile", "threads", "batch", "latency", "added memory", "file size"):
        t.add_column(col)
    t.add_column("activations (est.)")
    t.add_column("min retention")
    t.add_column("target")
    t.add_column("class")
    for p in profiles:
        t.add_row(
            p.name,
            str(p.threads),
            str(p.batch),
            f"{p.latency_percentile} ≤ {p.max_latency_ms:g} ms" if p.max_latency_ms else "—",
            f"≤ {p.max_memory_mb:g} MB" if p.max_memory_mb else "—",
            f"≤ {p.max_size_kb / 1024:g} MB" if p.max_size_kb else "—",
            f"≤ {p.max_activation_kb:g} KB" if p.max_activation_kb else "—",
            f"≥ {p.min_retention:g}" if p.min_retention else "—",
            p.target,
            p.description,
        )
    return t
