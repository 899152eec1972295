"""Which of `--augment auto`'s views distillation shows: only those the teacher still reads.

Function matching trains the student to agree with the teacher on augmented views. A view under
which the teacher errs teaches the student those errors, and the student never sees a clean
sample to correct them: on GunPoint (UCR) the built-in teacher scored 1.000 on its training
series and on shifted, stretched, scaled or trended copies, but 0.736 on noised ones, and the
student distilled through all five views learned a function that scored 0.74 on the test split
while the same student on hard labels with the same views scored 0.993. So each auto view is
checked alone, with forward passes only, and one that costs the teacher more than
VIEW_TOLERANCE of its accuracy on the same rows unaugmented is dropped (said, and recorded in
report.json). Only the perturbations whose strength edgekd sets from the data's spread rather
than from what a class tolerates are checked (CHECKED). Crops are not: the digits teacher reads
75% of 8x8 crops, yet function matching through them gained 0.9-1.6 points over scratch
(benchmarks/results/kd_vs_scratch_fm.md), since crops near the whole image keep the clean
inputs covered. Mixing views have no single right label; text views were never measured here.
Views a user names are kept as named (the teacher's accuracy on them is printed).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from edgekd.data.stream import inference_chunks
from edgekd.distill.recipe import view_accuracy

VIEW_TOLERANCE = 0.05  # teacher accuracy (a fraction) a view may cost before auto drops it
CHECKED = ("shift", "stretch", "scale", "trend", "noise")  # signal and tabular perturbations
ROWS = 2048  # rows judged, as view_accuracy judges them


def clean_accuracy(teacher, x: np.ndarray, y: np.ndarray, device) -> float:
    """The teacher's accuracy on the rows view_accuracy judges, unaugmented."""
    right = seen = 0
    with torch.no_grad():
        for chunk in inference_chunks(x[:ROWS]):
            pred = teacher(torch.from_numpy(chunk).to(device)).argmax(1).cpu().numpy()
            right += int((pred == np.asarray(y[seen : seen + len(pred)])).sum())
            seen += len(pred)
    return right / max(1, seen)


def readable_views(
    teacher, ops: tuple[str, ...], augmenter: Callable[[tuple[str, ...]], object], x, y, device
) -> tuple[tuple[str, ...], dict[str, float], float]:
    """(the ops kept, {dropped op: the teacher's accuracy on its views}, the teacher's clean
    accuracy). `augmenter(ops)` makes a seeded augmenter of those ops."""
    clean = clean_accuracy(teacher, x, y, device)
    dropped = {
        op: acc
        for op in ops
        if op in CHECKED
        and (acc := view_accuracy(teacher, augmenter((op,)), x, y, device)) < clean - VIEW_TOLERANCE
    }
    return tuple(op for op in ops if op not in dropped), dropped, clean
