"""PyTorch -> one self-contained ONNX file, checked and compared against PyTorch.

torch >= 2.9 writes weights to a side `.onnx.data` file by default; a device wants one file,
so weights are embedded. The file only counts as exported once it computes what the
PyTorch model computes on real inputs (parity), because "accuracy lost after export" is
the failure users meet most.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from edgekd.atomic import atomic_path
from edgekd.bench.inputs import IDS, MASK, SEQ_LEN_KEY, onnx_feeds
from edgekd.bench.latency import make_session
from edgekd.errors import ParityError

INPUT_NAME = "input"
OUTPUT_NAME = "logits"
TOKENIZER_FILE = "tokenizer.json"


def _quiet_exporter() -> None:
    """The exporter logs a warning per missing torchvision op; edgekd needs none of them."""
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)


def export_onnx(model: nn.Module, example: torch.Tensor, path: str | Path) -> Path:
    """Export with a dynamic batch axis, embedded weights, and `onnx.checker` passed. Integer
    examples are token ids: a text model, exported with its two token inputs."""
    if not example.dtype.is_floating_point:
        return export_token_model(model, example, path)
    return _write_onnx(model.eval().cpu(), example[:2].cpu(), Path(path), dynamo=True)


def export_torchscript(module: nn.Module, example: torch.Tensor, path: str | Path) -> Path:
    """torch.export (export_onnx's exporter) cannot trace TorchScript; the TorchScript-based
    exporter can. Same contract as export_onnx: one file, dynamic batch, checker passed."""
    return _write_onnx(module.eval().cpu(), example, Path(path), dynamo=False)


def _write_onnx(model: nn.Module, example: torch.Tensor, path: Path, *, dynamo: bool) -> Path:
    """One atomic, checked file; the dynamo exporter's debug metadata stripped."""
    _quiet_exporter()
    legacy = {"dynamo": False}  # the TorchScript-based exporter
    options = {"external_data": False, "dynamo": True, "verbose": False} if dynamo else legacy
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (example,),
            str(tmp),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            **options,
        )
        if dynamo:
            _strip_debug_metadata(tmp)
        onnx.checker.check_model(str(tmp), full_check=True)
    return path


def _strip_debug_metadata(path: Path) -> None:
    """Drop the exporter's per-node stack traces and FX names: for a tiny student they are
    over 40% of the file, and a microcontroller budget counts every kilobyte."""
    proto = onnx.load(str(path))
    for node in proto.graph.node:
        del node.metadata_props[:]
        node.doc_string = ""
    onnx.save(proto, str(path))


@dataclass
class Parity:
    max_abs_diff: float
    top1_agreement: float
    samples: int
    tokenizer: dict | None = None  # texts: tokenizer.json + ONNX on the raw test texts

    def to_dict(self) -> dict:
        out = {
            "max_abs_diff": self.max_abs_diff,
            "top1_agreement": self.top1_agreement,
            "samples": self.samples,
        }
        return out if self.tokenizer is None else {**out, "tokenizer": self.tokenizer}


def check_parity(
    model: nn.Module,
    onnx_path: str | Path,
    inputs: np.ndarray,
    *,
    atol: float = 1e-3,
    min_agreement: float = 0.999,
    batch_size: int = 256,
) -> Parity:
    """Compare PyTorch and onnxruntime logits on `inputs`; raise ParityError when they differ."""
    model = model.eval().cpu()
    session = make_session(onnx_path)
    diffs, agree = [], 0
    for start in range(0, len(inputs), batch_size):
        x = np.asarray(inputs[start : start + batch_size])
        x = x if x.dtype.kind == "i" else x.astype(np.float32)  # int: token ids (texts)
        with torch.no_grad():
            ref = model(torch.from_numpy(x)).numpy()
        got = session.run(None, onnx_feeds(session, x))[0]
        diffs.append(float(np.abs(ref - got).max()))
        agree += int((ref.argmax(1) == got.argmax(1)).sum())
    parity = Parity(max(diffs), agree / len(inputs), len(inputs))
    scale = max(1.0, float(np.abs(ref).max()))
    if parity.max_abs_diff > atol * scale or parity.top1_agreement < min_agreement:
        raise ParityError(
            f"{Path(onnx_path).name} differs from PyTorch (max |dlogit| {parity.max_abs_diff:.2e}, "
            f"top-1 agreement {parity.top1_agreement:.4f}); the model likely uses an op the "
            "exporter mis-translates: simplify it or report the layer"
        )
    return parity


