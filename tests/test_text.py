"""Text classifiers (data/text.py, models/text.py, teachers/text.py, ...): CSV / JSON Lines
texts, a tiny local BERT teacher, token-id students exported with tokenizer.json, int8 with
dynamic sequence axes. Tiny sizes; nothing is downloaded (the BERT has random weights and a
tokenizer trained on the test texts)."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from click.testing import CliRunner

from edgekd.cli import main
from edgekd.data import load_data
from edgekd.data.tokenizer import shipped_json, train_wordpiece
from edgekd.distill.students import build_student
from edgekd.errors import ParityError
from edgekd.export import check_parity, check_tokenizer_parity, export_onnx
from tests.cli_runs import run_compress

POS = ["good", "great", "fine", "lovely", "superb", "wonderful", "charming", "moving"]
NEG = ["bad", "awful", "boring", "dull", "poor", "terrible", "weak", "messy"]
FILL = [
    "the", "film", "movie", "story", "plot", "acting", "is", "was", "a", "an", "and", "very",
    "quite", "really",
]  # fmt: skip
LONG_ROW = 5  # this row's text is far longer than the others


def _rows(n: int = 100) -> list[dict]:
    rng = random.Random(0)
    rows = []
    for i in range(n):
        words = [rng.choice(FILL) for _ in range(rng.randint(3, 12))]
        words += [rng.choice(POS if i % 2 else NEG) for _ in range(2)]
        rng.shuffle(words)
        rows.append({"text": " ".join(words), "label": "fresh" if i % 2 else "rotten"})
    rows[LONG_ROW]["text"] = " ".join(["very"] * 80 + ["good"])
    rows[7]["text"] += "\nsecond line of the review"  # a quoted newline in the CSV
    return rows


def _write_csv(path: Path, rows: list[dict]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, ["text", "label"])
        w.writeheader()
        w.writerows(rows)
    return path


@pytest.fixture(scope="module")
def texts(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("texts")
    rows = _rows()
    _write_csv(d / "r.csv", rows)
    (d / "r.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return d


@pytest.fixture(scope="module")
def bert_dir(texts) -> Path:
    """A one-layer BERT with random weights, saved as a Hugging Face folder + tokenizer.json."""
    from transformers import BertConfig, BertForSequenceClassification

    tok = train_wordpiece([r["text"] for r in _rows()], 200)
    config = BertConfig(
        vocab_size=tok.get_vocab_size(), hidden_size=32, num_hidden_layers=1,
        num_attention_heads=2, intermediate_size=64, max_position_embeddings=64, num_labels=2,
    )  # fmt: skip
    torch.manual_seed(0)
    d = texts / "bert"
    BertForSequenceClassification(config).save_pretrained(str(d))
    tok.save(str(d / "tokenizer.json"))
    return d


def test_bert_folder_teacher_end_to_end(texts, bert_dir, tmp_path):
    out, result = run_compress(
        tmp_path,
        *("--data", str(texts / "r.csv"), "--text-column", "text"),
        *("--teacher", str(bert_dir), "--student", "textcnn"),
    )
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert {a["name"] for a in report["artifacts"]} >= {"student"}
    for name in ("student.onnx", "tokenizer.json", "report.md"):
        assert (out / name).is_file(), name
    session = ort.InferenceSession(str(out / "student.onnx"))
    assert [i.name for i in session.get_inputs()] == ["input_ids", "attention_mask"]
    # the teacher's tokenizer (200 tokens) is smaller than the default: the student reads it
    assert (
        json.loads((out / "tokenizer.json").read_text())["model"]["vocab"]
        == json.loads((bert_dir / "tokenizer.json").read_text())["model"]["vocab"]
    )
    assert report["parity"]["student"]["tokenizer"]["top1_agreement"] == 1.0


def test_onnx_teacher_on_raw_strings(texts, tmp_path):
    """A scikit-learn TF-IDF pipeline (skl2onnx, string input) teaches through decoded text."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import StringTensorType
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    rows = _rows()
    pipe = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=300))
    pipe.fit([r["text"] for r in rows], [r["label"] for r in rows])
    onx = to_onnx(pipe, initial_types=[("text", StringTensorType([None, 1]))])
    (tmp_path / "tfidf.onnx").write_bytes(onx.SerializeToString())
    out, result = run_compress(
        tmp_path,
        *("--data", str(texts / "r.jsonl"), "--text-column", "text"),
        *("--teacher", str(tmp_path / "tfidf.onnx"), "--student", "bigru", "--quantize", "none"),
    )
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    teacher = report["training"]["teacher"]
    assert teacher["kind"] == "onnx-text"
    assert teacher["test_accuracy"] > 0.9  # it read the words back from the student's ids
    assert (out / "tokenizer.json").is_file() and (out / "student.onnx").is_file()


