import numpy as np
import onnx
import pytest
import torch
from torch import nn

from edgekd.errors import ParityError
from edgekd.evaluate import onnx_logits
from edgekd.export import INPUT_NAME, OUTPUT_NAME, check_parity, export_onnx
from edgekd.models import create_model


@pytest.mark.parametrize("name", ["resnet-tiny", "dscnn", "mlp"])
def test_export_is_one_checked_file_with_dynamic_batch_and_parity(tmp_path, digits, name):
    torch.manual_seed(0)
    model = create_model(name, digits.input_shape, digits.num_classes).eval()
    path = export_onnx(model, torch.from_numpy(digits.x_test[:2]), tmp_path / "m.onnx")

    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]  # no .data, no temp left
    proto = onnx.load(str(path))
    assert all(t.data_location != onnx.TensorProto.EXTERNAL for t in proto.graph.initializer)
    assert [i.name for i in proto.graph.input] == [INPUT_NAME]
    assert [o.name for o in proto.graph.output] == [OUTPUT_NAME]
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param  # symbolic batch

    parity = check_parity(model, path, digits.x_test)
    assert parity.samples == len(digits.x_test)
    assert parity.top1_agreement == 1.0
    assert parity.max_abs_diff < 1e-4
    for batch in (1, 7):
        assert onnx_logits(path, digits.x_test[:batch]).shape == (batch, digits.num_classes)


def test_parity_failure_stops_with_a_clear_error(tmp_path, digits):
    model = create_model("mlp", digits.input_shape, digits.num_classes).eval()
    path = export_onnx(model, torch.from_numpy(digits.x_test[:2]), tmp_path / "m.onnx")
    with torch.no_grad():
        model[-1].bias.add_(5.0 * torch.arange(digits.num_classes))  # PyTorch now differs
    with pytest.raises(ParityError, match="differs from PyTorch"):
        check_parity(model, path, digits.x_test)


def test_failed_export_leaves_nothing_behind(tmp_path):
    class Broken(nn.Module):
        def forward(self, x):
            return torch.from_numpy(np.asarray(x.shape))  # untraceable

    with pytest.raises(Exception):  # noqa: B017  (whatever the exporter raises)
        export_onnx(Broken(), torch.zeros(2, 3), tmp_path / "b.onnx")
    assert list(tmp_path.iterdir()) == []
