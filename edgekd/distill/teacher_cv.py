"""The teacher recipe cross-validated, for judging a teacher on small data.

A validation split of 5 rows (GunPoint's 10%) says 0.6 or 0.8 about any teacher. On small
data the weak-teacher check instead trains the teacher recipe again on k folds of every
labelled row (training + validation) with the very budget the teacher had, and scores each
copy on the fold it did not see: an out-of-fold accuracy over all n rows, as the field
judges models on small data sets (UCR/UEA practice, scikit-learn's cross_val_predict).
"""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
from torch import nn

from edgekd.data import DataBundle
from edgekd.data.splits import cv_folds
from edgekd.distill.recipe import CrossValidated
from edgekd.distill.trainer import TrainConfig, fit, predict_logits, resolve_device
from edgekd.plan import CV_FOLDS, TINY_VAL


def labelled_rows(data: DataBundle) -> tuple[np.ndarray, np.ndarray] | None:
    """Training + validation rows (read into memory: a set whose validation split is this
    small is small), when the validation split is too small to judge with; None otherwise."""
    if len(data.y_val) >= TINY_VAL:
        return None
    x = [np.asarray(part[: len(part)]) for part in (data.x_train, data.x_val)]
    return np.concatenate(x), np.concatenate([data.y_train, data.y_val])


def folds_for(data: DataBundle, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The folds the check will train on ([]: the validation split is used as it is)."""
    rows = labelled_rows(data)
    return cv_folds(rows[1], CV_FOLDS, seed) if rows is not None else []


def cross_validate(
    untrained: nn.Module, data: DataBundle, train: TrainConfig, label: str = "teacher cv"
) -> CrossValidated | None:
    """Out-of-fold accuracy of `untrained` (a copy per fold) trained as `train` says; None
    when the validation split is large enough to judge with."""
    folds = folds_for(data, train.seed)
    if not folds:
        return None
    x, y = labelled_rows(data)
    device = resolve_device(train.device)
    right = 0
    for i, (rows, held) in enumerate(folds, 1):
        model = copy.deepcopy(untrained)
        fold_cfg = replace(train, seed=train.seed + i)
        fit(model, x[rows], y[rows], x[held], y[held], fold_cfg, label=f"{label} {i}/{len(folds)}")
        right += int((predict_logits(model, x[held], device).argmax(1) == y[held]).sum())
    return CrossValidated(right / len(y), folds, x, y)
