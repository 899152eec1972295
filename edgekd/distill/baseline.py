"""Did distillation pay? The same student trained on hard labels alone, and the comparison.

`compress --baseline` trains the student architecture a second time, from the same initial
weights and with the same epochs, learning rate and batch size, but without a teacher. Both
students are exported and measured by onnxruntime on the same test split, and the report
says what KD added:

    gain       = kd - scratch                         (accuracy points, as a fraction)
    gap_closed = (kd - scratch) / (teacher - scratch) (share of the teacher-student gap)

Hinton et al. (2015) on MNIST: teacher 67 test errors, the small net alone 146, distilled 74,
so KD closed (146 - 74) / (146 - 67) = 91% of the gap. `gap_closed` is undefined (None) when
the student trained alone already matches or beats the teacher: there is no gap to close.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace

import numpy as np
from torch import nn

from edgekd.distill.trainer import TrainConfig, TrainResult, accuracy, fit, resolve_device

# A difference of accuracies on the same n test samples is called real only beyond this many
# standard errors; below it, one run cannot tell KD from the luck of initialisation and order.
NOISE_SIGMAS = 2.0


def gap_closed(teacher: float, scratch: float, kd: float) -> float | None:
    """(kd - scratch) / (teacher - scratch); None when teacher <= scratch (no gap to close)."""
    gap = teacher - scratch
    if not gap > 0:
        return None
    return (kd - scratch) / gap


def difference_stderr(a: float, b: float, n: int) -> float:
    """Standard error of a difference of two accuracies measured on n samples each."""
    if n <= 0:
        return math.inf
    return math.sqrt((a * (1 - a) + b * (1 - b)) / n)


def train_baseline(
    student: nn.Module,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    cfg: TrainConfig,
) -> TrainResult:
    """Train `student` in place on hard labels alone (no teacher, no transfer set), with the
    same augmentation and schedule as the distilled student (mixed labels where mixup is on),
    so the gain measured is distillation's alone."""
    return fit(student, x_train, y_train, x_val, y_val, cfg, teacher=None, label="baseline")


def train_plain_baseline(student: nn.Module, data, cfg: TrainConfig) -> dict | None:
    """What a user has without edgekd: the student on hard labels, no augmentation, edgekd's
    historic one-cycle schedule, for `cfg.epochs` (the plan's; None: the historic 60). None
    when the recipe already trains that way. Scored as the trained PyTorch model on the test
    split (it ships nowhere)."""
    if cfg.augment == "none" and cfg.schedule == "onecycle":
        return None
    plain = replace(cfg, recipe="hinton", augment="none", schedule="onecycle")
    result = fit(
        student, data.x_train, data.y_train, data.x_val, data.y_val, plain, label="plain scratch"
    )
    return {
        "epochs": result.epochs,
        "test_accuracy": accuracy(student, data.x_test, data.y_test, resolve_device(cfg.device)),
        "best_val_accuracy": result.best_val_accuracy,
        "seconds": round(result.seconds, 2),
        "accuracy_source": "trained PyTorch model, held-out test split",
    }


def baseline_summary(train: TrainResult, plain: dict | None) -> dict:
    """report.json's `baseline_training`: the same-recipe baseline and the plain one."""
    return {
        "epochs": train.epochs,
        "steps": train.steps,
        "same_recipe": True,
        "best_val_accuracy": train.best_val_accuracy,
        "best_epoch": train.best_epoch,
        "seconds": round(train.seconds, 2),
        "plain_scratch": plain,
    }


@dataclass
class DistillationVerdict:
    teacher_accuracy: float
    baseline_accuracy: float | None
    kd_accuracy: float
    test_samples: int
    gain: float | None = None
    gap_closed: float | None = None
    noise: float | None = None
    helped: bool | None = None
    verdict: str = ""
    suggestions: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _suggestions(
    temperature: float, alpha: float, transfer: str | None, data: str, searched: list[str]
) -> list[str]:
    tips = []
    if searched:
        tips.append(
            f"pinning T and alpha yourself: the search ({' and '.join(searched)}) scores short "
            f"trials and picked T={temperature:g}, alpha={alpha:g}; e.g. --temperature 2 "
            "--alpha 0.5"
        )
    elif temperature > 3:
        tips.append(
            f"a lower temperature (--temperature 2; small students prefer a low T, "
            f"this run used {temperature:g}) or --temperature auto"
        )
    else:
        tips.append(f"--temperature auto (this run used {temperature:g})")
    if alpha > 0.6 and "alpha" not in searched:
        tips.append(f"more weight on the hard labels (--alpha 0.5; this run used {alpha:g})")
    if transfer is None:
        source = "mnist1d:25000" if data == "mnist1d" else "unlabelled.npz, key X"
        tips.append(
            f"a transfer set (--transfer {source}): unlabelled inputs on which the student "
            "learns the teacher's outputs"
        )
    tips.append("more epochs or a wider student (--student-width)")
    return tips


