"""edgekd.bench and `edgekd bench` import no torch: they must run on a device with only onnxruntime.

Two checks: (1) in a child where torch cannot be imported at all (a sitecustomize blocks it, and
the memory child inherits the block), `edgekd bench --ort --json` and `edgekd profiles` work;
(2) with torch installed, importing every bench module leaves torch out of sys.modules
(onnxruntime.tools imports torch whenever it can, so this guards the --ort path too).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.test_bench_helpers import conv_relu_gemm

BLOCK = """
import sys
class _NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is blocked in this test")
        return None
sys.meta_path.insert(0, _NoTorch())
"""

CLI = "import sys; from edgekd.cli import main; sys.exit(main(sys.argv[1:]))"


def _run(args, env=None):
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_bench_runs_with_torch_unimportable(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCK)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
    }
    probe = _run(["-c", "import torch"], env)
    assert probe.returncode != 0 and "blocked" in probe.stderr  # the block really works

    model = conv_relu_gemm(tmp_path / "m.onnx")
    args = ["-c", CLI, "bench", str(model), "--json", "--runs", "5", "--warmup", "1", "--ort"]
    r = _run([*args, "--ort-dir", str(tmp_path / "ort"), "--budget", "iot"], env)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert [a["format"] for a in out["artifacts"]] == ["onnx", "ort"]
    assert out["artifacts"][0]["memory_mb"]["added"] is not None  # the child ran, torch-free
    assert _run(["-c", CLI, "profiles"], env).returncode == 0


def test_importing_bench_modules_does_not_import_torch():
    code = (
        "import sys\n"
        "import edgekd.cli, edgekd.bench\n"
        "from edgekd.bench import benchmark, load_budget, to_ort, graph_stats, measure_memory\n"
        "import edgekd.bench.command, edgekd.bench.table, edgekd.bench._memory_child\n"
        "from edgekd.bench.ort_format import _tools\n"
        "_tools()\n"
        "heavy = ('torch', 'transformers')\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in heavy)\n"
        "print(bad[:5])\n"
        "sys.exit(1 if bad else 0)\n"
    )
    r = _run(["-c", code])
    assert r.returncode == 0, r.stdout + r.stderr
