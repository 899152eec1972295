"""Distillation recipes: what the loss, the augmentation and the schedule are, as one choice.

- `hinton`: Hinton et al. 2015, exactly as edgekd always ran it: CE on the labels plus
  T^2 * KL at temperature T (alpha weights the soft term), the teacher's logits cached once,
  a one-cycle schedule over the epochs asked for, no augmentation unless asked.
- `function-matching` (the default): Beyer et al. 2022. The student matches the teacher's
  output (KL at T=1, alpha=1: no labels) on augmented and mixed inputs, the teacher run
  online on the very tensor the student sees, over a long cosine schedule with warm-up. On
  small data sets it needs *steps*, not epochs: when the user gives no epoch count, the
  budget is counted in optimisation steps (see `edgekd.plan.auto_epochs`).

Measured here (design.md, "Distillation that pays on a user's own data"): augmentation +
patience + the teacher on the same view is what pays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from edgekd.config import RECIPE_DEFAULTS
from edgekd.data.stream import inference_chunks
from edgekd.distill.augment import Batch
from edgekd.distill.losses import IGNORE, kd_loss
from edgekd.errors import EdgeKDError
from edgekd.plan import (
    MIN_EPOCHS,
    MIN_STEPS,
    PATIENT_EPOCHS,
    PATIENT_STEPS,
    TINY_VAL,
    auto_epochs,
)

__all__ = [  # the budgets live in edgekd/plan.py; importable from here as before
    "MIN_EPOCHS",
    "MIN_STEPS",
    "PATIENT_EPOCHS",
    "PATIENT_STEPS",
    "RECIPE_DEFAULTS",
    "auto_epochs",
    "check_teacher",
    "recipe_loss",
    "recipe_summary",
]

WARMUP_SHARE = 0.05


def make_scheduler(
    opt: torch.optim.Optimizer, kind: str, lr: float, total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler:
    """onecycle (edgekd's historic schedule) or cosine decay after a linear warm-up."""
    if kind == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=total_steps)
    if kind != "cosine":
        raise EdgeKDError(f"unknown schedule '{kind}'; choose cosine or onecycle")
    warmup = max(1, int(WARMUP_SHARE * total_steps))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        done = (step - warmup) / max(1, total_steps - warmup)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, done)))

    return torch.optim.lr_scheduler.LambdaLR(opt, factor)


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy against class probabilities (mixed labels), batch mean."""
    return -(targets * F.log_softmax(logits, dim=1)).sum(1).mean()


def recipe_loss(
    logits: torch.Tensor,
    batch: Batch,
    y: torch.Tensor,
    teacher_probs: torch.Tensor | None,
    *,
    temperature: float,
    alpha: float,
) -> torch.Tensor:
    """The loss of one batch. Unmixed batches go through `kd_loss` unchanged (so the hinton
    recipe without augmentation is exactly edgekd's historic loss). Mixed batches learn the
    labels mixed with the batch's lambda and the teacher's answer on the mixed input itself."""
    if batch.mix is None:
        return kd_loss(logits, y, teacher_probs, temperature=temperature, alpha=alpha)
    labelled = (y != IGNORE) & (y[batch.mix.perm] != IGNORE)
    hard = None
    if bool(labelled.any()):
        targets = batch.targets(y.clamp(min=0), logits.shape[1])
        hard = soft_cross_entropy(logits[labelled], targets[labelled])
    if teacher_probs is None:
        if hard is None:
            raise ValueError("a mixed batch without labels needs a teacher")
        return hard
    log_p = F.log_softmax(logits / temperature, dim=1)
    soft = temperature**2 * F.kl_div(log_p, teacher_probs, reduction="batchmean")
    if hard is None or alpha >= 1:
        return soft
    return (1.0 - alpha) * hard + alpha * soft


def view_accuracy(teacher, augmenter, x: np.ndarray, y: np.ndarray, device) -> float:
    """The teacher's accuracy on augmented views of (up to 2048) training samples.

    An augmentation that breaks the class breaks the teacher first: a low figure here says
    the views teach the student nonsense. Mixed samples count against their dominant label.
    Views are made and judged a batch at a time (inference_batch: bounded memory).
    """
    right = seen = 0
    with torch.no_grad():
        for chunk in inference_chunks(x[:2048]):
            x_t = torch.from_numpy(chunk).to(device)
            y_t = torch.from_numpy(np.asarray(y[seen : seen + len(x_t)])).to(device)
            batch = augmenter(x_t)
            pred = teacher(batch.x).argmax(1)
            if batch.mix is not None:
                y_t = torch.where(batch.mix.lam >= 0.5, y_t, y_t[batch.mix.perm])
            right, seen = right + int((pred == y_t).sum()), seen + len(y_t)
    return right / max(1, seen)


def chance_accuracy(y: np.ndarray, num_classes: int) -> float:
    """What always answering the commonest class scores (1/K on balanced data)."""
    counts = np.bincount(y, minlength=num_classes)
    return float(counts.max() / max(1, counts.sum()))


REFERENCE_FEATURES = 1024  # wider samples are average-pooled down to this before the fit


def thumbnails(x: np.ndarray) -> np.ndarray:
    """Rows flattened for the linear reference; images and long signals average-pooled per
    channel first (a linear model on a thumbnail). On raw 32x32x3 pixels the fit took 13-16 s
    for 216 rows and did not converge; its float64 copies grow with the width. Token ids
    (texts) become bags of tokens: counts of each id, hashed into REFERENCE_FEATURES columns."""
    x = np.asarray(x)
    if x.dtype.kind == "i":
        bags = np.zeros((len(x), REFERENCE_FEATURES), np.float32)
        rows, cols = np.nonzero(x >= 0)
        np.add.at(bags, (rows, x[rows, cols] % REFERENCE_FEATURES), 1.0)
        return bags
    x = x.astype(np.float32)
    if x.ndim > 2 and np.prod(x.shape[1:]) > REFERENCE_FEATURES:
        side = max(1, int((REFERENCE_FEATURES / x.shape[1]) ** (1 / (x.ndim - 2))))
        pooled = F.adaptive_avg_pool2d if x.ndim == 4 else F.adaptive_avg_pool1d
        x = pooled(torch.from_numpy(x), side).numpy()
    return x.reshape(len(x), -1)


def _linear_model():
    """Standardized ridge classifier, its penalty chosen by leave-one-out on the rows it is
    fitted on: closed form, so it converges on any data (a logistic regression with a fixed
    iteration count did not, on wide rows, and printed scikit-learn's warnings mid-run)."""
    from sklearn.linear_model import RidgeClassifierCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), RidgeClassifierCV(alphas=np.logspace(-2, 4, 7)))


