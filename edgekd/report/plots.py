"""The report's figures, as inline SVG strings (matplotlib, imported only when a figure is drawn).

Each function takes a report.json dict and returns `<svg ...>...</svg>` text ready to paste
into HTML, or None when the report holds nothing to draw. No pyplot: a bare `Figure` is drawn
by the SVG backend, so no global backend state changes and no display is needed.

Latency distributions are drawn from the stored percentiles (min, p50, p90, p95, p99): the
report keeps no raw samples, so the figure is a percentile ladder, not a histogram or violin.
"""

from __future__ import annotations

import math
from typing import Any

from edgekd.pages.svg import RC, figure, log_x, to_svg

# Okabe-Ito palette: distinguishable with the common colour-vision deficiencies.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
MET, MISSED, UNKNOWN, FINAL = "#1a7f37", "#cf222e", "#8c959f", "#cf222e"


def _num(value: Any) -> float | None:
    """A finite float, or None for missing / non-numeric / NaN values."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _lat(artifact: dict, key: str) -> float | None:
    lat = artifact.get("latency_ms")
    return _num(lat.get(key)) if isinstance(lat, dict) else None


def _artifacts(report: dict) -> list[dict]:
    arts = report.get("artifacts")
    return [a for a in arts if isinstance(a, dict)] if isinstance(arts, list) else []


def _colors(report: dict) -> dict[str, str]:
    return {str(a.get("name")): PALETTE[i % len(PALETTE)] for i, a in enumerate(_artifacts(report))}


def _overlap(a: tuple, b: tuple) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def _place_labels(fig, ax, items: list[tuple]) -> None:
    """Greedy label placement: each label takes the side of its marker (right, left, above,
    below, diagonals) that overlaps the markers and labels placed so far the least.

    items: (x, y, text, radius_pt, final). Box sizes are estimated from the character count.
    """
    fig.draw_without_rendering()  # settle the layout so data -> points is final
    to_pt = 72.0 / fig.dpi
    frame = ax.get_window_extent()
    frame = (frame.x0 * to_pt, frame.y0 * to_pt, frame.x1 * to_pt, frame.y1 * to_pt)
    centers = [ax.transData.transform((x, y)) * to_pt for x, y, *_ in items]
    radii = [item[3] for item in items]
    taken = [(cx - r, cy - r, cx + r, cy + r) for (cx, cy), r in zip(centers, radii, strict=True)]
    for (cx, cy), (x, y, text, r, final) in zip(centers, items, strict=True):
        label = text + (" (final)" if final else "")
        w, h, g = len(label) * 8 * (0.62 if final else 0.56), 10.0, r + 3
        d = g * 0.7
        options = [  # (dx, dy, ha, va) from the marker centre, in points
            (g, 0, "left", "center"), (-g, 0, "right", "center"), (0, g, "center", "bottom"),
            (0, -g, "center", "top"), (d, d, "left", "bottom"), (d, -d, "left", "top"),
            (-d, d, "right", "bottom"), (-d, -d, "right", "top"),
        ]  # fmt: skip
        best, best_cost = options[0], None
        for dx, dy, ha, va in options:
            x0 = cx + dx - {"left": 0, "center": w / 2, "right": w}[ha]
            y0 = cy + dy - {"bottom": 0, "center": h / 2, "top": h}[va]
            box = (x0, y0, x0 + w, y0 + h)
            inside = _overlap(box, frame)
            cost = sum(_overlap(box, t) for t in taken) + 3 * (w * h - inside)
            if best_cost is None or cost < best_cost - 1e-6:
                best, best_cost, best_box = (dx, dy, ha, va), cost, box
        taken.append(best_box)
        dx, dy, ha, va = best
        ax.annotate(
            label, (x, y), xytext=(dx, dy), textcoords="offset points", ha=ha, va=va,
            fontsize=8, fontweight="bold" if final else "normal",
            color=FINAL if final else "#24292f", zorder=5,
        )  # fmt: skip


def pareto_svg(report: dict) -> str | None:
    """Accuracy vs p50 latency (marker area = file size) and accuracy vs file size.

    Arrows follow the artifact order up to the final one (teacher -> student -> pruned ->
    quantized), which gets a ring; artifacts listed after it (e.g. a hard-label baseline kept
    for comparison) are plotted without arrows.
    """
    import matplotlib

    colors, final = _colors(report), report.get("final")
    names = [str(a.get("name")) for a in _artifacts(report)]
    chain_end = names.index(final) if final in names else len(names) - 1
    points = []
    for i, a in enumerate(_artifacts(report)):
        acc, p50, size = _num(a.get("accuracy")), _lat(a, "p50"), _num(a.get("size_bytes"))
        if acc is not None and (p50 is not None or size is not None):
            points.append((names[i], acc, p50, size, i <= chain_end))
    if not points:
        return None
    sizes = [p[3] for p in points if p[3]]
    biggest = max(sizes) if sizes else 1.0

    with matplotlib.rc_context(RC):
        fig, (ax_lat, ax_size) = figure(9.5, 3.8, ncols=2)
        panels = [
            (ax_lat, 2, "p50 latency (ms, log scale)", "accuracy vs latency (marker area ~ size)"),
            (ax_size, 3, "file size (KB, log scale)", "accuracy vs size"),
        ]
        panel_labels = {}
        for ax, idx, xlabel, title in panels:
            drawn, chain, labels = [], [], []
            panel_labels[ax] = labels
            for p in points:
                x = p[idx]
                if x is None or x <= 0:
                    continue
                x = x / 1024 if idx == 3 else x
                name, acc, size = p[0], p[1], p[3]
                area = 40 + 460 * math.sqrt(size / biggest) if (idx == 2 and size) else 70
                is_final = name == final
                ax.scatter(
                    [x], [acc], s=area, color=colors.get(name), alpha=0.85, zorder=3,
                    edgecolors="white", linewidths=0.8,
                )  # fmt: skip
                if is_final:
                    ax.scatter(
                        [x], [acc], s=area + 260, facecolors="none", edgecolors=FINAL,
                        linewidths=2.0, zorder=4,
                    )  # fmt: skip
                radius = math.sqrt(area + (260 if is_final else 0)) / 2  # points
                drawn.append((x, acc, radius))
                labels.append((x, acc, name, radius, is_final))
                if p[4]:
                    chain.append((x, acc, radius))
            for (x0, y0, r0), (x1, y1, r1) in zip(chain, chain[1:], strict=False):
                ax.annotate(
                    "", (x1, y1), xytext=(x0, y0),
                    arrowprops={"arrowstyle": "->", "color": "#8c959f", "lw": 1,
                                "shrinkA": r0 + 2, "shrinkB": r1 + 2},
                    zorder=2,
                )  # fmt: skip
            if drawn:
                log_x(ax)
                xs = [x for x, *_ in drawn]
                ax.set_xlim(min(xs) / 2.5, max(xs) * 3.0)  # room for the labels
            ax.set_xlabel(xlabel)
            ax.set_ylabel("test accuracy (onnxruntime)")
            ax.set_title(title, fontsize=9)
            accs = [p[1] for p in points]
            lo, hi = min(accs), max(accs)
            pad = max(0.02, (hi - lo) * 0.15)
            ax.set_ylim(max(0.0, lo - pad), hi + pad)
        for ax, *_ in panels:  # after both panels' limits are set: the layout is final
            _place_labels(fig, ax, panel_labels[ax])
        return to_svg(fig, "pareto")


def latency_svg(report: dict) -> str | None:
    """Per artifact: a line from min to p99, a box from p50 to p90, ticks at p95 and p99."""
    import matplotlib

    rows = []
    for a in _artifacts(report):
        q = {k: _lat(a, k) for k in ("min", "p50", "p90", "p95", "p99")}
        if q["p50"] is not None:
            rows.append((str(a.get("name")), q))
    if not rows:
        return None
    colors, final = _colors(report), report.get("final")

    with matplotlib.rc_context(RC):
        fig, (ax,) = figure(9.5, 0.9 + 0.55 * len(rows))
        for i, (name, q) in enumerate(reversed(rows)):
            color = colors.get(name)
            known = [v for v in q.values() if v is not None and v > 0]
            lo, hi = min(known), max(known)
            ax.plot([lo, hi], [i, i], color=color, lw=1.2, zorder=2)
            p90 = q["p90"] if q["p90"] is not None else q["p50"]
            ax.barh(
                i, p90 - q["p50"], left=q["p50"], height=0.45, color=color, alpha=0.55,
                edgecolor=color, zorder=3,
            )  # fmt: skip
            ax.plot([q["p50"]] * 2, [i - 0.25, i + 0.25], color="black", lw=2, zorder=4)
            for key, marker in (("min", "|"), ("p95", "|"), ("p99", "|")):
                if q[key] is not None:
                    ax.plot([q[key]], [i], marker=marker, ms=10, color=color, zorder=4)
            text = "  ".join(f"{k} {v:.3g}" for k, v in q.items() if v is not None)
            ax.annotate(
                text, (hi, i), xytext=(8, 0), textcoords="offset points", va="center",
                fontsize=7.5, color="#57606a",
            )  # fmt: skip
        names = [n + (" (final)" if n == final else "") for n, _ in reversed(rows)]
        ax.set_yticks(range(len(rows)), names)
        for tick, (n, _) in zip(ax.get_yticklabels(), reversed(rows), strict=True):
            if n == final:
                tick.set_color(FINAL)
                tick.set_fontweight("bold")
        log_x(ax)
        lows = [min(v for v in q.values() if v is not None and v > 0) for _, q in rows]
        highs = [max(v for v in q.values() if v is not None) for _, q in rows]
        ax.set_xlim(min(lows) / 1.5, max(highs) * 12)  # room for the percentile text
        ax.set_ylim(-0.7, len(rows) - 0.3)
        ax.grid(axis="y", visible=False)
        lat = next((a["latency_ms"] for a in _artifacts(report) if "latency_ms" in a), {})
        setup = ", ".join(
            f"{k} {lat[k]}" for k in ("threads", "batch", "runs") if lat.get(k) is not None
        )
        ax.set_xlabel(
            "latency per call (ms, log scale): line min..p99, box p50..p90 (black = p50), "
            "ticks min / p95 / p99" + (f"; {setup}" if setup else "")
        )
        return to_svg(fig, "latency")


def _is_lower_bound(check: dict) -> bool:
    """Retention-style limits must be reached, the others must not be exceeded."""
    value, limit, margin = _num(check.get("value")), _num(check.get("limit")), check.get("margin")
    if value is not None and limit is not None and _num(margin) is not None and value != limit:
        return abs(margin - (value - limit)) < abs(margin - (limit - value))
    metric = str(check.get("metric", ""))
    return metric.startswith("min_") or metric in ("retention", "accuracy")


def budget_svg(report: dict) -> str | None:
    """Each limit as value / limit (log scale), the limit at 1; green met, red missed."""
    import matplotlib

    budget = report.get("budget") if isinstance(report.get("budget"), dict) else {}
    checks = [c for c in budget.get("checks") or [] if isinstance(c, dict)]
    if not checks:
        return None

    rows = []  # (metric, value, limit, ok, lower, ratio)
    for c in reversed(checks):
        value, limit = _num(c.get("value")), _num(c.get("limit"))
        ratio = max(value / limit, 1e-6) if value is not None and limit else None
        rows.append((str(c.get("metric")), value, limit, c.get("ok"), _is_lower_bound(c), ratio))
    ratios = [r[-1] for r in rows if r[-1] is not None]
    x0, x1 = min([*ratios, 1.0]) / 3, max([*ratios, 1.0]) * 60  # room for the text on the right

    with matplotlib.rc_context(RC):
        fig, (ax,) = figure(9.5, 0.9 + 0.5 * len(rows))
        for i, (_, value, limit, ok, lower, ratio) in enumerate(rows):
            sign = ">=" if lower else "<="
            color = {True: MET, False: MISSED}.get(ok, UNKNOWN)
            verdict = {True: "met", False: "MISSED"}.get(ok, "not measured")
            if ratio is not None:
                ax.barh(i, ratio - x0, left=x0, height=0.55, color=color, alpha=0.85, zorder=3)
                text = f"{value:.4g} {sign} {limit:.4g}: {verdict} ({ratio:.2%} of limit)"
            else:
                text = f"limit {sign} {'n/a' if limit is None else f'{limit:.4g}'}: {verdict}"
            ax.annotate(
                text, (ratio or 1.0, i), xytext=(6, 0), textcoords="offset points",
                va="center", fontsize=8, color=color, zorder=5,
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85},
            )  # fmt: skip
        ax.axvline(1.0, color="#24292f", lw=1.2, ls="--", zorder=4)
        ax.set_yticks(range(len(rows)), [r[0] for r in rows])
        ax.grid(axis="y", visible=False)
        log_x(ax)
        ax.set_xlim(x0, x1)
        ax.set_ylim(-0.7, len(rows) - 0.3)
        ax.set_xlabel("measured value / limit (log scale; dashed line = the limit)")
        ok = budget.get("ok")
        ax.set_title(
            f"budget '{budget.get('profile', '?')}': "
            + ("all limits met" if ok else "a limit is MISSED"),
            fontsize=9,
            color=MET if ok else MISSED,
        )
        return to_svg(fig, "budget")
