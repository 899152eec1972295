"""How two runs of one classifier compare: the share of equal top-1 predictions and the largest
logit difference in 8-bit steps, with the one tolerance edgekd uses for "they agree".

The tolerance is measured, not guessed (AVX2 host without VNNI, digits and random-weight conv
nets; design.md, "Devices are not the build host"): two exact evaluations of one int8 file
(onnxruntime with optimisations off, onnx.reference, tract) differ by at most one step of the
output's 8-bit grid, from float summation order deciding a rounding tie, and flipped no
prediction; onnxruntime's saturating u8 x s8 kernels differed by 2-23 steps and flipped
0.06-8.6% of predictions. So two runs agree when no prediction flips and no logit moves by more
than 1.5 steps of the reference logits' range / 255; fp32 files differ by ~1e-6 and pass easily.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_STEPS = 1.5  # logit difference allowed, in steps of (reference range / 255)


@dataclass(frozen=True)
class Agreement:
    agreement: float  # share of samples whose top-1 predictions are equal
    max_steps: float  # largest |logit difference| in steps of reference range / 255
    n: int

    @property
    def agrees(self) -> bool:
        return self.agreement == 1.0 and self.max_steps <= MAX_STEPS

    def to_dict(self) -> dict:
        return {
            "agreement": round(self.agreement, 6),
            "n": self.n,
            "max_logit_steps": round(self.max_steps, 3),
            "agrees": self.agrees,
        }


def compare_logits(logits: np.ndarray, reference: np.ndarray) -> Agreement:
    """`logits` against `reference` (same inputs, same order)."""
    if logits.shape != reference.shape:
        raise ValueError(f"logits of shape {logits.shape} vs reference {reference.shape}")
    span = float(reference.max() - reference.min()) if reference.size else 0.0
    step = span / 255 if span > 0 else 1.0
    diff = float(np.abs(logits - reference).max()) if reference.size else 0.0
    same = float((logits.argmax(1) == reference.argmax(1)).mean()) if len(reference) else 1.0
    return Agreement(same, diff / step, len(reference))
