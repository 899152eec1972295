"""The one shape every data source is turned into."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from edgekd.data.rows import is_streamed
from edgekd.errors import EdgeKDError


@dataclass
class DataBundle:
    """Train/val/test arrays plus what a model needs to know about them.

    Each x is a float32 array (int64 token ids for texts), or streamed `Rows` (data/rows.py)
    that slice like one but read their source (a memmap, an image folder) a batch at a time.

    The test split is never used for training, checkpoint choice or calibration: those use
    train (fit, calibration) and val (checkpoint, quantization choice).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    # The user's label of each class index when theirs were not 0..K-1 (data/labels.py).
    class_ids: list | None = None
    # Texts (data/text.py): x are int64 token ids, -1 after a text's end; the tokenizer etc.
    text: Any = None  # edgekd.data.tokenizer.TextInfo

    @property
    def is_text(self) -> bool:
        return self.text is not None

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    def validate(self) -> DataBundle:
        """Refuse data that would train silently wrong: one line naming the problem."""
        for split in ("train", "val", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if len(x) == 0:
                raise EdgeKDError(
                    f"data '{self.name}': the {split} split is empty; supply more samples"
                )
            if len(x) != len(y):
                raise EdgeKDError(
                    f"data '{self.name}': {split} has {len(x)} samples but {len(y)} labels; "
                    "X and y must have the same length"
                )
            if not (x.all_finite() if is_streamed(x) else np.isfinite(x).all()):
                raise EdgeKDError(
                    f"data '{self.name}': {split} features contain NaN or inf; clean or impute them"
                )
            if y.min() < 0 or y.max() >= self.num_classes:
                raise EdgeKDError(
                    f"data '{self.name}': {split} labels must lie in [0, {self.num_classes}); "
                    f"found {int(y.min())}..{int(y.max())}"
                )
        return self
