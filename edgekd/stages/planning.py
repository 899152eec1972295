"""The run's training plan (edgekd/plan.py) from its config, data and models: which stages
train, on how many rows, and with `--time-budget` how fast (a short probe). Made while the
inputs load, before the run directory exists, and printed before any training."""

from __future__ import annotations

from edgekd.config import CompressConfig
from edgekd.data import DataBundle
from edgekd.distill.kd_search import AUTO, grid
from edgekd.distill.teacher_cv import folds_for
from edgekd.distill.teachers import teacher_training
from edgekd.distill.trainer import TrainConfig
from edgekd.plan import PlanInputs, TrainingPlan, fit_time, make_plan, parse_duration


def plan_inputs(cfg: CompressConfig, data: DataBundle, transfer, models) -> PlanInputs:
    """The numbers the plan is derived from. Only a single built-in teacher is cross-validated
    by the weak-teacher check (edgekd/distill/teacher_cv.py)."""
    members = models.teacher.members
    trained = sum(m.needs_training for m in members)
    folds = folds_for(data, cfg.seed) if trained == len(members) == 1 else []
    searched = AUTO in (cfg.temperature, cfg.alpha)
    return PlanInputs(
        rows=len(data.y_train) + (0 if transfer is None else len(transfer)),
        labelled_rows=len(data.y_train),
        batch_size=cfg.batch_size,
        recipe=cfg.recipe,
        epochs=cfg.epochs,
        teacher_epochs=cfg.teacher_epochs,
        prune_epochs=cfg.prune_epochs,
        teacher_runs=trained,
        fold_rows=[len(rows) for rows, _ in folds],
        search_points=len(grid(cfg.temperature, cfg.alpha)) if searched else 0,
        prune_steps=cfg.prune_steps if cfg.prune_ratio > 0 else 0,
        baseline=cfg.baseline,
        plain_baseline=cfg.baseline and not (cfg.augment == "none" and cfg.schedule == "onecycle"),
    )


def training_plan(
    cfg: CompressConfig, data: DataBundle, transfer, models, train: TrainConfig
) -> TrainingPlan:
    """The plan by data size; scaled to `cfg.time_budget` from a timed probe (of steps as
    `train` says) when one is set."""
    inputs = plan_inputs(cfg, data, transfer, models)
    plan = make_plan(inputs)
    if cfg.time_budget is None:
        return plan
    from edgekd.distill.probe import probe

    rates = probe(models, data, train, teacher_training(train))
    return fit_time(plan, rates, parse_duration(cfg.time_budget))
