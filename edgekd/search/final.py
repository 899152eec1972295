"""After the study: retrain the chosen configuration in full into out/final (the next best
feasible trial when a full retrain misses a limit its screening run met), and the `search`
section of that run's report."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import yaml
from rich.console import Console

from edgekd.atomic import write_text_atomic
from edgekd.config import dump_config
from edgekd.search.figures import brief, ranked
from edgekd.search.study import SearchContext, locked
from edgekd.search.trial import final_config

FINAL_ATTEMPTS = 3  # full retrains tried, best feasible trial first


def final_runs(
    ctx: SearchContext, summary: dict, rows: list[dict], console: Console
) -> bool | None:
    """Retrain the best feasible trial in full; should the full run miss a limit its trial met
    (a quantized file that did not measure faster this time, so fp32 shipped; a latency near its
    limit), the next best feasible trials are tried, FINAL_ATTEMPTS in all. Nothing feasible:
    the closest trial is retrained, so its run directory shows what misses."""
    if summary["best"]:
        choices = [brief(t) for t in ranked(rows)[:FINAL_ATTEMPTS]]
    else:
        choices = [summary["closest"]] if summary.get("closest") else []
    attempts, ok = [], None
    for i, choice in enumerate(choices):
        if i:
            earlier = ctx.out / f"final.attempt-{i}"
            shutil.rmtree(earlier, ignore_errors=True)
            os.replace(ctx.out / "final", earlier)
            console.print(
                f"final: trial #{attempts[-1]['trial']} retrained misses "
                f"{', '.join(attempts[-1]['missed'])} (its screening run met every limit); "
                f"trying the next best feasible trial, #{choice['number']} (the missed run is "
                f"kept in {earlier})",
                highlight=False,
            )
        ok = _final_run(ctx, summary, choice, console)
        attempts.append(
            {
                "trial": choice["number"],
                "budget_ok": ok,
                "missed": [c["metric"] for c in summary["final"]["checks"] if c["ok"] is False],
            }
        )
        summary["final_attempts"] = attempts
        summary["shipped"] = choice
        if ok or not choice.get("feasible"):
            break
    if attempts:  # the last attempt's report was written before the attempts were complete
        _rewrite_section(ctx.out / "final", summary)
    return ok


def _rewrite_section(final_dir: Path, summary: dict) -> None:
    from edgekd.report import write_reports

    report = json.loads((final_dir / "report.json").read_text())
    report["search"] = report_section(summary)
    write_reports(final_dir, report)


def _final_run(ctx: SearchContext, summary: dict, choice: dict, console: Console) -> bool:
    """Retrain the chosen configuration with the full epochs into out/final (reused when a
    finished final run already holds exactly this configuration)."""
    from edgekd.pipeline import compress
    from edgekd.report import write_reports

    final_dir = ctx.out / "final"
    cfg = final_config(ctx.base, choice["params"], ctx.teacher_path, final_dir)
    text = dump_config(cfg)
    write_text_atomic(ctx.out / "best.yaml", text)
    with locked(ctx.out / ".final.lock"):
        report = _finished_final(final_dir, text)
        if report is None:
            what = "best feasible" if choice.get("feasible") else "closest (nothing fits)"
            console.print(
                f"final: retraining the {what} trial #{choice['number']} for {cfg.distill.epochs} "
                f"epochs into {final_dir}",
                highlight=False,
            )
            report = compress(cfg, console=console).report
        else:
            console.print(f"final: {final_dir} already holds this configuration; reusing it")
        # The final run's config.yaml: the same settings, with its training plan as comments.
        write_text_atomic(ctx.out / "best.yaml", (final_dir / "config.yaml").read_text())
        final = next(a for a in report["artifacts"] if a["name"] == report["final"])
        summary["final"] = {
            "run_dir": str(final_dir),
            "trial": choice["number"],
            "artifact": final["name"],
            "test_accuracy": final["accuracy"],
            "latency_ms": (final.get("latency_ms") or {}).get(ctx.budget.latency_percentile),
            "size_kb": round(final["size_bytes"] / 1024, 3),
            "memory_added_mb": (final.get("memory_mb") or {}).get("added"),
            "budget_ok": report["budget"]["ok"],
            "checks": report["budget"]["checks"],
        }
        report["search"] = report_section(summary)
        write_reports(final_dir, report)
    return bool(report["budget"]["ok"])


def _finished_final(final_dir: Path, config_text: str) -> dict | None:
    try:
        manifest = json.loads((final_dir / "manifest.json").read_text())
        # Settings compared, not text: config.yaml ends with the run's plan, as comments.
        same = yaml.safe_load((final_dir / "config.yaml").read_text()) == yaml.safe_load(
            config_text
        )
        if manifest.get("status") == "done" and same:
            return json.loads((final_dir / "report.json").read_text())
    except (OSError, ValueError):
        return None
    return None


def report_section(summary: dict) -> dict:
    """The final run's report.json `search` section: what was searched and why this won."""
    return {
        "summary": headline(summary),
        "study": summary["study"],
        "storage": summary["storage"],
        "counts": summary["counts"],
        "settings": summary["settings"],
        "space": summary["space"],
        "limits": summary["limits"],
        "latency_metric": summary["latency_metric"],
        "best": summary["best"],
        "shipped": summary.get("shipped"),
        "final_attempts": summary.get("final_attempts"),
        "pareto": summary["pareto"],
        "trials": [
            {
                k: r.get(k)
                for k in (
                    "number",
                    "state",
                    "params",
                    "val_accuracy",
                    "latency_ms",
                    "size_kb",
                    "feasible",
                )
            }
            for r in summary["trials"]
        ],
    }


def headline(summary: dict) -> str:
    c = summary["counts"]
    best = summary.get("best")
    head = (
        f"{c['trials']} trials ({c['complete']} measured, {c['feasible']} within budget, "
        f"{c['stopped_early']} stopped early, {c['skipped']} skipped as too large, "
        f"{c['failed']} failed)"
    )
    if best:
        text = (
            f"{head}; chosen: trial #{best['number']} (validation accuracy "
            f"{best['val_accuracy']:.4f}, {best['size_kb']:.1f} KB, {best['latency_ms']:.3f} ms)"
        )
        shipped = summary.get("shipped")
        if shipped and shipped["number"] != best["number"]:
            missed = [a["trial"] for a in summary.get("final_attempts") or [] if not a["budget_ok"]]
            text += (
                f"; shipped: trial #{shipped['number']}, as the full retrain of "
                f"{', '.join(f'#{n}' for n in missed)} missed a limit"
            )
        return text
    return f"{head}; nothing fits the budget: {summary.get('binding_sentence')}"
