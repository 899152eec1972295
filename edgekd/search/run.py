"""`edgekd search`: the most accurate student that fits the budget, found with Optuna.

One search directory (`--out`):

    teacher.onnx  teacher.json   the teacher, trained or converted once; every trial uses it
    study.journal                the Optuna study (default storage; --storage puts it elsewhere)
    trials/NNNN/                 each trial's run directory (a real `compress` run, shortened)
    final/                       the chosen configuration retrained in full: a normal run directory
    best.yaml                    that configuration: `edgekd compress --config best.yaml` reruns it
    search.json                  every trial's figures, the Pareto front, the choice
    report.html  report.md       the Pareto front as a table and a plot

Each trial runs the real chain (distill -> prune -> export -> quantize -> measure) with
`search.epochs` screening epochs and measures the ONNX file that would ship. The study is
multi-objective (validation accuracy up, latency and size down) with every budget limit as a
constraint; hopeless trials stop early on validation accuracy. Selection uses the validation
split only; the final run's test accuracy is what the report states.

Re-running the same command continues the study (the journal file keeps it); any number of
workers given the same --storage (and teacher) share one study.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from rich.console import Console

from edgekd.atomic import write_text_atomic
from edgekd.config import CompressConfig
from edgekd.errors import EdgeKDError
from edgekd.search.figures import (
    binding_limits,
    binding_sentence,
    brief,
    choose_best,
    closest,
    pareto_front,
)
from edgekd.search.final import final_runs, headline
from edgekd.search.progress import optimize, print_outcome
from edgekd.search.space import SearchSettings
from edgekd.search.storage import describe, open_storage
from edgekd.search.study import (
    DEFAULT_STUDY,
    DIRECTIONS,
    OBJECTIVES,
    SearchContext,
    counts,
    fail_dead_trials,
    locked,
    open_study,
    quiet_optuna,
    study_attrs,
    trial_rows,
)
from edgekd.search.teacher import TEACHER_KEYS, families, search_teacher_onnx


@dataclass
class SearchResult:
    out: Path
    summary: dict
    final_ok: bool | None  # None: no final run (--no-final, or nothing was measured)

    @property
    def ok(self) -> bool:
        best = self.summary.get("best")
        return bool(best and best.get("feasible") and self.final_ok is not False)


def search(
    base: CompressConfig,
    settings: SearchSettings,
    *,
    student_given: bool = False,
    storage: str | None = None,
    study_name: str | None = None,
    final: bool = True,
    console: Console | None = None,
) -> SearchResult:
    """Run (or continue, or join) the study, then retrain the best configuration in full."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(settings.threads)  # also for the teacher trained once, below
    try:
        return _search(base, settings, student_given, storage, study_name, final, console)
    finally:
        torch.set_num_threads(threads)


def _search(base, settings, student_given, storage, study_name, final, console) -> SearchResult:
    from edgekd.default_models import AUTO
    from edgekd.stages.adapters import teacher_of
    from edgekd.stages.inputs import print_notes, read_inputs

    quiet_optuna()
    console = console or Console(stderr=True, width=None if sys.stderr.isatty() else 140)
    wall = time.perf_counter()
    if base.distill.hint:
        raise EdgeKDError(
            "edgekd search does not take --hint: trials learn from the search's teacher.onnx, "
            "which has no layers to hook; search without hints"
        )
    read = read_inputs(base, console)  # "auto" student / no teacher: the data's default models
    base, budget, data = read.cfg, read.budget, read.data
    students = settings.space["student"]
    named = tuple(base.student.name if c == AUTO else c for c in students.choices or ())
    settings.space["student"] = dataclasses.replace(students, choices=named)
    kept = families(base, settings, data, student_given)
    settings.space["student"] = type(settings.space["student"])("student", choices=tuple(kept))
    teacher_of(base, data)  # every teacher problem surfaces now, before anything is written
    out = Path(base.run.out)
    name = study_name or DEFAULT_STUDY
    study, created, teacher_info, where = _open_study(
        base, settings, data, budget, out, name, storage, console
    )
    ctx = SearchContext(
        base, settings, budget, data, out, out / "teacher.onnx", teacher_info, study
    )
    print_notes(
        [*settings.notices, *read.notes], console
    )  # after the storage is checked: bad input stays one line
    _announce(study, settings, name, where, created, console)

    def remaining() -> int:
        return settings.trials - sum(1 for t in study.get_trials(deepcopy=False) if counts(t))

    if remaining() > 0:
        optimize(study, ctx, console)
    rows = trial_rows(study)
    summary = _summary(ctx, rows, name, where)
    final_ok = final_runs(ctx, summary, rows, console) if final else None
    summary["wall_seconds"] = round(time.perf_counter() - wall, 1)
    _write_outputs(ctx, summary)
    print_outcome(summary, console)
    return SearchResult(out, summary, final_ok)


