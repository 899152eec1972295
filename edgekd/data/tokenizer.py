"""The student's tokenizer: the teacher's own, or a WordPiece trained on the training texts.

A student reads token ids through an embedding table of vocabulary x width floats. A BERT
vocabulary (30,522 tokens) at width 64 is 1.95 M parameters, far more than the rest of a
phone-sized student; the few thousand word pieces a data set actually uses are enough. So:
- `vocab_size` given: a WordPiece of that size is trained on the training split's texts;
- no teacher tokenizer (an ONNX teacher on raw strings, a teacher trained here): a trained
  WordPiece sized to the corpus (`corpus_vocab`): a row for each word the training texts use
  at least MIN_COUNT times, the characters and the specials, at most `DEFAULT_VOCAB` tokens.
  An embedding row seen a handful of times an epoch learns little beyond its initial noise,
  while it costs as much of the file as a frequent word's: rarer words are split into pieces
  whose rows are trained (Rotten Tomatoes' 9,200 training snippets: 4,142 words seen 5 times
  or more of 17,098; with 8,000 tokens the int8 TextCNN was 563 KB, with the corpus' 4,221
  tokens 323-327 KB);
- a teacher tokenizer larger than `DEFAULT_VOCAB`: a trained one (the note says how much
  smaller the embedding table gets); otherwise the teacher's own, whose ids the teacher reads
  directly. With two tokenizers the teacher reads the student's batch decoded to text and
  re-encoded with its own (teachers/text.py), so it still sees the very same view.
Uses the `tokenizers` library only (Rust; no torch, no transformers).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgekd import distributed as ddp
from edgekd.errors import EdgeKDError

DEFAULT_VOCAB = 8000
MIN_COUNT = 5  # times a word is seen in the training texts to get its own row by default
SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")  # ids 0..4 of a trained WordPiece
MIN_LENGTH = 8
PERCENTILE = 95


@dataclass
class TextInfo:
    """What a text bundle carries besides its token ids (DataBundle.text)."""

    tokenizer: Any  # tokenizers.Tokenizer the student reads; saved as tokenizer.json
    source: str  # "teacher" (the teacher's own) or "trained" (WordPiece on the train split)
    note: str  # which vocabulary, and why
    max_length: int  # tokens per text; longer texts are truncated
    p95_length: int  # the training texts' 95th percentile length, in tokens
    texts_test: list[str] = field(default_factory=list)  # raw test texts: tokenizer parity
    teacher_tokenizer: Any = None  # the teacher's, when it is not the student's

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size(with_added_tokens=True)

    @property
    def pad_id(self) -> int:
        return _first_id(self.tokenizer, ("[PAD]", "<pad>"), 0)

    @property
    def mask_id(self) -> int:
        """[MASK] where the vocabulary has one, else the unknown token (token masking)."""
        return _first_id(self.tokenizer, ("[MASK]", "<mask>", "[UNK]", "<unk>"), 0)

    @property
    def special_ids(self) -> list[int]:
        """Ids augmentation never touches ([CLS], [SEP], ...)."""
        return sorted(self.tokenizer.get_added_tokens_decoder())


def _first_id(tok, names: tuple[str, ...], default: int) -> int:
    for name in names:
        i = tok.token_to_id(name)
        if i is not None:
            return int(i)
    return default


def _plain(tok):
    """The tokenizer with no padding or truncation of its own: edgekd sets both."""
    tok.no_padding()
    tok.no_truncation()
    return tok


def load_tokenizer(source) -> Any:
    """A `tokenizers.Tokenizer` from a tokenizer.json, a model directory holding one (or the
    files a fast tokenizer is built from, via transformers), or an in-memory tokenizer
    (`tokenizers.Tokenizer` or a transformers fast tokenizer)."""
    from tokenizers import Tokenizer

    if isinstance(source, Tokenizer):
        return _plain(Tokenizer.from_str(source.to_str()))
    backend = getattr(source, "backend_tokenizer", None)
    if backend is not None:
        return _plain(Tokenizer.from_str(backend.to_str()))
    path = Path(source)
    file = path / "tokenizer.json" if path.is_dir() else path
    if file.is_file():
        try:
            return _plain(Tokenizer.from_file(str(file)))
        except Exception as e:
            raise EdgeKDError(f"tokenizer '{file}' cannot be read ({e}); re-save it") from None
    if path.is_dir():
        from transformers import AutoTokenizer

        try:
            fast = AutoTokenizer.from_pretrained(str(path), local_files_only=True, use_fast=True)
        except Exception as e:
            raise EdgeKDError(
                f"'{path}' has no tokenizer.json and no tokenizer transformers can load ({e})"
            ) from None
        return load_tokenizer(fast)
    raise EdgeKDError(f"tokenizer '{source}' not found; pass a tokenizer.json or a model folder")


def train_wordpiece(texts: list[str], vocab_size: int) -> Any:
    """A lower-cased BERT-style WordPiece ([CLS] text [SEP]) trained on `texts`. Training is
    not reproducible (ties fall in a different order each time), so torchrun ranks take rank
    0's: ranks numbering words apart would train one model on different ids."""
    from tokenizers import Tokenizer

    if ddp.world_size() > 1:
        trained = _trained_wordpiece(texts, vocab_size) if ddp.is_main() else None
        return Tokenizer.from_str(ddp.broadcast_object(trained and trained.to_str()))
    return _trained_wordpiece(texts, vocab_size)


