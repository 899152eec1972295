"""Consistent augmentation: one augmented batch, fed as the same tensor to teacher and student.

A student learns the teacher's *function* only where it sees the teacher's answers; on a small
training set that is too few points. Augmenting every batch on the fly (and mixing samples)
shows it many more, and because the teacher runs on the very tensor the student sees, its
answers stay consistent with the view (Beyer et al. 2022, "Knowledge distillation: a good
teacher is patient and consistent"). Everything here works on whole batches of tensors on the
training device, drawn from one seeded `torch.Generator`, so a run is reproducible; no
torchvision.

Operations per data kind (the kind follows the per-sample input rank):
- image `(C, H, W)`: `crop` (random crop after zero padding of H/8), `hflip` (only when asked:
  it changes the class of digits and text), `mixup`, `cutmix`;
- signal `(C, L)`: `shift` (roll), `stretch` (resample 0.85-1.15), `scale` (amplitude
  0.8-1.2), `trend` (a random linear trend), `noise` (smoothed + white), `mixup`;
- tabular `(F,)`: `mixup`, `noise` (Gaussian, scaled per feature by its training std);
- text (token ids): `mask`, `replace`, `ngram` (distill/text_augment.py).
`auto` takes the kind's defaults (no flip; mixup only for tabular rows, where it is the one
way to make new points; on short schedules mixup hurt a tiny signal student here).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from edgekd.errors import EdgeKDError

KIND_OPS = {
    "image": ("crop", "hflip", "mixup", "cutmix"),
    "signal": ("shift", "stretch", "scale", "trend", "noise", "mixup"),
    "tabular": ("mixup", "noise"),
    "text": ("mask", "replace", "ngram"),
}
AUTO_OPS = {
    "image": ("crop",),
    "signal": ("shift", "stretch", "scale", "trend", "noise"),
    "tabular": ("mixup", "noise"),
    "text": ("mask", "replace", "ngram"),
}
# `--teacher-augment auto`: the views a teacher trained on the spot learns through (signals
# only; none is the default). Test accuracy of the teacher recipe, without -> with them:
# ArrowHead 0.737 -> 0.829 (400 steps, 2 seeds), GunPoint 0.990 -> 1.000, ItalyPowerDemand
# 0.960 -> 0.944 (24 hourly readings, where position means time of day), and ACSF1 (1,460
# readings of appliances' power) 0.74 after 24 epochs plain, 0.52 after 105 through them
# (benchmarks/results/real_data_teacher_views.md): no default for every signal.
TEACHER_OPS = {"signal": ("shift", "stretch", "scale", "trend")}
MIXUP_ALPHA = 0.4  # Beta(a, a) mixing weights: most samples stay close to one of the two
NOISE_STD = {"signal": 0.05, "tabular": 0.1}  # in units of the data's std


def data_kind(input_shape: tuple[int, ...]) -> str:
    """image (C, H, W), signal (C, L) or tabular (F,), by the rank of one sample."""
    kinds = {1: "tabular", 2: "signal", 3: "image"}
    if len(input_shape) not in kinds:
        raise EdgeKDError(
            f"--augment auto knows inputs of rank 1-3 (features, signals, images); this data's "
            f"samples have shape {tuple(input_shape)}: pass --augment none"
        )
    return kinds[len(input_shape)]


def resolve_augment(
    spec: str, input_shape: tuple[int, ...], *, text: bool = False
) -> tuple[str, ...]:
    """`auto`, `none` or a comma-separated list of this data kind's operations (`text`: the
    inputs are token ids)."""
    spec = (spec or "none").strip().lower()
    if spec == "none":
        return ()
    kind = "text" if text else data_kind(input_shape)
    if spec == "auto":
        return AUTO_OPS[kind]
    ops = tuple(o.strip() for o in spec.split(",") if o.strip())
    bad = [o for o in ops if o not in KIND_OPS[kind]]
    if bad:
        raise EdgeKDError(
            f"--augment: '{bad[0]}' is not an augmentation for {kind} inputs "
            f"{tuple(input_shape)}; choose from {', '.join(KIND_OPS[kind])}, auto or none"
        )
    return ops


def teacher_views(spec: str, input_shape: tuple[int, ...], *, text: bool = False) -> str:
    """The `augment` spec a teacher trained on the spot uses: `spec` as --augment takes it,
    with `auto` meaning TEACHER_OPS (nothing for images, rows and texts)."""
    if (spec or "none").strip().lower() == "auto":
        kind = "signal" if len(input_shape) == 2 and not text else "other"
        return ",".join(TEACHER_OPS.get(kind, ())) or "none"
    return ",".join(resolve_augment(spec, input_shape, text=text)) or "none"


@dataclass
class Mix:
    """Which sample each row was mixed with, and how much of itself it kept (per row)."""

    perm: torch.Tensor
    lam: torch.Tensor  # (N,), the weight of the row's own sample

    def __call__(self, t: torch.Tensor) -> torch.Tensor:
        """lam * t + (1 - lam) * t[perm], for any per-row tensor (inputs, one-hot, probs)."""
        lam = self.lam.view(-1, *([1] * (t.dim() - 1))).to(t.dtype)
        return lam * t + (1 - lam) * t[self.perm]


@dataclass
class Batch:
    """An augmented batch: the one tensor teacher and student both see, and its mixing."""

    x: torch.Tensor
    mix: Mix | None = None

    def targets(self, y: torch.Tensor, num_classes: int) -> torch.Tensor:
        """Hard labels as class probabilities, mixed with the batch's own lambda."""
        onehot = F.one_hot(y, num_classes).float()
        return onehot if self.mix is None else self.mix(onehot)


