"""A trial's figures from its run directory, its budget constraints, and the study's verdicts.

Everything here works on plain dicts (the `figures` each trial stores in the study), so the
selection rules can be tested without training anything:

- feasible: every budget limit met by the trial's shipped ONNX file (a limit that could not be
  measured counts as missed: a trial is never chosen on a limit nobody checked);
- Pareto front: feasible trials that no other feasible trial beats on validation accuracy,
  latency and size at once;
- best: the feasible trial with the highest validation accuracy (ties: smaller, then faster).
  Test accuracy is recorded for every trial but never used to choose.
"""

from __future__ import annotations

from typing import Any

from edgekd.bench.budgets import Budget
from edgekd.bench.host import cpu_name
from edgekd.bench.verdict import judge

# Budget check metric -> the key of a trial's figures that holds the same value.
FIGURE_OF = {
    "memory_added_mb": "memory_added_mb",
    "size_kb": "size_kb",
    "activation_kb": "activation_kb",
    "retention": "val_retention",
}


def _lower_is_met(metric: str) -> bool:
    return metric == "retention"


def trial_figures(
    report: dict, run_dir, budget: Budget, val_accuracy: float, teacher_val_accuracy: float
) -> dict[str, Any]:
    """The shipped artifact's figures and the budget verdict, with retention on validation."""
    final = next(a for a in report["artifacts"] if a["name"] == report["final"])
    # The trial is chosen on validation data, so its retention limit is judged on validation too
    # (shipped val accuracy / teacher val accuracy, both by onnxruntime); the final run's report
    # judges retention on the test split as always.
    val_retention = val_accuracy / teacher_val_accuracy if teacher_val_accuracy else 0.0
    # judge: an MCU target's latency is the graph's estimate, as in the run's own verdict
    verdict = judge({**final, "retention": val_retention}, budget, cpu_name())
    lat = final.get("latency_ms") or {}
    mem = final.get("memory_mb") or {}
    act = final.get("peak_activation_bytes")
    return {
        "artifact": final["name"],
        "path": f"{run_dir}/{final['path']}",
        "precision": final.get("precision"),
        "val_accuracy": round(val_accuracy, 6),
        "test_accuracy": final.get("accuracy"),
        "val_retention": round(val_retention, 6),
        "latency_metric": budget.latency_metric,
        "latency_ms": lat.get(budget.latency_percentile),
        "latency_p50_ms": lat.get("p50"),
        "size_kb": round(final["size_bytes"] / 1024, 3),
        "memory_added_mb": mem.get("added"),
        "activation_kb": None if act is None else round(act / 1024, 3),
        "model_params": final.get("params"),
        "macs": final.get("macs"),
        "checks": verdict.to_dict()["checks"],
        "feasible": all(c["ok"] is True for c in verdict.checks),
    }


def constraint_values(checks: list[dict]) -> dict[str, float]:
    """Optuna constraints (<= 0 feasible): relative violation of each limit; an unmeasured
    limit counts as violated (1.0)."""
    out = {}
    for c in checks:
        value, limit = c.get("value"), c.get("limit")
        if value is None or not limit:
            out[c["metric"]] = 1.0
        elif _lower_is_met(c["metric"]):
            out[c["metric"]] = 1.0 - value / limit
        else:
            out[c["metric"]] = value / limit - 1.0
    return out


def violation(trial: dict) -> float:
    """Sum of relative violations (0 for a feasible trial)."""
    cons = constraint_values(trial.get("checks") or [])
    return sum(v for v in cons.values() if v > 0)


def measured(trials: list[dict]) -> list[dict]:
    """Trials that ran to the end and were measured."""
    return [t for t in trials if t.get("state") == "COMPLETE" and t.get("checks") is not None]


def _key(t: dict) -> tuple:
    return (
        t["val_accuracy"],
        -(t["size_kb"] if t.get("size_kb") is not None else float("inf")),
        -(t["latency_ms"] if t.get("latency_ms") is not None else float("inf")),
        -t["number"],
    )


def ranked(trials: list[dict]) -> list[dict]:
    """Feasible measured trials, best first (the order `choose_best` prefers them in)."""
    feasible = [t for t in measured(trials) if t.get("feasible") is True]
    return sorted(feasible, key=_key, reverse=True)


