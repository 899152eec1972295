"""`--temperature auto` / `--alpha auto`: a short grid search on the validation split.

Hinton et al. (2015) found that the best temperature depends on the student's size: 2.5-4
for 30-unit hidden layers, anything above 8 for 300 units and more. Rather than guess, each
grid point trains a fresh copy of the student (same initial weights) for a few epochs with
KD and scores it on the validation split; the full training then uses the winner. The test
split is never looked at. Ties on validation accuracy (a few hundred samples give coarse
steps) go to the lower validation cross-entropy.

Short trials favour settings that learn fast; they are a cheap guide, not a guarantee. The
report lists every trial so a user can judge and pin the values. Trials use the run's
transfer set but not its feature hints (those attach to the one student being distilled).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from edgekd.distill.trainer import TeacherFn, TrainConfig, fit, predict_logits, resolve_device
from edgekd.plan import MIN_EPOCHS, trial_epochs

AUTO = "auto"
TEMPERATURES = (1.0, 2.0, 4.0, 8.0)
ALPHAS = (0.5, 0.9)


@dataclass
class KDSearch:
    temperature: float
    alpha: float
    epochs_per_trial: int
    trials: list[dict]
    seconds: float
    searched: list[str]

    def to_dict(self) -> dict:
        return {
            "searched": self.searched,
            "chosen": {"temperature": self.temperature, "alpha": self.alpha},
            "metric": "val_accuracy, ties broken by lower val_loss (cross-entropy at T=1)",
            "epochs_per_trial": self.epochs_per_trial,
            "trials": self.trials,
            "seconds": round(self.seconds, 2),
        }


def grid(temperature: float | str, alpha: float | str) -> list[tuple[float, float]]:
    temps = TEMPERATURES if temperature == AUTO else (float(temperature),)
    alphas = ALPHAS if alpha == AUTO else (float(alpha),)
    return list(itertools.product(temps, alphas))


def search_kd(
    make_student: Callable[[], nn.Module],
    x_train: np.ndarray,
    y_train: np.ndarray | None,
    x_val: np.ndarray,
    y_val: np.ndarray,
    cfg: TrainConfig,
    *,
    teacher: TeacherFn,
    temperature: float | str,
    alpha: float | str,
    x_transfer: np.ndarray | None = None,
    epochs: int | None = None,
) -> KDSearch:
    """Try each (T, alpha) of the grid for a few epochs; return the best on validation.

    `make_student` returns a fresh student with the same initial weights on every call, so
    trials differ only in T and alpha. `cfg` supplies everything else (lr, batch, seed).
    """
    start = time.perf_counter()
    n_epochs = epochs or trial_epochs(cfg.epochs or MIN_EPOCHS)
    device = resolve_device(cfg.device)
    y_val_t = torch.from_numpy(np.asarray(y_val, dtype=np.int64))
    trials = []
    for t, a in grid(temperature, alpha):
        model = make_student()
        trial_cfg = dataclasses.replace(cfg, epochs=n_epochs, temperature=t, alpha=a)
        trial_teacher = teacher
        if hasattr(teacher, "logits_at"):  # an ensemble tempers its members inside, at T
            trial_teacher = functools.partial(teacher.logits_at, temperature=t)
        result = fit(
            model,
            x_train,
            y_train,
            x_val,
            y_val,
            trial_cfg,
            teacher=trial_teacher,
            x_transfer=x_transfer,
            label=f"search T={t:g} alpha={a:g}",
        )
        logits = torch.from_numpy(predict_logits(model, x_val, device))
        trials.append(
            {
                "temperature": t,
                "alpha": a,
                "val_accuracy": result.best_val_accuracy,
                "val_loss": round(float(F.cross_entropy(logits, y_val_t)), 5),
                "best_epoch": result.best_epoch,
            }
        )
    best = max(trials, key=lambda r: (r["val_accuracy"], -r["val_loss"]))
    searched = [n for n, v in (("temperature", temperature), ("alpha", alpha)) if v == AUTO]
    return KDSearch(
        best["temperature"],
        best["alpha"],
        n_epochs,
        trials,
        time.perf_counter() - start,
        searched,
    )
