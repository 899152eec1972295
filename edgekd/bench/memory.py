"""Peak memory of a model, measured in a fresh child process from VmHWM.

Why a child: the parent (a training run, a notebook) may already hold hundreds of MB; its peak
says nothing about the model. Why VmHWM and not `ru_maxrss`: a child started from a large parent
reports the parent's peak in `ru_maxrss` (seen: 628 MiB reported, 13.7 MiB true). The baseline
is the same child doing everything except loading the model, so `added` is what the model costs.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from edgekd.errors import EdgeKDError

CHILD_MODULE = "edgekd.bench._memory_child"
NOT_LINUX = (
    "memory not measured: VmHWM needs Linux /proc/self/status (this host is {platform}); "
    "edgekd does not fall back to ru_maxrss, which reports an inherited parent peak"
)


@dataclass
class MemoryStats:
    """Process peak, bare-runtime baseline and their difference, in MiB (None: not measured)."""

    peak_mb: float | None
    baseline_mb: float | None
    added_mb: float | None
    arena: bool = True
    threads: int = 1
    batch: int = 1
    cold_start_ms: float | None = None
    note: str | None = None

    def to_dict(self) -> dict:
        return {
            "peak": self.peak_mb,
            "baseline": self.baseline_mb,
            "added": self.added_mb,
            "arena": self.arena,
        }


def _child_env() -> dict[str, str]:
    """The parent's environment, plus the path edgekd lives on (works from a source checkout)."""
    env = os.environ.copy()
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def run_child(args: Sequence[str], timeout: float = 300) -> dict:
    """Run the child with `args`; its last stdout line is the JSON result."""
    cmd = [sys.executable, "-m", CHILD_MODULE, *args]
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, env=_child_env(), check=False
        )
    except subprocess.TimeoutExpired as e:
        raise EdgeKDError(f"memory child timed out after {timeout:.0f} s; try --no-memory") from e
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
        why = lines[-1] if lines else f"exit code {proc.returncode}"
        raise EdgeKDError(f"memory measurement failed in the child process: {why}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _mb(kb: int | None) -> float | None:
    return None if kb is None else round(kb / 1024, 2)


@functools.lru_cache(maxsize=1)
def baseline_mb() -> float | None:
    """Peak of python + numpy + onnxruntime with no model (cached: it does not depend on one)."""
    return _mb(run_child([])["vmhwm_kb"])


def measure_memory(
    path: str | Path,
    *,
    threads: int = 1,
    batch: int = 1,
    arena: bool = True,
    shapes: Mapping[str, Sequence[int]] | None = None,
    runs: int = 3,
    max_input_mb: float | None = None,
) -> MemoryStats:
    """Peak MiB of a fresh process that loads `path` and runs it `runs` times, and the baseline.

    The child refuses inputs above `max_input_mb` (default: a share of MemAvailable) as bench does.
    """
    path = Path(path)
    if not path.is_file():
        raise EdgeKDError(f"model file not found: {path}; pass an existing .onnx or .ort file")
    args = ["--model", str(path.resolve()), "--threads", str(threads), "--batch", str(batch)]
    args += ["--arena", str(int(arena)), "--runs", str(runs)]
    args += ["--shapes", json.dumps({k: list(v) for k, v in (shapes or {}).items()})]
    if max_input_mb is not None:
        args += ["--max-input-mb", str(max_input_mb)]
    result = run_child(args)
    peak = _mb(result["vmhwm_kb"])
    base = baseline_mb() if peak is not None else None
    if peak is None or base is None:
        return MemoryStats(
            None, None, None, arena, threads, batch, note=NOT_LINUX.format(platform=sys.platform)
        )
    return MemoryStats(
        peak_mb=peak,
        baseline_mb=base,
        added_mb=round(peak - base, 2),
        arena=arena,
        threads=threads,
        batch=batch,
        cold_start_ms=result.get("cold_start_ms"),
    )
