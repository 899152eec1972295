"""Seeded stratified splits, so every run of the same config sees the same samples."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split


def stratified_split(
    x: np.ndarray, y: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return (x_keep, y_keep, x_held, y_held) with `fraction` of each class held out."""
    x_keep, x_held, y_keep, y_held = train_test_split(
        x, y, test_size=fraction, stratify=y, random_state=seed
    )
    return x_keep, y_keep, x_held, y_held


def cv_folds(y: np.ndarray, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified k-fold (train rows, held-out rows) pairs, k = `folds` or fewer when a class
    has fewer rows; [] when a class has a single row (nothing to hold out)."""
    from sklearn.model_selection import StratifiedKFold

    k = min(folds, int(np.bincount(y).min(initial=len(y)) if len(y) else 0))
    if k < 2:
        return []
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(y)), y))
