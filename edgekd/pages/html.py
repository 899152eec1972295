"""HTML building blocks: the page style, escaping and number formatting, and a generic renderer
that turns any JSON value (dicts, lists of dicts, scalars) into tables. All text is escaped."""

from __future__ import annotations

import json
from collections.abc import Callable
from html import escape
from typing import Any

GRID_MIN = 8  # a flat dict with more keys than this is laid out in columns, not one tall table

CSS = """
:root { --fg:#1f2328; --muted:#59636e; --line:#d1d9e0; --bg:#f6f8fa; --ok:#1a7f37;
        --bad:#cf222e; --unk:#8c959f; --final:#fff8c5; }
* { box-sizing: border-box; }
body { font: 14px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: var(--fg);
       margin: 0 auto; padding: 24px 24px 48px; max-width: 1240px; }
h1 { font-size: 22px; margin: 0 0 8px; }
h2 { font-size: 17px; margin: 32px 0 8px; padding-bottom: 4px;
     border-bottom: 1px solid var(--line); }
h3 { font-size: 14px; margin: 18px 0 6px; }
p, li { max-width: 95ch; }
.muted { color: var(--muted); }
.verdict { display: inline-block; padding: 4px 12px; border-radius: 6px; font-weight: 600;
           color: #fff; }
.verdict.pass { background: var(--ok); } .verdict.fail { background: var(--bad); }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; min-width: 150px;
        background: var(--bg); }
.card .k { font-size: 12px; color: var(--muted); } .card .v { font-size: 20px; font-weight: 600; }
.card .s { font-size: 12px; color: var(--muted); }
table { border-collapse: collapse; margin: 8px 0; font-size: 13px; }
th, td { border: 1px solid var(--line); padding: 4px 7px; vertical-align: top; }
th { background: var(--bg); text-align: left; white-space: nowrap; }
table.arts td:first-child { white-space: nowrap; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.final td { background: var(--final); font-weight: 600; }
.badge { display: inline-block; font-size: 11px; padding: 0 6px; margin-left: 6px;
         border-radius: 10px; background: var(--bad); color: #fff; font-weight: 600; }
.ok { color: var(--ok); font-weight: 600; } .bad { color: var(--bad); font-weight: 600; }
.unk { color: var(--unk); font-weight: 600; }
figure { margin: 12px 0; } figure svg { width: 100%; height: auto; }
figcaption { font-size: 12px; color: var(--muted); }
.figerr { border: 1px dashed var(--line); padding: 8px; color: var(--muted); }
.scroll { overflow-x: auto; }
code { font-size: 12px; background: var(--bg); padding: 0 3px; border-radius: 3px;
       word-break: break-word; }
table.kv th { white-space: nowrap; }
td.nw { white-space: nowrap; } td.small { font-size: 12px; min-width: 220px; }
.kvgrid { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr));
          gap: 2px 16px; font-size: 13px; margin: 8px 0; }
.kvgrid div { border-bottom: 1px solid var(--line); padding: 2px 0; overflow-wrap: anywhere; }
.kvgrid b { color: var(--muted); font-weight: 600; margin-right: 6px; }
details { margin: 8px 0; } summary { cursor: pointer; color: var(--muted); }
footer { margin-top: 32px; font-size: 12px; color: var(--muted); }
"""


def esc(value: Any) -> str:
    return escape(str(value), quote=True)


def is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def fmt(v: Any) -> str:
    """A scalar as escaped text: None -> n/a, floats to 4 significant digits."""
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return esc(f"{v:.4g}")
    return esc(v)


def ms(v: Any) -> str:
    if not is_num(v):
        return "n/a"
    return f"{v:.3f}" if v < 10 else f"{v:.1f}"


def dig(d: Any, *keys: str) -> Any:
    for k in keys:
        d = d.get(k) if isinstance(d, dict) else None
    return d


# ---------------------------------------------------------------------------- generic sections


def _compact(v: Any) -> str:
    if isinstance(v, dict) and all(not isinstance(x, dict | list) for x in v.values()):
        return ", ".join(f"{esc(k)}={fmt(x)}" for k, x in v.items()) or "{}"
    if isinstance(v, list) and all(not isinstance(x, dict | list) for x in v):
        return ", ".join(fmt(x) for x in v) if v else "none"
    return f"<code>{esc(json.dumps(v, default=str))}</code>"


