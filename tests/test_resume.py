"""`compress --resume`: a killed run continues where it stopped, skipping what it finished."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from edgekd.manifest import read_status
from tests.cli_runs import TINY, run_compress, write_table

ROOT = Path(__file__).resolve().parents[1]
KILL_AT = 3  # distillation epoch after which the process is killed (its checkpoint saved)

# The process kills itself with SIGKILL right after a distillation epoch's checkpoint: no
# handler runs, exactly as for the OOM killer; the manifest still says "running".
KILLER = (
    "import os, signal, sys\n"
    "from edgekd.pipeline import compress\n"
    "def stop(epoch, _acc):\n"
    f"    if epoch == {KILL_AT}:\n"
    "        os.kill(os.getpid(), signal.SIGKILL)\n"
    "compress(sys.argv[1], on_epoch=stop)\n"
)


def _config(tmp_path: Path) -> dict:
    data = str(write_table(tmp_path / "table.npz", rows=300))
    sizes = {"teacher_epochs": 2, "epochs": 6, "temperature": 4.0, "quantize": "none"}
    return {**TINY, "data": data, **sizes}


def _report(run: Path) -> dict:
    return json.loads((run / "report.json").read_text())


def test_a_killed_distillation_resumes_without_retraining_the_teacher(tmp_path):
    config = _config(tmp_path)
    # An uninterrupted run (--resume on a directory with no run just runs it).
    (tmp_path / "whole").mkdir()
    whole_dir, whole = run_compress(tmp_path / "whole", "--resume", **config)
    assert whole.exit_code == 0, whole.output
    assert _report(whole_dir)["resumed"] == []

    killed = tmp_path / "killed"
    killed.mkdir()
    (killed / "run.yaml").write_text(yaml.safe_dump({**config, "out": str(killed / "run")}))
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.run(
        [sys.executable, "-c", KILLER, str(killed / "run.yaml")], env=env, capture_output=True
    )
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    run = killed / "run"
    assert read_status(run) == "interrupted (the process is gone)"
    assert [s["stage"] for s in json.loads((run / "manifest.json").read_text())["stages"]] == [
        "teacher"
    ]
    teacher_bytes = (run / "teacher.onnx").read_bytes()
    manifest_bytes = (run / "manifest.json").read_bytes()

    # A config that changed a field the finished teacher stage depends on is refused.
    _, refused = run_compress(killed, "--resume", "--temperature", "3.0", **config)
    assert refused.exit_code == 2, refused.output
    assert (
        "--resume: temperature changed since the interrupted run (4.0 -> 3.0); rerun without "
        "--resume to start over" in refused.output
    )
    assert (run / "manifest.json").read_bytes() == manifest_bytes  # the refusal wrote nothing

    _, resumed = run_compress(killed, "--resume", **config)
    assert resumed.exit_code == 0, resumed.output
    assert f"resuming from the checkpoint of epoch {KILL_AT}/6" in resumed.output
    report = _report(run)
    assert report["resumed"] == ["teacher"]  # skipped; distillation continued from its epoch
    assert (run / "teacher.onnx").read_bytes() == teacher_bytes  # not retrained, not rewritten
    assert read_status(run) == "done" and not (run / "checkpoints").exists()
    stages = [s["stage"] for s in json.loads((run / "manifest.json").read_text())["stages"]]
    assert stages[:2] == ["teacher", "distill"] and stages.count("teacher") == 1
    # Same data, same seed, every random stream restored: the uninterrupted run's result.
    ours, theirs = report["training"]["student"], _report(whole_dir)["training"]["student"]
    assert abs(ours["best_val_accuracy"] - theirs["best_val_accuracy"]) <= 0.05
    assert ours["best_epoch"] == theirs["best_epoch"]

    # A finished run has nothing to resume.
    _, again = run_compress(killed, "--resume", **config)
    assert again.exit_code == 2 and "nothing to resume" in again.output, again.output
    assert read_status(run) == "done"


def test_fit_continued_from_its_checkpoint_is_the_uninterrupted_fit(tmp_path):
    """Every random stream (batch order, augmentation, dropout) continues where it stopped: a fit
    stopped after epoch 2 and resumed has the history of one that was never stopped."""
    import numpy as np
    import pytest
    import torch

    from edgekd.distill.trainer import TrainConfig, fit

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(200, 5)).astype(np.float32), rng.integers(0, 3, 200)
    cfg = TrainConfig(epochs=4, augment="mixup,noise", schedule="cosine", seed=3)

    def model():
        torch.manual_seed(0)
        return torch.nn.Sequential(
            torch.nn.Linear(5, 16), torch.nn.Dropout(0.2), torch.nn.Linear(16, 3)
        )

    whole = fit(model(), x, y, x[:50], y[:50], cfg)

    def stop(epoch, _acc):
        if epoch == 2:
            raise KeyboardInterrupt

    ckpt = tmp_path / "fit.pt"
    with pytest.raises(KeyboardInterrupt):
        fit(model(), x, y, x[:50], y[:50], cfg, checkpoint=ckpt, on_epoch=stop)
    resumed = fit(model(), x, y, x[:50], y[:50], cfg, checkpoint=ckpt)
    assert len(resumed.history) == 4 and resumed.history == whole.history
    assert resumed.steps == whole.steps and resumed.best_epoch == whole.best_epoch


def test_a_manifest_naming_the_old_search_stage_still_resumes(tmp_path):
    """Runs written before the T/alpha stage was renamed `kd-search` recorded it as "search":
    resuming such a run skips it under its new name (and a changed field is still refused)."""
    from types import SimpleNamespace

    from edgekd.errors import EdgeKDError
    from edgekd.manifest import config_hash
    from edgekd.stages import kd_search
    from edgekd.stages.resume import start_resume

    values = {"temperature": "auto", "alpha": 0.5}
    record = {"stage": "search", "fields": values, "fields_hash": config_hash(values)}
    manifest = {"status": "running", "stages": [{**record, "inputs": {}, "output_sha256": {}}]}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    resume = start_resume(tmp_path, SimpleNamespace(**values))
    assert kd_search.NAME == "kd-search"
    assert resume.kept(kd_search.NAME, values)["stage"] == "kd-search"
    with pytest.raises(EdgeKDError, match=r"alpha changed since the interrupted run \(0.5 -> 0"):
        start_resume(tmp_path, SimpleNamespace(temperature="auto", alpha=0.7))
