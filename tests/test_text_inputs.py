"""What a text run reads before training: the student's tokenizer kept across `--resume`
(stages/run_tokenizer.py), and a tokenizer object passed from Python (objects.py). Tiny sizes:
100 short reviews, one-epoch teacher."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from rich.console import Console

from edgekd.data.tokenizer import train_wordpiece
from edgekd.objects import resolve_inputs
from edgekd.pipeline import compress
from edgekd.stages.inputs import load_inputs
from tests.cli_runs import TINY
from tests.test_text import _rows, _write_csv


@pytest.fixture(scope="module")
def reviews(tmp_path_factory) -> Path:
    return _write_csv(tmp_path_factory.mktemp("reviews") / "r.csv", _rows())


def _stop(_epoch: int, _acc: float) -> None:
    raise KeyboardInterrupt  # as ^C after the first validated distillation epoch's checkpoint


def test_resumed_text_run_reads_the_interrupted_runs_tokenizer(reviews, tmp_path):
    """A WordPiece trained again numbers words differently (tokenizers breaks ties in hash
    order), so a resume must read the tokenizer.json the interrupted run wrote at its start."""
    options = {
        **TINY, "data": str(reviews), "text_column": "text", "student": "textcnn",
        "epochs": 4, "quantize": "none", "out": str(tmp_path / "run"),
    }  # fmt: skip
    quiet = Console(quiet=True)
    with pytest.raises(KeyboardInterrupt):
        compress(console=quiet, on_epoch=_stop, **options)
    run = tmp_path / "run"
    written = (run / "tokenizer.json").read_bytes()  # there before any stage finished
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert [s["stage"] for s in manifest["stages"]] == ["teacher"]
    assert "tokenizer.json" in manifest["run_files"]

    result = compress(console=quiet, resume=True, **options)
    assert "teacher" in result.report["resumed"]  # trained on the very ids it reads now
    assert (run / "tokenizer.json").read_bytes() == written  # export shipped the same file
    assert result.report["parity"]["student"]["tokenizer"]["top1_agreement"] == 1.0


def test_a_tokenizer_object_loads_without_a_pydantic_warning(reviews, tmp_path):
    """The objects API hands a tokenizers.Tokenizer to the data loader, not through the config's
    str field (which pydantic would serialise with a warning)."""
    tok = train_wordpiece([r["text"] for r in _rows()], 200)
    given = resolve_inputs(
        data=str(reviews), text_column="text", tokenizer=tok, student="textcnn",
        out=str(tmp_path / "run"), **TINY,
    )  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        inputs = load_inputs(given, Console(quiet=True))
    assert [str(w.message) for w in caught if issubclass(w.category, UserWarning)] == []
    assert inputs.data.text.source == "teacher"  # 200 tokens: the student reads the given one
    assert inputs.data.text.vocab_size == tok.get_vocab_size()
    assert "tokenizer: <in-memory Tokenizer Tokenizer>" in inputs.config_text
