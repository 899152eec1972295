"""`edgekd report RUN_DIR`: redraw report.md and report.html from a run's report.json.

report.json is the contract; the human views are derived from it, so they can be redrawn after
an edgekd upgrade or on another machine without re-running anything. Imports no torch.
"""

from __future__ import annotations

import json
from pathlib import Path

from edgekd.atomic import write_text_atomic
from edgekd.errors import EdgeKDError
from edgekd.manifest import read_status

REQUIRED = ("artifacts", "final", "budget")


def load_report(run_dir: str | Path) -> dict:
    """report.json of a run directory, checked enough to render; EdgeKDError otherwise."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise EdgeKDError(f"run directory '{run_dir}' not found; pass the --out of a compress run")
    path = run_dir / "report.json"
    if not path.is_file():
        status = read_status(run_dir)
        if status is not None:  # an edgekd run that has not reported (yet)
            raise EdgeKDError(
                f"no report.json in '{run_dir}': the run is {status}; "
                "wait for it or run compress again"
            )
        raise EdgeKDError(f"no report.json in '{run_dir}'; is it an edgekd compress run directory?")
    try:
        report = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise EdgeKDError(f"'{path}' is not valid JSON: {e}") from None
    if not isinstance(report, dict):
        raise EdgeKDError(f"'{path}' is not an edgekd report: expected a JSON object")
    missing = [k for k in REQUIRED if k not in report]
    if missing:
        raise EdgeKDError(f"'{path}' is not an edgekd report: missing {', '.join(missing)}")
    if not isinstance(report["artifacts"], list) or not isinstance(report["budget"], dict):
        raise EdgeKDError(f"'{path}': 'artifacts' must be a list and 'budget' an object")
    return report


def rerender(run_dir: str | Path, device_bench: str | Path | None = None) -> list[Path]:
    """Rewrite report.md and report.html (atomically) from report.json; report.json is untouched
    unless `device_bench` (an `edgekd bench --json` of the final file, run on the device) is
    given: then the verdict is recomputed from the device's figures (report/device.py) and
    report.json is rewritten too.

    Everything is rendered before any file is written, so bad input changes nothing.
    """
    from edgekd.report.html import render_html
    from edgekd.report.render import render_markdown

    run_dir = Path(run_dir)
    report = load_report(run_dir)
    written = []
    if device_bench is not None:
        from edgekd.report.device import import_device_bench

        if "budget_spec" not in report:
            raise EdgeKDError(
                f"'{run_dir / 'report.json'}' does not record its budget's limits; rerun "
                "compress with this edgekd version to import a device measurement"
            )
        report = import_device_bench(report, device_bench)
    try:
        markdown = render_markdown(report)
        page = render_html(report)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
        detail = f"missing field {e}" if isinstance(e, KeyError) else f"{type(e).__name__}: {e}"
        raise EdgeKDError(
            f"'{run_dir / 'report.json'}' cannot be rendered ({detail}); "
            "was it written by edgekd compress?"
        ) from None
    if device_bench is not None:
        written.append(write_text_atomic(run_dir / "report.json", json.dumps(report, indent=2)))
    return [
        *written,
        write_text_atomic(run_dir / "report.md", markdown),
        write_text_atomic(run_dir / "report.html", page),
    ]


def device_verdict_line(run_dir: str | Path) -> tuple[str, bool]:
    """One line on the verdict recomputed from an imported device bench, and whether it holds."""
    report = load_report(run_dir)
    b, dev = report["budget"], report.get("device_bench") or {}
    state = "all limits met" if b["ok"] else "a limit is MISSED"
    return f"budget '{b['profile']}' on the device ({dev.get('cpu')}): {state}", bool(b["ok"])
