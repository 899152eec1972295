"""The search directory's report.md and report.html, drawn from search.json alone."""

from __future__ import annotations

from html import escape
from typing import Any

from edgekd.pages.html import CSS, render_value, rows_table
from edgekd.pages.search_plot import search_figure
from edgekd.pages.text import md_table

PARETO_HEADERS = [
    "trial",
    "student",
    "width",
    "T",
    "alpha",
    "prune",
    "quantize",
    "ships",
    "val acc",
    "test acc",
    "latency ms",
    "size KB",
    "mem MB",
]
TRIAL_HEADERS = [
    "trial",
    "state",
    "student",
    "width",
    "T",
    "alpha",
    "prune",
    "quantize",
    "val acc",
    "latency ms",
    "size KB",
    "mem MB",
    "fits",
    "note",
]


def _f(v: Any, spec: str = ".4f") -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return format(v, spec)
    return str(v)


def _params(p: dict) -> list[str]:
    return [
        str(p.get("student", "-")),
        _f(p.get("student_width"), ".3g"),
        _f(p.get("temperature"), ".3g"),
        _f(p.get("alpha"), ".3g"),
        _f(p.get("prune_ratio"), ".2g"),
        str(p.get("quantize", "-"))
        + (f"/{p['quant_format']}" if p.get("quant_format") else "")
        + (f" (drop<={p['max_accuracy_drop']:g})" if "max_accuracy_drop" in p else ""),
    ]


def pareto_rows(summary: dict) -> list[list[str]]:
    best = (summary.get("best") or {}).get("number")
    rows = []
    for t in summary.get("pareto") or []:
        mark = f"#{t['number']}" + (" (chosen)" if t["number"] == best else "")
        rows.append(
            [
                mark,
                *_params(t.get("params") or {}),
                str(t.get("precision") or "-"),
                _f(t.get("val_accuracy")),
                _f(t.get("test_accuracy")),
                _f(t.get("latency_ms"), ".3f"),
                _f(t.get("size_kb"), ".1f"),
                _f(t.get("memory_added_mb"), ".1f"),
            ]
        )
    return rows


def trial_rows(summary: dict) -> list[list[str]]:
    rows = []
    for t in summary.get("trials") or []:
        note = t.get("stopped") or t.get("error") or ""
        if t.get("interrupted"):
            note = "interrupted"
        rows.append(
            [
                f"#{t['number']}",
                t.get("status", t["state"].lower()),
                *_params(t.get("params") or {}),
                _f(t.get("val_accuracy")),
                _f(t.get("latency_ms"), ".3f"),
                _f(t.get("size_kb"), ".1f"),
                _f(t.get("memory_added_mb"), ".1f"),
                {True: "yes", False: "NO"}.get(t.get("feasible"), "-"),
                note,
            ]
        )
    return rows


def _final_lines(summary: dict) -> list[str]:
    final = summary.get("final")
    if not final:
        return ["No final run was made (--no-final, or no trial was measured)."]
    verdict = "meets every budget limit" if final["budget_ok"] else "MISSES a budget limit"
    return [
        f"Final run `{final['run_dir']}` (trial #{final['trial']} retrained for "
        f"{summary['settings']['final_epochs']} epochs): ships `{final['artifact']}`, test "
        f"accuracy {final['test_accuracy']:.4f}, {_f(final.get('latency_ms'), '.3f')} ms, "
        f"{final['size_kb']:.1f} KB; {verdict}. `edgekd compress --config best.yaml` reruns it."
    ]


def render_search_markdown(summary: dict) -> str:
    b = summary["budget"]
    limits = ", ".join(f"{c['metric']} {c['limit']:g}" for c in summary["limits"])
    parts = [
        f"# edgekd search: {summary['study']}",
        f"**{summary['headline']}**",
        f"Budget '{b['name']}' ({limits}); {summary['selection']}.",
        *_final_lines(summary),
        "## Pareto front (feasible trials)",
        md_table(PARETO_HEADERS, pareto_rows(summary)) if summary.get("pareto") else "none",
    ]
    if summary.get("binding_sentence"):
        parts += ["## Why nothing fits", summary["binding_sentence"]]
    parts += ["## Every trial", md_table(TRIAL_HEADERS, trial_rows(summary))]
    return "\n\n".join(parts) + "\n"


def render_search_html(summary: dict) -> str:
    best = summary.get("best")
    verdict = (
        '<span class="verdict pass">a configuration fits the budget</span>'
        if best
        else '<span class="verdict fail">nothing fits the budget</span>'
    )
    b = summary["budget"]
    limits = ", ".join(f"{c['metric']} &le; {c['limit']:g}" for c in summary["limits"])
    body = [
        f"<h1>edgekd search: {escape(summary['study'])}</h1>",
        verdict,
        f"<p>{escape(summary['headline'])}</p>",
        f"<p class=muted>Budget '{escape(b['name'])}': {limits}. {escape(summary['selection'])}."
        "</p>",
        *(f"<p>{escape(line)}</p>" for line in _final_lines(summary)),
        "<h2>Pareto front</h2>",
        search_figure(summary),
        rows_table(
            PARETO_HEADERS,
            pareto_rows(summary),
            (lambda r: r[0].startswith(f"#{best['number']} ")) if best else None,
        )
        if summary.get("pareto")
        else '<p class="muted">no feasible trial</p>',
    ]
    if summary.get("binding_sentence"):
        body += [
            "<h2>Why nothing fits</h2>",
            f"<p>{escape(summary['binding_sentence'])}</p>",
            render_value(summary.get("binding") or []),
        ]
    body += [
        "<h2>Every trial</h2>",
        rows_table(TRIAL_HEADERS, trial_rows(summary)),
        "<h2>Search settings</h2>",
        render_value({"settings": summary["settings"], "space": summary["space"]}),
        "<footer>Written by edgekd search from search.json.</footer>",
    ]
    title = f"edgekd search: {summary['study']}"
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        + "\n".join(b for b in body if b)
        + "\n</body>\n</html>\n"
    )
