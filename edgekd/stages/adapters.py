"""The run config's sections handed to the subsystems that take them: the trainer's TrainConfig,
the PruneSpec, the budget, the data and the teacher loaders. Each adapter passes a section
whole (its `*_options()`), so a field added to a section reaches its subsystem without a copy
here."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from edgekd.bench.budgets import Budget, load_budget
from edgekd.config import CompressConfig
from edgekd.data import DataBundle, load_data
from edgekd.data.labels import notice as label_notice
from edgekd.default_models import resolve_models
from edgekd.distill.augment import teacher_views
from edgekd.distill.trainer import TrainConfig
from edgekd.prune import PruneSpec
from edgekd.stages.run_tokenizer import resumable_tokenizer
from edgekd.teachers import load_teacher


def train_config(cfg: CompressConfig, epochs: int | None) -> TrainConfig:
    """The trainer's config: the distill section's loop settings, the run's seed and device;
    `epochs` differs by stage (teacher, distill, prune fine-tuning)."""
    return TrainConfig(
        epochs=epochs, seed=cfg.run.seed, device=cfg.run.device, **cfg.distill.train_options()
    )


def teacher_views_of(cfg: CompressConfig, data: DataBundle) -> str:
    """The views a teacher trained on the spot learns through (--teacher-augment)."""
    return teacher_views(cfg.teacher.augment, data.input_shape, text=data.is_text)


def prune_spec(cfg: CompressConfig) -> PruneSpec:
    return PruneSpec(**cfg.prune.spec_options())


def budget_of(cfg: CompressConfig) -> Budget:
    """The config's budget profile with its single-limit overrides applied."""
    return load_budget(cfg.budget.profile, **cfg.budget.overrides())


def data_of(
    cfg: CompressConfig, warn: Callable[[str], None] | None = None, tokenizer: Any = None
) -> DataBundle:
    """The config's data spec with its loading options, validated. `tokenizer`: texts, a
    teacher's tokenizer object (objects.py keeps it out of the config's str field); a resumed
    text run reads its interrupted run's tokenizer.json (run_tokenizer.py)."""
    options = cfg.data.loader_options()
    if tokenizer is not None:
        options["tokenizer"] = tokenizer
    elif options["tokenizer"] is None and len(cfg.teacher.specs) == 1:  # a teacher folder's
        options["tokenizer"] = cfg.teacher.specs[0]
    options["student_tokenizer"] = resumable_tokenizer(cfg)
    return load_data(cfg.data.source, seed=cfg.run.seed, warn=warn, **options)


def teacher_of(cfg: CompressConfig, data: DataBundle):
    """The config's teacher spec(s), loaded and checked against the data (not yet trained)."""
    return load_teacher(
        cfg.teacher.specs,
        data,
        temperature=cfg.distill.temperature,
        **cfg.teacher.loader_options(),
    )


def with_recipes(cfg: CompressConfig, data: DataBundle) -> tuple[CompressConfig, list[str]]:
    """`cfg` with the built-in teacher/student for the data's shape where none was given (saved
    resolved in config.yaml), and the notices to print once every input has been checked."""
    teacher, student, chosen = resolve_models(
        cfg.teacher.specs, cfg.student.name, data.input_shape, text=data.is_text
    )
    notes = [chosen, data.class_ids and label_notice(data.name, data.class_ids)]
    return cfg.with_flat(teacher=teacher, student=student), [n for n in notes if n]


def measure_threads(budget: Budget) -> int:
    """The budget's thread count, capped by this host's cores (oversubscribing only adds noise)."""
    return min(budget.threads, os.cpu_count() or 1)
