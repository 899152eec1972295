"""Bring your own data: npz, csv, image folders, module:callable, and transfer sets."""

import numpy as np
import pytest
from PIL import Image

from edgekd.data import load_data
from edgekd.data.transfer import load_transfer
from edgekd.errors import EdgeKDError


def _arrays(n=60, features=5, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    x = (rng.normal(size=(n, features)) + y[:, None]).astype(np.float32)
    return x, y


def test_npz_is_split_into_train_val_test(tmp_path):
    x, y = _arrays()
    np.savez(tmp_path / "d.npz", X=x, y=y)
    data = load_data(str(tmp_path / "d.npz"))
    assert data.input_shape == (5,) and data.num_classes == 3
    assert len(data.x_train) + len(data.x_val) + len(data.x_test) == 60
    assert data.x_train.dtype == np.float32


def test_npz_keeps_the_users_test_split_and_class_count(tmp_path):
    x, y = _arrays()
    np.savez(tmp_path / "d.npz", X=x, y=y, X_test=x[:7], y_test=y[:7], num_classes=4)
    data = load_data(str(tmp_path / "d.npz"))
    assert len(data.x_test) == 7 and data.num_classes == 4
    assert len(data.x_train) + len(data.x_val) == 60


def test_csv_with_header_and_named_label_column(tmp_path):
    x, y = _arrays()
    names = np.array(["cat", "dog", "eel"])[y]
    lines = ["label,a,b,c,d,e"] + [
        ",".join([n, *(f"{v:.4f}" for v in row)]) for n, row in zip(names, x, strict=True)
    ]
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    data = load_data(str(tmp_path / "d.csv"), label_column="label")
    assert data.input_shape == (5,) and data.num_classes == 3
    with pytest.raises(EdgeKDError, match="did you mean 'label'"):
        load_data(str(tmp_path / "d.csv"), label_column="labels")


def test_csv_without_header_uses_the_last_column(tmp_path):
    x, y = _arrays()
    np.savetxt(tmp_path / "d.csv", np.column_stack([x, y]), delimiter=",", fmt="%.5f")
    data = load_data(str(tmp_path / "d.csv"))
    assert data.input_shape == (5,) and data.num_classes == 3


def _image_folder(root, per_class=10, size=8):
    rng = np.random.default_rng(0)
    for c, name in enumerate(["circle", "square"]):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            a = (rng.random((size, size, 3)) * 80 + c * 150).astype(np.uint8)
            Image.fromarray(a).save(root / name / f"{i}.png")
    return root


def test_image_folder_skips_non_images_with_a_warning(tmp_path):
    root = _image_folder(tmp_path / "imgs")
    (root / "circle" / "notes.txt").write_text("not an image")
    warnings = []
    data = load_data(str(root), image_size=6, warn=warnings.append)
    assert data.input_shape == (3, 6, 6) and data.num_classes == 2
    assert len(warnings) == 1 and "skipped 1 file" in warnings[0] and "notes.txt" in warnings[0]
    assert data.x_train.min() >= -1.0 and data.x_train.max() <= 1.0


def test_image_folder_with_train_and_test_subfolders(tmp_path):
    _image_folder(tmp_path / "imgs" / "train")
    _image_folder(tmp_path / "imgs" / "test", per_class=3)
    data = load_data(str(tmp_path / "imgs"), image_mean=[0.5], image_std=[0.25])
    assert len(data.x_test) == 6 and data.input_shape == (3, 8, 8)


def test_module_callable_returning_torch_datasets(tmp_path):
    (tmp_path / "mydata.py").write_text(
        "import torch\n"
        "from torch.utils.data import TensorDataset\n"
        "def make():\n"
        "    g = torch.Generator().manual_seed(0)\n"
        "    x = torch.randn(50, 1, 4, 4, generator=g)\n"
        "    y = torch.arange(50) % 2\n"
        "    return TensorDataset(x[:40], y[:40]), TensorDataset(x[40:], y[40:])\n"
    )
    data = load_data(f"{tmp_path}/mydata.py:make")
    assert data.input_shape == (1, 4, 4) and len(data.x_test) == 10 and data.num_classes == 2


def test_transfer_sets_from_npz_and_csv(tmp_path):
    x, y = _arrays()
    np.savez(tmp_path / "d.npz", X=x, y=y)
    data = load_data(str(tmp_path / "d.npz"))
    np.savez(tmp_path / "t.npz", X=x[:20] * 0.5)
    assert load_transfer(str(tmp_path / "t.npz"), data).shape == (20, 5)
    np.savetxt(tmp_path / "t.csv", x[:9], delimiter=",")
    assert load_transfer(str(tmp_path / "t.csv"), data).shape == (9, 5)
    np.savez(tmp_path / "wrong.npz", X=np.zeros((4, 6), np.float32))
    with pytest.raises(EdgeKDError, match="shape"):
        load_transfer(str(tmp_path / "wrong.npz"), data)
    np.savez(tmp_path / "nox.npz", features=x)
    with pytest.raises(EdgeKDError, match="needs 'X'"):
        load_transfer(str(tmp_path / "nox.npz"), data)
