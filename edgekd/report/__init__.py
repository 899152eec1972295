"""report.json (the contract tools read); report.md, report.html, terminal table (people read)."""

from edgekd.report.build import build_report, host_info
from edgekd.report.html import render_html
from edgekd.report.render import print_summary, render_markdown, write_reports
from edgekd.report.rerender import load_report, rerender

__all__ = [
    "build_report",
    "host_info",
    "load_report",
    "print_summary",
    "render_html",
    "render_markdown",
    "rerender",
    "write_reports",
]
