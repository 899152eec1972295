"""The text benchmark's teacher: the TF-IDF model a text user would deploy server-side.

Word 1-3 grams (no vocabulary cap) feeding a logistic regression whose C is tuned on edgekd's
validation split, trained on edgekd's training split and exported with skl2onnx on raw strings.
A teacher is only a fair yardstick for "N times smaller" when it is the model one would really
ship, so it is not trimmed to look small. edgekd runs the ONNX file, so the file must compute
what scikit-learn computes, which rules out what skl2onnx 1.20 converts wrongly or not at all:
- char n-grams: `char_wb` raises NotImplementedError, `char` "may not work";
- sublinear_tf: the converted vectors differ from sklearn's (up to 0.025 in 111 of 200 test
  rows; 8 of 2,562 test predictions flipped), so raw term counts are used;
- the default token pattern: skl2onnx swaps sklearn's `\b\w\w+\b` for `[a-zA-Z0-9_]+`
  (single letters too), so the pattern is spelled out in ASCII, which both runtimes read alike.
skl2onnx's graph runs each batch as dense rows of every n-gram (64 x 246k floats) through the
idf Mul, an L2 Normalizer and the linear classifier: online as a KD teacher it cost 63% of a
distillation step. `lean_graph` computes the same function in fewer passes over those rows:
the idf folded into the TfIdfVectorizer's own weights (mode TFIDF), and the L2 norm divided
out of the one score instead of out of every n-gram (w.x/|x| = (w.x)/|x|); its output is the
logit pair (0, score), whose softmax is scikit-learn's probability pair. The test accuracy is
measured with onnxruntime beside scikit-learn's, with the share of predictions they agree on.
Imports no torch (`python benchmarks/text_teacher.py rt.csv out.onnx`).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

C_GRID = (1.0, 4.0, 16.0, 64.0, 256.0, 1024.0)
TOKEN = r"[a-zA-Z0-9_][a-zA-Z0-9_]+"  # sklearn's default, in ASCII: re2 runs it the same
# skl2onnx lower-cases in en_US.UTF-8 unless told, which hosts without that locale (this one)
# cannot load; C.UTF-8 lower-cases ASCII, all TOKEN matches, the same way.
LOCALE = "C.UTF-8"
BATCH = 256  # the ONNX TfIdfVectorizer writes dense rows: 256 x 246k floats is 250 MB


def vectorizer():
    """Word 1-3 gram TF-IDF (no max_features), tokenized alike by sklearn and onnxruntime."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(ngram_range=(1, 3), token_pattern=TOKEN)


def _splits(csv_path: Path, seed: int) -> dict[str, tuple[list[str], list[str]]]:
    """edgekd's own train/val/test split of the CSV (the one every KD run makes)."""
    from edgekd.data.arrays import bundle_from_arrays
    from edgekd.data.text import texts_and_labels

    texts, y = texts_and_labels(csv_path, "text", "label")
    split = bundle_from_arrays(str(csv_path), np.arange(len(texts))[:, None], y, seed=seed)
    out = {}
    for s in ("train", "val", "test"):
        rows = getattr(split, f"x_{s}")[:, 0].astype(int)
        out[s] = ([texts[i] for i in rows], [str(y[i]) for i in rows])
    return out


