"""Text views for distillation (Tang et al. 2019's transfer-set augmentation), on token ids.

Images get crops and signals shifts; a text gets
- `mask`: each token replaced by [MASK] (or [UNK]) with probability 0.1;
- `replace`: each token replaced by a random token drawn from the training texts' token
  frequencies with probability 0.1 (Tang et al. replace a word by one of the same part of
  speech; a frequency-weighted draw needs no tagger);
- `ngram`: with probability 0.25 a text is cut to a random window of its tokens, at least a
  third of its length (capped at 5 tokens), so most views keep enough words to carry a class.
Special tokens ([CLS], [SEP]) and padding (-1) are never touched. The teacher labels each
view online (function matching), which is what makes such views pay: their hard label may no
longer hold, the teacher's answer on them does.
"""

from __future__ import annotations

import numpy as np
import torch

from edgekd.distill.augment import Batch

MASK_P = 0.1
REPLACE_P = 0.1
NGRAM_P = 0.25


class TextAugmenter:
    """Applies the chosen text operations to whole batches of ids, reproducibly from `seed`."""

    kind = "text"

    def __init__(self, ops: tuple[str, ...], x_train: np.ndarray, info, *, seed: int, device):
        self.ops, self.device = tuple(ops), device
        self.gen = torch.Generator(device=device).manual_seed(seed)
        self.np_gen = np.random.default_rng(seed)  # kept for checkpoints, like Augmenter's
        self.mask_id = info.mask_id
        special = torch.zeros(max(info.vocab_size, 1), dtype=torch.bool)
        special[info.special_ids] = True
        self.special = special.to(device)
        ids = np.asarray(x_train[:8192])
        counts = np.bincount(ids[ids >= 0].ravel(), minlength=info.vocab_size).astype(np.float64)
        counts[info.special_ids] = 0
        self.freq = torch.as_tensor(counts / max(counts.sum(), 1.0), dtype=torch.float32)
        self.freq = self.freq.to(device)

    def __call__(self, x: torch.Tensor) -> Batch:
        for op in self.ops:
            x = getattr(self, op)(x)
        return Batch(x)

    def _editable(self, x: torch.Tensor, p: float) -> torch.Tensor:
        """Positions to edit: real, non-special tokens, each with probability p."""
        real = x >= 0
        special = self.special[torch.where(real, x, torch.zeros_like(x))]
        coin = torch.rand(x.shape, generator=self.gen, device=self.device) < p
        return real & ~special & coin

    def mask(self, x: torch.Tensor) -> torch.Tensor:
        return torch.where(self._editable(x, MASK_P), torch.full_like(x, self.mask_id), x)

    def replace(self, x: torch.Tensor) -> torch.Tensor:
        where = self._editable(x, REPLACE_P)
        drawn = torch.multinomial(self.freq, x.numel(), replacement=True, generator=self.gen)
        return torch.where(where, drawn.view(x.shape).to(x.dtype), x)

    def ngram(self, x: torch.Tensor) -> torch.Tensor:
        """Keep a window of each chosen text: tokens [start, start + n), the rest padding."""
        n_rows, length = x.shape
        lengths = (x >= 0).sum(1)
        pick = torch.rand(n_rows, generator=self.gen, device=self.device) < NGRAM_P
        low = torch.clamp(torch.maximum(lengths // 3, torch.ones_like(lengths)), max=5)
        u = torch.rand(n_rows, generator=self.gen, device=self.device)
        n = torch.minimum(low + (u * (lengths - low + 1)).long(), lengths).clamp_min(1)
        v = torch.rand(n_rows, generator=self.gen, device=self.device)
        start = (v * (lengths - n + 1)).long()
        t = torch.arange(length, device=self.device)[None]
        src = (start[:, None] + t).clamp(max=length - 1)
        window = torch.where(t < n[:, None], x.gather(1, src), torch.full_like(x, -1))
        return torch.where(pick[:, None], window, x)