def export_checked(
    model: nn.Module,
    inputs: np.ndarray,
    path: str | Path,
    exporter: Callable[[nn.Module, torch.Tensor, Path], Path] = export_onnx,
) -> tuple[Path, Parity]:
    """Export `model` to `path` (traced on two of `inputs`), then `check_parity` on all of them:
    a file only counts as exported once it computes what the model computes. `exporter`: how to
    write the file (TorchScript teachers need their own)."""
    path = exporter(model, torch.from_numpy(inputs[:2]), Path(path))
    return path, check_parity(model, path, inputs)


# --- texts: token-id models (input_ids + attention_mask) and their tokenizer --------------


class _TokenInputs(nn.Module):
    """(input_ids, attention_mask) -> logits for any model whose forward reads the bundle's
    ids (-1 = padding): the mask is folded back into that form."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        classify = getattr(self.model, "classify", None)
        if classify is not None:
            return classify(input_ids, attention_mask)
        return self.model(torch.where(attention_mask > 0, input_ids, -torch.ones_like(input_ids)))


def export_token_model(model: nn.Module, example: torch.Tensor, path: str | Path) -> Path:
    """One ONNX file (weights inside) with int64 inputs input_ids and attention_mask."""
    _quiet_exporter()
    path = Path(path)
    example = example[:2].cpu()
    mask = (example >= 0).long()
    ids = torch.where(mask > 0, example, torch.zeros_like(example)).long()
    axes = {0: "batch", 1: "sequence"}
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _TokenInputs(model.eval().cpu()),
            (ids, mask),
            str(tmp),
            input_names=[IDS, MASK],
            output_names=[OUTPUT_NAME],
            dynamic_axes={IDS: axes, MASK: axes, OUTPUT_NAME: {0: "batch"}},
            dynamo=False,
        )
        _strip_debug_metadata(tmp)
        onnx.checker.check_model(str(tmp), full_check=True)
    stamp_seq_len(path, example.shape[1])
    return path


def stamp_seq_len(path: Path, seq_len: int) -> None:
    """Record the data's sequence length in the ONNX metadata: `edgekd bench` times the file
    at that length unless told otherwise (`--seq-len N`)."""
    model = onnx.load(str(path))
    kept = [p for p in model.metadata_props if p.key != SEQ_LEN_KEY]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    model.metadata_props.add(key=SEQ_LEN_KEY, value=str(int(seq_len)))
    with atomic_path(path) as tmp:
        onnx.save(model, str(tmp))


def tokenized_feeds(tokenizer_path: Path, texts: list[str]) -> dict[str, np.ndarray]:
    """What a device does: the shipped tokenizer.json on raw texts, padded to the longest."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_path))
    pad = tok.token_to_id("[PAD]") or 0
    tok.enable_padding(pad_id=pad)
    enc = tok.encode_batch(texts)
    return {
        IDS: np.array([e.ids for e in enc], dtype=np.int64),
        MASK: np.array([e.attention_mask for e in enc], dtype=np.int64),
    }


def check_tokenizer_parity(
    model: nn.Module, onnx_path: Path, tokenizer_path: Path, texts: list[str], x: np.ndarray,
    *, atol: float = 1e-3, batch_size: int = 256,
) -> dict:  # fmt: skip
    """The shipped tokenizer.json + ONNX file on raw `texts` against PyTorch on their ids `x`
    (the test split): what a device computes must be what was measured."""
    session, model = make_session(onnx_path), model.eval().cpu()
    diffs, agree = [], 0
    for i in range(0, len(texts), batch_size):
        got = session.run(None, tokenized_feeds(tokenizer_path, texts[i : i + batch_size]))[0]
        with torch.no_grad():
            ref = model(torch.from_numpy(x[i : i + batch_size])).numpy()
        diffs.append(float(np.abs(ref - got).max()))
        agree += int((ref.argmax(1) == got.argmax(1)).sum())
    result = {"max_abs_diff": max(diffs), "top1_agreement": agree / len(texts)}
    if result["max_abs_diff"] > atol * max(1.0, float(np.abs(ref).max())):
        raise ParityError(
            f"{tokenizer_path.name} + {onnx_path.name} differ from the PyTorch student on the "
            f"test texts (max |dlogit| {result['max_abs_diff']:.2e}); report this with the data"
        )
    return {**result, "samples": len(texts)}
