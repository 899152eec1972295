"""Tensor shapes of an ONNX graph at batch 1, as far as onnx's own inference gets.

Costs are per sample, so symbolic batch axes are fixed to 1 first; what onnx still cannot infer
(past a com.microsoft op, say) is listed by `open_values` for edgekd.bench.observed to measure.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence

import onnx

from edgekd.bench.params import constants

Known = dict[str, tuple[int, list[int] | None]]


def fix_input_dims(
    model: onnx.ModelProto, shapes: Mapping[str, Sequence[int]] | None = None
) -> onnx.ModelProto:
    """A copy whose inputs have concrete dims: a symbolic axis 0 is 1 (costs are per sample),
    others take --shape values, else 1. Stale value_info and output shapes are dropped."""
    shapes = dict(shapes or {})
    m = onnx.ModelProto()
    m.CopyFrom(model)
    init_names = {i.name for i in m.graph.initializer}
    for inp in m.graph.input:
        if inp.name in init_names or not inp.type.HasField("tensor_type"):
            continue
        dims = inp.type.tensor_type.shape.dim
        given = shapes.get(inp.name)
        for axis, d in enumerate(dims):
            symbolic = not d.HasField("dim_value") or d.dim_value <= 0
            if axis == 0 and symbolic:
                d.dim_value = 1  # costs are per sample, whatever batch is timed
            elif given is not None and axis < len(given):
                d.dim_value = int(given[axis])
            elif symbolic:
                d.dim_value = 1
    del m.graph.value_info[:]
    for out in m.graph.output:
        if out.type.HasField("tensor_type"):
            out.type.tensor_type.ClearField("shape")
    return m


def infer_shapes(
    model: onnx.ModelProto, shapes: Mapping[str, Sequence[int]] | None = None
) -> Known:
    """name -> (elem_type, dims) for every tensor onnx can infer with batch (and other symbols) = 1.

    Inputs are fixed first (fix_input_dims), then onnx's inference runs with data propagation so
    Shape->Gather->Reshape chains resolve too.
    """
    return inferred_shapes(fix_input_dims(model, shapes))


def inferred_shapes(m: onnx.ModelProto) -> Known:
    """Shapes onnx infers for a model whose inputs are fixed already."""
    # A graph onnx cannot type keeps what the inputs alone give.
    with contextlib.suppress(Exception):
        m = onnx.shape_inference.infer_shapes(
            m, check_type=False, strict_mode=False, data_prop=True
        )
    known: Known = {}
    for vi in [*m.graph.input, *m.graph.value_info, *m.graph.output]:
        if not vi.type.HasField("tensor_type"):
            continue
        tt = vi.type.tensor_type
        dims = None
        if tt.HasField("shape"):
            dims = [d.dim_value if d.HasField("dim_value") else -1 for d in tt.shape.dim]
            if any(d < 0 for d in dims):
                dims = None
        known[vi.name] = (tt.elem_type, dims)
    known.update(constants(m))
    return known


def open_values(model: onnx.ModelProto, known: Mapping[str, tuple[int, list[int] | None]]):
    """Node outputs whose shape is still unknown, in graph order."""
    return [
        o
        for node in model.graph.node
        for o in node.output
        if o and known.get(o, (0, None))[1] is None
    ]
