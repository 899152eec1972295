"""The run context every stage receives, the inputs loaded before the run directory exists, and
the run directory's life (config.yaml, manifest, final status)."""

from __future__ import annotations

import copy
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console
from torch import nn

from edgekd import distributed as ddp
from edgekd import runlock
from edgekd.atomic import write_text_atomic
from edgekd.bench.budgets import Budget, load_budget
from edgekd.config import CompressConfig
from edgekd.data import DataBundle, load_data
from edgekd.data.labels import notice as label_notice
from edgekd.data.transfer import load_transfer
from edgekd.distill.augment import resolve_augment
from edgekd.distill.hints import build_hints
from edgekd.distill.students import build_student, inner_model
from edgekd.distill.teachers import load_teacher
from edgekd.distill.trainer import TrainConfig
from edgekd.manifest import Manifest, clear_earlier_run
from edgekd.objects import Inputs as GivenInputs
from edgekd.plan import TrainingPlan
from edgekd.prune import PruneSpec, check_prunable
from edgekd.recipes import resolve_models
from edgekd.signals import terminate_as_interrupt
from edgekd.stages.planning import training_plan
from edgekd.stages.resume import Resume, clear_checkpoints, start_resume


@dataclass(frozen=True)
class RunContext:
    """What every stage may read. `cfg` is resolved (kd-search replaces an "auto" T/alpha by
    the values found); `given_cfg` is the config as given, which the report states."""

    cfg: CompressConfig
    given_cfg: CompressConfig
    run_dir: Path
    manifest: Manifest
    console: Console
    budget: Budget
    data: DataBundle
    transfer: np.ndarray | None = None
    on_epoch: Callable[[int, float], None] | None = None  # after each distillation epoch
    main: bool = True  # torchrun: ranks other than 0 train only (into a scratch directory)
    resume: Resume | None = None  # --resume: the interrupted run's finished stages
    plan: TrainingPlan = field(default_factory=lambda: TrainingPlan({}))  # epochs per stage

    def epochs(self, stage: str) -> int | None:
        """The plan's epochs for `stage` (None: the stage is not in the plan)."""
        planned = self.plan.stages.get(stage)
        return planned.epochs if planned else None

    def with_cfg(self, **update: Any) -> RunContext:
        return replace(self, cfg=self.cfg.model_copy(update=update))

    def train_config(self, epochs: int | None) -> TrainConfig:
        return train_config(self.cfg, epochs)

    @property
    def threads(self) -> int:
        return measure_threads(self.budget)


def train_config(cfg: CompressConfig, epochs: int | None) -> TrainConfig:
    return TrainConfig(
        epochs=epochs,
        lr=cfg.lr,
        batch_size=cfg.batch_size,
        temperature=cfg.temperature,
        alpha=cfg.alpha,
        seed=cfg.seed,
        device=cfg.device,
        recipe=cfg.recipe,
        augment=cfg.augment,
        schedule=cfg.schedule,
        patience=cfg.patience,
    )


def prune_spec(cfg: CompressConfig) -> PruneSpec:
    return PruneSpec(
        cfg.prune_ratio,
        method=cfg.prune_method,
        steps=cfg.prune_steps,
        importance=cfg.prune_importance,
        scope=cfg.prune_scope,
    )


def budget_of(cfg: CompressConfig) -> Budget:
    """The config's budget profile with its single-limit overrides applied."""
    return load_budget(
        cfg.budget,
        max_latency_ms=cfg.max_latency_ms,
        max_memory_mb=cfg.max_memory_mb,
        max_size_kb=cfg.max_size_kb,
        min_retention=cfg.min_retention,
    )


def data_of(cfg: CompressConfig, warn: Callable[[str], None] | None = None) -> DataBundle:
    """The config's data spec with its loading options, validated."""
    return load_data(
        cfg.data,
        seed=cfg.seed,
        label_column=cfg.label_column,
        image_size=cfg.image_size,
        image_mean=cfg.image_mean,
        image_std=cfg.image_std,
        warn=warn,
        workers=cfg.workers,
    )


def teacher_of(cfg: CompressConfig, data: DataBundle):
    """The config's teacher spec(s), loaded and checked against the data (not yet trained)."""
    return load_teacher(
        cfg.teacher,
        data,
        arch=cfg.teacher_arch,
        output=cfg.teacher_output,
        weights=cfg.teacher_weight,
        trust_pickle=cfg.trust_pickle,
        temperature=cfg.temperature,
    )


def with_recipes(cfg: CompressConfig, data: DataBundle) -> tuple[CompressConfig, list[str]]:
    """`cfg` with the built-in teacher/student for the data's shape where none was given (saved
    resolved in config.yaml), and the notices to print once every input has been checked."""
    teacher, student, chosen = resolve_models(cfg.teacher, cfg.student, data.input_shape)
    notes = [chosen, data.class_ids and label_notice(data.name, data.class_ids)]
    return cfg.model_copy(update={"teacher": teacher, "student": student}), [n for n in notes if n]


def measure_threads(budget: Budget) -> int:
    """The budget's thread count, capped by this host's cores (oversubscribing only adds noise)."""
    return min(budget.threads, os.cpu_count() or 1)