def onnx_predictions(path: Path, texts: list[str], classes) -> np.ndarray:
    """Class names the ONNX teacher's logits pick, run by onnxruntime on raw strings."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    batches = [texts[i : i + BATCH] for i in range(0, len(texts), BATCH)]  # dense n-gram rows
    logits = np.concatenate(
        [session.run(None, {name: np.array(b, dtype=object)[:, None]})[0] for b in batches]
    )
    return np.asarray(classes)[logits.argmax(1)]


def lean_graph(onx, features, clf):
    """skl2onnx's graph cut after its TfIdfVectorizer (mode TF), then the same function in
    fewer passes over the dense rows (see the module docstring). Binary classifiers only."""
    from onnx import TensorProto, helper, numpy_helper

    nodes = list(onx.graph.node)
    cut = next(i for i, n in enumerate(nodes) if n.op_type == "TfIdfVectorizer")
    tfidf = nodes[cut]
    attrs = {a.name: helper.get_attribute_value(a) for a in tfidf.attribute}
    idf = features.idf_.astype(np.float32)[np.asarray(attrs["ngram_indexes"])]
    del tfidf.attribute[:]
    for key, value in {**attrs, "mode": "TFIDF", "weights": idf.tolist()}.items():
        tfidf.attribute.append(helper.make_attribute(key, value))
    rows = tfidf.output[0]
    consts = {
        "w": clf.coef_.T.astype(np.float32),  # (features, 1)
        "b": clf.intercept_.astype(np.float32),
        "tiny": np.array(1e-12, np.float32),  # an empty row: score = intercept, as sklearn's
        "pair": np.array([[0.0, 1.0]], np.float32),  # (0, score): softmax = sklearn's probs
        "axes": np.array([1], np.int64),
    }
    tail = [
        helper.make_node("MatMul", [rows, "w"], ["dot"]),
        helper.make_node("ReduceL2", [rows, "axes"], ["norm"], keepdims=1),
        helper.make_node("Max", ["norm", "tiny"], ["safe_norm"]),
        helper.make_node("Div", ["dot", "safe_norm"], ["scaled"]),
        helper.make_node("Add", ["scaled", "b"], ["score"]),
        helper.make_node("Mul", ["score", "pair"], ["logits"]),
    ]
    used = {i for n in nodes[: cut + 1] for i in n.input}
    inits = [t for t in onx.graph.initializer if t.name in used]
    inits += [numpy_helper.from_array(v, k) for k, v in consts.items()]
    out = helper.make_tensor_value_info("logits", TensorProto.FLOAT, [None, 2])
    inputs = list(onx.graph.input)
    graph = helper.make_graph(nodes[: cut + 1] + tail, "tfidf_lr", inputs, [out], inits)
    model = helper.make_model(graph, opset_imports=list(onx.opset_import))
    model.ir_version = onx.ir_version
    return model


def train_teacher(csv_path: Path, out: Path, seed: int) -> dict:
    """Fit, tune C on val, export to `out`; its size, features and both runtimes' accuracy."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import StringTensorType
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    data = _splits(csv_path, seed)
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = data["train"], data["val"], data["test"]
    start = time.perf_counter()
    features = vectorizer().fit(x_train)
    f_train, f_val = features.transform(x_train), features.transform(x_val)
    scores = {}
    for c in C_GRID:
        clf = LogisticRegression(C=c, max_iter=2000).fit(f_train, y_train)
        scores[c] = float(np.mean(clf.predict(f_val) == np.array(y_val)))
    best = max(C_GRID, key=lambda c: (scores[c], -c))  # ties: the stronger regularisation
    pipe = make_pipeline(features, LogisticRegression(C=best, max_iter=2000))
    pipe.steps[-1][1].fit(f_train, y_train)
    seconds = time.perf_counter() - start
    onx = to_onnx(
        pipe,
        initial_types=[("text", StringTensorType([None, 1]))],
        options={type(features): {"locale": LOCALE}},
    )
    out.write_bytes(lean_graph(onx, features, pipe.steps[-1][1]).SerializeToString())
    sklearn_pred = pipe.predict(x_test)
    onnx_pred = onnx_predictions(out, x_test, pipe.classes_)
    return {
        "model": "TF-IDF word 1-3 grams + logistic regression",
        "features": int(f_train.shape[1]),
        "C": best,
        "val_accuracy_by_C": {str(c): round(a, 4) for c, a in scores.items()},
        "sklearn_test_accuracy": float(np.mean(sklearn_pred == np.array(y_test))),
        "onnx_test_accuracy": float(np.mean(onnx_pred == np.array(y_test))),
        "runtimes_agree": float(np.mean(onnx_pred == sklearn_pred)),
        "size_bytes": out.stat().st_size,
        "skl2onnx_size_bytes": len(onx.SerializeToString()),
        "fit_seconds": round(seconds, 1),
    }


if __name__ == "__main__":
    print(train_teacher(Path(sys.argv[1]), Path(sys.argv[2] if len(sys.argv) > 2 else "t.onnx"), 0))
