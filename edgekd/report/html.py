"""report.html: one offline file (inline CSS and SVG figures; no scripts, fonts or links out).

Built from report.json alone, so `edgekd report RUN_DIR` can redraw it anywhere. Sections
it does not know (anything other stages add to report.json later) are still shown, through a
generic renderer for dicts, lists of dicts and scalars. All text is HTML-escaped.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from html import escape
from typing import Any

from edgekd.report import plots
from edgekd.report.render import _count, _size, macs_cell

# Keys with a dedicated place on the page; every other top-level key is an extra section.
CORE_KEYS = ("edgekd_version", "host", "config", "artifacts", "final", "budget", "notes")
# Known optional sections first, in this order; unknown ones follow in report.json order.
SECTION_ORDER = ("distillation", "training", "pruning", "quantization", "parity")
GRID_MIN = 8  # a flat dict with more keys than this is laid out in columns, not one tall table
TITLES = {"distillation": "Distillation", "quantization": "Quantization candidates"}

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


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _fmt(v: Any) -> str:
    """A scalar as escaped text: None -> n/a, floats to 4 significant digits."""
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return _e(f"{v:.4g}")
    return _e(v)


def _ms(v: Any) -> str:
    if not _is_num(v):
        return "n/a"
    return f"{v:.3f}" if v < 10 else f"{v:.1f}"


def _get(d: Any, *keys: str) -> Any:
    for k in keys:
        d = d.get(k) if isinstance(d, dict) else None
    return d


# ---------------------------------------------------------------------------- generic sections


def _compact(v: Any) -> str:
    if isinstance(v, dict) and all(not isinstance(x, dict | list) for x in v.values()):
        return ", ".join(f"{_e(k)}={_fmt(x)}" for k, x in v.items()) or "{}"
    if isinstance(v, list) and all(not isinstance(x, dict | list) for x in v):
        return ", ".join(_fmt(x) for x in v) if v else "none"
    return f"<code>{_e(json.dumps(v, default=str))}</code>"


def _cell(v: Any, depth: int) -> str:
    if isinstance(v, dict | list):
        return render_value(v, depth + 1) if depth < 2 else _compact(v)
    return _fmt(v)


def _record_cell(v: Any) -> str:
    """A table cell of a list-of-dicts table: one line when short, nested values compacted."""
    if _is_num(v):
        return f'<td class="n">{_fmt(v)}</td>'
    if isinstance(v, dict | list):
        return f'<td class="small">{_compact(v)}</td>'
    text = _fmt(v)
    return f'<td class="nw">{text}</td>' if len(text) <= 40 else f"<td>{text}</td>"


def _records_table(rows: list[dict]) -> str:
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    head = "".join(f"<th>{_e(k)}</th>" for k in keys)
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
            items = "".join(f"<div><b>{_e(k)}</b> {_fmt(v)}</div>" for k, v in value.items())
            return f'<div class="kvgrid">{items}</div>'
        rows = "".join(
            f"<tr><th>{_e(k)}</th>"
            + (f'<td class="n">{_fmt(v)}</td>' if _is_num(v) else f"<td>{_cell(v, depth)}</td>")
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
        return f"<p>{_e(value)}</p>"
    return _fmt(value)


def _generic_body(value: Any) -> list[str]:
    if not isinstance(value, dict):
        return [render_value(value)]
    # Prose first (a quantization "reason", a "summary"), then the evidence.
    prose = {k: v for k, v in value.items() if isinstance(v, str) and len(v) > 80}
    parts = [f"<p>{_e(v)}</p>" for v in prose.values()]
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
            head = "<tr><th></th>" + "".join(f"<th>{_e(n)}</th>" for n in names) + "</tr>"
            rows = "".join(
                f"<tr><th>{_e(key)}</th>"
                + "".join(f'<td class="n">{_fmt(rest[n][key])}</td>' for n in names)
                + "</tr>"
                for key in v
            )
            parts += [f"<h3>{_e(' / '.join(names))}</h3>", f"<table>{head}{rows}</table>"]
        elif k not in scalars and k not in skip:
            parts += [f"<h3>{_e(k)}</h3>", render_value(v, 1)]
    return parts


def rows_table(
    headers: list[str], rows: list[list[str]], highlight: Callable[[list[str]], bool] | None = None
) -> str:
    """A scrolling table of pre-formatted rows; rows where `highlight(row)` holds are marked."""
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        f"<tr{' class=final' if highlight and highlight(r) else ''}>"
        + "".join(f"<td>{_e(c)}</td>" for c in r)
        + "</tr>"
        for r in rows
    )
    return f'<div class="scroll"><table><tr>{head}</tr>{body}</table></div>'


def _quantization_body(quant: Any) -> list[str] | None:
    """The candidates table report.md and the terminal show (edgekd.quantize.table), shipped
    row highlighted; None when the section has another shape (then it renders generically)."""
    try:
        from edgekd.quantize.table import HEADERS, candidate_rows, caption, why_lines

        rows, cap, why = candidate_rows(quant), caption(quant), why_lines(quant)
    except (ImportError, KeyError, TypeError, ValueError, AttributeError, IndexError):
        return None
    parts = [
        f"<p>{_e(quant.get('reason', ''))}</p>",
        rows_table(HEADERS, rows, lambda r: r[0] == quant.get("shipped")),
        f'<p class="muted">{_e(cap)}</p>',
    ]
    if why:
        parts.append("<ul>" + "".join(f"<li>{_e(line)}</li>" for line in why) + "</ul>")
    parts.append(
        "<details><summary>every recorded field</summary>"
        + "".join(_generic_body(quant))
        + "</details>"
    )
    return parts


def _section(key: str, value: Any) -> str:
    title = TITLES.get(key, key.replace("_", " ").capitalize())
    body = _quantization_body(value) if key == "quantization" else None
    if key == "search" and isinstance(value, dict):  # edgekd search: its Pareto plot first
        from edgekd.search.report import search_figure

        body = [search_figure(value), *_generic_body(value)]
    return "\n".join([f'<h2 id="{_e(key)}">{_e(title)}</h2>', *(body or _generic_body(value))])


def extra_sections(report: dict) -> list[str]:
    """Every top-level key that is not part of the core contract and holds something."""
    keys = [k for k in SECTION_ORDER if k in report]
    keys += [k for k in report if k not in CORE_KEYS and k not in keys]
    return [k for k in keys if report.get(k) not in (None, {}, [], "")]


# ---------------------------------------------------------------------------- core sections


def _figure(draw: Callable[[dict], str | None], report: dict, caption: str) -> str:
    try:
        svg = draw(report)
    except ImportError as e:
        return (
            f'<p class="figerr">figure omitted: {_e(e.name or e)} is not installed '
            f"(pip install 'edgekd[train]' adds matplotlib)</p>"
        )
    except Exception as e:  # a figure must never cost the report; say what went wrong
        return f'<p class="figerr">figure could not be drawn: {_e(type(e).__name__)}: {_e(e)}</p>'
    if svg is None:
        return f'<p class="figerr">nothing to draw: {_e(caption)}</p>'
    return f"<figure>{svg}<figcaption>{_e(caption)}</figcaption></figure>"


def _artifacts(report: dict) -> list[dict]:
    arts = report.get("artifacts")
    return [a for a in arts if isinstance(a, dict)] if isinstance(arts, list) else []


def _ratio(ref: Any, val: Any) -> float | None:
    return ref / val if _is_num(ref) and _is_num(val) and val > 0 else None


def _cards(report: dict) -> str:
    arts = _artifacts(report)
    final = next((a for a in arts if a.get("name") == report.get("final")), None)
    if final is None:
        return ""
    ref = arts[0] if arts and arts[0] is not final else None
    vs = f" vs {_e(ref.get('name'))}" if ref else ""

    def card(label: str, value: str, sub: str = "") -> str:
        sub_html = f'<div class="s">{sub}</div>' if sub else ""
        return (
            f'<div class="card"><div class="k">{label}</div><div class="v">{value}</div>'
            f"{sub_html}</div>"
        )

    acc, ret = final.get("accuracy"), final.get("retention")
    p90 = _get(final, "latency_ms", "p90")
    size, mem = final.get("size_bytes"), _get(final, "memory_mb", "added")
    faster = _ratio(_get(ref, "latency_ms", "p90"), p90) if ref else None
    smaller = _ratio(_get(ref, "size_bytes"), size) if ref else None
    out = [
        card("ships", _e(final.get("name")), _e(final.get("path", ""))),
        card(
            "test accuracy",
            f"{acc:.2%}" if _is_num(acc) else "n/a",
            f"retention {ret:.1%}{vs}" if _is_num(ret) and ref else "",
        ),
        card(
            "p90 latency",
            f"{_ms(p90)} ms",
            f"{faster:.1f}x faster{vs}" if faster else "",
        ),
        card(
            "file size",
            _size(size) if _is_num(size) else "n/a",
            f"{smaller:.1f}x smaller{vs}" if smaller else "",
        ),
        card("memory added", f"{mem:.1f} MB" if _is_num(mem) else "n/a", "peak over bare runtime"),
    ]
    return f'<div class="cards">{"".join(out)}</div>'


ARTIFACT_HEADERS = [
    "artifact", "precision", "accuracy", "retention", "size", "gzip", "params", "MACs",
    "p50 ms", "p90 ms", "p99 ms", "mem added MB", "file",
]  # fmt: skip


def artifact_table(report: dict) -> str:
    rows = []
    for a in _artifacts(report):
        is_final = a.get("name") == report.get("final")
        lat = a.get("latency_ms") if isinstance(a.get("latency_ms"), dict) else {}
        acc, ret, mem = a.get("accuracy"), a.get("retention"), _get(a, "memory_mb", "added")
        files = _e(a.get("path", ""))
        if a.get("ort_path"):
            ort = _e(a["ort_path"])
            if _is_num(a.get("ort_size_bytes")):
                ort += f" ({_e(_size(a['ort_size_bytes']))})"
            files += f"<br>{ort}"
        if a.get("ort_config"):
            files += f"<br>{_e(a['ort_config'])}"

        def num(f, v):
            return f(v) if _is_num(v) else "n/a"

        cells = [
            num(lambda v: f"{v:.4f}", acc),
            num(lambda v: f"{v:.3f}", ret),
            num(_size, a.get("size_bytes")),
            num(_size, a.get("gzip_bytes")),
            num(_count, a.get("params")),
            macs_cell(a),
            _ms(lat.get("p50")),
            _ms(lat.get("p90")),
            _ms(lat.get("p99")),
            num(lambda v: f"{v:.1f}", mem),
        ]
        badge = '<span class="badge">final</span>' if is_final else ""
        rows.append(
            f"<tr{' class=final' if is_final else ''}>"
            f"<td>{_e(a.get('name', '?'))}{badge}</td><td>{_e(a.get('precision', ''))}</td>"
            + "".join(f'<td class="n">{_e(c)}</td>' for c in cells)
            + f"<td>{files}</td></tr>"
        )
    head = "".join(f"<th>{h}</th>" for h in ARTIFACT_HEADERS)
    return f'<div class="scroll"><table class="arts"><tr>{head}</tr>{"".join(rows)}</table></div>'


def budget_table(report: dict) -> str:
    checks = _get(report, "budget", "checks") or []
    verdicts = {True: ("ok", "met"), False: ("bad", "MISSED"), None: ("unk", "not measured")}
    rows = []
    for c in checks:
        if not isinstance(c, dict):
            continue
        cls, word = verdicts.get(c.get("ok"), verdicts[None])
        rows.append(
            f"<tr><td>{_e(c.get('metric', '?'))}</td><td class=n>{_fmt(c.get('value'))}</td>"
            f"<td class=n>{_fmt(c.get('limit'))}</td><td class=n>{_fmt(c.get('margin'))}</td>"
            f'<td class="{cls}">{word}</td></tr>'
        )
    if not rows:
        return '<p class="muted">no budget limits were checked</p>'
    head = "<tr><th>metric</th><th>value</th><th>limit</th><th>margin</th><th>verdict</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def _verdict(report: dict) -> str:
    budget = report.get("budget") if isinstance(report.get("budget"), dict) else {}
    ok = budget.get("ok")
    profile = _e(budget.get("profile", "?"))
    if ok:
        return f"<span class=\"verdict pass\">budget '{profile}': all limits met</span>"
    missed = [c.get("metric") for c in budget.get("checks") or [] if c.get("ok") is False]
    which = f" ({_e(', '.join(map(str, missed)))})" if missed else ""
    return f"<span class=\"verdict fail\">budget '{profile}': a limit is MISSED{which}</span>"


def _setup_line(report: dict) -> str:
    lat = next((a["latency_ms"] for a in _artifacts(report) if "latency_ms" in a), {})
    parts = [f"{k} {lat[k]}" for k in ("batch", "threads", "runs") if k in lat]
    return (
        "Accuracy on the held-out test split, measured by onnxruntime on the ONNX files. "
        f"Latency: {_e(', '.join(parts) or 'setup not recorded')}, after warm-up, models "
        "interleaved. Memory: peak of a fresh child process (VmHWM) minus the bare runtime."
    )


def render_html(report: dict) -> str:
    """The whole page as one string; needs only report.json (matplotlib for the figures)."""
    data = _get(report, "config", "data") or "?"
    title = f"edgekd report: {data} -> {report.get('final', '?')}"
    host = dict(report.get("host") or {})
    host["edgekd"] = report.get("edgekd_version", "?")
    body = [
        f"<h1>{_e(title)}</h1>",
        _verdict(report),
        _cards(report),
        "<h2>Artifacts</h2>",
        artifact_table(report),
        f'<p class="muted">{_setup_line(report)}</p>',
        _figure(
            plots.pareto_svg,
            report,
            "Each point is one ONNX file; arrows follow the chain teacher -> student -> "
            "pruned -> quantized; the ringed point ships.",
        ),
        "<h2>Latency distribution</h2>",
        _figure(
            plots.latency_svg,
            report,
            "Drawn from the stored percentiles (report.json keeps no raw samples).",
        ),
        "<h2>Budget verdict</h2>",
        _figure(plots.budget_svg, report, "Verdict for the final artifact, limit by limit."),
        budget_table(report),
    ]
    notes = [n for n in report.get("notes") or [] if n]
    if notes:
        body += ["<h2>Notes</h2>", "<ul>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>"]
    body += [_section(k, report[k]) for k in extra_sections(report)]
    body += [
        "<h2>Host and libraries</h2>",
        render_value(host),
        '<p class="muted">Host timings are not device timings: run <code>edgekd bench</code> '
        "on the device before trusting a latency budget.</p>",
    ]
    if isinstance(report.get("config"), dict):
        body.append(
            "<details><summary>Run configuration</summary>"
            + render_value(report["config"])
            + "</details>"
        )
    body.append(
        "<footer>Written by edgekd from report.json; redraw with "
        "<code>edgekd report RUN_DIR</code>.</footer>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        + "\n".join(b for b in body if b)
        + "\n</body>\n</html>\n"
    )
