"""Build one quantized model with onnxruntime.quantization: static int8, dynamic int8 or fp16.

The fp32 model is pre-processed once (`quant_pre_process`: shape inference and basic graph
fusions such as Conv+BatchNorm), calibrated once per calibration method (the tensor ranges are
cached and shared by every static candidate and every retry of the accuracy guard), and every
output is a single ONNX file with its weights inside.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.quantization import (
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quant_pre_process,
    quantize_dynamic,
    quantize_static,
)

from edgekd.atomic import atomic_path
from edgekd.errors import EdgeKDError
from edgekd.quantize.config import MODES, QuantConfig, check_mode
from edgekd.quantize.data import (
    InputSpec,
    NumpyCalibrationReader,
    check_array,
    input_spec,
    load_onnx,
)
from edgekd.quantize.nodes import thin_convs

_QTYPE = {"int8": QuantType.QInt8, "uint8": QuantType.QUInt8}
_CALIB = {
    "MinMax": CalibrationMethod.MinMax,
    "Entropy": CalibrationMethod.Entropy,
    "Percentile": CalibrationMethod.Percentile,
}
# Dynamic quantization of convolutions (ConvInteger) measured 4-11x slower than fp32 on x86, so
# "auto" quantizes only these ops dynamically; an explicit config may ask for more.
DYNAMIC_MATMUL_OPS = ("MatMul", "Gemm", "Attention", "LSTM")
# onnxruntime's defaults but with reduce_range: without it MatMulInteger's u8 x s8 sums saturate
# at 16 bits on AVX2 without VNNI (a dynamic MLP flipped 0.11% of digits against tract and
# onnx.reference, which matched the reduce_range file exactly; edgekd/quantize/spec.py).
DYNAMIC_DEFAULT = QuantConfig(per_channel=False, reduce_range=True)


_quiet_depth = 0


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence onnxruntime.quantization's logging.warning chatter and the C++ session warnings."""
    global _quiet_depth
    root = logging.getLogger()
    level = root.level
    if _quiet_depth == 0:
        root.setLevel(logging.ERROR)
        ort.set_default_logger_severity(3)
    _quiet_depth += 1
    try:
        yield
    finally:
        _quiet_depth -= 1
        if _quiet_depth == 0:
            root.setLevel(level)
            ort.set_default_logger_severity(2)  # onnxruntime's default: warnings


def preprocess(src: Path, dst: Path) -> Path:
    """onnxruntime's quant_pre_process; falls back to fewer steps for models it cannot handle."""
    attempts = (
        {},
        {"skip_symbolic_shape": True},
        {"skip_symbolic_shape": True, "skip_optimization": True},
    )
    error: Exception | None = None
    with quiet():
        for kwargs in attempts:
            try:
                quant_pre_process(str(src), str(dst), **kwargs)
                return dst
            except Exception as e:  # symbolic shape inference fails on some exotic graphs
                error = e
    raise EdgeKDError(
        f"onnxruntime could not pre-process {src.name} for quantization ({error}); "
        "check the model with onnx.checker"
    )


def is_single_file(path: str | Path) -> bool:
    model = onnx.load(str(path), load_external_data=False)
    return (
        not any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer)
        and not Path(f"{path}.data").exists()
    )


def subsample(x: np.ndarray, n: int) -> np.ndarray:
    """`n` rows spread evenly over `x` (a class-sorted array still calibrates on every class)."""
    if len(x) <= n:
        return x
    return x[np.linspace(0, len(x) - 1, n).round().astype(int)]


