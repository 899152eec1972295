"""report.html (one offline file) and `edgekd report RUN_DIR` (redraw from report.json)."""

from __future__ import annotations

import copy
import json
import re
import sys

import pytest
from click.testing import CliRunner

from edgekd.cli import main
from edgekd.report import render_html, write_reports


def _artifact(name, precision, acc, size, p50, **extra):
    return {
        "name": name,
        "path": f"{name.replace('-', '.')}.onnx",
        "precision": precision,
        "size_bytes": size,
        "gzip_bytes": size // 2,
        "params": size // 4,
        "macs": size * 10,
        "accuracy": acc,
        "retention": acc / 0.99,
        "latency_ms": {
            "p50": p50,
            "p90": p50 * 1.2,
            "p95": p50 * 1.4,
            "p99": p50 * 3,
            "min": p50 * 0.8,
            "threads": 1,
            "batch": 1,
            "runs": 300,
        },
        "memory_mb": {"peak": 60.0, "added": 12.5},
        **extra,
    }


def _candidate(name, p50, qualified, mode="int8", **extra):
    return {
        "name": name,
        "mode": mode,
        "accuracy": 0.94,
        "retention": 1.0,
        "p50_ms": p50,
        "latency_ratio_vs_fp32": p50 / 0.011,
        "size_ratio_vs_fp32": 1.0 if mode == "fp32" else 0.3,
        "int8_nodes": 0 if mode == "fp32" else 6,
        "float_compute_nodes": 6 if mode == "fp32" else 0,
        "float_nodes_kept": [],
        "qualified": qualified,
        "why_not": "",
        "config": None,
        **extra,
    }


REPORT = {
    "edgekd_version": "0.1.0",
    "host": {"cpu": "Test CPU", "cores": 2, "onnxruntime": "1.32.0", "torch": "2.13.0"},
    "config": {"data": "digits", "epochs": 3},
    "artifacts": [
        _artifact("teacher", "fp32", 0.99, 2_000_000, 0.08),
        _artifact("student", "fp32", 0.95, 60_000, 0.016),
        _artifact("student-pruned", "fp32", 0.94, 30_000, 0.011),
        _artifact(
            "student-pruned-int8",
            "int8",
            0.94,
            9_000,
            0.007,
            ort_path="student.pruned.int8.ort",
            ort_config="required_operators.config",
            ort_size_bytes=12_000,
        ),
        _artifact("student-baseline", "fp32", 0.90, 60_000, 0.016),
    ],
    "final": "student-pruned-int8",
    "budget": {
        "profile": "mcu",
        "ok": False,
        "checks": [
            {"metric": "latency_p90_ms", "limit": 100.0, "value": 0.0084, "ok": True, "margin": 99},
            {"metric": "size_kb", "limit": 4.0, "value": 8.79, "ok": False, "margin": -4.79},
            {"metric": "retention", "limit": 0.9, "value": None, "ok": None, "margin": None},
        ],
    },
    "notes": ["a note with <script>alert('x')</script> & friends"],
    "quantization": {
        "shipped": "int8-qdq-u8s8-pc-rr",
        "path": "student.pruned.int8.onnx",
        "reason": "int8-qdq-u8s8-pc-rr ships: 1.6x faster than fp32 at 0.1 points of accuracy; "
        "int8-qdq-s8s8 left a convolution in float.",
        "max_accuracy_drop": 0.005,
        "latency": {"threads": 1, "batch": 1, "runs": 200},
        "baseline": _candidate("fp32", 0.011, True, mode="fp32"),
        "candidates": [
            _candidate("int8-qdq-s8s8", 0.01, False, why_not="left a convolution in float"),
            _candidate("int8-qdq-u8s8-pc-rr", 0.007, True, config={"format": "QDQ"}),
        ],
    },
    "zz_future_section": {
        "headline": "added by a later stage",
        "rows": [{"knob": "alpha", "value": 0.7}, {"knob": "temperature", "value": 4}],
        "nested": {"depth": {"deeper": [1, 2, 3]}},
        "width_before": {"conv1": 24, "conv2": 48},
        "width_after": {"conv1": 12, "conv2": 24},
    },
}


@pytest.fixture(scope="module")
def page() -> str:
    return render_html(REPORT)


def test_html_is_one_offline_file(page):
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page.lower()  # no scripts at all, inline or not
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert not re.search(r"url\(\s*['\"]?\s*(?:https?:)?//", page, re.I)
    assert "@import" not in page
    assert "<link" not in page.lower()
    assert page.count("<svg") == 3  # pareto, latency, budget: inline, not files beside it
    assert "<?xml" not in page and "<!DOCTYPE svg" not in page


def test_every_artifact_and_the_final_one_marked(page):
    for a in REPORT["artifacts"]:
        assert f"<td>{a['name']}" in page
    assert '<tr class=final><td>student-pruned-int8<span class="badge">final</span>' in page
    assert page.count('class="badge">final') == 1
    assert "student.pruned.int8.ort" in page and "required_operators.config" in page


