"""What `edgekd search` shows while it runs: a live table on a terminal (one line per trial
otherwise), and the outcome at the end."""

from __future__ import annotations

import contextlib
import sys
from typing import Any

from rich.console import Console

from edgekd.search.figures import choose_best
from edgekd.search.study import SearchContext, counts, trial_rows
from edgekd.search.trial import Objective


def _fmt(v: Any, spec: str = ".4f") -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return format(v, spec)
    return str(v)


def config_text(p: dict) -> str:
    """A configuration in one short line: `dscnn w0.78 T4 a0.72 p0.2 int8/qoperator`."""
    parts = [str(p.get("student", "?"))]
    for key, tag in (("student_width", "w"), ("temperature", "T"), ("alpha", "a"),
                     ("prune_ratio", "p"), ("lr", "lr")):  # fmt: skip
        if isinstance(p.get(key), int | float):
            parts.append(f"{tag}{p[key]:.3g}")
    if p.get("quantize"):
        parts.append(p["quantize"] + (f"/{p['quant_format']}" if p.get("quant_format") else ""))
    if isinstance(p.get("max_accuracy_drop"), int | float) and p.get("quantize") != "none":
        parts.append(f"drop<={p['max_accuracy_drop']:g}")
    return " ".join(parts)


def progress_table(rows: list[dict], target: int, title: str | None = None, last: int = 18):
    from rich.table import Table

    best = choose_best(rows)
    shown = rows[-last:]
    done = sum(r["state"] in ("COMPLETE", "PRUNED", "FAIL") for r in rows)
    headline = f"edgekd search: {done}/{target} trials" + (
        f"; best #{best['number']} val {best['val_accuracy']:.4f}" if best else ""
    )
    table = Table(title=title or headline, title_justify="left")
    for h in ("#", "status", "configuration", "val acc", "ms", "KB", "mem MB", "fits", "s"):
        table.add_column(h, justify="left" if h in ("status", "configuration", "fits") else "right")
    for r in shown:
        fits = {True: "yes", False: "NO"}.get(r.get("feasible"), "-")
        style = "bold green" if best and r["number"] == best["number"] else None
        if r["state"] == "FAIL":
            style = "red"
        table.add_row(
            str(r["number"]),
            r.get("status", r["state"].lower()),
            config_text(r.get("params") or {}),
            _fmt(r.get("val_accuracy")),
            _fmt(r.get("latency_ms"), ".3f"),
            _fmt(r.get("size_kb"), ".1f"),
            _fmt(r.get("memory_added_mb"), ".1f"),
            fits,
            _fmt(r.get("seconds"), ".0f"),
            style=style,
        )
    return table


def trial_line(r: dict) -> str:
    what = config_text(r.get("params") or {})
    if r["state"] == "COMPLETE":
        fits = "fits" if r.get("feasible") else "OVER BUDGET"
        return (
            f"trial {r['number']}: val {r['val_accuracy']:.4f}, {r.get('latency_ms', 0):.3f} ms, "
            f"{r['size_kb']:.1f} KB, {fits} ({what}; {_fmt(r.get('seconds'), '.0f')} s)"
        )
    why = r.get("stopped") or r.get("error") or ""
    return f"trial {r['number']}: {r.get('status')}: {why} ({what})"


def optimize(study, ctx: SearchContext, console: Console) -> None:

    settings = ctx.settings
    live_console = Console(file=sys.stderr, width=None if sys.stderr.isatty() else 140)
    live = None
    if live_console.is_terminal:
        from rich.live import Live

        live = Live(
            progress_table(trial_rows(study), settings.trials),
            console=live_console,
            refresh_per_second=1,
        )

    def after(study, frozen) -> None:
        rows = trial_rows(study)
        if live is not None:
            live.update(progress_table(rows, settings.trials))
        else:
            row = next((r for r in rows if r["number"] == frozen.number), None)
            if row is not None:
                live_console.print(trial_line(row), soft_wrap=True, highlight=False)
        # every slot finished or taken by a running trial (another worker's): stop asking
        if sum(1 for t in study.get_trials(deepcopy=False) if counts(t)) >= settings.trials:
            study.stop()

    with live if live is not None else contextlib.nullcontext():
        study.optimize(
            Objective(ctx),
            n_trials=None,
            timeout=settings.timeout,
            catch=(Exception,),
            callbacks=[after],
        )


def print_outcome(summary: dict, console: Console) -> None:
    console.print(progress_table(summary["trials"], summary["settings"]["trials"], last=10**6))
    console.print(summary["headline"], soft_wrap=True, highlight=False)
    final = summary.get("final")
    if final:
        verdict = "meets every limit" if final["budget_ok"] else "MISSES a limit"
        console.print(
            f"final ({final['run_dir']}): {final['artifact']}, test accuracy "
            f"{final['test_accuracy']:.4f}, {final['size_kb']:.1f} KB, {verdict}",
            highlight=False,
        )
