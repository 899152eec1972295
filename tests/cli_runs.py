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
    result = CliRunner().invoke(main, ["compress", "--config", str(path), *flags])
    run_dir = directory / "run"
    if result.exit_code in (0, 1) and (run_dir / "report.json").is_file():
        check_shipped_with_tract(run_dir)  # every shipped file: tract predicts what ort does
    return run_dir, result


def write_table(path: Path, ids=(0, 1, 2), rows: int = 60) -> Path:
    """A tiny separable table (rows of 5 features) with labels `ids`: the fastest full run."""
    import numpy as np

    k = np.arange(rows) % len(ids)
    x = np.random.default_rng(0).normal(size=(rows, 5)) + 3 * k[:, None]
    np.savez(path, X=x.astype(np.float32), y=np.asarray(ids)[k])
    return path


def check_shipped_with_tract(run_dir: Path) -> str | None:
    """Run the shipped file with tract on the run's test split, independently of the run, and
    assert its predictions equal onnxruntime's and the report says so. Returns the reason
    instead when tract cannot load the file's format (asserting the report states it)."""
    import json

    from edgekd.config import resolve_config
    from edgekd.evaluate import onnx_logits
    from edgekd.second_runtime import Unavailable, shipped_line, tract_logits
    from edgekd.stages.adapters import data_of

    report = json.loads((run_dir / "report.json").read_text())
    final = next(a for a in report["artifacts"] if a["name"] == report["final"])
    opinion, path = final["second_runtime"], run_dir / final["path"]
    cfg = resolve_config(run_dir / "config.yaml")  # texts: the run's own tokenizer.json
    x_test = data_of(cfg.with_flat(out=str(run_dir), resume=True)).x_test
    assert shipped_line(report) in (run_dir / "report.md").read_text()
    try:
        by_tract = tract_logits(path, x_test)
    except Unavailable as e:  # only a format tract lacks is acceptable, and the report says so
        assert "com.microsoft" in str(e) and "only onnxruntime" in opinion["skipped"], str(e)
        return str(e)
    assert (by_tract.argmax(1) == onnx_logits(path, x_test).argmax(1)).all()
    assert opinion["agrees"] is True and opinion["agreement"] == 1.0
    assert opinion["n"] == len(x_test) and opinion["runtime"].startswith("tract ")
    return None