@dataclass
class Models:
    """The models a run starts from, built and checked before anything is written."""

    student: nn.Module
    initial: nn.Module  # the student's initial weights: the baseline and kd-search start here
    teacher: Any  # edgekd.distill.teachers.Teacher, not yet trained
    hints: Any  # FitNets hint loss, or None


def build_models(cfg: CompressConfig, data: DataBundle) -> Models:
    """Student, teacher and hints for `cfg`, after `torch.manual_seed(cfg.seed)`: the same
    random draws wherever a run starts (compress, the search's teacher)."""
    torch.manual_seed(cfg.seed)
    student = build_student(cfg.student, data, width=cfg.student_width, standardize=cfg.standardize)
    teacher = teacher_of(cfg, data)
    hints = build_hints(cfg.hint, teacher, inner_model(student), cfg.hint_weight, data.x_train)
    if cfg.prune_ratio > 0:  # a model pruning cannot handle fails here, before any training
        check_prunable(student, torch.from_numpy(data.x_test[:2]), prune_spec(cfg))
    return Models(student, copy.deepcopy(student), teacher, hints)


@dataclass
class Inputs:
    """Everything a run reads, loaded and checked (shapes, classes, a forward pass) before the
    run directory exists: bad input leaves nothing behind."""

    cfg: CompressConfig  # as given, with the data's built-in recipes filled in
    budget: Budget
    data: DataBundle
    transfer: np.ndarray | None
    models: Models
    config_text: str  # config.yaml: `cfg`, plus a record of any in-memory objects
    plan: TrainingPlan  # epochs and steps per trained stage, printed before training


def load_inputs(given: GivenInputs, console: Console) -> Inputs:
    """`given`: the run's config and its loaders' view, in which a notebook's in-memory objects
    stand where the CLI has strings (edgekd/objects.py)."""
    cfg, loading = given.cfg, given.loading
    if ddp.is_main():
        runlock.ensure_free(cfg.out)  # another run writes there: say so now, not after loading
    budget = budget_of(cfg)
    data = data_of(
        loading, warn=lambda m: console.print(f"[yellow]warning: {m}[/yellow]", soft_wrap=True)
    )
    transfer = (
        load_transfer(loading.transfer, data, seed=cfg.seed, label_column=cfg.label_column)
        if loading.transfer is not None
        else None
    )
    resolve_augment(cfg.augment, data.input_shape)  # a bad --augment fails before any training
    cfg, notes = with_recipes(cfg, data)
    chosen = {k: getattr(cfg, k) for k in ("teacher", "student") if k not in given.objects}
    models = build_models(loading.model_copy(update=chosen), data)
    for note in notes:  # what edgekd chose for the user (recipes, class numbering)
        console.print(f"[cyan]{note}[/cyan]", soft_wrap=True, highlight=False)
    plan = training_plan(cfg, data, transfer, models, train_config(cfg, None))
    if ddp.is_main():
        console.print("\n".join(plan.lines()), soft_wrap=True, highlight=False)
    given = replace(given, cfg=cfg)
    text = given.config_yaml(data) + "".join(f"# {line}\n" for line in plan.lines())
    return Inputs(cfg, budget, data, transfer, models, text, plan)


@contextmanager
def run_directory(
    cfg: CompressConfig,
    inputs: Inputs,
    console: Console,
    on_epoch: Callable[[int, float], None] | None = None,
) -> Iterator[RunContext]:
    """The run's context over its directory: config.yaml and manifest written first, the
    manifest's status set to done or interrupted at the end. A torchrun rank other than 0 gets
    a scratch directory, removed afterwards."""

    def context(run_dir: Path, manifest: Manifest, resume: Resume | None = None) -> RunContext:
        return RunContext(
            cfg, cfg, run_dir, manifest, console, inputs.budget, inputs.data, inputs.transfer,
            on_epoch, main=ddp.is_main(), resume=resume, plan=inputs.plan,
        )  # fmt: skip

    if not ddp.is_main():
        scratch = Path(tempfile.mkdtemp(prefix=f"edgekd-rank{ddp.rank()}-"))
        try:
            yield context(scratch, Manifest(scratch, cfg.model_dump()))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return
    run_dir = Path(cfg.out)
    # One writer per directory (taken before anything is written); SIGTERM cleans up like ^C.
    with runlock.hold(run_dir), terminate_as_interrupt():
        resume = start_resume(run_dir, cfg) if cfg.resume else None  # refusals write nothing
        if resume is None:  # a rerun replaces the earlier run's files, never mixes
            clear_earlier_run(run_dir)
            clear_checkpoints(run_dir)
        write_text_atomic(run_dir / "config.yaml", inputs.config_text)
        manifest = Manifest(run_dir, cfg.model_dump())
        if resume is not None:
            manifest.carry(list(resume.records.values()))
        try:
            yield context(run_dir, manifest, resume)
        except BaseException:
            manifest.finish("interrupted")
            raise
        manifest.finish("done")
        clear_checkpoints(run_dir)  # done: nothing left to resume
