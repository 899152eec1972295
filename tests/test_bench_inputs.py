"""Input shapes and feeds: symbolic dims, --shape parsing, impossible shapes, real data."""

from __future__ import annotations

import numpy as np
import pytest

from edgekd.bench.inputs import make_feeds, parse_shape_specs
from edgekd.bench.latency import make_session, random_inputs
from edgekd.errors import EdgeKDError
from tests.test_bench_helpers import conv_relu_gemm, matmul_seq, qlinear_conv


def test_parse_shape_specs():
    assert parse_shape_specs(["x=1x3x32x32", "y = 2,5"]) == {"x": (1, 3, 32, 32), "y": (2, 5)}
    for bad in ["x", "x=", "x=1xx3", "x=1x0x3", "=1x2"]:
        with pytest.raises(EdgeKDError, match="shape"):
            parse_shape_specs([bad])


def test_symbolic_dims_default_with_note_and_dtype_is_model_dtype(tmp_path):
    s = make_session(matmul_seq(tmp_path / "mm.onnx"))
    feeds, resolved = make_feeds(s, batch=3)
    assert feeds["x"].shape == (3, 1, 16) and feeds["x"].dtype == np.float32
    assert any("axis 1" in n and "--shape x=" in n for n in resolved.notes)
    feeds, resolved = make_feeds(s, shapes={"x": (1, 5, 16)})
    assert feeds["x"].shape == (1, 5, 16) and not resolved.notes
    q = make_session(qlinear_conv(tmp_path / "q.onnx"))
    assert random_inputs(q)["xq"].dtype == np.uint8


@pytest.mark.parametrize(
    ("shapes", "batch", "match"),
    [
        ({"x": (1, 5)}, 1, "rank"),
        ({"x": (1, 5, 8)}, 1, "axis 2 is fixed to 16"),
        ({"nope": (1, 5, 16)}, 1, "does not have"),
    ],
)
def test_impossible_shapes(tmp_path, shapes, batch, match):
    s = make_session(matmul_seq(tmp_path / "mm.onnx"))
    with pytest.raises(EdgeKDError, match=match):
        make_feeds(s, shapes=shapes, batch=batch)


def test_fixed_batch_rejects_other_batch(tmp_path):
    s = make_session(conv_relu_gemm(tmp_path / "m.onnx", batch=1))
    with pytest.raises(EdgeKDError, match="fixed batch of 1"):
        make_feeds(s, batch=4)


def test_real_data_feeds_first_rows_cast_to_model_dtype(tmp_path):
    s = make_session(conv_relu_gemm(tmp_path / "m.onnx"))
    x = np.arange(5 * 3 * 8 * 8, dtype=np.float64).reshape(5, 3, 8, 8)
    feeds, _ = make_feeds(s, batch=2, data={"X": x})
    assert feeds["x"].dtype == np.float32
    np.testing.assert_array_equal(feeds["x"], x[:2].astype(np.float32))
    with pytest.raises(EdgeKDError, match="fixes axis 2"):
        make_feeds(s, data={"X": np.zeros((2, 3, 9, 8))})
    with pytest.raises(EdgeKDError, match="fewer than --batch"):
        make_feeds(s, batch=8, data={"X": x})
