"""Streamed data at edge scale: peak memory of a compress run, and image-folder decode speed.

1. Peak RSS of `edgekd compress --data shapes32:N` (1 teacher epoch, 1 distillation epoch, no
   quantization), run in a fresh child process that prints its own `VmHWM` at exit
   (design.md "Measuring honestly": a peak is per process). Printed beside what the data
   would take as float32 arrays, the way every DataBundle held it before streaming.
   Target: under 1.5 GB at N = 50,000.
2. Images/second decoded from a folder of PNGs (written from shapes32 into a temp folder,
   never the repository) by the trainer's batch reader, at 0 (in process), 1 and 2
   DataLoader workers (`--workers N`).

    python benchmarks/stream_memory.py            # full: 50,000 images, 20,000 PNGs
    python benchmarks/stream_memory.py --quick    # tiny, for the test suite
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, environment, write_results

TARGET_GB = 1.5
REPO = Path(__file__).resolve().parents[1]

# The child runs the CLI in process and reports its own peak when the interpreter exits.
CHILD = """
import atexit, json, sys

def _peak():
    with open("/proc/self/status") as f:
        kb = {k: int(v.split()[0]) for k, _, v in (l.partition(":") for l in f) if k == "VmHWM"}
    sys.stderr.write("PEAK " + json.dumps(kb) + "\\n")

atexit.register(_peak)
from edgekd.cli import main
main(sys.argv[1:], prog_name="edgekd")
"""


def compress_peak(count: int, student: str, teacher: str, out: Path) -> dict:
    """Run compress in a child; its VmHWM (MiB), wall time and exit code."""
    config = {
        "data": f"shapes32:{count}",
        "student": student,
        "teacher": [teacher],
        "teacher_epochs": 1,
        "epochs": 1,
        "allow_weak_teacher": True,  # a 1-epoch teacher: this run measures memory, not accuracy
        "quantize": "none",
        "baseline": False,
        "latency_runs": 20,
        "device": "cpu",
        "out": str(out),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    (out.parent / "stream.yaml").write_text(json.dumps(config))  # JSON is valid YAML
    args = ["compress", "--config", str(out.parent / "stream.yaml")]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "2"}
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, *args], capture_output=True, text=True, env=env
    )
    seconds = time.perf_counter() - start
    peak = [ln for ln in proc.stderr.splitlines() if ln.startswith("PEAK ")]
    kb = json.loads(peak[-1][5:])["VmHWM"] if peak else None
    manifest = out / "manifest.json"
    stages = json.loads(manifest.read_text())["stages"] if manifest.exists() else []
    return {
        "exit_code": proc.returncode,
        "peak_rss_mib": kb / 1024 if kb else None,
        "stages": [{k: s.get(k) for k in ("stage", "seconds", "peak_rss_mib")} for s in stages],
        "seconds": round(seconds, 1),
        "stderr_tail": proc.stderr[-600:] if proc.returncode not in (0, 1) else "",
    }


def write_pngs(count: int, root: Path) -> Path:
    """`count` shapes32 images as PNGs, one folder per class."""
    import numpy as np
    from PIL import Image

    from edgekd.data.shapes32 import CLASS_NAMES, materialise

    x_path, y_path = materialise(count)
    x, y = np.load(x_path, mmap_mode="r"), np.load(y_path)
    for name in CLASS_NAMES:
        (root / name).mkdir(parents=True, exist_ok=True)
    for i in range(count):
        Image.fromarray(np.asarray(x[i]).transpose(1, 2, 0)).save(
            root / CLASS_NAMES[y[i]] / f"{i:06d}.png"
        )
    return root


def decode_rate(root: Path, workers: int, batch: int = 256) -> dict:
    """Images/s through the trainer's batch reader over one shuffled pass of the train split."""
    import torch

    from edgekd.data import load_data
    from edgekd.data.stream import TrainRows

    data = load_data(str(root), workers=workers)
    rows = TrainRows(data.x_train, None, torch.device("cpu"))
    order = torch.randperm(len(rows), generator=torch.Generator().manual_seed(0))
    start = time.perf_counter()
    seen = sum(len(xb) for _, xb in rows.batches(order, batch))
    seconds = time.perf_counter() - start
    return {"workers": workers, "images": seen, "seconds": seconds, "images_per_s": seen / seconds}