class Quantizer:
    """Builds quantized variants of one fp32 model inside a work directory."""

    def __init__(self, fp32_path: str | Path, workdir: str | Path):
        self.fp32_path = Path(fp32_path)
        self.workdir = Path(workdir)
        self.model = load_onnx(self.fp32_path)
        self.spec: InputSpec = input_spec(self.model, self.fp32_path)
        self._pre_path: Path | None = None
        self._calibration: np.ndarray | None = None

    @property
    def pre_path(self) -> Path:
        """The pre-processed fp32 model every variant is built from (made on first use)."""
        if self._pre_path is None:
            self._pre_path = preprocess(self.fp32_path, self.workdir / "preprocessed.onnx")
        return self._pre_path

    def set_calibration(self, x: np.ndarray) -> np.ndarray:
        """Check `x` against the model input before any calibration runs."""
        self._calibration = check_array(x, self.spec, "calibration data")
        return self._calibration

    def build(
        self,
        mode: str,
        out: Path,
        config: QuantConfig | None = None,
        nodes_to_exclude: Sequence[str] = (),
    ) -> Path:
        check_mode(mode, MODES)
        with quiet():
            if mode == "int8":
                self._static(out, config or QuantConfig(), list(nodes_to_exclude))
            elif mode == "dynamic":
                self._dynamic(out, config, list(nodes_to_exclude))
            else:
                self._fp16(out, list(nodes_to_exclude))
        return out

    def _cache_path(self, config: QuantConfig, n: int) -> Path:
        key = f"{config.calibrate_method}|{n}|{config.percentile}|{config.op_types}"
        return self.workdir / f"calib-{hashlib.sha1(key.encode()).hexdigest()[:12]}.json"

    def _static(self, out: Path, config: QuantConfig, exclude: list[str]) -> None:
        if self._calibration is None:
            raise EdgeKDError("static int8 quantization needs calibration data; pass calibration=X")
        if config.float_below_channels:
            thin = thin_convs(onnx.load(str(self.pre_path)), config.float_below_channels)
            exclude = [*exclude, *(n for n in thin if n not in exclude)]
        x = subsample(self._calibration, config.calibration_samples)
        cache = self._cache_path(config, len(x))
        extra = (
            {"CalibPercentile": config.percentile}
            if config.calibrate_method == "Percentile"
            else {}
        )
        try:
            quantize_static(
                str(self.pre_path),
                str(out),
                None if cache.is_file() else NumpyCalibrationReader(x, self.spec),
                quant_format=QuantFormat.QDQ if config.format == "QDQ" else QuantFormat.QOperator,
                op_types_to_quantize=list(config.op_types) if config.op_types else None,
                per_channel=config.per_channel,
                reduce_range=config.reduce_range,
                activation_type=_QTYPE[config.activation_type],
                weight_type=_QTYPE[config.weight_type],
                nodes_to_exclude=exclude,
                calibrate_method=_CALIB[config.calibrate_method],
                extra_options=extra,
                calibration_cache_path=str(cache),
            )
        except EdgeKDError:
            raise
        except Exception as e:
            raise EdgeKDError(
                f"onnxruntime static quantization ({config.label}) failed: {e}; "
                "try another --mode or exclude the failing node"
            ) from e

    def _dynamic(self, out: Path, config: QuantConfig | None, exclude: list[str]) -> None:
        config = config or DYNAMIC_DEFAULT
        quantize_dynamic(
            str(self.pre_path),
            str(out),
            op_types_to_quantize=list(config.op_types) if config.op_types else None,
            per_channel=config.per_channel,
            reduce_range=config.reduce_range,
            weight_type=_QTYPE[config.weight_type],
            nodes_to_exclude=exclude,
        )

    def _fp16(self, out: Path, exclude: list[str]) -> None:
        try:  # onnxconverter-common when installed; onnxruntime ships the same converter
            from onnxconverter_common.float16 import convert_float_to_float16
        except ImportError:
            from onnxruntime.transformers.float16 import convert_float_to_float16
        model = convert_float_to_float16(
            onnx.load(str(self.pre_path)), keep_io_types=True, node_block_list=exclude or None
        )
        onnx.save(model, str(out))


def check_out_path(fp32_path: str | Path, out_path: str | Path) -> None:
    out = Path(out_path)
    if out.suffix != ".onnx":
        raise EdgeKDError(f"output path {out} should end in .onnx; pass e.g. model.int8.onnx")
    if out.resolve() == Path(fp32_path).resolve():
        raise EdgeKDError(f"output path {out} is the input model; pass a different --out path")


def ship(src: Path, out_path: str | Path) -> Path:
    """Copy a built model to `out_path` atomically; it must be one self-contained file."""
    if not is_single_file(src):
        raise EdgeKDError(
            f"{src.name} keeps weights outside the file; it is too large to ship as one"
        )
    out_path = Path(out_path)
    with atomic_path(out_path) as tmp:
        shutil.copyfile(src, tmp)
    return out_path


def quantize_model(
    fp32_path: str | Path,
    out_path: str | Path,
    *,
    mode: str,
    calibration: np.ndarray | None = None,
    config: QuantConfig | None = None,
    nodes_to_exclude: Sequence[str] = (),
) -> Path:
    """Quantize `fp32_path` into the single file `out_path`; nothing is written on failure.

    mode: "int8" (static, calibrated on `calibration`, settings from `config`), "dynamic"
    (int8 weights, activations quantized at run time) or "fp16" (weights and compute in
    float16, float32 inputs and outputs kept). `nodes_to_exclude` names nodes kept in float.
    """
    check_mode(mode, MODES)
    check_out_path(fp32_path, out_path)
    if mode == "int8" and calibration is None:
        raise EdgeKDError(
            "mode 'int8' needs calibration data: pass calibration=X (a few hundred rows)"
        )
    with tempfile.TemporaryDirectory(prefix="edgekd-quant-") as work:
        quantizer = Quantizer(fp32_path, work)
        if mode == "int8":
            quantizer.set_calibration(calibration)
        built = quantizer.build(mode, Path(work) / "quantized.onnx", config, nodes_to_exclude)
        return ship(built, out_path)
