"""Runs that survive: one writer per run directory, honest status after a kill or a signal,
and a rerun that replaces the earlier run's files instead of mixing with them."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from edgekd import runlock
from edgekd.cli import main
from edgekd.config import resolve_config
from edgekd.errors import EdgeKDError
from edgekd.manifest import GONE, Manifest, clear_earlier_run, read_status
from tests.cli_runs import TINY, run_compress, write_table

ROOT = Path(__file__).resolve().parents[1]


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


def _default_sigint() -> None:
    """In the child before exec: a suite started in the background (`nohup make test &`)
    ignores SIGINT, a child inherits that and Python then installs no Ctrl-C handler, so the
    SIGINT case below waited forever for a run that never stopped."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait_for(condition, proc: subprocess.Popen, what: str, limit: float = 600) -> None:
    """Poll until `condition()`; fail (not hang) if the process ends first or never gets there."""
    deadline = time.monotonic() + limit
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"process ended (rc {proc.returncode}) before {what}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"never reached: {what}")
        time.sleep(0.2)


def test_a_second_writer_exits_2_and_the_first_finishes_with_its_own_files(tmp_path):
    from edgekd.pipeline import compress

    out = tmp_path / "run"
    second = []

    def start_second_run(epoch, _acc):
        # The first run is mid-distillation, holding the directory. Its first call: epochs of
        # a step are validated (and reported) in groups (trainer.EVAL_STEPS), not each one.
        if not second:
            flags = ["--data", data, "--out", str(out), "--seed", "7", "--quantize", "none"]
            flags.append("--allow-weak-teacher")
            second.append(CliRunner().invoke(main, ["compress", *flags]))

    data = str(write_table(tmp_path / "table.npz"))
    cfg = resolve_config(**{**TINY, "data": data, "out": str(out), "seed": 1, "quantize": "int8"})
    result = compress(cfg, on_epoch=start_second_run)
    (refused,) = second
    assert refused.exit_code == 2, refused.output
    message = refused.output.strip().splitlines()[-1]
    assert f"is being written by edgekd pid {os.getpid()} on " in message
    assert "choose another --out or wait" in message
    assert yaml.safe_load((out / "config.yaml").read_text())["run"]["seed"] == 1
    report = json.loads((out / "report.json").read_text())
    assert report["config"]["run"]["seed"] == 1 and result.report["final"] == report["final"]
    assert (out / "student.int8.onnx").exists()  # run 1's quantization, not run 2's "none"
    assert read_status(out) == "done" and not (out / runlock.LOCK_NAME).exists()


def test_a_killed_holder_releases_the_lock_and_its_running_manifest_reads_as_gone(tmp_path):
    code = (
        "import sys, time\nfrom pathlib import Path\nfrom edgekd import runlock\n"
        "from edgekd.manifest import Manifest\n"
        "with runlock.hold(sys.argv[1]):\n"
        "    Manifest(Path(sys.argv[1]), {})\n"
        "    print('held', flush=True)\n"
        "    time.sleep(600)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, env=_env(), text=True
    )
    try:
        assert proc.stdout.readline().strip() == "held"
        assert read_status(tmp_path) == "running"
        with (
            pytest.raises(EdgeKDError, match=f"pid {proc.pid} on .* since "),
            runlock.hold(tmp_path),
        ):
            pass
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert read_status(tmp_path) == GONE  # the manifest still says "running"
    with runlock.hold(tmp_path):  # the OS released the dead holder's lock: no stale lock
        assert runlock.is_held(tmp_path)
    assert not runlock.is_held(tmp_path)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_sigterm_and_sigint_leave_an_interrupted_manifest_and_the_shell_exit_code(
    tmp_path, sig, code
):
    data = str(write_table(tmp_path / "table.npz"))
    config = {**TINY, "data": data, "epochs": 10**6, "out": str(tmp_path / "run")}
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(config))
    proc = subprocess.Popen(
        [sys.executable, "-m", "edgekd", "compress", "--config", str(tmp_path / "run.yaml")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=_env(),
        preexec_fn=_default_sigint,
    )
    manifest = tmp_path / "run" / "manifest.json"

    def distilling() -> bool:
        try:
            return [s["stage"] for s in json.loads(manifest.read_text())["stages"]] == ["teacher"]
        except (OSError, ValueError):
            return False

    _wait_for(distilling, proc, "the distillation stage")
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == code, err.decode()[-2000:]
    data = json.loads(manifest.read_text())
    assert data["status"] == "interrupted" and read_status(tmp_path / "run") == "interrupted"
    names = sorted(p.name for p in (tmp_path / "run").iterdir() if p.is_file())
    assert names == ["config.yaml", "manifest.json", "teacher.onnx"]  # no student.pt, no lock
    kept = (tmp_path / "run" / "checkpoints").glob("teacher-*")
    assert sorted(p.suffix for p in kept) == [".json", ".pt"]  # the teacher's, for --resume


def test_a_rerun_removes_the_earlier_runs_files_and_never_a_users(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "notes.txt").write_text("mine")
    (run / "student.mine.onnx").write_text("an older file of the user's")
    os.utime(run / "student.mine.onnx", (1, 1))
    manifest = Manifest(run, {})
    (run / "config.yaml").write_text("x: 1")
    with manifest.stage("export") as record:
        (run / "student.onnx").write_text("model")
        record.outputs(run / "student.onnx")
    (run / "student.pruned.onnx").write_text("written by the stage the kill interrupted")
    (run / ".student.abc123.tmp.onnx").write_text("a killed atomic write")
    removed = {p.name for p in clear_earlier_run(run)}
    assert removed == {
        "manifest.json",
        "config.yaml",
        "student.onnx",
        "student.pruned.onnx",
        ".student.abc123.tmp.onnx",
    }
    assert sorted(p.name for p in run.iterdir()) == ["notes.txt", "student.mine.onnx"]


def test_a_rerun_without_pruning_leaves_no_pruned_file(tmp_path):
    data = str(write_table(tmp_path / "table.npz"))
    run, first = run_compress(tmp_path, data=data, prune_ratio=0.5, quantize="int8")
    assert first.exit_code in (0, 1), first.output
    assert any("pruned" in p.name for p in run.iterdir())
    run, second = run_compress(tmp_path, data=data, quantize="none")
    assert second.exit_code in (0, 1), second.output
    assert not any("pruned" in p.name or "int8" in p.name for p in run.iterdir())
    report = json.loads((run / "report.json").read_text())
    shipped = {a["path"] for a in report["artifacts"]}
    models = {p.name for p in run.iterdir() if p.suffix in (".onnx", ".ort")}
    assert models == shipped  # every model file in the directory is in its report
