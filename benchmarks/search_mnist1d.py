"""Does `edgekd search` find a more accurate model that fits the budget than `compress` does?

mnist1d, budget `iot` with the file-size limit lowered to 16 KB:

  1. `compress` with every default (dscnn width 1, T 4, alpha 0.9, no pruning, quantize auto,
     60 epochs; the built-in teacher trained on the spot);
  2. when that misses a limit: the same defaults at smaller widths (the teacher.onnx of step 1,
     so every run learns from the same teacher), the best one that meets every limit being the
     baseline to beat;
  3. `edgekd search` (the real command, in a child process, timed end to end: it trains its own
     teacher, identical to step 1's: same recipe, seed and thread count), at most 30 trials,
     then the chosen configuration retrained with the default 60 epochs.

Both sides are judged the same way: the shipped ONNX file's test accuracy (onnxruntime) and the
budget verdict `compress` writes. The search chooses on the validation split only.

    python benchmarks/search_mnist1d.py          # full: benchmarks/results/search_mnist1d.*
    python benchmarks/search_mnist1d.py --quick  # tiny smoke run, results not written
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import torch

from edgekd.config import resolve_config
from edgekd.pipeline import compress
from edgekd.report import host_info

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, write_results

WIDTHS = (0.875, 0.75, 0.625, 0.5)
LIMITS = {"budget": "iot", "max_size_kb": 16.0}


def _final(report: dict) -> dict:
    art = next(a for a in report["artifacts"] if a["name"] == report["final"])
    return {
        "artifact": art["name"],
        "precision": art["precision"],
        "test_accuracy": art["accuracy"],
        "size_kb": round(art["size_bytes"] / 1024, 2),
        "latency_p90_ms": art["latency_ms"]["p90"],
        "memory_added_mb": art["memory_mb"]["added"],
        "budget_ok": report["budget"]["ok"],
        "missed": [c["metric"] for c in report["budget"]["checks"] if c["ok"] is False],
    }


def _compress(out: Path, quick: bool, **overrides) -> dict:
    extra = {"epochs": 2, "teacher_epochs": 2} if quick else {}
    cfg = resolve_config(data="mnist1d", out=str(out), **LIMITS, **extra, **overrides)
    start = time.perf_counter()
    report = compress(cfg).report
    return {**_final(report), "seconds": round(time.perf_counter() - start, 1)}


def _attempts(search_dir: Path, summary: dict) -> list[dict]:
    """The final retrains, with why a missed one missed (its quantization choice)."""
    rows = []
    for i, attempt in enumerate(summary.get("final_attempts") or [], start=1):
        row = dict(attempt)
        if not attempt["budget_ok"]:
            report = json.loads((search_dir / f"final.attempt-{i}" / "report.json").read_text())
            row.update(_final(report))
            row["quantization"] = (report.get("quantization") or {}).get("reason")
        rows.append(row)
    return rows


def _brief(t: dict) -> dict:
    keys = ("number", "params", "val_accuracy", "test_accuracy", "size_kb", "precision")
    return {k: t.get(k) for k in keys}


def rerender(work: Path) -> None:
    """Rewrite the results' attempts and markdown from an existing work directory."""
    result = json.loads((RESULTS / "search_mnist1d.json").read_text())
    summary = json.loads((work / "search" / "search.json").read_text())
    result["search"]["final_attempts"] = _attempts(work / "search", summary)
    result["search"]["shipped_trial"] = next(
        _brief(t) for t in summary["trials"] if t["number"] == summary["final"]["trial"]
    )
    write_results(RESULTS, "search_mnist1d", result, _markdown(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--work", default="runs/bench-search-mnist1d")
    parser.add_argument("--quick", action="store_true", help="2 epochs, 3 trials; no results")
    parser.add_argument("--rerender", action="store_true", help="markdown from --work only")
    args = parser.parse_args()
    if args.rerender:
        rerender(Path(args.work))
        return
    torch.set_num_threads(1)  # the search trains on 1 thread too: same teacher, fair timings
    work = Path(args.work)
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)

    default = _compress(work / "default", args.quick)
    teacher = str(work / "default" / "teacher.onnx")
    widths = []
    if not default["budget_ok"]:
        for w in WIDTHS:
            row = _compress(work / f"width-{w}", args.quick, student_width=w, teacher=[teacher])
            widths.append({"student_width": w, **row})
    fitting = [r for r in ([default] if default["budget_ok"] else widths) if r["budget_ok"]]
    baseline = max(fitting, key=lambda r: r["test_accuracy"], default=None)

    trials = 3 if args.quick else args.trials
    cmd = [
        sys.executable, "-m", "edgekd", "search", "--data", "mnist1d",
        "--budget", LIMITS["budget"], "--max-size-kb", str(LIMITS["max_size_kb"]),
        "--trials", str(trials), "--out", str(work / "search"),
    ]  # fmt: skip
    if args.quick:
        cmd += ["--epochs", "1", "--final-epochs", "2", "--teacher-epochs", "2"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    (work / "search.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode not in (0, 1):
        sys.exit(f"edgekd search failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    summary = json.loads((work / "search" / "search.json").read_text())
    final = _final(json.loads((work / "search" / "final" / "report.json").read_text()))
    default_teacher = json.loads((work / "default" / "report.json").read_text())["artifacts"][0]

    result = {
        "what": "edgekd search vs compress defaults on mnist1d, budget iot with 16 KB file size",
        "host": host_info(),
        "torch_threads": 1,
        "limits": {"budget": "iot", "max_size_kb": 16, "max_latency_ms": 50, "max_memory_mb": 32},
        "default": default,
        "default_widths": widths,
        "baseline": baseline,
        "search": {
            "trials": summary["counts"],
            "wall_seconds": round(wall, 1),
            "minutes": round(wall / 60, 2),
            "chosen_trial": summary["best"],
            "shipped_trial": summary.get("shipped") or summary["best"],
            "pareto": summary["pareto"],
            "final": final,
            "final_attempts": _attempts(work / "search", summary),
            "teacher_test_accuracy": summary["teacher"]["test_accuracy"],
            "same_teacher_as_default": summary["teacher"]["test_accuracy"]
            == default_teacher["accuracy"],
        },
    }
    ref = baseline or default
    result["verdict"] = {
        "search_meets_every_limit": final["budget_ok"],
        "under_20_minutes": wall < 20 * 60,
        "at_most_30_trials": summary["counts"]["trials"] <= 30,
        "search_test_accuracy": final["test_accuracy"],
        "reference": "default" if ref is default else f"default at width {ref['student_width']}",
        "reference_test_accuracy": ref["test_accuracy"],
        "gain_points": round((final["test_accuracy"] - ref["test_accuracy"]) * 100, 2),
        "beats_reference": final["test_accuracy"] > ref["test_accuracy"] and final["budget_ok"],
    }
    print(json.dumps(result["verdict"], indent=2))
    if args.quick:
        return
    RESULTS.mkdir(exist_ok=True)
    previous = RESULTS / "search_mnist1d.json"
    if previous.is_file():  # the hand-kept history of earlier runs survives a new run
        result["earlier_runs"] = json.loads(previous.read_text()).get("earlier_runs", [])
    write_results(RESULTS, "search_mnist1d", result, _markdown(result))
    html = (work / "search" / "report.html").read_text()
    svg = re.search(r"<svg.*?</svg>", html, flags=re.S)
    if svg:
        (RESULTS / "search_mnist1d_pareto.svg").write_text(svg.group(0) + "\n")


def _row(name: str, r: dict) -> str:
    return (
        f"| {name} | {r['artifact']} ({r['precision']}) | {r['test_accuracy'] * 100:.1f}% | "
        f"{r['size_kb']:.1f} | {r['latency_p90_ms']:.3f} | {r['memory_added_mb']:.1f} | "
        f"{'yes' if r['budget_ok'] else 'NO (' + ', '.join(r['missed']) + ')'} |"
    )


def _attempt_lines(attempts: list[dict]) -> list[str]:
    missed = [a for a in attempts if not a["budget_ok"]]
    if not missed:
        return []
    lines = ["", "Final retrains (60 epochs) that missed a limit their 15-epoch trial met:"]
    for a in missed:
        lines.append(
            f"- trial #{a['trial']}: ships {a['artifact']} at {a['size_kb']:.1f} KB, test "
            f"accuracy {a['test_accuracy'] * 100:.1f}%, misses {', '.join(a['missed'])}; "
            f"quantization: {a.get('quantization')}"
        )
    return lines


def _earlier_lines(runs: list[dict]) -> list[str]:
    """Earlier full runs of this benchmark (kept by hand in the JSON: the search is noisy)."""
    if not runs:
        return []
    lines = ["", "Earlier full runs of this benchmark on the same host (older edgekd revisions):"]
    lines += [
        f"- {r['when']}: search {r['search_test_accuracy'] * 100:.1f}% vs reference "
        f"{r['reference_test_accuracy'] * 100:.1f}% ({r['gain_points']:+.1f} points), "
        f"{r['minutes']:.1f} min; {r['note']}"
        for r in runs
    ]
    return lines


def _markdown(res: dict) -> str:
    s, v = res["search"], res["verdict"]
    c = s["trials"]
    chosen = s.get("shipped_trial") or s["chosen_trial"] or {}
    lines = [
        "# edgekd search vs compress defaults: mnist1d, iot budget, 16 KB",
        "",
        f"Host: {res['host']['cpu']}, {res['host']['cores']} cores (shared); torch on 1 thread.",
        "Limits: file <= 16 KB, p90 latency <= 50 ms (1 thread), added memory <= 32 MB.",
        "",
        "| run | ships | test accuracy | size KB | p90 ms | mem MB | meets every limit |",
        "|---|---|---|---|---|---|---|",
        _row("compress, defaults (dscnn width 1)", res["default"]),
        *(
            _row(f"compress, defaults at width {r['student_width']}", r)
            for r in res["default_widths"]
        ),
        _row(f"**edgekd search** (trial #{chosen.get('number')}, retrained)", s["final"]),
        "",
        f"Search: {c['trials']} trials ({c['complete']} measured, {c['feasible']} within budget, "
        f"{c['stopped_early']} stopped early, {c['skipped']} skipped as too large, "
        f"{c['failed']} failed) in {s['minutes']:.1f} minutes wall time for the whole command "
        "(teacher training, trials, final 60-epoch retrain).",
        f"Shipped configuration: {json.dumps(chosen.get('params'))}.",
        f"Test accuracy {v['search_test_accuracy'] * 100:.1f}% vs "
        f"{v['reference_test_accuracy'] * 100:.1f}% for the reference ({v['reference']}): "
        f"{v['gain_points']:+.1f} points.",
        f"Same teacher on both sides: {s['same_teacher_as_default']} "
        f"(teacher test accuracy {s['teacher_test_accuracy'] * 100:.1f}%).",
        *_attempt_lines(s.get("final_attempts") or []),
        *_earlier_lines(res.get("earlier_runs") or []),
        "",
        "Pareto plot: `search_mnist1d_pareto.svg` (validation accuracy vs p90 latency and vs file "
        "size; blue dots meet every limit, red crosses miss one, green circles mark the Pareto "
        "front, the orange ring is the shipped trial, dashed lines are the limits).",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
