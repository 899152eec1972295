"""onnxruntime quantization of the shipped ONNX file, and the choice of what ships.

quantize_model(fp32, out, mode="int8", calibration=X)        one variant, one file
choose_quantization(fp32, out, calibration=X, val_x=, val_y=)  build, measure, pick
count_int8_nodes(path)                                        what really runs in int8
"""

from edgekd.quantize.choose import Candidate, QuantizationChoice, choose_quantization
from edgekd.quantize.config import MODES, QuantConfig
from edgekd.quantize.core import quantize_model
from edgekd.quantize.data import NumpyCalibrationReader
from edgekd.quantize.nodes import count_int8_nodes

__all__ = [
    "MODES",
    "Candidate",
    "NumpyCalibrationReader",
    "QuantConfig",
    "QuantizationChoice",
    "choose_quantization",
    "count_int8_nodes",
    "quantize_model",
]
