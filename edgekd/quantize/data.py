"""Loading the model to quantize, checking arrays against its input, feeding calibration data.

Calibration and validation data may be streamed rows; they are read in batches, never whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import CalibrationDataReader

from edgekd.data.rows import is_streamed
from edgekd.errors import EdgeKDError

DEFAULT_BATCH = 32


@dataclass(frozen=True)
class InputSpec:
    name: str
    shape: tuple[int | None, ...]  # None where the dimension is symbolic

    @property
    def fixed_batch(self) -> int | None:
        return self.shape[0] if self.shape else None

    def describe(self) -> str:
        return "[" + ", ".join("N" if d is None else str(d) for d in self.shape) + "]"


def load_onnx(path: str | Path) -> onnx.ModelProto:
    """The model at `path`, or an EdgeKDError saying why it cannot be used."""
    path = Path(path)
    if not path.is_file():
        raise EdgeKDError(f"model file not found: {path} (pass the path of an exported .onnx file)")
    try:
        model = onnx.load(str(path))
    except Exception as e:  # protobuf raises its own DecodeError; anything else means the same
        raise EdgeKDError(
            f"{path} is not an ONNX model ({type(e).__name__}); "
            "pass a file written by onnx or torch.onnx"
        ) from None
    if not model.graph.node or not model.graph.output:
        raise EdgeKDError(f"{path} is not an ONNX model (no graph); pass an exported .onnx file")
    return model


def input_spec(model: onnx.ModelProto, path: str | Path = "model") -> InputSpec:
    initializers = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    if len(inputs) != 1:
        raise EdgeKDError(
            f"{Path(path).name} has {len(inputs)} inputs; quantization here needs a model with "
            "exactly one input tensor"
        )
    inp = inputs[0]
    if inp.type.tensor_type.elem_type != onnx.TensorProto.FLOAT:
        raise EdgeKDError(
            f"{Path(path).name}: input {inp.name!r} is not float32; export a fp32 model"
        )
    dims = inp.type.tensor_type.shape.dim
    shape = tuple(
        d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in dims
    )
    return InputSpec(inp.name, shape)


def check_array(x: np.ndarray, spec: InputSpec, what: str) -> np.ndarray:
    """`x` as float32 when it fits the model input; an EdgeKDError naming the mismatch otherwise.

    Streamed rows (edgekd/data/rows.py) are checked by shape and returned as they are:
    calibration and validation then read them a batch at a time.
    """
    if not is_streamed(x):
        x = np.asarray(x)
    if x.dtype.kind not in "fiub" or x.dtype == np.bool_:
        raise EdgeKDError(f"{what} has dtype {x.dtype}; pass a numeric array")
    want = spec.describe()
    if x.ndim != len(spec.shape) or any(
        d is not None and d != got for d, got in zip(spec.shape[1:], x.shape[1:], strict=True)
    ):
        raise EdgeKDError(
            f"{what} has shape {list(x.shape)} but the model input {spec.name!r} is {want}; "
            "reshape the samples to the model's input shape"
        )
    if len(x) == 0:
        raise EdgeKDError(f"{what} is empty; pass at least one sample")
    if is_streamed(x):
        if not x.all_finite():
            raise EdgeKDError(f"{what} contains NaN or inf; clean the data first")
        return x
    x = x.astype(np.float32, copy=False)
    if not np.isfinite(x).all():
        raise EdgeKDError(f"{what} contains NaN or inf; clean the data first")
    return x


def batches(x: np.ndarray, spec: InputSpec, batch: int = DEFAULT_BATCH) -> list[np.ndarray]:
    """Split `x` into batches the model accepts (a fixed batch dimension drops the remainder)."""
    size = spec.fixed_batch or batch
    out = [x[i : i + size] for i in range(0, len(x), size)]
    if spec.fixed_batch:
        out = [b for b in out if len(b) == size]
        if not out:
            raise EdgeKDError(
                f"the model's batch dimension is fixed at {size} but only {len(x)} samples "
                "were given; pass more samples"
            )
    return out


class NumpyCalibrationReader(CalibrationDataReader):
    """Feeds the rows of a numpy array to onnxruntime's calibrator, in batches."""

    def __init__(self, x: np.ndarray, spec: InputSpec, batch: int = DEFAULT_BATCH):
        self.input_name = spec.name
        self._batches = batches(x, spec, batch)
        self._start, self._end = 0, len(self._batches)
        self._next = 0

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self._next >= self._end:
            return None
        feed = {self.input_name: self._batches[self._next]}
        self._next += 1
        return feed

    def rewind(self) -> None:
        self._next = self._start

    def __len__(self) -> int:
        return len(self._batches)

    def set_range(self, start_index: int, end_index: int) -> None:
        self._start, self._end = start_index, min(end_index, len(self._batches))
        self._next = self._start
