import numpy as np
import pytest
import torch

from edgekd.data import load_data
from edgekd.errors import EdgeKDError
from edgekd.models import create_model, list_models


def test_digits_split_is_stratified_disjoint_and_seeded(digits):
    again = load_data("digits", seed=0)
    np.testing.assert_array_equal(digits.x_train, again.x_train)
    sizes = len(digits.x_train) + len(digits.x_val) + len(digits.x_test)
    assert sizes == 1797
    rows = {r.tobytes() for r in digits.x_test.reshape(len(digits.x_test), -1)}
    assert not rows & {r.tobytes() for r in digits.x_train.reshape(len(digits.x_train), -1)}
    for split in (digits.y_train, digits.y_test):  # every class in each split, in proportion
        share = np.bincount(split, minlength=10) / len(split)
        assert share.min() > 0.08 and share.max() < 0.12
    other = load_data("digits", seed=1)  # the seed moves val, never test
    np.testing.assert_array_equal(digits.x_test, other.x_test)
    assert not np.array_equal(digits.x_val, other.x_val)


def test_mnist1d_is_generated_locally_with_paper_split():
    np.random.seed(123)
    expected = np.random.rand()
    np.random.seed(123)
    data = load_data("mnist1d")
    assert np.random.rand() == expected  # the generator's global reseeding does not leak out
    assert data.input_shape == (1, 40)
    assert len(data.x_test) == 1000
    assert len(data.x_train) + len(data.x_val) == 4000


def test_unknown_data_spec_names_the_choices():
    with pytest.raises(EdgeKDError, match="digits"):
        load_data("cifar")


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 40)])
@pytest.mark.parametrize("name", ["mlp", "cnn-tiny", "dscnn", "resnet-tiny", "teacher-cnn"])
def test_zoo_factory_serves_1d_and_2d(name, shape):
    model = create_model(name, shape, 7)
    assert model(torch.zeros(3, *shape)).shape == (3, 7)


def test_width_multiplier_scales_parameters():
    small = create_model("dscnn", (1, 8, 8), 10, width=0.5)
    big = create_model("dscnn", (1, 8, 8), 10, width=2.0)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(big) > 4 * count(small)


def test_unknown_model_suggests_the_closest():
    with pytest.raises(EdgeKDError, match="did you mean 'dscnn'"):
        create_model("dscn", (1, 8, 8), 10)
    assert "teacher-cnn" in list_models()
