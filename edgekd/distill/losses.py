"""Hinton et al. (2015) knowledge-distillation loss, kept exactly as the paper states it.

    L = (1 - alpha) * CE(s, y) + alpha * T^2 * KL(softmax(t/T) || softmax(s/T))

The T^2 factor keeps the soft term's gradients on the scale of the hard term's as T grows
(the soft gradients shrink as 1/T^2). Samples without a label (y == IGNORE) contribute the
soft term alone, so a transfer set can be mixed into a labelled batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

IGNORE = -1


def soft_targets(teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    return F.softmax(teacher_logits / temperature, dim=1)


def kd_loss(
    student_logits: torch.Tensor,
    targets: torch.Tensor | None,
    teacher_probs: torch.Tensor | None,
    *,
    temperature: float,
    alpha: float,
) -> torch.Tensor:
    """Batch-mean loss. `teacher_probs` are already tempered (see `soft_targets`).

    targets None (or all IGNORE): soft term alone. teacher_probs None: plain cross-entropy.
    """
    if teacher_probs is None:
        return F.cross_entropy(student_logits, targets, ignore_index=IGNORE)
    log_p = F.log_softmax(student_logits / temperature, dim=1)
    kl = F.kl_div(log_p, teacher_probs, reduction="batchmean")
    soft = temperature**2 * kl
    labelled = targets is not None and bool((targets != IGNORE).any())
    if not labelled:
        return soft
    hard = F.cross_entropy(student_logits, targets, ignore_index=IGNORE)
    return (1.0 - alpha) * hard + alpha * soft


class KDLoss(nn.Module):
    """`kd_loss` as a module taking raw teacher logits, for users' own training loops."""

    def __init__(self, temperature: float = 4.0, alpha: float = 0.9):
        super().__init__()
        self.temperature, self.alpha = temperature, alpha

    def forward(
        self,
        student_logits: torch.Tensor,
        teacher_logits: torch.Tensor,
        targets: torch.Tensor | None = None,
    ) -> torch.Tensor:
        probs = soft_targets(teacher_logits, self.temperature)
        return kd_loss(
            student_logits, targets, probs, temperature=self.temperature, alpha=self.alpha
        )
