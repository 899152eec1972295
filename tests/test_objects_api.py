"""`edgekd.compress(teacher=..., student=..., data=..., **options)` with in-memory objects."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
import yaml
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import TensorDataset

import edgekd
from edgekd.config import resolve_config
from edgekd.errors import EdgeKDError
from edgekd.objects import record

FAST = {"epochs": 2, "latency_runs": 10, "quantize": "none"}


@pytest.fixture(scope="module")
def digits_xy():
    x, y = load_digits(return_X_y=True)
    return (x / 16).astype(np.float32).reshape(-1, 1, 8, 8), y


def _mlp(hidden: int, classes: int = 10) -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, classes))


@pytest.fixture(scope="module")
def trained_teacher(digits_xy):
    """A teacher trained here, as a notebook user would have it: an nn.Module in memory."""
    torch.manual_seed(0)
    x, y = (torch.from_numpy(a) for a in digits_xy)
    model = _mlp(128)
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    for _ in range(60):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return model


def _state(model: nn.Module) -> dict:
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_module_teacher_and_student_with_arrays(digits_xy, trained_teacher, tmp_path):
    x, y = digits_xy
    torch.manual_seed(1)
    student = _mlp(16)
    student_before, teacher_before = _state(student), _state(trained_teacher)
    run = tmp_path / "run"
    result = edgekd.compress(
        teacher=trained_teacher, student=student, data=(x, y), out=str(run), **FAST
    )

    # objects out: the report, every artifact by name, the final one, the verdict
    assert result.report["artifacts"][0]["name"] == "teacher"
    assert result.report["training"]["teacher"]["kind"] == "module"
    assert result.report["artifacts"][0]["accuracy"] > 0.9  # the teacher that taught is ours
    assert set(result.artifacts) == {"teacher", "student"}
    assert result.final == "student" and result.final_path == run / "student.onnx"
    assert result.budget is result.report["budget"] and isinstance(result.ok, bool)

    # result.student is a usable module and student.onnx computes the same function
    assert isinstance(result.student, nn.Sequential) and result.student is not student
    session = ort.InferenceSession(str(result.final_path))
    x_test = x[:64]
    with torch.no_grad():
        ours = result.student(torch.from_numpy(x_test)).numpy()
    onnx_out = session.run(None, {session.get_inputs()[0].name: x_test})[0]
    np.testing.assert_allclose(onnx_out, ours, atol=1e-4)

    # the caller's objects are untouched: same weights, still trainable, still in train mode
    for before, model in ((student_before, student), (teacher_before, trained_teacher)):
        after = model.state_dict()
        assert all(torch.equal(before[k], after[k]) for k in before)
        assert all(p.requires_grad for p in model.parameters()) and model.training
    assert not torch.equal(result.student[1].weight, student[1].weight)  # it did train

    # config.yaml names each object with a hash of its weights/data, and is not replayable
    saved = yaml.safe_load((run / "config.yaml").read_text())
    objects = saved["in_memory"]
    assert objects["replayable"] is False and "cannot replay" in objects["note"]
    assert objects["teacher"][0] == record(trained_teacher)
    assert objects["student"]["sha256"] == record(student)["sha256"]
    assert objects["student"]["params"] == sum(p.numel() for p in student.parameters())
    assert objects["data"]["kind"] == "(X, y)" and objects["data"]["num_classes"] == 10
    assert saved["teacher"]["specs"] == ["<in-memory nn.Module Sequential>"]
    with pytest.raises(EdgeKDError, match="cannot replay") as err:
        resolve_config(run / "config.yaml")
    assert "\n" not in str(err.value)

    # ... but teacher.onnx reruns the teacher, here with a dict of splits (val given)
    split = {"train": (x[:1200], y[:1200]), "val": (x[1200:1400], y[1200:1400])}
    split["test"] = (torch.from_numpy(x[1400:]), torch.from_numpy(y[1400:]))  # tensors too
    rerun = edgekd.compress(
        teacher=str(run / "teacher.onnx"),
        student="mlp:width=0.25",
        data=split,
        out=str(tmp_path / "rerun"),
        **FAST,
    )
    assert rerun.report["training"]["teacher"]["kind"] == "onnx"
    teacher_row = rerun.report["artifacts"][0]
    assert teacher_row["accuracy"] == pytest.approx(
        (trained_teacher(torch.from_numpy(x[1400:])).argmax(1).numpy() == y[1400:]).mean()
    )
    saved = yaml.safe_load((tmp_path / "rerun" / "config.yaml").read_text())
    assert saved["in_memory"]["data"]["samples"] == {"train": 1200, "val": 200, "test": 397}
    assert "teacher" not in saved["in_memory"]  # a file spec is recorded as itself


def test_session_teacher_and_tensor_dataset(digits_xy, trained_teacher, tmp_path):
    x, y = digits_xy
    path = tmp_path / "t.onnx"
    edgekd.export_onnx(trained_teacher, torch.from_numpy(x[:2]), path)
    session = ort.InferenceSession(str(path))
    data = TensorDataset(torch.from_numpy(x[:600]), torch.from_numpy(y[:600]))
    result = edgekd.compress(
        teacher=session,
        student=lambda input_shape, num_classes: _mlp(12, num_classes),
        data=data,
        out=str(tmp_path / "run"),
        **FAST,
    )
    teacher = result.report["training"]["teacher"]
    assert (
        teacher["kind"] == "onnx"
        and teacher["spec"] == "<in-memory onnxruntime.InferenceSession InferenceSession>"
    )
    assert result.report["config"]["data"]["source"] == "<in-memory Dataset TensorDataset>"
    assert len(edgekd.load_data(data).y_test) == 120  # a Dataset is split like a file: 20% test
    assert onnx.load(str(result.artifacts["teacher"])).graph.output[0].name == "scores"
    assert result.report["artifacts"][0]["accuracy"] > 0.9


def test_callable_teacher_has_no_graph_but_teaches(digits_xy, trained_teacher, tmp_path):
    """A plain f(x: ndarray) -> probabilities; retention is against its measured accuracy."""
    x, y = digits_xy

    def predict_proba(batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return torch.softmax(trained_teacher(torch.from_numpy(batch)), 1).numpy()

    run = tmp_path / "run"
    result = edgekd.compress(
        teacher=predict_proba, student=_mlp(16), data=(x[:800], y[:800]), out=str(run), **FAST
    )
    teacher = result.report["training"]["teacher"]
    assert teacher["kind"] == "python-callable" and teacher["output"] == "probs"
    assert not (run / "teacher.onnx").exists() and "teacher" not in result.artifacts
    student_row = result.report["artifacts"][0]
    assert student_row["retention"] == pytest.approx(
        student_row["accuracy"] / teacher["test_accuracy"]
    )
    assert any("no ONNX graph" in n for n in result.report["notes"])
    assert result.report["distillation"]["teacher_accuracy"] == teacher["test_accuracy"]
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["in_memory"]["teacher"][0]["class"].endswith("predict_proba")
    assert saved["in_memory"]["teacher"][0]["sha256"] is None


def test_wrong_class_count_student_is_refused_before_training(digits_xy, trained_teacher, tmp_path):
    x, y = digits_xy
    student = _mlp(16, classes=3)
    before = _state(student)
    with pytest.raises(EdgeKDError) as err:
        edgekd.compress(
            teacher=trained_teacher, student=student, data=(x, y), out=str(tmp_path / "run"), **FAST
        )
    message = str(err.value)
    assert "\n" not in message
    assert "outputs 3 classes" in message and "<in-memory nn.Module Sequential>" in message
    assert not (tmp_path / "run").exists()  # refused before the run directory exists
    assert all(torch.equal(before[k], v) for k, v in student.state_dict().items())


def test_unknown_option_lists_close_matches():
    with pytest.raises(EdgeKDError, match="unknown option 'epoch'; close matches: epochs, "):
        edgekd.compress(data="digits", epoch=3)
    with pytest.raises(EdgeKDError, match="config key 'epochs'"):  # values: pydantic's checks
        edgekd.compress(data="digits", epochs=0)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"train": None, "tst": None}, "needs keys 'train' and 'test'"),
        ("nan", "features contain NaN or inf"),
        ("labels", "labels must lie in"),
        ((np.zeros((20, 4), np.float32), np.zeros(19)), "20 samples (X) but 19 labels"),
        ([1, 2, 3], "a list of 3 items"),
    ],
)
def test_bad_in_memory_data_is_one_line(digits_xy, data, message):
    x, y = digits_xy
    if data == "nan":
        x = x.copy()
        x[5, 0, 0, 0] = np.nan
        data = (x, y)
    elif data == "labels":
        data = {
            "train": (x[:100], y[:100]),
            "val": (x[100:150], y[100:150] - 1),
            "test": (x[150:200], y[150:200]),
        }
    with pytest.raises(EdgeKDError) as err:
        edgekd.load_data(data)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_student_object_is_deep_copied(digits_xy):
    from edgekd.distill.students import build_student

    student = _mlp(8)
    bundle = edgekd.load_data(digits_xy)
    built = build_student(student, bundle)
    assert built is not student and student.training  # the copy went to eval mode
    built[1].weight.data.zero_()
    assert student[1].weight.abs().sum() > 0


def test_ensemble_of_objects(digits_xy, trained_teacher, tmp_path):
    from edgekd.teachers import EnsembleTeacher, load_teacher

    bundle = edgekd.load_data(digits_xy)

    def probs(batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return torch.softmax(trained_teacher(torch.from_numpy(batch)), 1).numpy()

    both = load_teacher([trained_teacher, _mlp(32)], bundle, weights=[2, 1])
    assert isinstance(both, EnsembleTeacher) and both.weights == pytest.approx([2 / 3, 1 / 3])
    path, parity = both.export(tmp_path / "teacher.onnx", bundle)
    assert path.is_file() and parity["top1_agreement"] >= 0.999
    mixed = load_teacher([trained_teacher, probs], bundle)
    assert [m.kind for m in mixed.members] == ["module", "python-callable"]
    assert mixed.members[1].output == "probs"
    assert mixed.export(tmp_path / "mixed.onnx", bundle)[0] is None  # one member has no graph
    assert not (tmp_path / "mixed.onnx").exists()
