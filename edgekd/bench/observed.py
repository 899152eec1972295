"""Shapes measured by running a graph once with every intermediate value exposed as an output.

onnx's shape inference stops at ops it has no schema for (com.microsoft QLinearAdd, QGemm,
QLinearGlobalAveragePool, ...), and every shape downstream of them is lost: a QOperator ResNet
counted 5.2 M of its 12.5 M MACs that way. onnxruntime runs those ops, so the shapes it
produces are exact by construction. Costs one inference at batch 1 on small random inputs
(guarded like bench's own inputs), and only for graphs whose shapes inference left open.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import onnx
from onnx import helper

from edgekd.bench.inputs import make_feeds


def observe_shapes(
    model: onnx.ModelProto,
    names: Collection[str],
    *,
    base_dir: Path,
    max_input_mb: float | None = None,
) -> dict[str, tuple[int, list[int]]]:
    """name -> (onnx elem type, dims) for each of `names` that onnxruntime produces at batch 1.

    `model` must have its inputs fixed already (shapes.fix_input_dims: batch 1, symbols set). Raises
    EdgeKDError when an input is over the input limit; any other failure (a model onnxruntime
    cannot load or run) gives {} and leaves those values unknown, so the caller names them.
    """
    import onnxruntime as ort

    m = onnx.ModelProto()
    m.CopyFrom(model)
    if any(i.data_location == onnx.TensorProto.EXTERNAL for i in m.graph.initializer):
        onnx.load_external_data_for_model(m, str(base_dir))
    exposed = {o.name for o in m.graph.output}
    wanted = [n for n in dict.fromkeys(names) if n]
    for name in wanted:
        if name not in exposed:  # no type needed: onnxruntime types outputs it computes
            m.graph.output.append(onnx.ValueInfoProto(name=name))
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # keep every node
    opts.log_severity_level = 3
    opts.intra_op_num_threads = 1
    try:
        session = ort.InferenceSession(
            m.SerializeToString(), opts, providers=["CPUExecutionProvider"]
        )
    except Exception:  # not loadable here (custom op, missing kernel): shapes stay unknown
        return {}
    feeds, _ = make_feeds(session, batch=1, max_input_mb=max_input_mb)
    try:
        values = session.run(wanted, feeds)
    except Exception:
        return {}
    out = {}
    for name, value in zip(wanted, values, strict=True):
        try:
            out[name] = (helper.np_dtype_to_tensor_dtype(value.dtype), list(value.shape))
        except (AttributeError, KeyError, TypeError):  # a sequence, map or string value
            continue
    return out
