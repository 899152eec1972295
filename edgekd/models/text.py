"""Phone-sized text students over token ids: `textcnn`, `bigru`, `text-transformer`.

Each takes `forward(x)` with x the bundle's token ids (-1 = padding, any dtype), and
`classify(input_ids, attention_mask)`, which is what the exported ONNX computes
(edgekd/export.py). Padding never changes an output: embeddings of padded positions are
zeroed and pooling skips them, so the pad id the device's tokenizer writes does not matter
and a batch padded to any length gives the same logits as each text alone.

Registered in the text table (`models/registry.py:register_text_model`): text students need
the vocabulary size and read integer ids, so they are kept apart from the zoo of float-input
models (its catalog and tests build every zoo model on image tensors).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from edgekd.models.registry import register_text_model

NEG = -1e4  # masked max-pooling: a large negative, not -inf (no NaN when exported)


def _units(base: int, width: float) -> int:
    return max(4, int(round(base * width)))


class TextStudent(nn.Module):
    """Token ids -> logits; subclasses implement `features(emb, mask) -> (N, D)`."""

    def __init__(self, vocab_size: int, dim: int, features: int, num_classes: int):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, dim)
        self.head = nn.Linear(features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mask = x >= 0
        return self.classify(torch.where(mask, x, torch.zeros_like(x)).long(), mask.long())

    def classify(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        mask = attention_mask.to(torch.float32).unsqueeze(-1)  # (N, L, 1)
        emb = self.embed(input_ids) * mask
        return self.head(self.features(emb, mask))

    def features(self, emb: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError  # pragma: no cover


def masked_max(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Max over the tokens of (N, L, D) `h` where mask (N, L, 1) is 1."""
    return (h + (1 - mask) * NEG).max(dim=1).values


def masked_mean(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (h * mask).sum(1) / mask.sum(1).clamp_min(1.0)


class TextCNN(TextStudent):
    """Kim (2014): word-piece embeddings, 1-D convolutions of widths 3/4/5, max over time."""

    def __init__(self, vocab_size: int, num_classes: int, width: float = 1.0):
        dim, ch = _units(64, width), _units(64, width)
        super().__init__(vocab_size, dim, 3 * ch, num_classes)
        self.convs = nn.ModuleList(nn.Conv1d(dim, ch, k, padding=k // 2) for k in (3, 4, 5))
        self.drop = nn.Dropout(0.2)

    def features(self, emb: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x, length = emb.transpose(1, 2), emb.shape[1]
        pooled = [
            masked_max(F.relu(conv(x))[:, :, :length].transpose(1, 2), mask) for conv in self.convs
        ]
        return self.drop(torch.cat(pooled, dim=1))


def reverse_within(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Each sequence of (N, L, D) `x` reversed within its own length, padding left at the
    end (its own inverse)."""
    t = torch.arange(x.shape[1], device=x.device)[None]
    length = mask.sum(1).long()  # (N, 1)
    idx = torch.where(t < length, length - 1 - t, t)
    return x.gather(1, idx.unsqueeze(-1).expand_as(x))


class BiGRU(TextStudent):
    """A bidirectional GRU layer (Tang et al. 2019 used a BiLSTM), masked mean + max pool.

    Two one-way GRUs, the backward one on each text reversed within its length, so padding
    only ever follows a text and never reaches its states (as packed sequences would, in
    ops ONNX has)."""

    def __init__(self, vocab_size: int, num_classes: int, width: float = 1.0):
        dim, hidden = _units(64, width), _units(64, width)
        super().__init__(vocab_size, dim, 4 * hidden, num_classes)
        self.fwd = nn.GRU(dim, hidden, batch_first=True)
        self.bwd = nn.GRU(dim, hidden, batch_first=True)

    def features(self, emb: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        back, _ = self.bwd(reverse_within(emb, mask))
        h = torch.cat([self.fwd(emb)[0], reverse_within(back, mask)], dim=2)
        return torch.cat([masked_mean(h, mask), masked_max(h, mask)], dim=1)


class EncoderLayer(nn.Module):
    """Pre-norm self-attention + MLP in plain MatMuls (exports and quantizes as MatMul/Gemm)."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv, self.out = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        n, length, dim = x.shape
        q, k, v = self.qkv(self.norm1(x)).chunk(3, dim=-1)
        split = lambda t: t.reshape(n, length, self.heads, -1).transpose(1, 2)  # noqa: E731
        q, k, v = split(q), split(k), split(v)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(dim // self.heads) + bias
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(n, length, dim)
        x = x + self.out(y)
        return x + self.mlp(self.norm2(x))


def sinusoid(length: int, dim: int, device) -> torch.Tensor:
    """Fixed sine/cosine positions (Vaswani et al. 2017): no table, so any sequence length."""
    pos = torch.arange(length, device=device, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, device=device) * (-math.log(10000.0) / dim))
    return torch.cat([torch.sin(pos * freq), torch.cos(pos * freq)], dim=1)


class TextTransformer(TextStudent):
    """A 2-layer pre-norm encoder (4 heads, sinusoidal positions), masked mean pool."""

    def __init__(self, vocab_size: int, num_classes: int, width: float = 1.0):
        dim = 4 * _units(16, width)  # divisible by the 4 heads
        super().__init__(vocab_size, dim, dim, num_classes)
        self.layers = nn.ModuleList(EncoderLayer(dim, 4) for _ in range(2))
        self.norm = nn.LayerNorm(dim)

    def features(self, emb: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = emb + sinusoid(emb.shape[1], emb.shape[2], emb.device)[None]
        bias = ((1 - mask.transpose(1, 2)) * NEG)[:, None]  # (N, 1, 1, L): keys masked
        for layer in self.layers:
            x = layer(x, bias)
        return masked_mean(self.norm(x), mask)


@register_text_model
def textcnn(input_shape, num_classes: int, width: float = 1.0, vocab_size: int = 8000):
    return TextCNN(vocab_size, num_classes, width)


@register_text_model
def bigru(input_shape, num_classes: int, width: float = 1.0, vocab_size: int = 8000):
    return BiGRU(vocab_size, num_classes, width)


@register_text_model
def text_transformer(input_shape, num_classes: int, width: float = 1.0, vocab_size: int = 8000):
    return TextTransformer(vocab_size, num_classes, width)
