"""Bring your own teacher: every kind loads, is checked, teaches and exports to teacher.onnx."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from rich.console import Console
from safetensors.torch import save_file
from torch import nn

from edgekd.distill.trainer import TrainConfig
from edgekd.errors import EdgeKDError
from edgekd.export import export_onnx
from edgekd.models import create_model
from edgekd.teachers import (
    EnsembleTeacher,
    OnnxTeacher,
    TorchTeacher,
    load_teacher,
    train_and_measure,
)

QUIET = Console(quiet=True)


@pytest.fixture(scope="module")
def mlp(digits):
    torch.manual_seed(0)
    return create_model("mlp", digits.input_shape, digits.num_classes, width=0.25).eval()


@pytest.fixture(scope="module")
def files(tmp_path_factory, mlp, digits):
    d = tmp_path_factory.mktemp("teachers")
    torch.save(mlp.state_dict(), d / "w.pt")
    save_file(mlp.state_dict(), str(d / "w.safetensors"))
    torch.save({"state_dict": mlp.state_dict(), "epoch": 3}, d / "ckpt.pth")
    torch.jit.script(mlp).save(str(d / "scripted.pt"))
    torch.save(mlp, d / "whole.pt")
    export_onnx(mlp, torch.from_numpy(digits.x_test[:2]), d / "mlp.onnx")
    (d / "factory.py").write_text(
        "import torch\n"
        "from edgekd.models import create_model\n"
        "def make(input_shape, num_classes):\n"
        "    torch.manual_seed(0)\n"
        "    return create_model('mlp', input_shape, num_classes, width=0.25)\n"
        "def make_probs(input_shape, num_classes):\n"
        "    return torch.nn.Sequential(make(input_shape, num_classes), torch.nn.Softmax(1))\n"
        "def make_dict(input_shape, num_classes):\n"
        "    class M(torch.nn.Module):\n"
        "        def __init__(self):\n"
        "            super().__init__()\n"
        "            self.body = make(input_shape, num_classes)\n"
        "        def forward(self, x):\n"
        "            return {'logits': self.body(x), 'aux': x}\n"
        "    return M()\n"
    )
    return d


def _same_logits(teacher, mlp, digits):
    x = torch.from_numpy(digits.x_test[:16])
    with torch.no_grad():
        assert torch.allclose(teacher(x), mlp(x), atol=1e-4)


@pytest.mark.parametrize(
    "name,kind",
    [
        ("w.pt", "state_dict"),
        ("w.safetensors", "state_dict"),
        ("ckpt.pth", "state_dict"),
        ("scripted.pt", "torchscript"),
        ("mlp.onnx", "onnx"),
        ("factory.py:make", "callable"),
    ],
)
def test_each_teacher_kind_loads_and_computes_the_same_logits(files, digits, mlp, name, kind):
    arch = ["mlp:width=0.25"] if kind == "state_dict" else []
    teacher = load_teacher([str(files / name)], digits, arch=arch)
    assert teacher.kind == kind and teacher.output == "logits"
    assert teacher.n_classes == 10 and not teacher.needs_training
    _same_logits(teacher, mlp, digits)


def test_pickled_module_needs_trust_pickle_and_the_error_says_so(files, digits, mlp):
    with pytest.raises(EdgeKDError, match="--trust-pickle") as err:
        load_teacher([str(files / "whole.pt")], digits)
    assert "\n" not in str(err.value)
    teacher = load_teacher([str(files / "whole.pt")], digits, trust_pickle=True)
    assert teacher.kind == "pickle"
    _same_logits(teacher, mlp, digits)


def test_state_dict_without_or_with_a_wrong_arch_is_refused(files, digits):
    with pytest.raises(EdgeKDError, match="--teacher-arch"):
        load_teacher([str(files / "w.pt")], digits)
    with pytest.raises(EdgeKDError, match="do not fit architecture 'mlp'"):
        load_teacher([str(files / "w.pt")], digits, arch=["mlp"])  # width 1.0: other shapes


def test_probability_outputs_are_detected_and_become_log_probs(files, digits, mlp):
    teacher = load_teacher([f"{files / 'factory.py'}:make_probs"], digits)
    assert teacher.output == "probs"
    x = torch.from_numpy(digits.x_test[:8])
    with torch.no_grad():
        expected = torch.log_softmax(mlp(x), 1)
        assert torch.allclose(teacher(x), expected, atol=1e-4)
    forced = load_teacher([f"{files / 'factory.py'}:make"], digits, output="logits")
    assert forced.output == "logits"
    with pytest.raises(EdgeKDError, match="not probabilities"):
        load_teacher([f"{files / 'factory.py'}:make"], digits, output="probs")


def test_dict_outputs_keep_the_logits_entry(files, digits, mlp):
    teacher = load_teacher([f"{files / 'factory.py'}:make_dict"], digits)
    _same_logits(teacher, mlp, digits)


def test_sklearn_forest_with_zipmap_is_a_probs_teacher(tabular, forest_onnx):
    teacher = load_teacher([str(forest_onnx)], tabular)
    assert isinstance(teacher, OnnxTeacher) and teacher.output == "probs"
    probs = torch.exp(teacher(torch.from_numpy(tabular.x_test)))
    assert torch.allclose(probs.sum(1), torch.ones(len(probs)), atol=1e-4)
    acc = float((probs.argmax(1).numpy() == tabular.y_test).mean())
    assert acc > 0.85


def test_teacher_onnx_of_each_kind_runs_in_onnxruntime(files, digits, tmp_path):
    for spec in ("w.pt", "mlp.onnx"):
        teacher = load_teacher([str(files / spec)], digits, arch=["mlp:width=0.25"])
        path, parity = teacher.export(tmp_path / f"{spec}.onnx", digits)
        session = ort.InferenceSession(str(path))
        out = session.run(None, {session.get_inputs()[0].name: digits.x_test[:4]})[0]
        assert out.shape == (4, 10) and "source" in parity


def test_ensemble_is_the_weighted_mean_of_tempered_probabilities(files, digits, tmp_path):
    specs = [str(files / "w.pt"), f"{files / 'factory.py'}:make_probs", str(files / "mlp.onnx")]
    other = create_model("mlp", digits.input_shape, 10, width=0.25)  # different weights
    torch.save(other.state_dict(), tmp_path / "other.pt")
    specs[0] = str(tmp_path / "other.pt")
    ens = load_teacher(specs, digits, arch=["mlp:width=0.25"], weights=[2, 1, 1], temperature=3)
    assert isinstance(ens, EnsembleTeacher) and ens.weights == [0.5, 0.25, 0.25]
    x = torch.from_numpy(digits.x_test[:8])
    with torch.no_grad():
        members = [m(x) for m in ens.members]
        want = sum(w * torch.softmax(z / 3, 1) for w, z in zip(ens.weights, members, strict=True))
        got = torch.softmax(ens(x) / 3, 1)  # what the trainer computes from the teacher
    assert torch.allclose(got, want, atol=1e-5)
    info = train_and_measure(ens, digits, TrainConfig(epochs=1), QUIET)
    assert len(info.members) == 3 and info.kind == "ensemble"
    assert [m["weight"] for m in info.members] == [0.5, 0.25, 0.25]
    path, parity = ens.export(tmp_path / "teacher.onnx", digits)  # torch + ONNX members in one
    assert parity["top1_agreement"] >= 0.999 and len(parity["members"]) == 3
    onnx.checker.check_model(str(path))


def test_mixed_framework_ensemble_on_tabular_data(tabular, forest_onnx, tmp_path):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(tabular.input_shape[0], 2))
    torch.save(net.state_dict(), tmp_path / "lin.pt")
    (tmp_path / "arch.py").write_text(
        "import torch\ndef lin(input_shape, num_classes):\n"
        "    return torch.nn.Sequential(torch.nn.Linear(input_shape[0], num_classes))\n"
    )
    ens = load_teacher(
        [str(forest_onnx), str(tmp_path / "lin.pt")], tabular, arch=[f"{tmp_path}/arch.py:lin"]
    )
    assert [m.output for m in ens.members] == ["probs", "logits"]
    path, parity = ens.export(tmp_path / "teacher.onnx", tabular)
    assert parity["top1_agreement"] >= 0.999


def test_recipe_teacher_is_trained_in_the_teacher_stage(digits):
    teacher = load_teacher(["mlp"], digits)
    assert isinstance(teacher, TorchTeacher) and teacher.needs_training
    info = train_and_measure(teacher, digits, TrainConfig(epochs=2), QUIET)
    assert info.trained_here and info.test_accuracy > 0.5 and not teacher.needs_training


def test_ensemble_weights_and_arch_counts_are_checked(files, digits):
    spec = str(files / "mlp.onnx")
    with pytest.raises(EdgeKDError, match="one weight per --teacher"):
        load_teacher([spec, spec], digits, weights=[1.0])
    with pytest.raises(EdgeKDError, match="positive"):
        load_teacher([spec, spec], digits, weights=[1.0, -1.0])
    with pytest.raises(EdgeKDError, match="one per weights file"):
        load_teacher([str(files / "w.pt")], digits, arch=["mlp", "mlp"])


@pytest.fixture(scope="module")
def tabular():
    from sklearn.datasets import load_breast_cancer

    from edgekd.data.arrays import bundle_from_arrays

    d = load_breast_cancer()
    return bundle_from_arrays("breast-cancer", d.data, d.target, seed=0)


@pytest.fixture(scope="module")
def forest_onnx(tabular, tmp_path_factory):
    from skl2onnx import to_onnx
    from sklearn.ensemble import RandomForestClassifier

    forest = RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0)
    forest.fit(tabular.x_train, tabular.y_train)
    path = tmp_path_factory.mktemp("forest") / "forest.onnx"
    path.write_bytes(to_onnx(forest, tabular.x_train[:1].astype(np.float32)).SerializeToString())
    return path


def test_a_runs_own_teacher_onnx_can_teach_again(files, digits, tmp_path):
    """teacher.onnx written from an ONNX teacher is already normalized (`scores` output)."""
    first = load_teacher([str(files / "mlp.onnx")], digits)
    path, _ = first.export(tmp_path / "teacher.onnx", digits)
    again = load_teacher([str(path)], digits)
    x = torch.from_numpy(digits.x_test[:8])
    assert torch.allclose(again(x), first(x), atol=1e-5)
