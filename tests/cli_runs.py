"""One way for tests to run `edgekd compress` end to end with tiny epochs."""

from pathlib import Path

import yaml
from click.testing import CliRunner, Result

from edgekd.cli import main

# One-epoch teachers are near chance on purpose (speed): these runs are not about teacher
# strength, which tests/test_recipe.py checks with the refusal on.
TINY = {
    "teacher_epochs": 1,
    "epochs": 2,
    "prune_epochs": 1,
    "latency_runs": 20,
    "allow_weak_teacher": True,
}


def run_compress(directory: Path, *flags: str, **config) -> tuple[Path, Result]:
    """Write a tiny config (overridden by `config`) and run compress with extra CLI `flags`."""
    cfg = {**TINY, "out": str(directory / "run"), **config}
    path = directory / "run.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return directory / "run", CliRunner().invoke(main, ["compress", "--config", str(path), *flags])


def write_table(path: Path, ids=(0, 1, 2), rows: int = 60) -> Path:
    """A tiny separable table (rows of 5 features) with labels `ids`: the fastest full run."""
    import numpy as np

    k = np.arange(rows) % len(ids)
    x = np.random.default_rng(0).normal(size=(rows, 5)) + 3 * k[:, None]
    np.savez(path, X=x.astype(np.float32), y=np.asarray(ids)[k])
    return path
