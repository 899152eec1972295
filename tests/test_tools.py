"""tools/: each developer script does its job (fast, no training)."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import pytest

from tests.test_report_html import REPORT

ROOT = Path(__file__).resolve().parents[1]


def _main(name: str):
    return runpy.run_path(str(ROOT / "tools" / f"{name}.py"))["main"]


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_code_stats_finds_long_functions_and_package_cycles(tmp_path, capsys):
    pkg = tmp_path / "demo"
    _write(pkg / "__init__.py", "")
    _write(pkg / "a" / "__init__.py", "")
    _write(pkg / "a" / "x.py", "from demo.b import y\n")
    _write(pkg / "b" / "__init__.py", "")
    body = "".join(f"    v{i} = {i}\n" for i in range(90))
    _write(pkg / "b" / "y.py", f"def long():\n{body}\n\ndef lazy():\n    from demo.a import x\n")
    code = _main("code_stats")([str(pkg), "--check"])
    out = capsys.readouterr().out
    assert code == 1
    assert "91  demo.b.y:long:1  OVER" in out
    assert "demo.a <-> demo.b" in out  # the lazy import inside a function counts


def test_edgekd_has_no_import_cycle_between_packages(capsys):
    assert _main("code_stats")([str(ROOT / "edgekd"), "--check"]) == 0
    assert "import cycles among packages: none" in capsys.readouterr().out


def test_code_stats_names_imports_against_the_layers(tmp_path, capsys):
    """A synthetic edgekd whose lower layers import higher ones: each wrong-way import is named
    and --check fails; the same package with only downward imports passes."""
    pkg = tmp_path / "edgekd"
    _write(pkg / "__init__.py", "")
    _write(pkg / "errors.py", "")
    _write(pkg / "stages" / "__init__.py", "from edgekd.teachers import load\n")  # downward: fine
    _write(pkg / "teachers" / "load.py", "from edgekd.errors import EdgeKDError\n")
    _write(pkg / "search" / "run.py", "from edgekd.report import render\n")  # downward: fine
    _write(pkg / "report" / "render.py", "")
    _write(pkg / "bench" / "run.py", "")
    assert _main("code_stats")([str(pkg), "--check"]) == 0
    assert "imports against the layers (ARCHITECTURE.md): none" in capsys.readouterr().out

    _write(pkg / "report" / "render.py", "def lazy():\n    from edgekd.search import run\n")
    _write(pkg / "teachers" / "load.py", "from edgekd.stages import context\n")
    _write(pkg / "stages" / "context.py", "")
    _write(pkg / "bench" / "run.py", "from edgekd.bench import util\n")
    _write(pkg / "bench" / "util.py", "import torch\n")  # bench reaches torch through util
    _write(pkg / "newpkg" / "x.py", "")
    assert _main("code_stats")([str(pkg), "--check"]) == 1
    out = capsys.readouterr().out
    assert "edgekd.report.render imports edgekd.search.run: report may import only lower" in out
    assert "edgekd.teachers.load imports edgekd.stages.context: teachers may import only" in out
    assert "edgekd.bench.run reaches torch (through edgekd.bench.util)" in out
    assert "edgekd.newpkg is in no layer of code_stats.LAYERS" in out
    assert "edgekd.stages imports" not in out and "edgekd.search.run imports" not in out


def test_check_readme_passes_on_the_readme_and_names_a_broken_line(tmp_path, capsys):
    assert _main("check_readme")([str(ROOT / "README.md")]) == 0
    readme = tmp_path / "README.md"
    readme.write_text(
        "Run `edgekd report runs/x`.\n\n```bash\nedgekd compress --epochs 3   # fine\n"
        "edgekd compress \\\n  --no-such-flag 1\nedgekd bench\n```\n"
    )
    capsys.readouterr()
    assert _main("check_readme")([str(readme)]) == 1
    out = capsys.readouterr().out
    assert "README.md:6: edgekd compress --no-such-flag 1: No such option '--no-such-flag'" in out
    assert "README.md:7: edgekd bench: Missing argument" in out
    assert "2/4 edgekd command lines parse" in out


def test_rerender_reports_rewrites_every_run_and_names_a_bad_one(tmp_path, capsys):
    for name in ("a", "nested/b"):
        _write(tmp_path / name / "report.json", json.dumps(REPORT))
        _write(tmp_path / name / "report.html", "stale")
    _write(tmp_path / "broken" / "report.json", "{not json")
    code = _main("rerender_reports")([str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1 and "rewrote 4 files" in out and "broken" in out
    for name in ("a", "nested/b"):
        assert (tmp_path / name / "report.html").read_text().startswith("<!DOCTYPE html>")


def test_results_tables_runs_every_benchmark_script_with_quick(capsys):
    assert _main("results_tables")(["--quick", "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    expected = sorted(p.name for p in (ROOT / "benchmarks").glob("*.py") if p.name != "common.py")
    assert [Path(line.split()[1]).name for line in lines] == expected
    assert all(line.startswith(sys.executable) and line.endswith(" --quick") for line in lines)
    with pytest.raises(SystemExit, match="no benchmark named nope"):
        _main("results_tables")(["--only", "nope"])
