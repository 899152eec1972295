"""`edgekd compress` end to end with the user's own teacher(s), data, student and config file."""

import json

import numpy as np
import onnxruntime as ort
import pytest
import torch
import yaml
from click.testing import CliRunner
from PIL import Image

from edgekd.cli import main
from edgekd.config import resolve_config
from edgekd.errors import EdgeKDError
from edgekd.models import create_model

FAST = {"epochs": 3, "latency_runs": 10, "quantize": "none"}


def _compress(args):
    result = CliRunner().invoke(main, ["compress", "--allow-weak-teacher", *args])
    assert result.exit_code in (0, 1), result.output
    return result


def _report(run):
    report = json.loads((run / "report.json").read_text())
    assert resolve_config(run / "config.yaml").model_dump() == report["config"]  # reproducible
    names = {p.name for p in run.iterdir()}
    assert not [n for n in names if n.startswith(".") or ".tmp" in n]
    for a in report["artifacts"]:
        ort.InferenceSession(str(run / a["path"]))
    return report


@pytest.fixture(scope="module")
def tabular(tmp_path_factory):
    from skl2onnx import to_onnx
    from sklearn.datasets import load_wine
    from sklearn.ensemble import RandomForestClassifier

    d = tmp_path_factory.mktemp("tabular")
    x, y = load_wine(return_X_y=True)
    x = x.astype(np.float32)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(x))
    test, train = order[:40], order[40:]
    np.savez(d / "wine.npz", X=x[train], y=y[train], X_test=x[test], y_test=y[test])
    forest = RandomForestClassifier(n_estimators=20, max_depth=4, random_state=0)
    forest.fit(x[train], y[train])
    (d / "forest.onnx").write_bytes(to_onnx(forest, x[:1]).SerializeToString())
    noisy = x[train] * rng.normal(1.0, 0.05, size=x[train].shape).astype(np.float32)
    np.savetxt(d / "transfer.csv", noisy, delimiter=",")
    return d


def test_forest_onnx_teacher_teaches_an_mlp_on_tabular_data(tabular, tmp_path):
    cfg = tmp_path / "run.yaml"
    cfg.write_text(yaml.safe_dump({**FAST, "student": "dscnn", "data": str(tabular / "wine.npz")}))
    run = tmp_path / "run"
    args = ["--config", str(cfg), "--student", "mlp:width=0.5", "--out", str(run)]
    args += ["--teacher", str(tabular / "forest.onnx"), "--transfer", str(tabular / "transfer.csv")]
    _compress(args)  # flags override the file: the file's dscnn would refuse tabular data
    report = _report(run)
    assert report["config"]["student"]["name"] == "mlp:width=0.5"
    teacher = report["training"]["teacher"]
    assert teacher["kind"] == "onnx" and teacher["output"] == "probs"
    assert teacher["n_classes"] == 3 and teacher["test_accuracy"] > 0.8
    rows = {a["name"]: a for a in report["artifacts"]}
    assert rows["teacher"]["accuracy"] == pytest.approx(teacher["test_accuracy"])
    assert rows["student"]["retention"] == pytest.approx(
        rows["student"]["accuracy"] / rows["teacher"]["accuracy"]
    )
    session = ort.InferenceSession(str(run / "student.onnx"))  # raw features in
    x = np.load(tabular / "wine.npz")["X_test"]
    assert session.run(None, {session.get_inputs()[0].name: x})[0].shape == (40, 3)


def test_ensemble_of_state_dict_and_torchscript_teachers(digits, tmp_path):
    torch.manual_seed(0)
    a = create_model("mlp", digits.input_shape, 10, width=0.5)
    b = create_model("cnn-tiny", digits.input_shape, 10, width=0.5)
    torch.save(a.state_dict(), tmp_path / "a.pt")
    torch.jit.trace(b.eval(), torch.from_numpy(digits.x_test[:2])).save(str(tmp_path / "b.pt"))
    cfg = tmp_path / "run.toml"
    cfg.write_text(
        'teacher = ["{}", "{}"]\nteacher_arch = ["mlp:width=0.5"]\nteacher_weight = [3.0, 1.0]\n'
        'student = "mlp"\nstudent_width = 0.25\nepochs = 2\nlatency_runs = 10\n'
        'quantize = "none"\nout = "{}"\n'.format(
            tmp_path / "a.pt", tmp_path / "b.pt", tmp_path / "run"
        )
    )
    _compress(["--config", str(cfg)])
    report = _report(tmp_path / "run")
    teacher = report["training"]["teacher"]
    assert teacher["kind"] == "ensemble"
    assert [m["kind"] for m in teacher["members"]] == ["state_dict", "torchscript"]
    assert [m["weight"] for m in teacher["members"]] == [0.75, 0.25]
    assert all("test_accuracy" in m for m in teacher["members"])
    rows = {r["name"]: r for r in report["artifacts"]}
    assert rows["teacher"]["accuracy"] == pytest.approx(teacher["test_accuracy"], abs=1e-3)
    assert rows["teacher"]["retention"] == 1.0
    assert report["parity"]["teacher"]["source"] == "members composed into one graph"
    assert "## Teacher" in (tmp_path / "run" / "report.md").read_text()