def choose_best(trials: list[dict]) -> dict | None:
    """The most accurate (validation) feasible trial; None when no trial is feasible."""
    order = ranked(trials)
    return order[0] if order else None


def closest(trials: list[dict]) -> dict | None:
    """When nothing is feasible: the measured trial nearest to the limits, the most accurate
    among equals; with none measured, the trial skipped for the smallest size floor."""
    done = measured(trials)
    if done:
        return min(done, key=lambda t: (round(violation(t), 9), -t["val_accuracy"], t["number"]))
    skipped = [t for t in trials if t.get("size_floor_kb") is not None]
    return min(skipped, key=lambda t: (t["size_floor_kb"], t["number"]), default=None)


def _dominates(a: dict, b: dict) -> bool:
    av = (-a["val_accuracy"], a["latency_ms"], a["size_kb"])
    bv = (-b["val_accuracy"], b["latency_ms"], b["size_kb"])
    return all(x <= y for x, y in zip(av, bv, strict=True)) and av != bv


def pareto_front(trials: list[dict]) -> list[dict]:
    """Feasible measured trials not dominated on (val accuracy up, latency down, size down)."""
    pool = [
        t for t in measured(trials) if t.get("feasible") is True and t.get("latency_ms") is not None
    ]
    front = [t for t in pool if not any(_dominates(o, t) for o in pool if o is not t)]
    return sorted(front, key=lambda t: (t["size_kb"], -t["val_accuracy"]))


def binding_limits(trials: list[dict]) -> list[dict]:
    """Per limit: how many measured trials miss it, and the closest trial's distance to it."""
    done = measured(trials)
    near = closest(trials)
    rows = []
    metrics = list(dict.fromkeys(c["metric"] for t in done for c in t["checks"]))
    for metric in metrics:
        missed = [
            t for t in done for c in t["checks"] if c["metric"] == metric and c["ok"] is not True
        ]
        row: dict[str, Any] = {"metric": metric, "trials_missing": len(missed), "trials": len(done)}
        if near is not None:
            check = next((c for c in near["checks"] if c["metric"] == metric), None)
            if check is not None:
                row.update(
                    closest_trial=near["number"],
                    value=check["value"],
                    limit=check["limit"],
                    ok=check["ok"],
                    over_by=None
                    if check["value"] is None
                    else round(constraint_values([check])[metric], 6),
                )
        rows.append(row)
    return rows


def binding_sentence(trials: list[dict]) -> str:
    """One sentence: which limit binds and how far the closest trial is from it."""
    near = closest(trials)
    if near is None:
        return "no trial was measured (every trial failed or was stopped early)"
    if near.get("checks") is None:  # every trial was too large to be worth training
        limit = next(iter(near.get("constraints") or {}), "size_kb")
        return (
            f"'{limit}' binds: every trial was skipped before training because its weights "
            f"alone exceed the limit; the smallest, #{near['number']}, needs at least "
            f"{near['size_floor_kb']:.1f} KB ({near['constraints'][limit]:.1%} over)"
        )
    rows = [r for r in binding_limits(trials) if r.get("ok") is not True and "closest_trial" in r]
    if not rows:
        return "no trial met every limit"
    worst = max(rows, key=lambda r: (r["over_by"] is None, r["over_by"] or 0))
    every = [r["metric"] for r in binding_limits(trials) if r["trials_missing"] == r["trials"]]
    lead = (
        f"'{worst['metric']}' binds"
        + (f" (every trial misses {', '.join(every)})" if every else "")
        + f": the closest trial, #{near['number']}, "
    )
    if worst["value"] is None:
        return lead + f"could not be measured on {worst['metric']}"
    word = "under" if _lower_is_met(worst["metric"]) else "over"
    return (
        lead + f"measures {worst['value']:.4g} against a limit of {worst['limit']:.4g} "
        f"({abs(worst['over_by']):.1%} {word})"
    )


def brief(t: dict) -> dict:
    keys = (
        "number",
        "params",
        "val_accuracy",
        "test_accuracy",
        "latency_ms",
        "size_kb",
        "memory_added_mb",
        "precision",
        "feasible",
        "run_dir",
    )
    return {k: t.get(k) for k in keys}