def _trained_wordpiece(texts: list[str], vocab_size: int) -> Any:
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from tokenizers.trainers import WordPieceTrainer

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    trainer = WordPieceTrainer(
        vocab_size=vocab_size, special_tokens=list(SPECIALS), show_progress=False
    )
    tok.train_from_iterator(texts, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    return tok


def corpus_vocab(texts: list[str]) -> int:
    """The trained WordPiece's default size: the specials, the characters and each word seen
    MIN_COUNT times or more (as the WordPiece normalizes and splits words), at most
    DEFAULT_VOCAB."""
    from collections import Counter

    from tokenizers import normalizers, pre_tokenizers

    norm, split = normalizers.BertNormalizer(lowercase=True), pre_tokenizers.BertPreTokenizer()
    words = Counter(w for t in texts for w, _ in split.pre_tokenize_str(norm.normalize_str(t)))
    chars = {c for w in words for c in w}
    frequent = sum(n >= MIN_COUNT and len(w) > 1 for w, n in words.items())
    return min(DEFAULT_VOCAB, len(SPECIALS) + len(chars) + frequent)


def choose_tokenizer(
    teacher_tok, train_texts: list[str], vocab_size: int | None
) -> tuple[Any, str, str]:
    """(tokenizer, source, note): see the module docstring for the rule."""
    n = len(train_texts)
    if teacher_tok is None:
        why = "the teacher has no tokenizer; " + _sized(vocab_size)
        tok = train_wordpiece(train_texts, vocab_size or corpus_vocab(train_texts))
        return tok, "trained", _trained_note(tok, n, why)
    teacher_size = teacher_tok.get_vocab_size(with_added_tokens=True)
    if vocab_size is None and teacher_size <= DEFAULT_VOCAB:
        note = f"student vocabulary: the teacher's tokenizer ({teacher_size:,} tokens)"
        return teacher_tok, "teacher", note
    tok = train_wordpiece(train_texts, vocab_size or corpus_vocab(train_texts))
    size = tok.get_vocab_size(with_added_tokens=True)
    why = f"the teacher's has {teacher_size:,}: an embedding table {teacher_size / size:.1f}x "
    why += "smaller" if size < teacher_size else "the size"
    why += "; " + _sized(vocab_size)
    return tok, "trained", _trained_note(tok, n, why)


def _sized(given: int | None) -> str:
    if given:
        return f"--vocab-size {given:,}"
    return (
        f"sized to the words seen {MIN_COUNT}+ times, at most {DEFAULT_VOCAB:,}; "
        "--vocab-size to choose"
    )


def reused_tokenizer(path: Path, teacher_tok) -> tuple[Any, str, str]:
    """(tokenizer, source, note) of an interrupted run's tokenizer.json, read as it is (a
    WordPiece trained again would number words differently). Its source is "teacher" when it
    is the teacher's vocabulary, so the teacher still reads the student's ids directly."""
    tok = load_tokenizer(path)
    vocab = tok.get_vocab(with_added_tokens=True)
    same = teacher_tok is not None and teacher_tok.get_vocab(with_added_tokens=True) == vocab
    note = (
        f"student vocabulary: the interrupted run's {Path(path).name} ({len(vocab):,} tokens), "
        "reused so the token ids match its checkpoints"
    )
    return tok, "teacher" if same else "trained", note


def _trained_note(tok, n_texts: int, why: str) -> str:
    size = tok.get_vocab_size(with_added_tokens=True)
    return (
        f"student vocabulary: a {size:,}-token WordPiece trained on the {n_texts:,} training "
        f"texts ({why})"
    )


def token_lengths(tok, texts: list[str]) -> np.ndarray:
    """Tokens per text (special tokens included), untruncated."""
    _plain(tok)
    return np.array([len(e.ids) for e in tok.encode_batch(texts)], dtype=np.int64)


def encode(tok, texts: list[str], max_length: int) -> np.ndarray:
    """(N, max_length) int64 ids, -1 after each text's end; texts truncated as the shipped
    tokenizer.json truncates them."""
    tok.enable_truncation(max_length)
    out = np.full((len(texts), max_length), -1, dtype=np.int64)
    for i, e in enumerate(tok.encode_batch(texts)):
        out[i, : len(e.ids)] = e.ids
    _plain(tok)
    return out


def shipped_json(tok, max_length: int) -> str:
    """tokenizer.json as a device uses it: truncation at the model's length, no padding (the
    ONNX model takes any sequence length)."""
    tok.enable_truncation(max_length)
    text = tok.to_str(pretty=True)
    _plain(tok)
    return text


def teacher_limit(model_dir: Path) -> int | None:
    """The longest input a Hugging Face teacher takes (its position table), None if unknown."""
    config = model_dir / "config.json"
    if not config.is_file():
        return None
    cfg = json.loads(config.read_text())
    n = cfg.get("max_position_embeddings")
    if n is None:
        return None
    return int(n) - 2 if "roberta" in str(cfg.get("model_type", "")) else int(n)
