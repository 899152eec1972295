#!/usr/bin/env python3
"""Check that every `edgekd ...` command line in the README still parses (click; nothing runs).

Why: flags get renamed and the README silently rots; this parses each command the README shows
(fenced code lines starting with `edgekd` or holding `-m edgekd`, and inline `edgekd ...`
spans) against the real click commands, without invoking them. Used by `make check-readme` and
tests/test_tools.py. Exit 1 and one line per broken command when any fails.
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from pathlib import Path

import click

INLINE = re.compile(r"`(edgekd [^`]+)`")


def _command(line: str) -> str | None:
    """The `edgekd ...` part of a shell line, comments and trailing `&` removed."""
    line = line.strip()
    if " -m edgekd " in f" {line} ":
        line = "edgekd " + line.split(" -m edgekd ", 1)[1]
    if not line.startswith("edgekd "):
        return None
    words = shlex.split(line, comments=True)
    return " ".join(shlex.quote(w) for w in words if w != "&")


def commands(text: str) -> list[tuple[int, str, bool]]:
    """(line number, command, inline) for each edgekd command line of a Markdown text."""
    found, fenced, pending = [], False, ""
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            if line.rstrip().endswith("\\"):  # a continued shell line
                pending += line.rstrip()[:-1] + " "
                continue
            cmd = _command(pending + line)
            pending = ""
            if cmd:
                found.append((number, cmd, False))
        else:
            found += [(number, m, True) for m in INLINE.findall(line) if "..." not in m]
    return found


def check(cli: click.Group, cmd: str, inline: bool = False) -> str | None:
    """None when `cmd` parses; else click's message. `...` stands for any further arguments;
    an inline `edgekd NAME` (prose naming a command) only has to name one."""
    args = shlex.split(cmd)[1:]
    if "..." in args:
        args = args[: args.index("...")]
    if not args:
        return None
    name, rest = args[0], args[1:]
    ctx = click.Context(cli, info_name="edgekd")
    sub = cli.get_command(ctx, name)
    if sub is None:
        return f"no such command '{name}'"
    if inline and not rest:
        return None
    try:
        # make_context parses and converts every option (types, choices) but runs nothing
        sub.make_context(name, rest, parent=ctx).close()
    except click.ClickException as e:
        return e.format_message()
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("readme", nargs="?", default="README.md", type=Path)
    args = parser.parse_args(argv)
    from edgekd.cli import main as cli

    found = commands(args.readme.read_text())
    bad = [(n, c, why) for n, c, inline in found if (why := check(cli, c, inline))]
    for n, cmd, why in bad:
        print(f"{args.readme}:{n}: {cmd}: {why}")
    print(f"{len(found) - len(bad)}/{len(found)} edgekd command lines parse")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