def _open_study(base, settings, data, budget, out: Path, name: str, storage, console):
    """The run directory, the study (created or joined under the lock) and its one teacher:
    (study, created, teacher_info, where)."""
    from edgekd.distill.recipe import check_teacher

    if storage:  # an explicit storage is checked before anything is written
        store = open_storage(storage, out / "study.journal")
    out.mkdir(parents=True, exist_ok=True)
    if not storage:
        store = open_storage(None, out / "study.journal")
    where = describe(storage, out / "study.journal")

    # The teacher is not part of the fingerprint: workers compare the teacher file itself.
    skip = {"out", "teacher_epochs", *TEACHER_KEYS}
    fingerprint = settings.fingerprint(
        {k: v for k, v in base.flat_values().items() if k not in skip}, budget.model_dump()
    )
    with locked(out / ".search.lock"):
        joining = study_attrs(store, name)
        teacher_info = search_teacher_onnx(
            base, data, out, console, (joining or {}).get("teacher_sha256")
        )
        # once for the study, not once per trial: a weak teacher stops the search here
        check_teacher(teacher_info["val_accuracy"], data, base.teacher.allow_weak_teacher, console)
        study, created = open_study(
            store,
            name,
            base.run.seed,
            settings,
            {
                "fingerprint": fingerprint,
                "teacher_sha256": teacher_info["sha256"],
                "edgekd_version": version("edgekd"),
            },
        )
        if created:  # under the lock: a worker joining now sees them queued
            for params in settings.enqueue:  # tried first, in order
                study.enqueue_trial(params)
    fail_dead_trials(study)
    return study, created, teacher_info, where


def _announce(study, settings, name: str, where: str, created: bool, console) -> None:
    """One line: which study, new or continued, and the space searched."""
    console.print(
        f"study '{name}' in {where}: "
        + ("new" if created else f"continuing, {len(trial_rows(study))} trial(s) so far")
        + f"; {settings.trials} trials of {settings.epochs} epochs; space: "
        + ", ".join(
            f"{k} {list(p.choices) if p.choices is not None else [p.low, p.high]}"
            for k, p in settings.space.items()
        ),
        soft_wrap=True,
        highlight=False,
    )


def _summary(ctx: SearchContext, rows: list[dict], name: str, where: str) -> dict:
    from edgekd.bench.budgets import check_budget

    best = choose_best(rows)
    near = None if best else closest(rows)
    limits = [
        {"metric": c["metric"], "limit": c["limit"]}
        for c in check_budget(ctx.budget, {}).to_dict()["checks"]
    ]
    s = ctx.settings
    summary: dict[str, Any] = {
        "edgekd_version": version("edgekd"),
        "study": name,
        "storage": where,
        "budget": ctx.budget.model_dump(),
        "limits": limits,
        "latency_metric": ctx.budget.latency_metric,
        "objectives": dict(zip(OBJECTIVES, DIRECTIONS, strict=True)),
        "selection": "highest validation accuracy among trials meeting every limit (ties: "
        "smaller file, then lower latency); test accuracy is never used to choose",
        "settings": {
            "trials": s.trials,
            "timeout": s.timeout,
            "screening_epochs": s.epochs,
            "final_epochs": ctx.base.distill.epochs,
            "latency_runs": s.latency_runs,
            "threads": s.threads,
            "early_stop": s.early_stop.__dict__,
        },
        "space": s.space_dict(),
        "teacher": {k: v for k, v in ctx.teacher_info.items() if k != "spec_hash"},
        "counts": {
            "trials": len(rows),
            "complete": sum(r["state"] == "COMPLETE" for r in rows),
            "feasible": sum(r["state"] == "COMPLETE" and r.get("feasible") is True for r in rows),
            "stopped_early": sum(r["status"] == "stopped" for r in rows),
            "skipped": sum(r["status"] == "skipped" for r in rows),
            "failed": sum(r["status"] == "failed" for r in rows),
            "interrupted": sum(r["status"] == "interrupted" for r in rows),
            "running": sum(r["status"] == "running" for r in rows),
        },
        "trials": rows,
        "pareto": [brief(t) for t in pareto_front(rows)],
        "best": brief(best) if best else None,
    }
    if best is None:
        summary["closest"] = brief(near) if near else None
        summary["binding"] = binding_limits(rows)
        summary["binding_sentence"] = binding_sentence(rows)
    return summary


def _write_outputs(ctx: SearchContext, summary: dict) -> None:
    from edgekd.search.report import render_search_html, render_search_markdown

    summary["headline"] = headline(summary)
    write_text_atomic(ctx.out / "search.json", json.dumps(summary, indent=2, default=str))
    write_text_atomic(ctx.out / "report.md", render_search_markdown(summary))
    write_text_atomic(ctx.out / "report.html", render_search_html(summary))
