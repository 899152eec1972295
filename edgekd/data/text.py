"""`--data reviews.csv --text-column text [--label-column label]`: texts -> a token-id bundle.

CSV (with a header) and JSON Lines (`.jsonl`, one object per line). Labels go through the same
splits, class-id mapping and checks as every other source (data/arrays.py): the split is made
on row numbers first, so the tokenizer is trained on the training texts alone and the test
split keeps its raw texts for the tokenizer parity check at export. Imports no torch.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from edgekd.data.arrays import bundle_from_arrays
from edgekd.data.bundle import DataBundle
from edgekd.data.tokenizer import (
    MIN_LENGTH,
    PERCENTILE,
    TextInfo,
    choose_tokenizer,
    encode,
    load_tokenizer,
    reused_tokenizer,
    teacher_limit,
    token_lengths,
)
from edgekd.errors import EdgeKDError

SUFFIXES = (".csv", ".jsonl", ".ndjson")


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise EdgeKDError(f"data file '{path}' not found; check the path")
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise EdgeKDError(
            f"data '{path}' is not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start}); "
            "save the file as UTF-8"
        ) from None


def read_records(path: Path) -> tuple[list[str], list[dict[str, Any]]]:
    """(column names, rows as dicts) of a CSV with a header or a JSON Lines file."""
    text = _read_text(path)
    if path.suffix == ".csv":
        try:
            reader = csv.DictReader(io.StringIO(text, newline=""))  # quoted newlines kept
            rows = [r for r in reader if any((v or "").strip() for v in r.values())]
        except csv.Error as e:
            raise EdgeKDError(f"data '{path}' is not a readable CSV file ({e})") from None
        return list(reader.fieldnames or []), rows
    rows = []
    for n, line in enumerate(text.split("\n"), 1):  # not splitlines: JSON may hold U+2028
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise EdgeKDError(f"data '{path}': line {n} is not JSON ({e.msg})") from None
        if not isinstance(row, dict):
            raise EdgeKDError(f"data '{path}': line {n} is not a JSON object; write one per line")
        rows.append(row)
    columns = list(dict.fromkeys(k for r in rows for k in r))
    return columns, rows


def _column(columns: list[str], name: str, what: str, path: Path) -> str:
    if name in columns:
        return name
    close = difflib.get_close_matches(name, columns, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    raise EdgeKDError(
        f"data '{path}' has no {what} column '{name}'; {hint}columns: {', '.join(columns)}"
    )


def texts_and_labels(
    path: Path, text_column: str, label_column: str | None
) -> tuple[list[str], np.ndarray]:
    """The texts and raw labels (numbers, or names numbered later), every row checked."""
    columns, rows = read_records(path)
    if not rows:
        raise EdgeKDError(f"data '{path}' has no rows; supply labelled texts")
    text_column = _column(columns, text_column, "text", path)
    if label_column is None:
        rest = [c for c in columns if c != text_column]
        label_column = "label" if "label" in rest else (rest[-1] if rest else "label")
    label_column = _column(columns, label_column, "label", path)
    texts, labels = [], []
    for n, row in enumerate(rows, 1):
        text, label = row.get(text_column), row.get(label_column)
        if not isinstance(text, str) or not text.strip():
            raise EdgeKDError(
                f"data '{path}': row {n} has an empty text in column '{text_column}'; "
                "remove the row or fill in its text"
            )
        if label is None or str(label).strip() == "":
            raise EdgeKDError(f"data '{path}': row {n} has no label in column '{label_column}'")
        texts.append(text)
        labels.append(str(label).strip())
    return texts, _label_array(labels)


def _label_array(labels: list[str]) -> np.ndarray:
    try:
        values = np.array([float(v) for v in labels])
    except ValueError:
        return np.array(labels)
    return values


def _teacher_tokenizer(source) -> tuple[Any, int | None]:
    """The teacher's tokenizer and input limit: from a model folder or tokenizer.json, or a
    tokenizer object; (None, None) for anything else (an ONNX file, a recipe, a model object)."""
    if isinstance(source, str | Path):
        path = Path(source)
        if path.is_dir():
            return load_tokenizer(path), teacher_limit(path)
        return (load_tokenizer(path), None) if path.name.endswith(".json") else (None, None)
    if hasattr(source, "to_str") or hasattr(source, "backend_tokenizer"):
        return load_tokenizer(source), None
    return None, None


def load_text(
    path: Path,
    text_column: str,
    *,
    label_column: str | None = None,
    seed: int = 0,
    max_length: int | None = None,
    vocab_size: int | None = None,
    tokenizer=None,
    student_tokenizer: Path | None = None,
    warn: Callable[[str], None] | None = None,
) -> DataBundle:
    """Read, split (row numbers), choose the tokenizer, encode: a validated text bundle.

    `tokenizer`: the teacher's (a model folder, a tokenizer.json, or an object), or None.
    `student_tokenizer`: the tokenizer.json an interrupted run trained (`--resume`), read
    instead of training one again, so the ids are those its checkpoints were trained on.
    `max_length` None: the training texts' 95th percentile length, within the teacher's limit.
    """
    if path.suffix not in SUFFIXES:
        raise EdgeKDError(
            f"--text-column reads .csv or .jsonl files; '{path}' is neither (save it as one)"
        )
    texts, y = texts_and_labels(path, text_column, label_column)
    rows = np.arange(len(texts), dtype=np.float32)[:, None]
    split = bundle_from_arrays(str(path), rows, y, seed=seed)
    index = {s: getattr(split, f"x_{s}")[:, 0].astype(np.int64) for s in ("train", "val", "test")}
    train_texts = [texts[i] for i in index["train"]]
    teacher_tok, limit = _teacher_tokenizer(tokenizer)
    if student_tokenizer is not None:
        tok, source, note = reused_tokenizer(student_tokenizer, teacher_tok)
    else:
        tok, source, note = choose_tokenizer(teacher_tok, train_texts, vocab_size)
    lengths = token_lengths(tok, texts)
    p95 = int(np.ceil(np.percentile(lengths[index["train"]], PERCENTILE)))
    if max_length is None:
        max_length = max(MIN_LENGTH, p95)
    if limit is not None and max_length > limit:
        max_length = limit
    long = int((lengths > max_length).sum())
    if long and warn is not None:
        warn(
            f"data '{path}': {long} of {len(texts)} texts have more than {max_length} tokens "
            f"(the longest {int(lengths.max())}) and were truncated to {max_length}; "
            "set --max-length to change it"
        )
    ids = encode(tok, texts, max_length)
    info = TextInfo(
        tokenizer=tok,
        source=source,
        note=note,
        max_length=max_length,
        p95_length=p95,
        texts_test=[texts[i] for i in index["test"]],
        teacher_tokenizer=teacher_tok if source == "trained" else None,
    )
    bundle = DataBundle(
        str(path),
        ids[index["train"]], split.y_train, ids[index["val"]], split.y_val,
        ids[index["test"]], split.y_test, split.num_classes, split.class_ids, text=info,
    )  # fmt: skip
    return bundle.validate()