def judge(
    *,
    teacher: float,
    kd: float,
    baseline: float | None,
    test_samples: int,
    temperature: float,
    alpha: float,
    transfer: str | None = None,
    data: str = "",
    searched: list[str] | tuple[str, ...] = (),
) -> DistillationVerdict:
    """Compare the distilled student with its baseline and say it plainly, with what to try."""
    v = DistillationVerdict(teacher, baseline, kd, test_samples)
    if baseline is None:
        v.verdict = (
            "no baseline was trained, so this run cannot say what distillation added; "
            "run with --baseline to train the same student on hard labels alone"
        )
        return v
    v.gain = kd - baseline
    v.gap_closed = gap_closed(teacher, baseline, kd)
    v.noise = difference_stderr(kd, baseline, test_samples)
    points = f"{v.gain * 100:+.2f} points"
    within_noise = abs(v.gain) < NOISE_SIGMAS * v.noise
    hint = (
        f" (within the noise of one run: {NOISE_SIGMAS:g} standard errors on "
        f"{test_samples} test samples are {NOISE_SIGMAS * v.noise * 100:.2f} points; "
        "compare several seeds)"
        if within_noise
        else ""
    )
    if v.gap_closed is None:
        v.helped = v.gain > 0 and not within_noise
        v.verdict = (
            f"the student trained alone ({baseline:.4f}) already matches or beats the teacher "
            f"({teacher:.4f}), so there is no gap for distillation to close; KD changed accuracy "
            f"by {points}{hint}. A stronger teacher or a smaller student is where KD can pay."
        )
        if not v.helped:
            v.suggestions = ["a stronger teacher, or a smaller student that falls short of it"]
        return v
    if v.gain > 0 and not within_noise:
        v.helped = True
        v.verdict = (
            f"distillation helped: {points} over the same student trained alone "
            f"({baseline:.4f} -> {kd:.4f}), closing {v.gap_closed:.0%} of the gap to the "
            f"teacher ({teacher:.4f})."
        )
        return v
    if v.gain > 0:
        v.helped = False
        v.verdict = (
            f"distillation made no measurable difference: {points} over the same student "
            f"trained alone ({baseline:.4f} -> {kd:.4f}; teacher {teacher:.4f}){hint}."
        )
        v.suggestions = _suggestions(temperature, alpha, transfer, data, list(searched))
        return v
    v.helped = False
    v.verdict = (
        f"distillation did NOT help: the distilled student scored {points} against the same "
        f"student trained alone ({baseline:.4f} -> {kd:.4f}; teacher {teacher:.4f}){hint}. "
        "KD can hurt very small students or with a badly chosen T/alpha."
    )
    v.suggestions = _suggestions(temperature, alpha, transfer, data, list(searched))
    return v


def report_section(
    accuracies: dict[str, float],
    *,
    test_samples: int,
    temperature: float,
    alpha: float,
    transfer: str | None,
    data: str,
    search: dict | None = None,
    baseline_training: dict | None = None,
    recipe: dict | None = None,
) -> dict:
    """report.json's `distillation`: the KD settings used and, with a baseline, the verdict.

    `accuracies` are the measured artifacts' (fp32 ONNX files run by onnxruntime on the test
    split): 'teacher', 'student' (the distilled student before pruning/quantization) and,
    when trained, 'student-baseline'.
    """
    verdict = judge(
        teacher=accuracies["teacher"],
        kd=accuracies["student"],
        baseline=accuracies.get("student-baseline"),
        test_samples=test_samples,
        temperature=temperature,
        alpha=alpha,
        transfer=transfer,
        data=data,
        searched=search["searched"] if search else (),
    )
    return {
        "temperature": temperature,
        "alpha": alpha,
        "transfer": transfer,
        "search": search,
        "accuracy_source": "fp32 ONNX artifacts, onnxruntime, held-out test split",
        **verdict.to_dict(),
        "baseline_training": baseline_training,
        "training_recipe": recipe,
    }