def linear_reference(x_train: np.ndarray, y_train: np.ndarray, x_val, y_val) -> float:
    """Validation accuracy of a linear classifier on (up to 5000) training rows, wide ones
    pooled (`thumbnails`): a floor any student reaches alone, cheap enough to compute before
    distilling."""
    # slices, not whole arrays: streamed rows (data/rows.py) read only what is asked for
    n, m = min(len(x_train), 5000), min(len(x_val), 5000)
    model = _linear_model().fit(thumbnails(x_train[:n]), y_train[:n])
    return float(model.score(thumbnails(x_val[:m]), y_val[:m]))


def linear_reference_oof(x: np.ndarray, y: np.ndarray, folds: list) -> float:
    """The same linear classifier's out-of-fold accuracy on `folds` (the teacher's folds)."""
    rows, right = thumbnails(x), 0
    for train, held in folds:
        model = _linear_model().fit(rows[train], y[train])
        right += int((model.predict(rows[held]) == y[held]).sum())
    return right / len(y)


def cleared_by_validation(teacher_val: float | None, data, level: float = 0.05) -> bool:
    """Whether the validation split can judge the teacher without cross-validation: always
    with TINY_VAL rows or more; on fewer, only when a one-sided binomial test rejects chance
    accuracy at `level` (GunPoint's 5 rows at chance 0.6: not even 5 of 5 clears; 7 of 7 at
    0.57 does)."""
    n = len(data.y_val)
    if n >= TINY_VAL:
        return True
    if teacher_val is None or n == 0:
        return False
    p0, right = chance_accuracy(data.y_val, data.num_classes), round(teacher_val * n)
    tail = sum(math.comb(n, i) * p0**i * (1 - p0) ** (n - i) for i in range(right, n + 1))
    return tail < level


