#!/usr/bin/env python3
"""Re-render every report under a runs folder: report.md + report.html of each compress run
(from its report.json) and of each search directory (from its search.json).

Why: the human views are derived from the JSON; after a change to the renderers this brings
every run up to date without re-running anything (no torch needed). Used by `make reports` and
tests/test_tools.py. A folder whose JSON cannot be rendered is named and skipped; exit 1 then.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from edgekd.atomic import write_text_atomic
from edgekd.errors import EdgeKDError
from edgekd.report import rerender
from edgekd.search.report import render_search_html, render_search_markdown


def rerender_search(out: Path) -> list[Path]:
    summary = json.loads((out / "search.json").read_text())
    markdown, page = render_search_markdown(summary), render_search_html(summary)
    return [
        write_text_atomic(out / "report.md", markdown),
        write_text_atomic(out / "report.html", page),
    ]


def rerender_all(root: Path) -> tuple[list[Path], list[str]]:
    """(files written, one line per folder that failed)."""
    written, failed = [], []
    for path in sorted([*root.rglob("report.json"), *root.rglob("search.json")]):
        try:
            written += (
                rerender(path.parent)
                if path.name == "report.json"
                else rerender_search(path.parent)
            )
        except (EdgeKDError, ValueError, KeyError, TypeError) as e:
            failed.append(f"{path.parent}: {e}")
    return written, failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", default="runs", type=Path, help="runs folder (runs)")
    args = parser.parse_args(argv)
    written, failed = rerender_all(args.root)
    for line in failed:
        print(f"skipped {line}")
    print(f"rewrote {len(written)} files under {args.root}; {len(failed)} folder(s) failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
