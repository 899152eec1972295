"""What does `--resume` save? A run killed (SIGKILL) at several points, then resumed.

For each kill point the run is started as a subprocess and killed as soon as it reaches that
point (polled: a fast stage may already be over, so the table names the stage the run was
really in when killed, the first one its manifest does not list). It is then resumed with
`compress --resume`; the table gives the resumed run's wall time against an uninterrupted
run's, the stages it skipped, and the final artifact's test accuracy of both.

Kill points: `teacher` (its first epoch checkpoint written), `distill` (likewise), `quantize`
(distillation and export finished), `measure` (quantization finished).

    python benchmarks/resume.py            # full: mnist1d, writes benchmarks/results/
    python benchmarks/resume.py --quick    # tiny, for the test suite
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, environment, write_results  # noqa: E402

from edgekd.pages.text import data_name

ROOT = Path(__file__).resolve().parents[1]
STAGE_ORDER = ["teacher", "distill", "export", "quantize", "measure", "report"]


def _stages(run: Path) -> list[str]:
    try:
        return [s["stage"] for s in json.loads((run / "manifest.json").read_text())["stages"]]
    except (OSError, ValueError, KeyError):
        return []


def _checkpoint(stage: str) -> Callable[[Path], bool]:
    return lambda run: any((run / "checkpoints").glob(f"{stage}-*.pt"))


def _finished(stage: str) -> Callable[[Path], bool]:
    return lambda run: stage in _stages(run)


POINTS = {  # kill point -> when the run has reached it
    "teacher": _checkpoint("teacher"),
    "distill": _checkpoint("distill"),
    "quantize": _finished("export"),
    "measure": _finished("quantize"),
}


def _compress(config: Path, *flags: str, until: Callable[[Path], bool] | None = None) -> dict:
    """Run compress; with `until`, SIGKILL it once `until(run_dir)` holds. Wall time, rc."""
    run = Path(yaml.safe_load(config.read_text())["out"])
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    cmd = [sys.executable, "-m", "edgekd", "compress", "--config", str(config), *flags]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while until is not None and proc.poll() is None and not until(run):
        time.sleep(0.02)
    if until is not None and proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate()
    return {"rc": proc.returncode, "seconds": time.perf_counter() - start, "stderr": err.decode()}


def _final_accuracy(run: Path) -> float:
    report = json.loads((run / "report.json").read_text())
    return next(a["accuracy"] for a in report["artifacts"] if a["name"] == report["final"])


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--quick", action="store_true", help="tiny table data, few epochs, one kill point (distill)"
    )
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="edgekd-resume-"))
    if args.quick:
        import numpy as np

        k = np.arange(600) % 3
        x = np.random.default_rng(0).normal(size=(600, 5)) + 3 * k[:, None]
        np.savez(work / "table.npz", X=x.astype(np.float32), y=k)
        base = {"data": str(work / "table.npz"), "teacher_epochs": 3, "epochs": 4}
        base |= {"latency_runs": 20, "allow_weak_teacher": True}
    else:
        base = {"data": "mnist1d:4000", "teacher_epochs": 15, "epochs": 15}
    base |= {"quantize": "int8", "seed": 0}

    def config(name: str) -> Path:
        path = work / f"{name}.yaml"
        path.write_text(yaml.safe_dump({**base, "out": str(work / name)}))
        return path

    whole = _compress(config("whole"))
    if whole["rc"] != 0:
        raise SystemExit(f"the uninterrupted run failed: {whole['stderr'][-2000:]}")
    whole_acc = _final_accuracy(work / "whole")
    rows = []
    # quick (the test suite): one kill, inside distillation: its resume both skips a finished
    # stage (the teacher) and continues a fit from its checkpoint, the two paths the teacher
    # and quantize kill points take
    points = {"distill": POINTS["distill"]} if args.quick else POINTS
    for point, reached in points.items():
        cfg = config(point)
        killed = _compress(cfg, until=reached)
        done = _stages(work / point)
        killed_in = next((s for s in STAGE_ORDER if s not in done), "none")
        resumed = _compress(cfg, "--resume")
        ok = resumed["rc"] == 0
        report = json.loads((work / point / "report.json").read_text()) if ok else {}
        rows.append(
            {
                "kill_point": point,
                "killed_rc": killed["rc"],
                "killed_in": killed_in,
                "killed_after_s": round(killed["seconds"], 2),
                "resumed_rc": resumed["rc"],
                "skipped": report.get("resumed", []),
                "resumed_s": round(resumed["seconds"], 2),
                "uninterrupted_s": round(whole["seconds"], 2),
                "resumed_accuracy": _final_accuracy(work / point) if ok else None,
                "uninterrupted_accuracy": whole_acc,
            }
        )
    result = {"quick": args.quick, "config": base, "host": environment(), "rows": rows}
    stem = "resume_quick" if args.quick else "resume"
    json_path, md_path = write_results(args.out, stem, result, markdown(result))
    print(md_path.read_text())
    return result


def markdown(result: dict) -> str:
    lines = [
        f"# --resume after SIGKILL ({'quick' if result['quick'] else 'full'})",
        "",
        f"Data `{data_name(result)}`; wall times include start-up (imports, data).",
        "",
        "| kill point | killed in | skipped on resume | resumed run (s) | uninterrupted run (s) "
        "| accuracy resumed | accuracy uninterrupted |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        acc = "failed" if r["resumed_accuracy"] is None else f"{r['resumed_accuracy']:.4f}"
        lines.append(
            f"| {r['kill_point']} | {r['killed_in']} | {', '.join(r['skipped']) or '-'} "
            f"| {r['resumed_s']:.1f} | {r['uninterrupted_s']:.1f} | {acc} "
            f"| {r['uninterrupted_accuracy']:.4f} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
