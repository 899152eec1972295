"""report.json (the contract tools read) and report.md / terminal table (what people read)."""

from edgekd.report.build import build_report, host_info
from edgekd.report.render import print_summary, render_markdown, write_reports

__all__ = ["build_report", "host_info", "print_summary", "render_markdown", "write_reports"]
