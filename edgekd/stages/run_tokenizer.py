"""The student's tokenizer, kept in the run directory from the run's start, so that `--resume`
reads the very token ids the interrupted run trained on.

A WordPiece trained here is not reproducible: `tokenizers` breaks frequency ties in hash order,
so training it again on the same texts numbers some words differently, and a resumed stage (a
teacher trained on the spot, a distillation checkpoint) would read ids meaning other words than
when it was trained. So tokenizer.json is written (atomically) before any stage, exactly as the
export stage ships it, and listed in the manifest with the hash of the settings it was made for;
`--resume` with the same settings reads it instead of training a new one.
"""

from __future__ import annotations

from pathlib import Path

from edgekd.atomic import write_text_atomic
from edgekd.config import CompressConfig, field_refs, ref_values
from edgekd.data import DataBundle
from edgekd.data.tokenizer import shipped_json
from edgekd.export import TOKENIZER_FILE
from edgekd.manifest import config_hash, read_manifest

# What the tokenizer is made from: the data section (file, column, vocabulary size, the
# teacher's tokenizer) and the seed (the training split it is trained on).
FIELDS = field_refs("data", "run.seed")


def settings_hash(cfg: CompressConfig) -> str:
    return config_hash(ref_values(cfg, FIELDS))


def resumable_tokenizer(cfg: CompressConfig) -> Path | None:
    """The interrupted run's tokenizer.json when `--resume` must read it: a text run resumed in
    a directory whose manifest lists that file for the same settings; else None (train one)."""
    if not cfg.run.resume or cfg.data.text_column is None:
        return None
    run_dir = Path(cfg.run.out)
    manifest = read_manifest(run_dir) or {}
    path = run_dir / TOKENIZER_FILE
    if manifest.get("run_files", {}).get(TOKENIZER_FILE) != settings_hash(cfg):
        return None
    return path if path.is_file() else None


def save_tokenizer(run_dir: Path, cfg: CompressConfig, data: DataBundle) -> dict[str, str]:
    """Write a text run's tokenizer.json; the manifest's `run_files` entry for it ({} for data
    that is not text)."""
    if not data.is_text:
        return {}
    write_text_atomic(
        run_dir / TOKENIZER_FILE, shipped_json(data.text.tokenizer, data.text.max_length)
    )
    return {TOKENIZER_FILE: settings_hash(cfg)}
