"""What does distillation cost in training time? Student alone vs online KD vs cached KD.

Three ways to train the same student on the same data, for the same epochs, with the one
training loop (`edgekd.distill.trainer.fit`):
  - student alone: hard labels, no teacher;
  - online KD: the teacher runs forward on every batch (`cache_teacher=False`);
  - cached KD: the teacher's outputs on the training set are computed once, then reused
    every epoch (`cache_teacher=True`, the default; valid because batches are not augmented);
  - function matching: edgekd's default recipe, every batch augmented (`--augment auto`) and
    the teacher run online on that same tensor (the cache cannot serve changing inputs);
    its ratio is the online-teacher cost a user pays for the new default.
Each time is the wall clock of the whole `fit` call, so cached KD includes its one-off
teacher pass. The modes run interleaved, round after round, and the median per mode is
kept; ratios are the median of per-round ratios (each mode over the student-alone time of
the same round): on a shared, noisy host only ratios measured side by side mean anything.
Target: cached KD within 1.3x of the student-alone time.

The teacher is the built-in `teacher-cnn` with its initial weights (its cost per forward pass
does not depend on what it has learned).

    python benchmarks/distill_speed.py            # full: writes benchmarks/results/
    python benchmarks/distill_speed.py --quick    # tiny, for the test suite
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, environment, quiet, setup_torch, write_results

from edgekd.data import load_data
from edgekd.distill.trainer import TrainConfig, fit, predict_logits
from edgekd.models import create_model

TARGET = 1.3
MODES = ("student alone", "online KD", "cached KD", "function matching")
FM_MODE = "function matching"


CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}
_clock = CLOCKS["cpu"]


def time_mode(mode: str, student_name: str, teacher, data, x, y, cfg: TrainConfig) -> float:
    torch.manual_seed(cfg.seed)
    student = create_model(student_name, data.input_shape, data.num_classes)
    kw = {}
    if mode != "student alone":
        kw = {"teacher": teacher, "cache_teacher": mode == "cached KD"}
    if mode == FM_MODE:
        cfg = replace(
            cfg, recipe="function-matching", temperature=1.0, alpha=1.0, augment="auto",
            schedule="cosine",
        )  # fmt: skip
    start = _clock()
    with quiet():
        fit(student, x, y, data.x_val, data.y_val, cfg, **kw)
    return _clock() - start


def markdown(result: dict) -> str:
    env = result["host"]
    lines = [
        "# Distillation training speed (edgekd)",
        "",
        f"Host: {env['cpu']} ({env['cores']} cores), torch {env['torch']}, "
        f"{result['threads']} torch thread(s). Data `{result['dataset']}`: "
        f"{result['train_samples']} training samples, batch {result['batch_size']}, "
        f"{result['epochs']} epochs per fit; teacher `{result['teacher']}` "
        f"({result['teacher_params']:,} params). Median of {result['rounds']} interleaved "
        "rounds after an untimed warm-up; each time is the whole `fit` call (cached KD "
        "includes its one-off teacher pass). Clock: "
        + (
            "process CPU time, which other processes on a shared host disturb far less than "
            "elapsed time."
            if result["clock"] == "cpu"
            else "elapsed (wall) time."
        ),
        "",
        f"One teacher pass over the training set (what cached KD pays once): "
        f"{result['teacher_pass_seconds']:.2f} s.",
        "",
        "| student | params | mode | seconds (median) | samples/s "
        "| time vs student alone (median of per-round ratios) |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for s in result["students"]:
        for m in s["modes"]:
            lines.append(
                f"| {s['student']} | {s['params']:,} | {m['mode']} | {m['seconds']:.2f} | "
                f"{m['samples_per_s']:,.0f} | {m['ratio']:.2f}x |"
            )
    lines.append("")
    for s in result["students"]:
        verdict = "met" if s["target_met"] else "NOT met"
        lines.append(
            f"- {s['student']}: cached KD takes {s['cached_ratio']:.2f}x the student-alone time "
            f"(target <= {TARGET}x: **{verdict}**); online KD {s['online_ratio']:.2f}x; "
            f"function matching (augmented, online teacher; the default recipe) "
            f"{s['fm_ratio']:.2f}x."
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny: 512 samples, 1 epoch, 1 round")
    ap.add_argument("--dataset", default="mnist1d", choices=["digits", "mnist1d"])
    ap.add_argument("--students", nargs="+", help="default: cnn-tiny dscnn (quick: cnn-tiny)")
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="cpu",
        help="cpu: process CPU time (default; with 1 thread, what other processes on a shared "
        "host disturb least); wall: elapsed time",
    )
    ap.add_argument("--out", type=Path, default=RESULTS, help="folder for the .md and .json")
    args = ap.parse_args(argv)
    setup_torch(args.threads)
    global _clock
    _clock = CLOCKS[args.clock]
    epochs = args.epochs or (1 if args.quick else 20)
    rounds = args.rounds or (1 if args.quick else 5)
    students = args.students or (["cnn-tiny"] if args.quick else ["cnn-tiny", "dscnn"])
    data = load_data(args.dataset, seed=0)
    x, y = data.x_train, data.y_train
    if args.quick:
        x, y = x[:512], y[:512]
    cfg = TrainConfig(epochs=epochs, seed=0, device="cpu")
    torch.manual_seed(0)
    teacher = create_model("teacher-cnn", data.input_shape, data.num_classes).eval()
    warmup = TrainConfig(epochs=1, seed=0, device="cpu")
    for s in students:  # untimed: the first fit in a process pays one-off set-up costs
        for m in MODES:
            time_mode(m, s, teacher, data, x[:256], y[:256], warmup)
    times = {(s, m): [] for s in students for m in MODES}
    cache_pass = []
    for _ in range(rounds):
        start = _clock()
        predict_logits(teacher, x, torch.device("cpu"))
        cache_pass.append(_clock() - start)
        for s in students:
            for m in MODES:
                times[(s, m)].append(time_mode(m, s, teacher, data, x, y, cfg))
    rows = []
    for s in students:
        modes = []
        for m in MODES:
            sec = statistics.median(times[(s, m)])
            modes.append(
                {
                    "mode": m,
                    "seconds": round(sec, 4),
                    "all_seconds": [round(t, 4) for t in times[(s, m)]],
                    "samples_per_s": round(epochs * len(x) / sec, 1),
                    # paired: each round's time over the same round's student-alone time
                    "ratio": round(
                        statistics.median(
                            t / a
                            for t, a in zip(times[(s, m)], times[(s, "student alone")], strict=True)
                        ),
                        3,
                    ),
                }
            )
        ratio = {m["mode"]: m["ratio"] for m in modes}
        rows.append(
            {
                "student": s,
                "params": sum(
                    p.numel()
                    for p in create_model(s, data.input_shape, data.num_classes).parameters()
                ),
                "modes": modes,
                "cached_ratio": ratio["cached KD"],
                "online_ratio": ratio["online KD"],
                "fm_ratio": ratio[FM_MODE],
                "target_met": ratio["cached KD"] <= TARGET,
            }
        )
    result = {
        "benchmark": "distill_speed",
        "quick": args.quick,
        "host": environment(),
        "threads": args.threads,
        "clock": args.clock,
        "dataset": args.dataset,
        "train_samples": len(x),
        "batch_size": cfg.batch_size,
        "epochs": epochs,
        "rounds": rounds,
        "teacher": "teacher-cnn",
        "teacher_params": sum(p.numel() for p in teacher.parameters()),
        "target_ratio": TARGET,
        "teacher_pass_seconds": round(statistics.median(cache_pass), 4),
        "students": rows,
    }
    stem = "distill_speed_quick" if args.quick else "distill_speed"
    json_path, md_path = write_results(args.out, stem, result, markdown(result))
    print(markdown(result))
    print(f"wrote {md_path} and {json_path}")
    return result


if __name__ == "__main__":
    main()
