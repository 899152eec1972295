"""The search's Pareto plot as inline SVG (matplotlib, imported only when drawn), used by the
search's own report and by a final run's report (its `search` section).

Two panels, validation accuracy against latency and against file size (log x). Feasible trials
are blue dots, those on the Pareto front (accuracy, latency and size together) are circled in
green, infeasible trials are red crosses, the chosen trial has an orange ring, and the budget's
limits are dashed lines.
"""

from __future__ import annotations

from html import escape

from edgekd.pages.svg import RC, figure, log_x, to_svg

FEASIBLE, FRONT, INFEASIBLE, CHOSEN, LIMIT = "#0072B2", "#009E73", "#cf222e", "#E69F00", "#57606a"


def _points(ax, trials: list[dict], key: str, front: set, best) -> None:
    """Feasible dots, infeasible crosses, the front circled, the chosen trial ringed."""
    ok = [t for t in trials if t.get("feasible") and t.get(key)]
    bad = [t for t in trials if not t.get("feasible") and t.get(key)]
    if ok:
        ax.scatter(
            [t[key] for t in ok],
            [t["val_accuracy"] for t in ok],
            s=36,
            color=FEASIBLE,
            alpha=0.8,
            zorder=3,
            label=f"feasible ({len(ok)})",
        )
    if bad:
        ax.scatter(
            [t[key] for t in bad],
            [t["val_accuracy"] for t in bad],
            s=40,
            marker="x",
            color=INFEASIBLE,
            zorder=3,
            label=f"over budget ({len(bad)})",
        )
    on_front = [t for t in ok if t["number"] in front]
    if on_front:  # three objectives: a 2-D projection of the front is not a line
        ax.scatter(
            [t[key] for t in on_front], [t["val_accuracy"] for t in on_front], s=110,
            facecolors="none", edgecolors=FRONT, linewidths=1.6, zorder=4,
            label=f"Pareto front ({len(front)})",
        )  # fmt: skip
    chosen = next((t for t in ok if t["number"] == best), None)
    if chosen is not None:
        ax.scatter(
            [chosen[key]],
            [chosen["val_accuracy"]],
            s=260,
            facecolors="none",
            edgecolors=CHOSEN,
            linewidths=2.2,
            zorder=5,
            label=f"chosen (#{best})",
        )
    for t in trials:
        if t["number"] == best or t["number"] in front:
            ax.annotate(
                f"#{t['number']}",
                (t[key], t["val_accuracy"]),
                xytext=(5, 4),
                textcoords="offset points",
                fontsize=7,
                color="#24292f",
                zorder=6,
            )


def _axes(ax, trials: list[dict], key: str, limit, xlabel: str) -> None:
    """The budget's limit (dashed, or noted when far off scale), log x, labels and ranges."""
    xs = [t[key] for t in trials if t.get(key)]
    if limit and limit > 20 * max(xs):  # drawing it would squash every trial to one side
        ax.annotate(
            f"limit {limit:g}: far right, off this scale", (0.98, 0.98),
            xycoords="axes fraction", ha="right", va="top", fontsize=7.5, color=LIMIT,
        )  # fmt: skip
    elif limit:
        xs.append(limit)
        ax.axvline(limit, color=LIMIT, ls="--", lw=1.1, zorder=2)
        ax.annotate(
            f"limit {limit:g}", (limit, 0.98), xycoords=("data", "axes fraction"),
            xytext=(-3, 0), textcoords="offset points", rotation=90, ha="right",
            va="top", fontsize=7.5, color=LIMIT,
        )  # fmt: skip
    log_x(ax)
    ax.set_xlim(min(xs) / 1.6, max(xs) * 1.6)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("validation accuracy (onnxruntime)")
    accs = [t["val_accuracy"] for t in trials]
    pad = max(0.01, (max(accs) - min(accs)) * 0.12)
    ax.set_ylim(min(accs) - pad, max(accs) + pad)


def search_svg(search: dict) -> str | None:
    """`search`: the search.json dict (or a report's `search` section with the same keys)."""
    import matplotlib

    trials = [
        t
        for t in search.get("trials") or []
        if t.get("state") == "COMPLETE" and t.get("val_accuracy") is not None
    ]
    if not trials:
        return None
    front = {t["number"] for t in search.get("pareto") or []}
    best = (search.get("best") or {}).get("number")
    limits = {c["metric"]: c["limit"] for c in search.get("limits") or []}
    lat_metric = search.get("latency_metric", "latency_p90_ms")
    panels = [
        ("latency_ms", lat_metric, f"{lat_metric.split('_')[1]} latency (ms, log scale)"),
        ("size_kb", "size_kb", "file size (KB, log scale)"),
    ]
    with matplotlib.rc_context(RC):
        fig, axes = figure(9.5, 4.2, ncols=2)
        for ax, (key, metric, xlabel) in zip(axes, panels, strict=True):
            _points(ax, trials, key, front, best)
            _axes(ax, trials, key, limits.get(metric), xlabel)
        handles, labels = axes[1].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=4, fontsize=8, frameon=False)
        axes[0].set_title("accuracy vs latency", fontsize=9)
        axes[1].set_title("accuracy vs size", fontsize=9)
        return to_svg(fig, "search")


def search_figure(summary: dict) -> str:
    """The Pareto plot as a <figure> (or a one-line note when it cannot be drawn)."""
    try:
        svg = search_svg(summary)
    except ImportError as e:
        return f'<p class="figerr">figure omitted: {escape(str(e.name or e))} is not installed</p>'
    except Exception as e:  # a figure must never cost the report
        what = escape(f"{type(e).__name__}: {e}")
        return f'<p class="figerr">figure could not be drawn: {what}</p>'
    if svg is None:
        return '<p class="figerr">no measured trial to draw</p>'
    return (
        f"<figure>{svg}<figcaption>Every measured trial: blue dots meet every budget limit, red "
        "crosses miss one; green circles mark the Pareto front (no feasible trial is more "
        "accurate, faster and smaller at once); the orange ring is the chosen trial; dashed "
        "lines are the budget's limits. Accuracy is on the validation split.</figcaption></figure>"
    )