def _cell(v: Any, depth: int) -> str:
    if isinstance(v, dict | list):
        return render_value(v, depth + 1) if depth < 2 else _compact(v)
    return fmt(v)


def _record_cell(v: Any) -> str:
    """A table cell of a list-of-dicts table: one line when short, nested values compacted."""
    if is_num(v):
        return f'<td class="n">{fmt(v)}</td>'
    if isinstance(v, dict | list):
        return f'<td class="small">{_compact(v)}</td>'
    text = fmt(v)
    return f'<td class="nw">{text}</td>' if len(text) <= 40 else f"<td>{text}</td>"


def _records_table(rows: list[dict]) -> str:
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    head = "".join(f"<th>{esc(k)}</th>" for k in keys)
    body = "".join(
        "<tr>" + "".join(_record_cell(r[k]) if k in r else "<td></td>" for k in keys) + "</tr>"
        for r in rows
    )
    return f'<div class="scroll"><table><tr>{head}</tr>{body}</table></div>'


def render_value(value: Any, depth: int = 0) -> str:
    """Any JSON value as HTML: dict -> key/value table, list of dicts -> table, else text."""
    if isinstance(value, dict):
        if not value:
            return '<span class="muted">empty</span>'
        if len(value) > GRID_MIN and all(not isinstance(v, dict | list) for v in value.values()):
            items = "".join(f"<div><b>{esc(k)}</b> {fmt(v)}</div>" for k, v in value.items())
            return f'<div class="kvgrid">{items}</div>'
        rows = "".join(
            f"<tr><th>{esc(k)}</th>"
            + (f'<td class="n">{fmt(v)}</td>' if is_num(v) else f"<td>{_cell(v, depth)}</td>")
            + "</tr>"
            for k, v in value.items()
        )
        return f'<table class="kv">{rows}</table>'
    if isinstance(value, list):
        if value and all(isinstance(x, dict) for x in value):
            return _records_table(value)
        if all(not isinstance(x, dict | list) for x in value):
            return _compact(value)
        return "<ul>" + "".join(f"<li>{_cell(x, depth)}</li>" for x in value) + "</ul>"
    if isinstance(value, str) and len(value) > 80:
        return f"<p>{esc(value)}</p>"
    return fmt(value)


def generic_body(value: Any) -> list[str]:
    if not isinstance(value, dict):
        return [render_value(value)]
    # Prose first (a quantization "reason", a "summary"), then the evidence.
    prose = {k: v for k, v in value.items() if isinstance(v, str) and len(v) > 80}
    parts = [f"<p>{esc(v)}</p>" for v in prose.values()]
    rest = {k: v for k, v in value.items() if k not in prose}
    scalars = {k: v for k, v in rest.items() if not isinstance(v, dict | list)}
    if scalars:
        parts.append(render_value(scalars))
    # Sibling flat dicts over the same keys (channels_before / channels_after): one table.
    groups: dict[tuple, list[str]] = {}
    for k, v in rest.items():
        if isinstance(v, dict) and v and all(not isinstance(x, dict | list) for x in v.values()):
            groups.setdefault(tuple(v), []).append(k)
    merged = {names[0]: names for names in groups.values() if len(names) > 1}
    skip = {n for names in merged.values() for n in names[1:]}
    for k, v in rest.items():
        if k in merged:
            names = merged[k]
            head = "<tr><th></th>" + "".join(f"<th>{esc(n)}</th>" for n in names) + "</tr>"
            rows = "".join(
                f"<tr><th>{esc(key)}</th>"
                + "".join(f'<td class="n">{fmt(rest[n][key])}</td>' for n in names)
                + "</tr>"
                for key in v
            )
            parts += [f"<h3>{esc(' / '.join(names))}</h3>", f"<table>{head}{rows}</table>"]
        elif k not in scalars and k not in skip:
            parts += [f"<h3>{esc(k)}</h3>", render_value(v, 1)]
    return parts


def rows_table(
    headers: list[str], rows: list[list[str]], highlight: Callable[[list[str]], bool] | None = None
) -> str:
    """A scrolling table of pre-formatted rows; rows where `highlight(row)` holds are marked."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(
        f"<tr{' class=final' if highlight and highlight(r) else ''}>"
        + "".join(f"<td>{esc(c)}</td>" for c in r)
        + "</tr>"
        for r in rows
    )
    return f'<div class="scroll"><table><tr>{head}</tr>{body}</table></div>'
