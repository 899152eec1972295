"""Defaults that fit the data (recipes chosen by shape) and class ids that are not 0..K-1."""

import json

import numpy as np
import onnx
import pytest
import yaml

from edgekd.data import load_data
from edgekd.data.labels import METADATA_KEY, compact_labels
from edgekd.default_models import resolve_models
from tests.cli_runs import run_compress, write_table


def test_compact_labels_numbers_sparse_ids_and_names_in_sorted_order():
    y, y_test, ids = compact_labels(np.array([1000, 0, 7, 7]), np.array([0, 1000]))
    assert ids == [0, 7, 1000]
    assert y.tolist() == [2, 0, 1, 1] and y_test.tolist() == [0, 2]
    y, _, ids = compact_labels(np.array(["rose", "iris", "rose"]))
    assert ids == ["iris", "rose"] and y.tolist() == [1, 0, 1]
    same = np.array([2, 0, 1])
    assert compact_labels(same)[2] is None and compact_labels(same)[0] is same
    assert compact_labels(np.array([-1, 1]))[2] is None  # negatives: left to the range check


def test_csv_class_names_are_kept_beside_their_indices(tmp_path):
    rows = [f"{i % 5}.0,{i % 3}.5,{['setosa', 'virginica'][i % 2]}" for i in range(30)]
    (tmp_path / "t.csv").write_text("a,b,species\n" + "\n".join(rows) + "\n")
    data = load_data(str(tmp_path / "t.csv"))
    assert data.num_classes == 2 and data.class_ids == ["setosa", "virginica"]


def test_declared_num_classes_keeps_the_labels_as_indices(tmp_path):
    x = np.random.default_rng(0).normal(size=(30, 4)).astype(np.float32)
    np.savez(tmp_path / "d.npz", X=x, y=np.arange(30) % 3 * 2, num_classes=6)
    data = load_data(str(tmp_path / "d.npz"))
    assert data.num_classes == 6 and data.class_ids is None


@pytest.mark.parametrize(
    ("shape", "teacher", "student"),
    [
        ((12,), "teacher-mlp", "mlp"),
        ((1, 40), "teacher-cnn", "dscnn"),
        ((1, 8, 8), "teacher-cnn", "dscnn"),
    ],
)
def test_recipes_follow_the_data_shape(shape, teacher, student):
    got_teacher, got_student, note = resolve_models([], "auto", shape)
    assert (got_teacher, got_student) == ([teacher], student)
    assert teacher in note and student in note
    assert resolve_models(["t.onnx"], "cnn-tiny", shape) == (["t.onnx"], "cnn-tiny", None)


@pytest.fixture(scope="module")
def sparse_tabular_run(tmp_path_factory):
    """Rows of features, labels {0, 7, 1000}, no --teacher/--student: one tiny compress."""
    d = tmp_path_factory.mktemp("tab")
    write_table(d / "table.npz", ids=(0, 7, 1000))
    run, result = run_compress(d, data=str(d / "table.npz"), quantize="int8")
    assert result.exit_code in (0, 1), result.output  # 1: budget missed, still a full run
    return run, result


def test_tabular_data_runs_with_no_teacher_or_student(sparse_tabular_run):
    run, result = sparse_tabular_run
    assert "rows of features" in result.output and "teacher-mlp" in result.output
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    assert cfg["teacher"]["specs"] == ["teacher-mlp"] and cfg["student"]["name"] == "mlp"
    report = json.loads((run / "report.json").read_text())
    assert report["training"]["teacher"]["trained_here"]


def test_sparse_labels_give_a_3_way_student_and_the_map_travels(sparse_tabular_run):
    run, result = sparse_tabular_run
    assert "labels are not class indices 0..2" in result.output
    report = json.loads((run / "report.json").read_text())
    assert report["class_ids"] == [0, 7, 1000]
    for artifact in report["artifacts"]:
        model = onnx.load(str(run / artifact["path"]))
        assert model.graph.output[0].type.tensor_type.shape.dim[-1].dim_value == 3
        meta = {p.key: p.value for p in model.metadata_props}
        assert json.loads(meta[METADATA_KEY]) == [0, 7, 1000], artifact["name"]
