"""Inputs are sized before they are drawn: a huge declared input is refused, not allocated."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from click.testing import CliRunner

from edgekd.bench import inputs
from edgekd.bench.inputs import check_input_bytes, input_limit_mb, random_feeds, resolve_shapes
from edgekd.cli import main
from edgekd.errors import EdgeKDError
from tests.test_bench_helpers import huge_input_relu

ROOT = Path(__file__).resolve().parents[1]
# Runs `edgekd bench MODEL` in a fresh process and reports that process's own peak RSS at exit.
PEAK_WRAPPER = """
import atexit, sys
def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            sys.stderr.write("VMHWM_KB " + line.split()[1] + "\\n")
atexit.register(peak)
from edgekd.cli import main
main(["bench", sys.argv[1]])
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="VmHWM needs Linux /proc")
def test_two_billion_element_input_is_refused_before_allocation(tmp_path):
    model = huge_input_relu(tmp_path / "huge.onnx")
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    proc = subprocess.run(
        [sys.executable, "-c", PEAK_WRAPPER, str(model)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    peak_kb = int(next(ln for ln in lines if ln.startswith("VMHWM_KB")).split()[1])
    errors = [ln for ln in lines if not ln.startswith("VMHWM_KB")]
    assert len(errors) == 1, errors
    line = errors[0]
    for part in ("'x'", "1x2000000000", "8,000,000,000 bytes", "--max-input-mb"):
        assert part in line, line
    assert peak_kb < 1024 * 1024  # 8 GB declared; well under 1 GB touched


def test_max_input_mb_sets_the_limit(tmp_path):
    model = str(huge_input_relu(tmp_path / "m.onnx", elements=300_000))  # 1.2 MB of float32
    fast = ["--runs", "2", "--warmup", "0", "--no-memory", "--json"]
    r = CliRunner().invoke(main, ["bench", model, "--max-input-mb", "1", *fast])
    assert r.exit_code == 2
    assert "1,200,000 bytes" in r.output and "1.0 MiB (--max-input-mb)" in r.output
    r = CliRunner().invoke(main, ["bench", model, "--max-input-mb", "2", *fast])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["bench", model, "--max-input-mb", "0", *fast])
    assert r.exit_code == 2 and "must be positive" in r.output


def test_default_limit_is_a_capped_share_of_available_memory(tmp_path, monkeypatch):
    meminfo = tmp_path / "meminfo"
    monkeypatch.setattr(inputs, "MEMINFO", str(meminfo))
    meminfo.write_text("MemTotal: 4096000 kB\nMemAvailable: 1024000 kB\n")
    assert input_limit_mb()[0] == pytest.approx(1024000 / 1024 * inputs.INPUT_SHARE)
    meminfo.write_text("MemAvailable: 100000000 kB\n")  # ~95 GiB available: the cap applies
    assert input_limit_mb()[0] == inputs.INPUT_CAP_MB
    meminfo.unlink()
    assert input_limit_mb()[0] == inputs.INPUT_CAP_MB
    assert input_limit_mb(5.0) == (5.0, "--max-input-mb")


def _fake_inputs(*specs):
    return [SimpleNamespace(name=n, type=t, shape=s) for n, t, s in specs]


def test_several_inputs_count_together_and_the_one_over_is_named():
    resolved = resolve_shapes(
        _fake_inputs(("a", "tensor(float)", [1, 200_000]), ("b", "tensor(int64)", [1, 100_000]))
    )
    assert inputs.input_nbytes(resolved) == {"a": 800_000, "b": 800_000}
    check_input_bytes(resolved, max_input_mb=1.6)
    with pytest.raises(EdgeKDError, match="input 'b' of shape 1x100000"):
        check_input_bytes(resolved, max_input_mb=1.0)


def test_random_feeds_are_drawn_in_their_own_dtype():
    specs = [("f16", "tensor(float16)"), ("f32", "tensor(float)"), ("f64", "tensor(double)")]
    specs += [("i8", "tensor(int8)"), ("u8", "tensor(uint8)"), ("b", "tensor(bool)")]
    resolved = resolve_shapes(_fake_inputs(*[(n, t, ["N", 3]) for n, t in specs]), batch=2)
    feeds = random_feeds(resolved)
    want = [np.float16, np.float32, np.float64, np.int8, np.uint8, np.bool_]
    for (name, _), dtype in zip(specs, want, strict=True):
        assert feeds[name].dtype == dtype and feeds[name].shape == (2, 3)
    assert feeds["f32"].std() > 0.5  # normal draws, not zeros
    assert any("axis 0 is symbolic ('N'); using the batch, 2" in n for n in resolved.notes)