def test_image_folder_with_hints_from_a_state_dict_teacher(tmp_path):
    rng = np.random.default_rng(0)
    for c in range(3):
        (tmp_path / "imgs" / f"class{c}").mkdir(parents=True)
        for i in range(12):
            a = np.clip(rng.normal(60 + 70 * c, 30, (8, 8)), 0, 255).astype(np.uint8)
            Image.fromarray(a, mode="L").save(tmp_path / "imgs" / f"class{c}" / f"{i}.png")
    (tmp_path / "imgs" / "class0" / "Thumbs.db").write_bytes(b"\x00junk")
    torch.manual_seed(0)
    teacher = create_model("cnn-tiny", (1, 8, 8), 3)
    torch.save(teacher.state_dict(), tmp_path / "t.pth")
    run = tmp_path / "run"
    result = _compress(
        ["--data", str(tmp_path / "imgs"), "--teacher", str(tmp_path / "t.pth")]
        + ["--teacher-arch", "cnn-tiny", "--student", "cnn-tiny:width=0.5", "--epochs", "2"]
        + ["--hint", "1:1", "--hint", "3:3", "--hint-weight", "0.5", "--quantize", "none"]
        + ["--out", str(run), "--config", _fast_config(tmp_path)]
    )
    assert "skipped 1 file" in result.output
    report = _report(run)
    assert report["config"]["distill"]["hint"] == ["1:1", "3:3"]
    assert report["training"]["teacher"]["kind"] == "state_dict"
    student = torch.load(run / "student.pt", weights_only=True)
    assert not any("adapter" in k for k in student)  # adapters train, never ship


def _fast_config(tmp_path):
    path = tmp_path / "fast.yaml"
    path.write_text(yaml.safe_dump({"latency_runs": 10}))
    return str(path)


def test_hint_adapters_map_student_features_to_the_teachers(digits):
    from edgekd.distill.hints import HintLoss

    teacher = create_model("cnn-tiny", digits.input_shape, 10)
    student = create_model("cnn-tiny", digits.input_shape, 10, width=0.5)
    hints = HintLoss(teacher, student, ["1:1", "3:3", "5:2"], 1.0, digits.x_train)
    kinds = [type(a).__name__ for a in hints.adapters]
    assert kinds == ["Sequential", "Sequential", "Sequential"]  # conv 1x1; pool + conv
    x = torch.from_numpy(digits.x_train[:4])
    with hints.attached():
        student.train()
        student(x)
        loss = hints(x)
    loss.backward()
    assert loss.item() > 0 and all(p.grad is not None for p in hints.adapters.parameters())
    assert not teacher._forward_hooks and not any(m._forward_hooks for m in student.modules())
    with pytest.raises(EdgeKDError, match="did you mean"):
        HintLoss(teacher, student, ["1:11"], 1.0, digits.x_train)


def test_config_file_errors_name_the_key_and_suggest(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"teacher_arc": ["mlp"]}))
    with pytest.raises(EdgeKDError, match="did you mean 'teacher_arch'"):
        resolve_config(path)
    path.write_text(yaml.safe_dump({"hint_weight": "lots"}))
    with pytest.raises(EdgeKDError, match="config key 'hint_weight'"):
        resolve_config(path)
    path.write_text(yaml.safe_dump({"teacher_output": "logit"}))
    with pytest.raises(EdgeKDError, match="config key 'teacher_output'"):
        resolve_config(path)
    cfg = resolve_config(None, teacher_weight=(1.0, 2.0), hint=("3:3",))
    assert cfg.teacher.weights == [1.0, 2.0] and cfg.distill.hint == ["3:3"]
