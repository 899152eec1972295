"""Distillation recipes: what the loss, the augmentation and the schedule are, as one choice.

- `hinton`: Hinton et al. 2015, exactly as edgekd always ran it: CE on the labels plus
  T^2 * KL at temperature T (alpha weights the soft term), the teacher's logits cached once,
  a one-cycle schedule over the epochs asked for, no augmentation unless asked.
- `function-matching` (the default): Beyer et al. 2022. The student matches the teacher's
  output (KL at T=1, alpha=1: no labels) on augmented and mixed inputs, the teacher run
  online on the very tensor the student sees, over a long cosine schedule with warm-up. On
  small data sets it needs *steps*, not epochs: when the user gives no epoch count, the
  budget is counted in optimisation steps (see `auto_epochs`).

Measured here (design.md, "Distillation that pays on a user's own data"): augmentation +
patience + the teacher on the same view is what pays.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from edgekd.config import RECIPE_DEFAULTS
from edgekd.data.stream import inference_chunks
from edgekd.distill.augment import Batch
from edgekd.distill.losses import IGNORE, kd_loss
from edgekd.errors import EdgeKDError

__all__ = ["RECIPE_DEFAULTS", "auto_epochs", "check_teacher", "recipe_loss", "recipe_summary"]

HINTON_EPOCHS = 60  # edgekd's epochs before recipes existed
# Function matching's patience when the user gives no --epochs: at least MIN_EPOCHS epochs and
# MIN_STEPS steps; and on small sets PATIENT_STEPS steps, up to PATIENT_EPOCHS epochs. On
# mnist1d (57 steps an epoch) 60 epochs closed 21% of an mlp's gap to the teacher and 200
# epochs 42% (one seed; design.md measured the same trend outside edgekd up to 400).
MIN_STEPS, MIN_EPOCHS = 3000, 60
PATIENT_STEPS, PATIENT_EPOCHS = 12000, 200
WARMUP_SHARE = 0.05


def auto_epochs(recipe: str, n_train: int, batch_size: int) -> int:
    """The epoch budget when the user gives none: today's 60 for hinton; for function
    matching a long schedule counted in steps (wine's ~100 rows make 2 steps an epoch: 60
    epochs would be 120 steps, far too few to learn anything). Budgets by data size at batch
    64: wine 1,500 epochs, digits and mnist1d 200, 50,000 images 60."""
    if recipe == "hinton":
        return HINTON_EPOCHS
    steps_per_epoch = max(1, math.ceil(n_train / batch_size))
    patient = min(PATIENT_EPOCHS, math.ceil(PATIENT_STEPS / steps_per_epoch))
    return max(MIN_EPOCHS, math.ceil(MIN_STEPS / steps_per_epoch), patient)


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


def linear_reference(x_train: np.ndarray, y_train: np.ndarray, x_val, y_val) -> float:
    """Validation accuracy of a logistic regression on (up to 5000) training rows, wide ones
    pooled (`thumbnails`): a floor any student reaches alone, cheap enough to compute before
    distilling."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    # slices, not whole arrays: streamed rows (data/rows.py) read only what is asked for
    n, m = min(len(x_train), 5000), min(len(x_val), 5000)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300))
    model.fit(thumbnails(x_train[:n]), y_train[:n])
    return float(model.score(thumbnails(x_val[:m]), y_val[:m]))


def check_teacher(teacher_val: float, data, allow_weak: bool = False, console=None) -> dict:
    """Stop before distilling from a teacher that cannot teach: near chance, or below a
    logistic regression on the same data (a student alone reaches at least that). One clear
    line, EdgeKDError (exit 2); `allow_weak` turns the stop into a printed warning. Returns
    the figures for the report."""
    chance = chance_accuracy(data.y_val, data.num_classes)
    noise = 2 * math.sqrt(max(chance * (1 - chance), 0.01) / max(1, len(data.y_val)))
    reference = linear_reference(data.x_train, data.y_train, data.x_val, data.y_val)
    result = {"teacher_val": teacher_val, "chance": chance, "linear_reference": reference}
    problem = None
    if teacher_val <= chance + max(noise, 0.05):
        problem = f"near chance ({chance:.3f})"
    elif teacher_val < reference - noise:
        problem = f"below a plain logistic regression on the same data ({reference:.3f})"
    result["weak"] = problem is not None
    if problem is None:
        return result
    line = (
        f"the teacher scores {teacher_val:.3f} on the validation split, {problem}: a student "
        "would learn its mistakes; train it longer (--teacher-epochs) or pass a better "
        "teacher, or --allow-weak-teacher to distill anyway"
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
        "epochs_from": "config" if cfg.epochs else "recipe (recipe.auto_epochs: by data size)",
        "steps": train.steps,
        "patience": cfg.patience,
        "teacher_online": cfg.augment != "none",
        "teacher_view_accuracy": train.teacher_view_accuracy,
        "teacher_check": teacher_check,
    }