class Augmenter:
    """Applies the chosen operations to whole batches, reproducibly from `seed`."""

    def __init__(
        self,
        ops: tuple[str, ...],
        x_train: np.ndarray,
        *,
        seed: int,
        device: torch.device,
    ):
        self.ops, self.device = tuple(ops), device
        self.kind = data_kind(tuple(x_train.shape[1:]))
        self.gen = torch.Generator(device=device).manual_seed(seed)
        self.np_gen = np.random.default_rng(seed)  # Beta draws (torch's take no generator)
        std = x_train.std(axis=0) if self.kind == "tabular" else np.array(x_train.std())
        self.std = torch.as_tensor(np.maximum(std, 1e-6), dtype=torch.float32, device=device)

    def _u(self, n: int, lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(n, generator=self.gen, device=self.device)

    def __call__(self, x: torch.Tensor) -> Batch:
        mix = None
        for op in self.ops:
            if op in ("mixup", "cutmix"):
                x, mix = getattr(self, op)(x)
            else:
                x = getattr(self, op)(x)
        return Batch(x, mix)

    # -- mixing (every kind) --
    def _pairs(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        perm = torch.randperm(n, generator=self.gen, device=self.device)
        lam = torch.from_numpy(self.np_gen.beta(MIXUP_ALPHA, MIXUP_ALPHA, n).astype(np.float32))
        return perm, lam.to(self.device)

    def mixup(self, x: torch.Tensor) -> tuple[torch.Tensor, Mix]:
        mix = Mix(*self._pairs(len(x)))
        return mix(x), mix

    def cutmix(self, x: torch.Tensor) -> tuple[torch.Tensor, Mix]:
        """A box of another image pasted in; lambda is the share of the image kept."""
        n, _, h, w = x.shape
        perm, lam = self._pairs(n)
        cut = torch.sqrt(1 - lam)
        ch, cw = (cut * h).long(), (cut * w).long()
        cy = (torch.rand(n, generator=self.gen, device=self.device) * h).long()
        cx = (torch.rand(n, generator=self.gen, device=self.device) * w).long()
        y0, y1 = (cy - ch // 2).clamp(0, h), (cy + (ch + 1) // 2).clamp(0, h)
        x0, x1 = (cx - cw // 2).clamp(0, w), (cx + (cw + 1) // 2).clamp(0, w)
        rows = torch.arange(h, device=self.device)[None, :, None]
        cols = torch.arange(w, device=self.device)[None, None, :]
        box = (
            (rows >= y0[:, None, None])
            & (rows < y1[:, None, None])
            & (cols >= x0[:, None, None])
            & (cols < x1[:, None, None])
        )
        out = torch.where(box[:, None], x[perm], x)
        kept = 1 - box.flatten(1).float().mean(1)
        return out, Mix(perm, kept)

    # -- images --
    def crop(self, x: torch.Tensor) -> torch.Tensor:
        """Random H x W crop of the image zero-padded by H/8 (at least 1) on each side."""
        n, c, h, w = x.shape
        pad = max(1, h // 8)
        padded = F.pad(x, (pad, pad, pad, pad))
        oy = torch.randint(0, 2 * pad + 1, (n,), generator=self.gen, device=self.device)
        ox = torch.randint(0, 2 * pad + 1, (n,), generator=self.gen, device=self.device)
        rows = (oy[:, None] + torch.arange(h, device=self.device))[:, None, :, None]
        cols = (ox[:, None] + torch.arange(w, device=self.device))[:, None, None, :]
        b = torch.arange(n, device=self.device)[:, None, None, None]
        ch = torch.arange(c, device=self.device)[None, :, None, None]
        return padded[b, ch, rows, cols]

    def hflip(self, x: torch.Tensor) -> torch.Tensor:
        flip = torch.rand(len(x), generator=self.gen, device=self.device) < 0.5
        return torch.where(flip[:, None, None, None], x.flip(-1), x)

    # -- 1-D signals (N, C, L) --
    def _resample(self, x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        """x read at fractional positions pos (N, L), linearly interpolated, edges clamped."""
        length = x.shape[-1]
        pos = pos.clamp(0, length - 1)
        lo = pos.floor().long().clamp(max=length - 1)
        hi = (lo + 1).clamp(max=length - 1)
        frac = (pos - lo).unsqueeze(1)
        idx = lambda i: i.unsqueeze(1).expand(-1, x.shape[1], -1)  # noqa: E731
        return x.gather(2, idx(lo)) * (1 - frac) + x.gather(2, idx(hi)) * frac

    def shift(self, x: torch.Tensor) -> torch.Tensor:
        """Roll each signal by up to L/10 steps either way."""
        n, c, length = x.shape
        most = max(1, length // 10)
        s = torch.randint(-most, most + 1, (n,), generator=self.gen, device=self.device)
        idx = (torch.arange(length, device=self.device)[None] - s[:, None]) % length
        return x.gather(2, idx[:, None].expand(-1, c, -1))

    def stretch(self, x: torch.Tensor) -> torch.Tensor:
        length = x.shape[-1]
        factor = self._u(len(x), 0.85, 1.15)
        centre = (length - 1) / 2
        grid = torch.arange(length, device=self.device, dtype=x.dtype)[None]
        return self._resample(x, centre + (grid - centre) / factor[:, None])

    def scale(self, x: torch.Tensor) -> torch.Tensor:
        return x * self._u(len(x), 0.8, 1.2)[:, None, None]

    def trend(self, x: torch.Tensor) -> torch.Tensor:
        ramp = torch.linspace(-1, 1, x.shape[-1], device=self.device)
        return x + (self._u(len(x), -0.2, 0.2) * self.std)[:, None, None] * ramp

    def noise(self, x: torch.Tensor) -> torch.Tensor:
        """Gaussian noise in units of the data's std: per feature (tabular) or smoothed +
        white (signals)."""
        sigma = NOISE_STD[self.kind] * self.std
        white = torch.randn(x.shape, generator=self.gen, device=self.device)
        if self.kind == "tabular":
            return x + white * sigma
        raw = torch.randn(x.shape, generator=self.gen, device=self.device)
        kernel = torch.full((x.shape[1], 1, 5), 1 / 5**0.5, device=self.device)
        smooth = F.conv1d(raw, kernel, padding=2, groups=x.shape[1])
        return x + (white + smooth) * sigma
