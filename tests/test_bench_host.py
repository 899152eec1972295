"""The host block names the CPU features that decide whether int8 pays."""

from __future__ import annotations

import json
import sys

import pytest
from click.testing import CliRunner

from edgekd.bench.host import host_info, int8_path, read_cpuinfo
from edgekd.cli import main
from edgekd.report.render import render_markdown
from tests.test_bench_helpers import conv_relu_gemm
from tests.test_report_html import REPORT

X86 = """processor\t: 0
model name\t: AMD EPYC 7R13 Processor
flags\t\t: fpu sse sse2 avx avx2 fma avx512f avx512bw avx512_vnni sha_ni
processor\t: 1
model name\t: AMD EPYC 7R13 Processor
flags\t\t: fpu sse sse2 avx avx2 fma avx512f avx512bw avx512_vnni sha_ni
"""
X86_NO_VNNI = "model name\t: AMD EPYC 7571\nflags\t\t: fpu sse avx avx2 fma\n"
ARM = """processor\t: 0
BogoMIPS\t: 50.00
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp asimddp i8mm
CPU implementer\t: 0x41
"""


@pytest.mark.parametrize(
    ("text", "features", "path"),
    [
        (X86, ["avx2", "avx512f", "avx512bw", "avx512_vnni"], "AVX-512 VNNI"),
        (X86_NO_VNNI, ["avx2"], "AVX2 without VNNI"),
        (ARM, ["neon", "dotprod", "i8mm"], "Arm i8mm"),
        ("model name\t: toy\nflags\t\t: fpu sse\n", [], "no SIMD int8 path"),
    ],
)
def test_cpuinfo_features_and_int8_path(tmp_path, text, features, path):
    f = tmp_path / "cpuinfo"
    f.write_text(text)
    _, found = read_cpuinfo(str(f))
    assert found == features
    assert int8_path(found).startswith(path)


def test_missing_cpuinfo_falls_back_to_unknown(tmp_path):
    assert read_cpuinfo(str(tmp_path / "nope")) == (None, None)
    assert int8_path(None).startswith("unknown")


def test_host_block_lists_features_in_bench_json_and_report(tmp_path):
    model = str(conv_relu_gemm(tmp_path / "m.onnx"))
    r = CliRunner().invoke(main, ["bench", model, "--json", "--runs", "2", "--no-memory"])
    assert r.exit_code == 0, r.output
    host = json.loads(r.stdout)["host"]
    assert host == {**host_info(), "cores": host["cores"]}
    if sys.platform == "linux":
        assert isinstance(host["cpu_features"], list) and host["int8_path"]
    table = CliRunner().invoke(main, ["bench", model, "--runs", "2", "--no-memory"])
    assert "CPU features:" in table.output
    report = {**REPORT, "host": {**REPORT["host"], "cpu_features": ["avx2"]}}
    report["host"]["int8_path"] = int8_path(["avx2"])
    assert "CPU features: avx2 — int8: AVX2 without VNNI" in render_markdown(report)
