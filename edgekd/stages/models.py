"""The models a run starts from: student, teacher (not yet trained) and hints, built in a fixed
order after seeding, so every run of a config draws the same initial weights."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from edgekd.config import CompressConfig
from edgekd.data import DataBundle
from edgekd.distill.hints import build_hints
from edgekd.distill.students import build_student, inner_model
from edgekd.prune import check_prunable
from edgekd.stages.adapters import prune_spec, teacher_of


@dataclass
class Models:
    """The models a run starts from, built and checked before anything is written."""

    student: nn.Module
    initial: nn.Module  # the student's initial weights: the baseline and kd-search start here
    teacher: Any  # edgekd.teachers.Teacher, not yet trained
    hints: Any  # FitNets hint loss, or None


def build_models(cfg: CompressConfig, data: DataBundle) -> Models:
    """Student, teacher and hints for `cfg`, after `torch.manual_seed(cfg.run.seed)`: the same
    random draws wherever a run starts (compress, the search's teacher)."""
    torch.manual_seed(cfg.run.seed)
    s = cfg.student
    student = build_student(s.name, data, width=s.width, standardize=s.standardize)
    teacher = teacher_of(cfg, data)
    d = cfg.distill
    hints = build_hints(d.hint, teacher, inner_model(student), d.hint_weight, data.x_train)
    if cfg.prune.ratio > 0:  # a model pruning cannot handle fails here, before any training
        check_prunable(student, torch.from_numpy(data.x_test[:2]), prune_spec(cfg))
    return Models(student, copy.deepcopy(student), teacher, hints)
