"""The run's training plan (edgekd/plan.py) from its config, data and models: which stages
train, on how many rows, and with `--time-budget` how fast (a short probe). Made while the
inputs load, before the run directory exists, and printed before any training."""

from __future__ import annotations

from edgekd import distributed as ddp
from edgekd.config import CompressConfig
from edgekd.data import DataBundle
from edgekd.distill.kd_search import AUTO, grid
from edgekd.distill.recipe import cleared_by_validation
from edgekd.distill.teacher_cv import folds_for
from edgekd.distill.trainer import TrainConfig
from edgekd.manifest import read_manifest
from edgekd.plan import (
    DEFAULT_TIME_BUDGET,
    PlanInputs,
    TrainingPlan,
    fit_time,
    make_plan,
    parse_duration,
)
from edgekd.stages.adapters import teacher_views_of
from edgekd.teachers import teacher_training


def plan_inputs(cfg: CompressConfig, data: DataBundle, transfer, models) -> PlanInputs:
    """The numbers the plan is derived from. Only a single built-in teacher is cross-validated
    by the weak-teacher check (edgekd/distill/teacher_cv.py), and its folds count in a time
    budget only when even a perfect validation score could not clear it (GunPoint's 5 rows):
    otherwise a teacher that scores well skips them (ACSF1's 10 rows of 10 classes)."""
    members = models.teacher.members
    trained = sum(m.needs_training for m in members)
    folds = folds_for(data, cfg.run.seed) if trained == len(members) == 1 else []
    kd = cfg.distill
    searched = AUTO in (kd.temperature, kd.alpha)
    return PlanInputs(
        rows=len(data.y_train) + (0 if transfer is None else len(transfer)),
        labelled_rows=len(data.y_train),
        batch_size=kd.batch_size,
        recipe=kd.recipe,
        epochs=kd.epochs,
        teacher_epochs=cfg.teacher.epochs,
        prune_epochs=cfg.prune.epochs,
        teacher_runs=trained,
        fold_rows=[len(rows) for rows, _ in folds],
        folds_certain=not cleared_by_validation(1.0, data),
        search_points=len(grid(kd.temperature, kd.alpha)) if searched else 0,
        prune_steps=cfg.prune.steps if cfg.prune.ratio > 0 else 0,
        baseline=cfg.run.baseline,
        plain_baseline=cfg.run.baseline
        and not (kd.augment == "none" and kd.schedule == "onecycle"),
    )


def training_plan(
    cfg: CompressConfig, data: DataBundle, transfer, models, train: TrainConfig
) -> TrainingPlan:
    """The plan by data size; scaled to `cfg.run.time_budget` from a timed probe (of steps as
    `train` says) when one is set. The default budget probes nothing when flags fix every
    stage (nothing to scale: tests and scripted runs with given epochs start at once)."""
    inputs = plan_inputs(cfg, data, transfer, models)
    plan = make_plan(inputs)
    budget = cfg.run.time_budget
    all_fixed = all(s.fixed for s in plan.stages.values())
    if budget is None or (budget == DEFAULT_TIME_BUDGET and all_fixed):
        return plan
    saved = _interrupted_plan(cfg)
    if saved is not None:
        return plan.resumed(saved)
    if ddp.is_main():
        from edgekd.distill.probe import probe

        rates = probe(models, data, train, teacher_training(train, teacher_views_of(cfg, data)))
        plan = fit_time(plan, rates, parse_duration(budget))
    # every torchrun rank trains rank 0's plan: ranks timed apart could disagree on epochs
    return ddp.broadcast_object(plan) if ddp.world_size() > 1 else plan


def _interrupted_plan(cfg: CompressConfig) -> TrainingPlan | None:
    """With --resume, the plan the interrupted run in `cfg.run.out` trained under, if any."""
    saved = read_manifest(cfg.run.out) if cfg.run.resume else None
    if not saved or saved.get("status") == "done" or not saved.get("plan"):
        return None
    return TrainingPlan.from_dict(saved["plan"])