def test_objects_api_takes_a_transformers_model_and_its_tokenizer(texts, bert_dir, tmp_path):
    from tokenizers import Tokenizer
    from transformers import AutoModelForSequenceClassification

    import edgekd

    model = AutoModelForSequenceClassification.from_pretrained(str(bert_dir))
    tok = Tokenizer.from_file(str(bert_dir / "tokenizer.json"))
    result = edgekd.compress(
        data=str(texts / "r.csv"), text_column="text", teacher=model, tokenizer=tok,
        student="text-transformer", epochs=1, allow_weak_teacher=True, quantize="none",
        latency_runs=10, out=str(tmp_path / "run"),
    )  # fmt: skip
    assert result.report["training"]["teacher"]["kind"] == "huggingface"
    config = (tmp_path / "run" / "config.yaml").read_text()
    assert "tokenizer:" in config and "in_memory" in config


def test_json_lines_and_csv_give_the_same_bundle(texts, bert_dir):
    a = load_data(str(texts / "r.csv"), text_column="text", tokenizer=str(bert_dir))
    b = load_data(str(texts / "r.jsonl"), text_column="text", tokenizer=str(bert_dir))
    assert a.text.source == "teacher"
    assert sum(len(getattr(a, f"y_{s}")) for s in ("train", "val", "test")) == len(_rows())
    assert a.x_train.dtype == np.int64 and a.class_ids == ["fresh", "rotten"]
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert (a.x_train == -1).any()  # shorter texts are padded with -1


def test_long_text_is_truncated_with_a_notice(texts):
    notes = []
    data = load_data(str(texts / "r.csv"), text_column="text", max_length=12, warn=notes.append)
    assert data.input_shape == (12,)
    assert len(notes) == 1 and "truncated to 12" in notes[0]
    quiet = []
    load_data(str(texts / "r.csv"), text_column="text", max_length=200, warn=quiet.append)
    assert quiet == []


@pytest.mark.parametrize("case", ["empty text", "not utf-8", "no text column"])
def test_bad_text_input_is_one_line_exit_2(texts, tmp_path, case):
    rows = _rows(20)
    path = tmp_path / "bad.csv"
    if case == "empty text":
        rows[3]["text"] = "  "
        _write_csv(path, rows)
        message, column = "row 4 has an empty text", "text"
    elif case == "not utf-8":
        _write_csv(path, rows)
        path.write_bytes(path.read_bytes() + "caf\u00e9,fresh\n".encode("latin-1"))
        message, column = "is not UTF-8", "text"
    else:
        _write_csv(path, rows)
        message, column = "no text column 'review'", "review"
    out = tmp_path / "run"
    args = ["compress", "--out", str(out), "--data", str(path), "--text-column", column]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.output
    assert not out.exists()


@pytest.mark.parametrize("name", ["textcnn", "bigru", "text-transformer"])
def test_tokenizer_plus_onnx_equals_pytorch(texts, tmp_path, name):
    data = load_data(str(texts / "r.csv"), text_column="text")
    torch.manual_seed(0)
    student = build_student(name, data)
    path = export_onnx(student, torch.from_numpy(data.x_test[:2]), tmp_path / "s.onnx")
    check_parity(student, path, data.x_test)
    tok = tmp_path / "tokenizer.json"
    tok.write_text(shipped_json(data.text.tokenizer, data.text.max_length))
    texts_test = data.text.texts_test
    got = check_tokenizer_parity(student, path, tok, texts_test, data.x_test)
    assert got["samples"] == len(data.x_test) and got["top1_agreement"] == 1.0
    # a different tokenizer beside the same model is caught
    train_wordpiece(data.text.texts_test, 40).save(str(tok))
    with pytest.raises(ParityError):
        check_tokenizer_parity(student, path, tok, texts_test, data.x_test)


def test_int8_keeps_dynamic_sequence_axes(texts, tmp_path):
    from edgekd.quantize.text import choose_text_quantization

    data = load_data(str(texts / "r.csv"), text_column="text")
    torch.manual_seed(0)
    student = build_student("text-transformer", data)
    fp32 = export_onnx(student, torch.from_numpy(data.x_test[:2]), tmp_path / "s.onnx")
    choice = choose_text_quantization(
        fp32, tmp_path / "s.int8.onnx", calibration=data.x_train, val_x=data.x_val,
        val_y=data.y_val, runs=5, min_speedup=1e-9, max_accuracy_drop=100.0, keep_best=True,
    )  # fmt: skip
    assert {c.name for c in choice.candidates} == {"dynamic", "int8-qdq-u8s8"}
    session = ort.InferenceSession(str(choice.written_path))
    assert all(i.shape == ["batch", "sequence"] for i in session.get_inputs())
    for length in (3, 40):  # shorter and longer than the data's length
        ids = np.full((2, length), 7, dtype=np.int64)
        out = session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0]
        assert out.shape == (2, 2)


