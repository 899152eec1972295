"""matplotlib to inline SVG without pyplot: a bare `Figure` drawn by the SVG backend, so no
global backend state changes and no display is needed (matplotlib is imported when drawn)."""

from __future__ import annotations

import io
import re

RC = {
    "svg.fonttype": "none",  # text stays <text>: small, selectable, no glyph definitions
    "text.parse_math": False,  # an artifact named "a$b" is a name, not mathtext
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
}


def to_svg(fig, salt: str) -> str:
    """Serialize without the XML prolog and RDF metadata; ids salted so figures can share a page."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": f"edgekd-{salt}"}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    # Scale with the page: keep the viewBox, let CSS decide the width.
    return re.sub(r'(<svg[^>]*?)\s+width="[^"]*"\s+height="[^"]*"', r"\1", svg, count=1)


def figure(width: float, height: float, ncols: int = 1):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, list(axes)


def log_x(ax) -> None:
    """Log x axis with plain tick labels (0.01, 0.1, 1) rather than powers of ten."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
