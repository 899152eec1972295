"""A batch of token ids (-1 = padding) -> the ONNX inputs of a text model. No torch.

Every place edgekd runs an ONNX file on data (accuracy, parity, calibration) goes through
`onnx_feeds`, so a text model's two int64 inputs need no special case there.
"""

from __future__ import annotations

import numpy as np

IDS, MASK = "input_ids", "attention_mask"


def is_text_model(names: list[str]) -> bool:
    """A model whose inputs are token ids (and an attention mask), by the usual names."""
    return IDS in names


def token_feeds(x: np.ndarray, names: list[str], pad_id: int = 0) -> dict[str, np.ndarray]:
    """ids with padding set to `pad_id`, the mask 1 on tokens, 0 on padding; token_type_ids
    (BERT-style ONNX teachers) all 0."""
    x = np.asarray(x)
    mask = x >= 0
    out = {IDS: np.where(mask, x, pad_id).astype(np.int64)}
    if MASK in names:
        out[MASK] = mask.astype(np.int64)
    if "token_type_ids" in names:
        out["token_type_ids"] = np.zeros(x.shape, np.int64)
    return out


def onnx_feeds(session, x: np.ndarray) -> dict[str, np.ndarray]:
    """The feed dict for `session` (an onnxruntime session): token inputs for a text model,
    the one float input otherwise."""
    names = [i.name for i in session.get_inputs()]
    if is_text_model(names):
        return token_feeds(x, names)
    return {names[0]: np.asarray(x).astype(np.float32)}
