"""Text students as ONNX (`input_ids` + `attention_mask`, dynamic batch and sequence axes)
and the tokenizer shipped beside them, checked together.

`export_onnx` (edgekd/export.py) sends integer examples here, so every export of a text model
(student, pruned, baseline, a teacher trained here) takes the two token inputs. The
deployable pair is checked end to end: the tokenizer.json written to disk, run by the
`tokenizers` library on the raw test texts, then the ONNX file, must give the PyTorch
student's predictions on the test split.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from edgekd.atomic import atomic_path, write_text_atomic
from edgekd.errors import ParityError
from edgekd.text.feeds import IDS, MASK
from edgekd.text.tokenizer import TextInfo, shipped_json

TOKENIZER_FILE = "tokenizer.json"
OUTPUT_NAME = "logits"


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
    from edgekd.export import _quiet_exporter, _strip_debug_metadata

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
    at that length unless told otherwise (--shape input_ids=1xN)."""
    from edgekd.bench.inputs import SEQ_LEN_KEY

    model = onnx.load(str(path))
    kept = [p for p in model.metadata_props if p.key != SEQ_LEN_KEY]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    model.metadata_props.add(key=SEQ_LEN_KEY, value=str(int(seq_len)))
    with atomic_path(path) as tmp:
        onnx.save(model, str(tmp))


def write_tokenizer(info: TextInfo, run_dir: Path) -> Path:
    """tokenizer.json beside student.onnx: truncation at the model's length, no padding."""
    path = Path(run_dir) / TOKENIZER_FILE
    write_text_atomic(path, shipped_json(info.tokenizer, info.max_length))
    return path


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
    model: nn.Module, onnx_path: Path, tokenizer_path: Path, info: TextInfo, x_test: np.ndarray,
    *, atol: float = 1e-3, batch_size: int = 256,
) -> dict:  # fmt: skip
    """tokenizer.json + ONNX on the raw test texts against PyTorch on the test split's ids."""
    from edgekd.bench.latency import make_session

    session, model = make_session(onnx_path), model.eval().cpu()
    texts, diffs, agree = info.texts_test, [], 0
    for i in range(0, len(texts), batch_size):
        got = session.run(None, tokenized_feeds(tokenizer_path, texts[i : i + batch_size]))[0]
        with torch.no_grad():
            ref = model(torch.from_numpy(x_test[i : i + batch_size])).numpy()
        diffs.append(float(np.abs(ref - got).max()))
        agree += int((ref.argmax(1) == got.argmax(1)).sum())
    result = {"max_abs_diff": max(diffs), "top1_agreement": agree / len(texts)}
    if result["max_abs_diff"] > atol * max(1.0, float(np.abs(ref).max())):
        raise ParityError(
            f"{tokenizer_path.name} + {onnx_path.name} differ from the PyTorch student on the "
            f"test texts (max |dlogit| {result['max_abs_diff']:.2e}); report this with the data"
        )
    return {**result, "samples": len(texts)}
