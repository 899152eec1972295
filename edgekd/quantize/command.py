"""`edgekd quantize`: the work behind the click command (which only parses and calls this)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from rich.console import Console

from edgekd.errors import EdgeKDError
from edgekd.quantize.choose import QuantizationChoice, choose_quantization
from edgekd.quantize.config import CHOOSE_MODES, check_mode
from edgekd.quantize.table import rich_table, why_lines


def load_npz(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    path = Path(path)
    if not path.is_file():
        raise EdgeKDError(f"data file not found: {path} (pass an .npz with arrays X and y)")
    try:
        with np.load(path, allow_pickle=False) as data:
            keys = set(data.files)
            x_key = "X" if "X" in keys else "x" if "x" in keys else None
            if x_key is None or "y" not in keys:
                raise EdgeKDError(
                    f"{path.name} has arrays {sorted(keys)}; it needs X (samples) and y (labels)"
                )
            return data[x_key], data["y"]
    except EdgeKDError:
        raise
    except Exception as e:
        raise EdgeKDError(f"{path} is not a readable .npz file ({type(e).__name__})") from None


def split(
    x: np.ndarray, y: np.ndarray, calibration_samples: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A seeded shuffle, then the first rows calibrate and the rest validate (disjoint)."""
    if len(x) != len(y):
        raise EdgeKDError(f"X has {len(x)} rows but y has {len(y)}; pass one label per sample")
    if len(x) < 4:
        raise EdgeKDError(f"only {len(x)} samples; pass at least a few hundred for quantization")
    order = np.random.default_rng(seed).permutation(len(x))
    n_cal = max(1, min(calibration_samples, len(x) // 2))
    cal, val = order[:n_cal], order[n_cal:]
    return x[cal], x[val], y[val]


def run_quantize(
    model: str,
    data: str,
    *,
    out: str,
    mode: str = "auto",
    max_accuracy_drop: float = 0.5,
    calibration_samples: int = 256,
    threads: int = 1,
    runs: int = 200,
    as_json: bool = False,
) -> QuantizationChoice:
    """Quantize `model`; `max_accuracy_drop` is in percentage points here (0.5 = half a point)."""
    check_mode(mode, CHOOSE_MODES)
    if calibration_samples < 1 or threads < 1 or runs < 1:
        raise EdgeKDError("--calibration-samples, --threads and --runs must be at least 1")
    x, y = load_npz(data)
    cal_x, val_x, val_y = split(x, y, calibration_samples)
    choice = choose_quantization(
        model,
        out,
        calibration=cal_x,
        val_x=val_x,
        val_y=val_y,
        mode=mode,
        max_accuracy_drop=max_accuracy_drop,
        threads=threads,
        runs=runs,
        calibration_samples=calibration_samples,
    )
    console = Console()
    if as_json:
        console.print_json(json.dumps(choice.to_dict()))
        return choice
    summary = choice.to_dict()
    console.print(rich_table(summary))
    for line in why_lines(summary):
        console.print(f"  {line}", soft_wrap=True, highlight=False)
    if choice.path is not None:
        console.print(f"shipped {choice.shipped}: wrote {choice.path}")
    else:
        console.print(f"shipped fp32: {out} not written; ship {model} as it is")
    console.print(choice.reason, soft_wrap=True)
    return choice