@dataclass
class CrossValidated:
    """The teacher recipe's out-of-fold accuracy on train + validation rows (small data)."""

    accuracy: float
    folds: list  # (train, held) row numbers into x_train + x_val
    x: np.ndarray  # the rows: x_train then x_val
    y: np.ndarray


def check_teacher(
    teacher_val: float,
    data,
    allow_weak: bool = False,
    console=None,
    cv: CrossValidated | None = None,
    advice: str = "train it longer (--teacher-epochs)",
) -> dict:
    """Stop before distilling from a teacher that cannot teach: near chance, or below a
    linear classifier on the same data (a student alone reaches at least that). One clear
    line, EdgeKDError (exit 2); `allow_weak` turns the stop into a printed warning. Returns
    the figures for the report. `advice`: how to get a better teacher from this run (a time
    budget that cut the teacher's training names the budget).

    The margins are two standard errors of an accuracy measured on n rows, so they account
    for the sample size. On small data (`cv`) the teacher is judged by its recipe's
    out-of-fold accuracy over every labelled row and the linear classifier on the same folds.
    Without `cv`, a validation split of fewer than TINY_VAL rows passes a teacher it clears
    (`cleared_by_validation`) and judges no other (weak: None; e.g. a given ensemble)."""
    if cv is not None:
        score, y = cv.accuracy, cv.y
        reference = linear_reference_oof(cv.x, cv.y, cv.folds)
        where = f"in {len(cv.folds)}-fold cross-validation of its recipe ({len(y)} rows)"
    else:
        score, y = teacher_val, data.y_val
        reference = linear_reference(data.x_train, data.y_train, data.x_val, data.y_val)
        where = "on the validation split"
    chance = chance_accuracy(y, data.num_classes)
    noise = 2 * math.sqrt(max(chance * (1 - chance), 0.01) / max(1, len(y)))
    result = {
        "teacher_val": teacher_val,
        "chance": chance,
        "linear_reference": reference,
        "rows": len(y),
        "method": "cross-validation" if cv is not None else "validation split",
    }
    if cv is not None:
        result["teacher_cv"] = score
    problem = None
    if cv is None and len(y) < TINY_VAL:
        result["method"] = "validation split, binomial test against chance"
        result["weak"] = False if cleared_by_validation(teacher_val, data) else None
        return result
    if score <= chance + max(noise, 0.05):
        problem = f"near chance ({chance:.3f})"
    elif score < reference - noise:
        problem = f"below a plain linear classifier (ridge) on the same data ({reference:.3f})"
    result["weak"] = problem is not None
    if problem is None:
        return result
    line = (
        f"the teacher scores {score:.3f} {where}, {problem}: a student "
        f"would learn its mistakes; {advice} or pass a better teacher, or "
        "--allow-weak-teacher to distill anyway"
    )
    if not allow_weak:
        raise EdgeKDError(line)
    if console is not None:
        console.print(f"[yellow]warning: {line}[/yellow]", soft_wrap=True)
    return result


def recipe_summary(cfg, train, teacher_check: dict | None = None) -> dict:
    """report.json's record of how the student was trained: recipe, views, schedule, steps."""
    return {
        "recipe": cfg.recipe,
        "augment": cfg.augment,
        "schedule": cfg.schedule,
        "epochs": train.epochs,
        "epochs_from": "config"
        if cfg.epochs
        else "plan (edgekd/plan.py: by data size, time budget)",
        "steps": train.steps,
        "patience": cfg.patience,
        "teacher_online": cfg.augment != "none",
        "teacher_view_accuracy": train.teacher_view_accuracy,
        "views": list(train.views),
        "views_dropped": train.views_dropped,  # auto views the teacher misread (distill/views.py)
        "teacher_check": teacher_check,
    }
