"""Run in a fresh process by edgekd.bench.memory: load a model, run it, print VmHWM as JSON.

A fresh process because a peak is per-process: measured in the parent it would include the
parent's own data (and `ru_maxrss` in a child reports the parent's peak, inherited at fork).
Without --model it does everything except loading the model: that is the bare-runtime baseline.
Imports numpy + onnxruntime only (never torch), in both modes, so the difference is the model.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np  # noqa: F401  (imported in both modes so the baseline includes it)
import onnxruntime  # noqa: F401

from edgekd.bench.inputs import make_feeds
from edgekd.bench.latency import make_session

STATUS = "/proc/self/status"


def read_status_kb() -> dict[str, int] | None:
    """VmHWM / VmRSS in kB from /proc/self/status; None where there is no /proc (not Linux)."""
    try:
        with open(STATUS) as f:
            lines = f.readlines()
    except OSError:
        return None
    out = {}
    for line in lines:
        key, _, rest = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            out[key] = int(rest.split()[0])
    return out or None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m edgekd.bench._memory_child")
    ap.add_argument("--model", default=None, help="ONNX/ORT file; omit for the baseline")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--arena", type=int, choices=(0, 1), default=1)
    ap.add_argument("--shapes", default="{}", help="JSON {input: [dims]}")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--max-input-mb", type=float, default=None)
    args = ap.parse_args(argv)

    result: dict = {"model": args.model}
    if args.model is not None:
        t0 = time.perf_counter()
        session = make_session(args.model, args.threads, arena=bool(args.arena))
        feeds, _ = make_feeds(
            session,
            shapes=json.loads(args.shapes),
            batch=args.batch,
            max_input_mb=args.max_input_mb,
        )
        session.run(None, feeds)
        result["cold_start_ms"] = (time.perf_counter() - t0) * 1e3
        for _ in range(max(0, args.runs - 1)):
            session.run(None, feeds)
    status = read_status_kb()
    result["vmhwm_kb"] = status.get("VmHWM") if status else None
    result["vmrss_kb"] = status.get("VmRSS") if status else None
    result["platform"] = sys.platform
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
