"""Learned parameters stored in an ONNX graph, quantization configuration left out.

A QDQ or QOperator model counts its int8 weights and int32 biases; a scale, zero point,
reshape target or axis list is configuration, not a parameter. Which input slot a constant
feeds decides: the onnx schema names default-domain slots, a table names com.microsoft ones.
"""

from __future__ import annotations

import math

import onnx
from onnx import TensorProto

# Input names of com.microsoft ops (the onnx package has no schema for them).
_MS_INPUTS = {
    "QGemm": ["A", "a_scale", "a_zero_point", "B", "b_scale", "b_zero_point", "C", "y_scale"]
    + ["y_zero_point"],
    "QLinearAdd": ["A", "A_scale", "A_zero_point", "B", "B_scale", "B_zero_point", "C_scale"]
    + ["C_zero_point"],
    "QLinearMul": ["A", "A_scale", "A_zero_point", "B", "B_scale", "B_zero_point", "C_scale"]
    + ["C_zero_point"],
    "QLinearSigmoid": ["X", "X_scale", "X_zero_point", "Y_scale", "Y_zero_point"],
    "QLinearLeakyRelu": ["X", "X_scale", "X_zero_point", "Y_scale", "Y_zero_point"],
    "QLinearGlobalAveragePool": ["X", "x_scale", "x_zero_point", "y_scale", "y_zero_point"],
    "QLinearAveragePool": ["X", "x_scale", "x_zero_point", "y_scale", "y_zero_point"],
}
# Constant inputs with these names configure an op; they are not learned parameters.
_NOT_PARAMS = {"shape", "axes", "roi", "scales", "sizes", "pads", "starts", "ends", "steps"}
_NOT_PARAMS |= {"split", "repeats", "k", "indices", "axis"}
_PARAM_DTYPES = {
    TensorProto.FLOAT,
    TensorProto.FLOAT16,
    TensorProto.BFLOAT16,
    TensorProto.DOUBLE,
    TensorProto.INT8,
    TensorProto.UINT8,
    TensorProto.INT16,
    TensorProto.UINT16,
    TensorProto.INT32,
    TensorProto.INT4,
    TensorProto.UINT4,
}


def _input_names(node: onnx.NodeProto) -> list[str] | None:
    if node.domain in ("", "ai.onnx"):
        try:
            schema = onnx.defs.get_schema(node.op_type)
        except Exception:
            return None
        names = [i.name for i in schema.inputs]
        if names and len(node.input) > len(names):  # variadic last input
            names += [names[-1]] * (len(node.input) - len(names))
        return names
    if node.op_type == "QLinearConcat":
        return ["Y_scale", "Y_zero_point"] + ["X", "X_scale", "X_zero_point"] * len(node.input)
    return _MS_INPUTS.get(node.op_type)


def _is_param_slot(name: str | None) -> bool:
    if name is None:
        return True
    low = name.lower()
    return "scale" not in low and "zero_point" not in low and low not in _NOT_PARAMS


def constants(model: onnx.ModelProto) -> dict[str, tuple[int, list[int]]]:
    """Initializers and Constant-node tensors: name -> (dtype, dims)."""
    out = {i.name: (i.data_type, list(i.dims)) for i in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    out[node.output[0]] = (a.t.data_type, list(a.t.dims))
    return out


def count_params(model: onnx.ModelProto) -> int:
    """Elements of stored weights, each tensor once (by name), quantization scales not included."""
    consts = constants(model)
    used_as_param: dict[str, bool] = {}
    for node in model.graph.node:
        names = _input_names(node)
        for idx, name in enumerate(node.input):
            if name not in consts:
                continue
            slot = names[idx] if names is not None and idx < len(names) else None
            used_as_param[name] = used_as_param.get(name, False) or _is_param_slot(slot)
    total = 0
    for name, (dtype, dims) in consts.items():
        if dtype not in _PARAM_DTYPES:
            continue
        if used_as_param.get(name, True):  # unused weights still ship in the file
            total += math.prod(dims)
    return total
