"""`torchrun --nproc_per_node 2 -m edgekd compress`: DistributedDataParallel on CPU (gloo).

Both ranks train; rank 0 alone writes one set of artifacts, and the accuracy is in line with the
same config in one process (same global batch, same seeded order, split between the ranks).
"""

import json
import os
import subprocess
import sys

import pytest
import torch.distributed as dist
from click.testing import CliRunner

from edgekd.cli import main

pytestmark = pytest.mark.skipif(not dist.is_available(), reason="torch.distributed missing")

ARGS = ["--data", "digits", "--epochs", "6", "--teacher-epochs", "2", "--quantize", "none"]
ARGS.append("--allow-weak-teacher")


def _torchrun(out, cfg, tmp) -> subprocess.CompletedProcess:
    # --standalone: a free local port, so parallel test runs do not collide
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    launcher += ["--nproc_per_node", "2"]
    cmd = [*launcher, "-m", "edgekd", "compress", *ARGS, "--config", str(cfg), "--out", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TMPDIR": str(tmp)}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)


def _student_accuracy(run) -> float:
    report = json.loads((run / "report.json").read_text())
    return next(a["accuracy"] for a in report["artifacts"] if a["name"] == "student")


def test_two_cpu_processes_write_once_and_match_one_process(tmp_path):
    cfg = tmp_path / "light.yaml"
    cfg.write_text("latency_runs: 10\n")
    ddp, single = tmp_path / "ddp", tmp_path / "single"
    scratch = tmp_path / "tmp"  # where rank 1 keeps its throw-away files
    scratch.mkdir()
    result = _torchrun(ddp, cfg, scratch)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("run directory:") == 1  # only rank 0 reports

    manifest = json.loads((ddp / "manifest.json").read_text())
    assert manifest["status"] == "done"
    stages = [s["stage"] for s in manifest["stages"]]
    assert len(stages) == len(set(stages))  # every stage recorded once
    files = sorted(p.name for p in ddp.iterdir())
    assert files == sorted(
        [
            "config.yaml",
            "manifest.json",
            "report.html",
            "report.json",
            "report.md",
            "student.onnx",
            "student.pt",
            "teacher.onnx",
        ]
    ), files  # one set of artifacts: no per-rank copies, no leftover temporary files
    assert not list(scratch.glob("edgekd-rank*"))

    # the one-process run in this process: the same command without a third interpreter start
    args = ["compress", *ARGS, "--config", str(cfg), "--out", str(single)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, (result.output, result.exception)
    acc_ddp, acc_single = _student_accuracy(ddp), _student_accuracy(single)
    assert abs(acc_ddp - acc_single) <= 0.05, (acc_ddp, acc_single)
    assert acc_ddp > 0.8
