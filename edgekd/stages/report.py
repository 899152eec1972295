"""Stage `report`: report.json, report.md and report.html from the other stages' results, and
the summary printed to the terminal."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from edgekd.distill.baseline import report_section
from edgekd.distill.recipe import recipe_summary
from edgekd.plan import CV_STAGE, PLAIN_STAGE, plan_vs_actual
from edgekd.report import build_report, print_summary, write_reports
from edgekd.stages.base import StageResult, stage
from edgekd.stages.baseline import BaselineResult
from edgekd.stages.context import RunContext
from edgekd.stages.distill import DistillResult
from edgekd.stages.export import ExportResult
from edgekd.stages.kd_search import KDSearchResult
from edgekd.stages.measure import MeasureResult
from edgekd.stages.prune import PruneStageResult, report_notes
from edgekd.stages.quantize import QuantizeResult
from edgekd.stages.teacher import TeacherResult


@dataclass
class ReportResult(StageResult):
    report: dict
    paths: list[Path]

    def files(self) -> list[Path]:
        return self.paths


@dataclass
class Chain:
    """Every result the report draws on (None: the stage did not run)."""

    teacher: TeacherResult
    kd_search: KDSearchResult | None
    distill: DistillResult
    export: ExportResult
    pruned: PruneStageResult | None
    quant: QuantizeResult | None
    baseline: BaselineResult | None
    measured: MeasureResult


def _notes(ctx: RunContext, c: Chain) -> list[str | None]:
    threads, wanted = ctx.threads, ctx.budget.threads
    return [
        f"budget '{ctx.cfg.budget.profile}' asks for {wanted} threads; this host has "
        f"{os.cpu_count()} cores, so latency was measured with {threads}"
        if threads < wanted
        else None,
        *(report_notes(c.pruned.to_dict(), c.measured.rows) if c.pruned else []),
        c.quant.size_note if c.quant else None,
        c.quant.rows_note if c.quant else None,
        None if c.teacher.path else f"teacher: {c.teacher.parity['source']}",
    ]


def _inner_steps(c: Chain) -> dict[str, int]:
    """Steps of the plan's parts that run inside another stage (edgekd/plan.py INSIDE)."""
    return {CV_STAGE: c.teacher.cv_steps, PLAIN_STAGE: c.baseline.plain_steps if c.baseline else 0}


def _parity(c: Chain) -> dict:
    parity = {"teacher": c.teacher.parity, "student": c.export.parity.to_dict()}
    if c.pruned:
        parity["student-pruned"] = c.pruned.parity.to_dict()
    if c.baseline:
        parity["student-baseline"] = c.baseline.parity.to_dict()
    return parity


@stage("report")
def run(ctx: RunContext, c: Chain) -> ReportResult:
    cfg, measured = ctx.cfg, c.measured
    report = build_report(
        cfg=ctx.given_cfg,  # keeps any "auto": the report's config is the file's
        artifacts=measured.rows,
        final=measured.final,
        budget=measured.verdict.to_dict(),
        budget_spec=ctx.budget.model_dump(),  # the limits, so a device bench can be judged later
        training={"teacher": c.teacher.info.__dict__, "student": c.distill.to_dict()},
        parity=_parity(c),
        quantization=c.quant.choice.to_dict() if c.quant else None,
        class_ids=ctx.data.class_ids,
        pruning=c.pruned.to_dict() if c.pruned else None,
        distillation=report_section(
            {"teacher": c.teacher.info.test_accuracy, **measured.accuracies()},
            test_samples=len(ctx.data.y_test),
            temperature=cfg.distill.temperature,
            alpha=cfg.distill.alpha,
            transfer=cfg.distill.transfer,
            data=cfg.data.source,
            search=c.kd_search.search.to_dict() if c.kd_search else None,
            baseline_training=c.baseline.training() if c.baseline else None,
            recipe=recipe_summary(cfg.distill, c.distill.train, c.teacher.check),
        ),
        notes=_notes(ctx, c),
        stages=ctx.manifest.stage_times(),  # the stages before this one, with their wall times
        plan=plan_vs_actual(ctx.plan, ctx.manifest.stage_times(), _inner_steps(c)),
        resumed=ctx.resume.resumed if ctx.resume else [],  # the stages --resume skipped
    )
    paths = write_reports(ctx.run_dir, report)
    print_summary(report, Console(width=None if sys.stdout.isatty() else 120))
    return ReportResult(report, paths)