def test_bench_feeds_token_inputs_at_the_data_length_or_the_one_asked(texts, tmp_path):
    data = load_data(str(texts / "r.csv"), text_column="text")
    torch.manual_seed(0)
    student = build_student("textcnn", data)
    path = export_onnx(student, torch.from_numpy(data.x_test[:2]), tmp_path / "s.onnx")
    base = ["bench", str(path), "--runs", "10", "--warmup", "2", "--no-memory", "--json"]

    def shapes(*extra: str) -> dict:
        result = CliRunner().invoke(main, [*base, *extra])
        assert result.exit_code == 0, result.output
        inputs = json.loads(result.output)["artifacts"][0]["inputs"]
        assert inputs["input_ids"]["dtype"] == "int64"
        return {k: v["shape"] for k, v in inputs.items()}

    length = data.text.max_length
    assert shapes() == {"input_ids": [1, length], "attention_mask": [1, length]}
    assert shapes("--seq-len", "64", "--batch", "2")["input_ids"] == [2, 64]
    huge = CliRunner().invoke(main, [*base, "--seq-len", "4000000000"])
    assert huge.exit_code == 2 and "input limit" in huge.output, huge.output


@pytest.mark.parametrize("name", ["textcnn", "bigru", "text-transformer"])
def test_padding_never_changes_a_students_output(texts, name):
    data = load_data(str(texts / "r.csv"), text_column="text")
    torch.manual_seed(0)
    model = build_student(name, data).eval()
    x = torch.from_numpy(data.x_test[:6])
    with torch.no_grad():
        batch = model(x)
        alone = torch.cat([model(row[None, : int((row >= 0).sum())]) for row in x])
        longer = model(torch.cat([x, torch.full((len(x), 9), -1)], dim=1))
    torch.testing.assert_close(alone, batch, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(longer, batch, atol=1e-5, rtol=1e-5)


def test_teacher_reads_the_students_batch_through_its_own_tokenizer(texts, bert_dir):
    """A student vocabulary smaller than the teacher's: the teacher gets each batch decoded and
    re-encoded, and answers as it does on its own tokenization of the same texts."""
    from edgekd.teachers.load import load_teacher

    csv_path = str(texts / "r.csv")
    data = load_data(csv_path, text_column="text", tokenizer=str(bert_dir), vocab_size=60)
    assert data.text.source == "trained" and data.text.vocab_size <= 60
    own = load_data(csv_path, text_column="text", tokenizer=str(bert_dir), max_length=64)
    teacher = load_teacher([str(bert_dir)], data)
    whole = (data.x_test[:, -1] < 0) & (own.x_test[:, -1] < 0)  # neither side truncated
    assert whole.sum() > 10
    ids = torch.from_numpy(own.x_test[whole])
    mask = ids >= 0
    with torch.no_grad():
        got = teacher(torch.from_numpy(data.x_test[whole]))
        want = teacher.module(input_ids=torch.where(mask, ids, 0), attention_mask=mask.long())
    torch.testing.assert_close(got, want.logits, atol=1e-4, rtol=1e-4)


def test_the_time_budget_probe_times_the_students_text_views(texts, bert_dir, monkeypatch):
    """A run with no --epochs times each model's step before training: on texts, through the
    token views training uses (it once augmented token ids as rows of numbers: IndexError)."""
    from types import SimpleNamespace

    import edgekd.distill.probe as probe_module
    from edgekd.distill.text_augment import TextAugmenter
    from edgekd.distill.trainer import TrainConfig
    from edgekd.teachers import load_teacher, teacher_training

    data = load_data(str(texts / "r.csv"), text_column="text", tokenizer=str(bert_dir))
    models = SimpleNamespace(
        teacher=load_teacher([str(bert_dir)], data), student=build_student("textcnn", data)
    )
    made, real = [], probe_module.make_augmenter
    monkeypatch.setattr(
        probe_module, "make_augmenter", lambda *a, **k: made.append(real(*a, **k)) or made[-1]
    )
    cfg = TrainConfig(augment="auto", recipe="function-matching")
    rates = probe_module.probe(models, data, cfg, teacher_training(cfg))
    assert made and all(isinstance(m, TextAugmenter) for m in made)
    assert made[0].ops == ("mask", "replace", "ngram")
    assert all(rates[s] > 0 for s in ("distill", "baseline"))
