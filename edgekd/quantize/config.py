"""What a quantization run is asked to do: the mode and the static-int8 settings."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from edgekd.errors import EdgeKDError

MODES = ("int8", "dynamic", "fp16")
CHOOSE_MODES = ("auto", *MODES)


class QuantConfig(BaseModel):
    """Settings of one onnxruntime quantization.

    The defaults are the configuration measured fastest on x86 for conv nets: uint8 activations,
    int8 per-channel weights with reduce_range, QDQ format. onnxruntime's own default (int8
    activations, per-tensor weights) is `QuantConfig.ort_default()`; on residual nets it leaves
    convolutions whose input feeds two consumers in float (see design.md, "Measuring honestly").
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["QDQ", "QOperator"] = "QDQ"
    activation_type: Literal["int8", "uint8"] = "uint8"
    weight_type: Literal["int8", "uint8"] = "int8"
    per_channel: bool = True
    reduce_range: bool = True
    calibrate_method: Literal["MinMax", "Entropy", "Percentile"] = "MinMax"
    calibration_samples: int = Field(256, ge=1)
    percentile: float = Field(99.999, gt=0, le=100)
    op_types: tuple[str, ...] | None = None  # None: onnxruntime's default set for the mode
    # Convs with fewer input channels than this stay in float: onnxruntime's int8 kernels lose
    # to its float ones there (MobileNetV1 0.25's 3- and 8-channel layers at 96x96 ran 2.5x and
    # 2.4x slower in int8 than in fp32; design.md, "Real edge sizes"). 0: quantize them all.
    float_below_channels: int = Field(0, ge=0)

    @classmethod
    def ort_default(cls, **overrides) -> QuantConfig:
        """onnxruntime quantize_static's defaults: QDQ, S8S8, per-tensor, MinMax."""
        base = dict(
            activation_type="int8", weight_type="int8", per_channel=False, reduce_range=False
        )
        return cls(**{**base, **overrides})

    @property
    def label(self) -> str:
        """Short name, e.g. `qdq-u8s8-pc-rr`."""
        bits = {"int8": "s8", "uint8": "u8"}
        parts = [
            "qdq" if self.format == "QDQ" else "qop",
            bits[self.activation_type] + bits[self.weight_type],
        ]
        if self.per_channel:
            parts.append("pc")
        if self.reduce_range:
            parts.append("rr")
        if self.calibrate_method != "MinMax":
            parts.append(self.calibrate_method.lower())
        if self.float_below_channels:
            parts.append(f"thin{self.float_below_channels}")
        return "-".join(parts)

    def qdq_twin(self) -> QuantConfig:
        """The same numerics in QDQ format (the QDQ graph keeps float tensors to inspect)."""
        return self.model_copy(update={"format": "QDQ"})


def check_mode(mode: str, allowed: tuple[str, ...] = MODES) -> str:
    if mode not in allowed:
        raise EdgeKDError(f"unknown quantization mode {mode!r}: use one of {', '.join(allowed)}")
    return mode


# Candidates "auto" builds for every model; dynamic is added only for MatMul/Gemm-heavy models.
AUTO_STATIC_CANDIDATES: tuple[tuple[str, QuantConfig], ...] = (
    ("int8-qdq-s8s8", QuantConfig.ort_default()),
    ("int8-qdq-u8s8-pc-rr", QuantConfig()),
    ("int8-qop-u8s8-pc-rr", QuantConfig(format="QOperator")),
)
# "auto" adds QDQ U8S8 with the convs thinner than each of these (input channels) kept in float,
# when the model has such convs: a thin first layer is where int8 loses most at MLPerf Tiny sizes.
AUTO_THIN_CHANNELS = (16, 32)


_FORMATS = {"qdq": "QDQ", "qoperator": "QOperator"}
_METHODS = {"minmax": "MinMax", "entropy": "Entropy", "percentile": "Percentile"}


def compress_options(
    mode: str, quant_format: str, calibration_method: str, calibration_samples: int
) -> dict:
    """`choose_quantization` keyword arguments for compress's flags (lower-case CLI spellings).

    The format and calibration method shape the single candidate of mode "int8"; "auto" builds
    its own measured set (calibrated on `calibration_samples` rows), the other modes need none.
    """
    fmt, method = _FORMATS.get(quant_format.lower()), _METHODS.get(calibration_method.lower())
    if fmt is None:
        raise EdgeKDError(f"unknown quantization format {quant_format!r}: use qdq or qoperator")
    if method is None:
        raise EdgeKDError(
            f"unknown calibration method {calibration_method!r}: use minmax, entropy or percentile"
        )
    options: dict = {"calibration_samples": calibration_samples}
    if mode == "int8":
        options["config"] = QuantConfig(
            format=fmt, calibrate_method=method, calibration_samples=calibration_samples
        )
    return options


def ignored_settings(mode: str, quant_format: str, calibration_method: str) -> str | None:
    """A warning when format/method flags were set for a mode that does not use them."""
    if mode == "int8" or (quant_format.lower(), calibration_method.lower()) == ("qdq", "minmax"):
        return None
    return (
        f"--quant-format/--calibration-method apply to --quantize int8 only; "
        f"--quantize {mode} builds its own candidates"
    )


def check_numbers(
    threads: int,
    runs: int,
    calibration_samples: int,
    min_speedup: float,
    guard_tries: int,
) -> None:
    """The numeric settings of `choose_quantization`, checked before any work (the accuracy
    drop: edgekd/config/units.py)."""
    if threads < 1 or runs < 1 or calibration_samples < 1 or min_speedup <= 0 or guard_tries < 0:
        raise EdgeKDError(
            "threads, runs and calibration_samples must be >= 1, min_speedup > 0, guard_tries >= 0"
        )