def markdown(result: dict) -> str:
    m = result["memory"]
    peak = m["peak_rss_mib"]
    lines = [
        "# Streamed data: peak memory and decode speed",
        "",
        f"Host: {result['host'].get('cpu', '?')}, {result['host'].get('cores', '?')} cores "
        f"(shared; decode rates move with the host's load).",
        "",
        "## Peak RSS of `edgekd compress` on shapes32",
        "",
        f"`{m['command']}`",
        "",
        "| images | data as uint8 | data as float32 | peak RSS (VmHWM) | target | met | "
        "exit | seconds |",
        "|---:|---:|---:|---:|---:|:--:|---:|---:|",
        f"| {m['images']} | {m['uint8_mib']:.0f} MiB | {m['float32_mib']:.0f} MiB | "
        f"{'-' if peak is None else f'{peak:.0f} MiB'} | < {TARGET_GB * 1024:.0f} MiB | "
        f"{'yes' if m['target_met'] else 'no'} | {m['exit_code']} | {m['seconds']} |",
        "",
        "Float32 size: what the data would take as the float32 arrays every DataBundle held "
        "before streaming (the old path also made split copies). Exit 1 means only that the "
        "default budget was missed, which this benchmark does not judge.",
        "",
        "Where the memory goes: the run's peak so far at the end of each stage (manifest.json).",
        "",
        "| stage | seconds | peak RSS so far |",
        "|---|---:|---:|",
        *[
            f"| {st['stage']} | {st['seconds']} | {st['peak_rss_mib'] or '-'} MiB |"
            for st in m.get("stages", [])
        ],
        "",
        f"## Decoding a folder of {result['decode']['pngs']} PNGs (train split, one pass)",
        "",
        "| workers | images | seconds | images/s |",
        "|---:|---:|---:|---:|",
    ]
    for r in result["decode"]["rows"]:
        lines.append(
            f"| {r['workers']} | {r['images']} | {r['seconds']:.2f} | {r['images_per_s']:.0f} |"
        )
    lines += [
        "",
        "Workers 0 decodes in the training process; N > 0 uses N DataLoader processes "
        "(`--workers N`), each decoding whole batches.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes (the test suite)")
    ap.add_argument("--images", type=int, help="shapes32 size for the compress run")
    ap.add_argument("--pngs", type=int, help="PNG files for the decode run")
    ap.add_argument("--student", default="cnn-tiny")
    ap.add_argument("--teacher", default="resnet-tiny", help="recipe trained on the spot")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    images = args.images or (150 if args.quick else 50_000)
    pngs = args.pngs or (100 if args.quick else 20_000)

    with tempfile.TemporaryDirectory(prefix="edgekd-stream-") as tmp:
        tmp = Path(tmp)
        from edgekd.data.shapes32 import materialise

        materialise(images)  # generated once, outside the measured child
        run = compress_peak(images, args.student, args.teacher, tmp / "run")
        sample = 3 * 32 * 32
        peak = run["peak_rss_mib"]
        memory = {
            "command": f"edgekd compress --data shapes32:{images} --student {args.student} "
            f"--teacher {args.teacher} --teacher-epochs 1 --epochs 1 --allow-weak-teacher "
            "--quantize none "
            "--no-baseline --device cpu",
            "images": images,
            "uint8_mib": images * sample / 2**20,
            "float32_mib": images * sample * 4 / 2**20,
            **run,
            "target_met": peak is not None
            and peak < TARGET_GB * 1024
            and run["exit_code"] in (0, 1),
        }
        root = write_pngs(pngs, tmp / "pngs")
        rows = [decode_rate(root, w) for w in (0, 1, 2)]

    result = {
        "quick": args.quick,
        "host": environment(),
        "memory": memory,
        "decode": {"pngs": pngs, "rows": rows},
    }
    stem = "stream_memory_quick" if args.quick else "stream_memory"
    json_path, md_path = write_results(args.out, stem, result, markdown(result))
    print(markdown(result))
    print(f"wrote {json_path} and {md_path}")
    return result


if __name__ == "__main__":
    main()
