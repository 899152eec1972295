"""A short timed probe of each model's training step, for `--time-budget`.

A few optimiser steps of the teacher (hard labels, as its stage trains it) and of the student
(its recipe's views and, when augmented, the teacher online) on copies of the models, through
the trainer's own loop (`make_loop`, `train_epoch`): seconds per step for the plan to scale.
"""

from __future__ import annotations

import copy
import time
from dataclasses import replace

import numpy as np
import torch
from torch import nn

from edgekd.distill.augment import resolve_augment
from edgekd.distill.trainer import (
    TrainConfig,
    Views,
    make_augmenter,
    make_loop,
    resolve_device,
    train_epoch,
    training_rows,
)
from edgekd.heartbeat import Heartbeat

PROBE_STEPS = 5  # timed, after one untimed warm-up step
VALIDATION_MARGIN = 1.15  # validation, checkpoints and the loop's bookkeeping on top of steps


def _seconds_per_step(model: nn.Module, data, cfg: TrainConfig, teacher=None) -> float:
    # "auto" or not, the cost is the same; texts' views need their tokens, as in training
    cfg = replace(cfg, temperature=1.0, alpha=1.0, tokens=data.text)
    device = resolve_device(cfg.device)
    model = copy.deepcopy(model).to(device).train()
    n = min(len(data.y_train), cfg.batch_size)  # one batch, as large as training's
    x, y = training_rows(data.x_train[:n], data.y_train[:n], None, teacher, device)
    ops = resolve_augment(cfg.augment, tuple(data.x_train.shape[1:]), text=data.is_text)
    rows = np.asarray(data.x_train[:n])
    views = (
        Views(augmenter=make_augmenter(ops, rows, seed=cfg.seed, device=device, tokens=data.text))
        if ops
        else Views()
    )
    online = teacher if ops else None  # un-augmented KD reads cached logits, no teacher call
    loop = make_loop(model, n, replace(cfg, epochs=PROBE_STEPS + 1), None, device)
    beat = Heartbeat("probe", 0, 0, enabled=False)
    batch = torch.arange(n, device=device)
    train_epoch(loop, x, y, batch, views, online, cfg, None, beat)  # warm-up, untimed
    start = time.perf_counter()
    for _ in range(PROBE_STEPS):
        train_epoch(loop, x, y, batch, views, online, cfg, None, beat)
    return VALIDATION_MARGIN * (time.perf_counter() - start) / PROBE_STEPS


def probe(models, data, student_cfg: TrainConfig, teacher_cfg: TrainConfig) -> dict[str, float]:
    """Seconds per step of each trained stage of the plan (edgekd/plan.py's stage names)."""
    teacher = models.teacher
    trained = [m for m in teacher.members if m.needs_training]
    per_teacher = sum(_seconds_per_step(m.module, data, teacher_cfg) for m in trained[:1])
    student = _seconds_per_step(models.student, data, student_cfg, teacher)
    scratch = _seconds_per_step(models.student, data, student_cfg)
    return {
        "teacher": per_teacher,
        "teacher-cv": per_teacher,
        "kd-search": student,
        "distill": student,
        "prune": student,
        "baseline": scratch,
        "plain-scratch": scratch,  # no augmentation: at most as slow as the baseline's steps
    }