def test_budget_verdict_per_limit(page):
    assert "budget 'mcu': a limit is MISSED (size_kb)" in page
    for metric in ("latency_p90_ms", "size_kb", "retention"):
        assert f"<td>{metric}</td>" in page
    assert '<td class="bad">MISSED</td>' in page
    assert '<td class="ok">met</td>' in page
    assert '<td class="unk">not measured</td>' in page


def test_sections_known_and_unknown_render_and_text_is_escaped(page):
    assert "Quantization candidates" in page and "1.6x faster than fp32" in page
    assert "<tr class=final><td>int8-qdq-u8s8-pc-rr</td>" in page  # the shipped candidate
    assert "int8-qdq-s8s8: left a convolution in float" in page
    assert "Zz future section" in page
    assert "added by a later stage" in page and "temperature" in page and "deeper" in page
    assert "<h3>width_before / width_after</h3>" in page  # same-keyed dicts side by side
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; friends" in page
    assert "Test CPU" in page and "1.32.0" in page  # host and library versions


def test_partial_report_renders_without_figures_library(monkeypatch):
    """One artifact, no budget checks, no host; matplotlib missing: still a page."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    report = {
        "artifacts": [{"name": "student", "accuracy": None, "latency_ms": {}}],
        "final": "student",
        "budget": {"profile": "iot", "ok": True, "checks": []},
    }
    page = render_html(report)
    assert "<td>student" in page and "class=final" in page
    assert "figure omitted: matplotlib is not installed" in page
    assert "no budget limits were checked" in page


def test_write_reports_writes_html_beside_md(tmp_path):
    write_reports(tmp_path, REPORT)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report.json", "report.md"]
    assert "student-pruned-int8" in (tmp_path / "report.html").read_text()


def _report_cmd(*args):
    return CliRunner().invoke(main, ["report", *map(str, args)])


def test_report_command_rerenders_from_report_json(tmp_path):
    report = copy.deepcopy(REPORT)
    report["artifacts"] = report["artifacts"][1:2]  # only some artifacts
    report["final"] = "student"
    (tmp_path / "report.json").write_text(json.dumps(report))
    (tmp_path / "report.html").write_text("stale")
    before = (tmp_path / "report.json").read_text()
    r = _report_cmd(tmp_path)
    assert r.exit_code == 0, r.output
    html = (tmp_path / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "<td>student" in html
    assert "# edgekd report: digits -> student" in (tmp_path / "report.md").read_text()
    assert (tmp_path / "report.json").read_text() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "no report.json"),
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"artifacts": []}', "missing final, budget"),
        ('{"artifacts": [{"name": "s"}], "final": "s", "budget": {}}', "cannot be rendered"),
    ],
)
def test_report_command_bad_input_exits_2(tmp_path, content, message):
    if content is not None:
        (tmp_path / "report.json").write_text(content)
    r = _report_cmd(tmp_path)
    assert r.exit_code == 2
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("edgekd: error:")
    assert message in r.stderr
    assert not (tmp_path / "report.html").exists() and not (tmp_path / "report.md").exists()


def test_report_command_missing_dir_exits_2(tmp_path):
    r = _report_cmd(tmp_path / "nope")
    assert r.exit_code == 2 and "not found" in r.stderr


def test_compress_ort_flag_maps_to_config():
    from edgekd.config import CompressConfig, resolve_config

    assert CompressConfig().run.ort is False
    assert resolve_config(None, ort=True).run.ort is True
    assert resolve_config(None, ort=None).run.ort is False  # flag not given: the file/default wins
    assert "ort" in {p.name for p in main.commands["compress"].params}


def test_report_command_needs_no_torch(tmp_path):
    """Redrawing a report works where only the core install (plus matplotlib) is present."""
    import subprocess

    (tmp_path / "report.json").write_text(json.dumps(REPORT))
    block = (
        "import sys\n"
        "class _NoTorch:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'torch' or name.startswith('torch.'):\n"
        "            raise ImportError('torch is blocked in this test')\n"
        "sys.meta_path.insert(0, _NoTorch())\n"
        "from edgekd.cli import main\n"
        "main(['report', sys.argv[1]])\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", block, str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr
    assert "<svg" in (tmp_path / "report.html").read_text()


def test_md_table_escapes_a_pipe_inside_a_cell():
    """Both report.md files use one table helper; a `|` in a spec or note stays in its cell."""
    from edgekd.pages.text import md_table

    lines = md_table(["spec", "note"], [["a.py:f|g", "ok"]]).splitlines()
    assert lines[:2] == ["| spec | note |", "|---|---|"]
    assert lines[2] == "| a.py:f\\|g | ok |"
    assert len(re.split(r"(?<!\\)\|", lines[2])) == len(re.split(r"(?<!\\)\|", lines[0]))
