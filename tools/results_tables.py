#!/usr/bin/env python3
"""Regenerate every benchmarks/results table by running each benchmarks/*.py script in turn.

Why: the tables are the project's evidence; one command refreshes them all after a change.
`--quick` is passed through to every script (tiny sizes; they then write *_quick tables).
Used by `make tables` and tests/test_tools.py (--dry-run). Long: run it in the background.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SHARED = {"common.py", "real_data_sets.py"}  # helpers, not benchmarks


def scripts(only: list[str] | None = None) -> list[Path]:
    found = sorted(p for p in BENCHMARKS.glob("*.py") if p.name not in SHARED)
    if only:
        unknown = set(only) - {p.stem for p in found}
        if unknown:
            raise SystemExit(f"no benchmark named {', '.join(sorted(unknown))}; see --dry-run")
        found = [p for p in found if p.stem in only]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="pass --quick to every script")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="these scripts (file stems)")
    parser.add_argument("--dry-run", action="store_true", help="print the commands, run none")
    args = parser.parse_args(argv)
    failed = []
    for script in scripts(args.only):
        cmd = [sys.executable, str(script), *(["--quick"] if args.quick else [])]
        print(" ".join(cmd), flush=True)
        if args.dry_run:
            continue
        start = time.perf_counter()
        code = subprocess.call(cmd, cwd=BENCHMARKS.parent)
        print(f"  -> exit {code} in {time.perf_counter() - start:.0f} s", flush=True)
        if code:
            failed.append(script.stem)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
