"""Shared by the training benchmarks: threads, seeded models, accuracy, and result files."""

from __future__ import annotations

import contextlib
import io
import json
import statistics
from pathlib import Path

import numpy as np
import torch

from edgekd.report import host_info

RESULTS = Path(__file__).resolve().parent / "results"


def setup_torch(threads: int) -> None:
    """Fixed intra-op threads: timings and results must not depend on the host's pool size."""
    torch.set_num_threads(threads)


@contextlib.contextmanager
def quiet():
    """Silence the trainer's progress bars (they go to the terminal, not to the results)."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


def torch_test_accuracy(model: torch.nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    """Top-1 of the trained torch model (eval mode) on the test split."""
    model.eval()
    with torch.no_grad():
        preds = torch.cat(
            [model(torch.from_numpy(x[i : i + 1024])) for i in range(0, len(x), 1024)]
        )
    return float((preds.argmax(1).numpy() == y).mean())


def mean_std(values: list[float]) -> dict:
    return {
        "mean": float(statistics.fmean(values)),
        "std": float(statistics.stdev(values)) if len(values) > 1 else 0.0,
        "n": len(values),
        "values": [round(v, 5) for v in values],
    }


def pm(stat: dict | None, scale: float = 100.0, digits: int = 1) -> str:
    """'96.2 ± 0.4' (percent by default); '-' when missing."""
    if not stat:
        return "-"
    return f"{stat['mean'] * scale:.{digits}f} ± {stat['std'] * scale:.{digits}f}"


def environment() -> dict:
    return {**host_info(), "torch_threads": torch.get_num_threads()}


def write_results(out: Path, stem: str, result: dict, markdown: str) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / f"{stem}.json", out / f"{stem}.md"
    json_path.write_text(json.dumps(result, indent=2) + "\n")
    md_path.write_text(markdown)
    return json_path, md_path
