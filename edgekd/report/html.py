"""report.html: one offline file (inline CSS and SVG figures; no scripts, fonts or links out).

Built from report.json alone, so `edgekd report RUN_DIR` can redraw it anywhere. Sections
it does not know (anything other stages add to report.json later) are still shown, through a
generic renderer for dicts, lists of dicts and scalars. All text is HTML-escaped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from edgekd.bench.verdict import source_text
from edgekd.pages.html import CSS, dig, esc, fmt, generic_body, is_num, ms, render_value, rows_table
from edgekd.pages.text import count_text, data_name, macs_cell, retention_text, size_text
from edgekd.report import plots
from edgekd.report.provenance import provenance_lines
from edgekd.second_runtime import shipped_line, verdict_suffix

# Keys with a dedicated place on the page; every other top-level key is an extra section.
CORE_KEYS = (
    "edgekd_version", "host", "config", "artifacts", "final", "budget", "notes", "budget_spec",
)  # fmt: skip
# Known optional sections first, in this order; unknown ones follow in report.json order.
SECTION_ORDER = ("distillation", "training", "pruning", "quantization", "parity")
TITLES = {
    "distillation": "Distillation",
    "quantization": "Quantization candidates",
    "stages": "Stage wall times (s), with the run's peak memory so far (MiB)",
}


def _quantization_body(quant: Any) -> list[str] | None:
    """The candidates table report.md and the terminal show (edgekd.quantize.table), shipped
    row highlighted; None when the section has another shape (then it renders generically)."""
    try:
        from edgekd.quantize.table import HEADERS, candidate_rows, caption, why_lines

        rows, cap, why = candidate_rows(quant), caption(quant), why_lines(quant)
    except (ImportError, KeyError, TypeError, ValueError, AttributeError, IndexError):
        return None
    parts = [
        f"<p>{esc(quant.get('reason', ''))}</p>",
        rows_table(HEADERS, rows, lambda r: r[0] == quant.get("shipped")),
        f'<p class="muted">{esc(cap)}</p>',
    ]
    if why:
        parts.append("<ul>" + "".join(f"<li>{esc(line)}</li>" for line in why) + "</ul>")
    parts.append(
        "<details><summary>every recorded field</summary>"
        + "".join(generic_body(quant))
        + "</details>"
    )
    return parts


def _section(key: str, value: Any) -> str:
    title = TITLES.get(key, key.replace("_", " ").capitalize())
    body = _quantization_body(value) if key == "quantization" else None
    if key == "search" and isinstance(value, dict):  # edgekd search: its Pareto plot first
        from edgekd.pages.search_plot import search_figure

        body = [search_figure(value), *generic_body(value)]
    return "\n".join([f'<h2 id="{esc(key)}">{esc(title)}</h2>', *(body or generic_body(value))])


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
            f'<p class="figerr">figure omitted: {esc(e.name or e)} is not installed '
            f"(pip install 'edgekd[train]' adds matplotlib)</p>"
        )
    except Exception as e:  # a figure must never cost the report; say what went wrong
        return f'<p class="figerr">figure could not be drawn: {esc(type(e).__name__)}: {esc(e)}</p>'
    if svg is None:
        return f'<p class="figerr">nothing to draw: {esc(caption)}</p>'
    return f"<figure>{svg}<figcaption>{esc(caption)}</figcaption></figure>"


def _artifacts(report: dict) -> list[dict]:
    arts = report.get("artifacts")
    return [a for a in arts if isinstance(a, dict)] if isinstance(arts, list) else []


def _ratio(ref: Any, val: Any) -> float | None:
    return ref / val if is_num(ref) and is_num(val) and val > 0 else None


def _cards(report: dict) -> str:
    arts = _artifacts(report)
    final = next((a for a in arts if a.get("name") == report.get("final")), None)
    if final is None:
        return ""
    ref = arts[0] if arts and arts[0] is not final else None
    vs = f" vs {esc(ref.get('name'))}" if ref else ""

    def card(label: str, value: str, sub: str = "") -> str:
        sub_html = f'<div class="s">{sub}</div>' if sub else ""
        return (
            f'<div class="card"><div class="k">{label}</div><div class="v">{value}</div>'
            f"{sub_html}</div>"
        )

    acc, ret = final.get("accuracy"), final.get("retention")
    p90 = dig(final, "latency_ms", "p90")
    size, mem = final.get("size_bytes"), dig(final, "memory_mb", "added")
    faster = _ratio(dig(ref, "latency_ms", "p90"), p90) if ref else None
    smaller = _ratio(dig(ref, "size_bytes"), size) if ref else None
    out = [
        card("ships", esc(final.get("name")), esc(final.get("path", ""))),
        card(
            "test accuracy",
            f"{acc:.2%}" if is_num(acc) else "n/a",
            f"retention {ret:.1%}{vs}" if is_num(ret) and ref else "",
        ),
        card(
            "p90 latency",
            f"{ms(p90)} ms",
            f"{faster:.1f}x faster{vs}" if faster else "",
        ),
        card(
            "file size",
            size_text(size) if is_num(size) else "n/a",
            f"{smaller:.1f}x smaller{vs}" if smaller else "",
        ),
        card("memory added", f"{mem:.1f} MB" if is_num(mem) else "n/a", "peak over bare runtime"),
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
        acc, ret, mem = a.get("accuracy"), a.get("retention"), dig(a, "memory_mb", "added")
        files = esc(a.get("path", ""))
        if a.get("ort_path"):
            ort = esc(a["ort_path"])
            if is_num(a.get("ort_size_bytes")):
                ort += f" ({esc(size_text(a['ort_size_bytes']))})"
            files += f"<br>{ort}"
        if a.get("ort_config"):
            files += f"<br>{esc(a['ort_config'])}"

        def num(f, v):
            return f(v) if is_num(v) else "n/a"

        cells = [
            num(lambda v: f"{v:.4f}", acc),
            num(retention_text, ret),
            num(size_text, a.get("size_bytes")),
            num(size_text, a.get("gzip_bytes")),
            num(count_text, a.get("params")),
            macs_cell(a),
            ms(lat.get("p50")),
            ms(lat.get("p90")),
            ms(lat.get("p99")),
            num(lambda v: f"{v:.1f}", mem),
        ]
        badge = '<span class="badge">final</span>' if is_final else ""
        rows.append(
            f"<tr{' class=final' if is_final else ''}>"
            f"<td>{esc(a.get('name', '?'))}{badge}</td><td>{esc(a.get('precision', ''))}</td>"
            + "".join(f'<td class="n">{esc(c)}</td>' for c in cells)
            + f"<td>{files}</td></tr>"
        )
    head = "".join(f"<th>{h}</th>" for h in ARTIFACT_HEADERS)
    return f'<div class="scroll"><table class="arts"><tr>{head}</tr>{"".join(rows)}</table></div>'


def budget_table(report: dict) -> str:
    checks = dig(report, "budget", "checks") or []
    verdicts = {True: ("ok", "met"), False: ("bad", "MISSED"), None: ("unk", "not measured")}
    rows = []
    for c in checks:
        if not isinstance(c, dict):
            continue
        cls, word = verdicts.get(c.get("ok"), verdicts[None])
        rows.append(
            f"<tr><td>{esc(c.get('metric', '?'))}</td><td class=n>{fmt(c.get('value'))}</td>"
            f"<td class=n>{fmt(c.get('limit'))}</td><td class=n>{fmt(c.get('margin'))}</td>"
            f'<td class="{cls}">{word}</td><td>{esc(source_text(c))}</td></tr>'
        )
    if not rows:
        return '<p class="muted">no budget limits were checked</p>'
    head = (
        "<tr><th>metric</th><th>value</th><th>limit</th><th>margin</th><th>verdict</th>"
        "<th>source</th></tr>"
    )
    return f"<table>{head}{''.join(rows)}</table>"


def _verdict(report: dict) -> str:
    budget = report.get("budget") if isinstance(report.get("budget"), dict) else {}
    ok = budget.get("ok")
    profile = esc(budget.get("profile", "?"))
    suffix = esc(verdict_suffix(report))
    if ok and not suffix:
        return f"<span class=\"verdict pass\">budget '{profile}': all limits met</span>"
    if ok:
        return f"<span class=\"verdict fail\">budget '{profile}': all limits met{suffix}</span>"
    missed = [c.get("metric") for c in budget.get("checks") or [] if c.get("ok") is False]
    which = f" ({esc(', '.join(map(str, missed)))})" if missed else ""
    return (
        f"<span class=\"verdict fail\">budget '{profile}': a limit is MISSED{which}{suffix}</span>"
    )


def _setup_line(report: dict) -> str:
    lat = next((a["latency_ms"] for a in _artifacts(report) if "latency_ms" in a), {})
    parts = [f"{k} {lat[k]}" for k in ("batch", "threads", "runs") if k in lat]
    return (
        "Accuracy on the held-out test split, measured by onnxruntime on the ONNX files. "
        f"Latency: {esc(', '.join(parts) or 'setup not recorded')}, after warm-up, models "
        "interleaved. Memory: peak of a fresh child process (VmHWM) minus the bare runtime."
    )


def render_html(report: dict) -> str:
    """The whole page as one string; needs only report.json (matplotlib for the figures)."""
    title = f"edgekd report: {data_name(report)} -> {report.get('final', '?')}"
    host = dict(report.get("host") or {})
    host["edgekd"] = report.get("edgekd_version", "?")
    body = [
        f"<h1>{esc(title)}</h1>",
        _verdict(report),
        "<ul class=muted>"
        + "".join(f"<li>{esc(line)}</li>" for line in provenance_lines(report))
        + "</ul>",
        _cards(report),
        "<h2>Artifacts</h2>",
        artifact_table(report),
        f'<p class="muted">{_setup_line(report)}</p>',
        *(f"<p>{esc(line)}</p>" for line in filter(None, [shipped_line(report)])),
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
        body += ["<h2>Notes</h2>", "<ul>" + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>"]
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
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        + "\n".join(b for b in body if b)
        + "\n</body>\n</html>\n"
    )
