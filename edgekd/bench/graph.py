"""What an ONNX graph costs on paper: bytes, parameters, MACs and peak activation memory.

Counted from the graph itself (batch 1), so they are exact and host-independent, unlike latency.
Works for float models, QDQ models (weights behind DequantizeLinear) and QOperator models
(QLinearConv, QLinearMatMul, ConvInteger, MatMulInteger, com.microsoft QGemm,
DynamicQuantizeMatMul, ...): shapes onnx cannot infer past a com.microsoft op are measured by
running the graph once (edgekd.bench.observed). MACs are those of convolutions and matrix
products, as a PyTorch forward hook on Conv/Linear counts them; a node with MACs edgekd cannot
count is named in `uncounted` and the figure is a lower bound, never a silent undercount.
"""

from __future__ import annotations

import contextlib
import gzip
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import onnx
from onnx import TensorProto, helper

from edgekd.errors import EdgeKDError

# (data input index, weight input index) for every op whose MACs are counted.
_CONV = {"Conv": (0, 1), "FusedConv": (0, 1), "ConvInteger": (0, 1), "QLinearConv": (0, 3)}
_MATMUL = {
    "MatMul": (0, 1),
    "FusedMatMul": (0, 1),
    "MatMulInteger": (0, 1),
    "QLinearMatMul": (0, 3),
}
_MATMUL |= {"DynamicQuantizeMatMul": (0, 1), "MatMulIntegerToFloat": (0, 1)}
_GEMM = {"Gemm": (0, 1), "FusedGemm": (0, 1), "QGemm": (0, 3)}
# Default-domain ops that multiply-accumulate but are not counted: naming them keeps the figure
# honest (a lower bound) instead of silently low.
_UNCOUNTED_ONNX = {"Einsum", "LSTM", "GRU", "RNN", "Attention", "DeformConv"}
# Ops outside the default domain that do no MACs in this convention (elementwise, pooling,
# quantization, normalisation). Any other custom-domain op is named as uncounted.
_ZERO_MAC_CUSTOM = {
    "QLinearAdd",
    "QLinearMul",
    "QLinearSigmoid",
    "QLinearLeakyRelu",
    "QLinearSoftmax",
    "QLinearGlobalAveragePool",
    "QLinearAveragePool",
    "QLinearConcat",
    "QLinearReduceMean",
    "QLinearWhere",
    "QuantizeLinear",
    "DequantizeLinear",
    "DynamicQuantizeLinear",
    "NhwcMaxPool",
    "Gelu",
    "FastGelu",
    "BiasGelu",
    "QuickGelu",
    "BiasAdd",
    "SkipLayerNormalization",
    "SimplifiedLayerNormalization",
    "LayerNormalization",
}

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
# Ops that a memory planner (TFLite Micro, ORT) runs as views over their input's buffer.
_VIEW_OPS = {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity"}


@dataclass
class GraphStats:
    """Paper costs of one model file; None where the graph did not allow counting."""

    size_bytes: int
    gzip_bytes: int
    params: int | None = None
    macs: int | None = None
    peak_activation_bytes: int | None = None
    macs_by_op: dict[str, int] = field(default_factory=dict)
    uncounted: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """report.json artifact fields; `macs_uncounted_nodes` only when `macs` is a lower bound."""
        out = {
            "size_bytes": self.size_bytes,
            "gzip_bytes": self.gzip_bytes,
            "params": self.params,
            "macs": self.macs,
            "peak_activation_bytes": self.peak_activation_bytes,
        }
        if self.uncounted:
            out["macs_uncounted_nodes"] = list(self.uncounted)
        return out


def load_model(path: str | Path) -> onnx.ModelProto:
    """The ONNX proto without external weight data, or EdgeKDError saying what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise EdgeKDError(f"model file not found: {path}; pass an existing .onnx or .ort file")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # protobuf DecodeError and friends
        raise EdgeKDError(
            f"{path} is not an ONNX model ({type(e).__name__}); pass an .onnx file "
            "(export it with torch.onnx.export or edgekd compress)"
        ) from e
    if model.ir_version <= 0 or not model.graph.node:
        raise EdgeKDError(
            f"{path} is not an ONNX model (no graph in it); pass an .onnx file "
            "(export it with torch.onnx.export or edgekd compress)"
        )
    return model


def _external_files(model: onnx.ModelProto, base: Path) -> list[Path]:
    files = []
    for init in model.graph.initializer:
        if init.data_location == TensorProto.EXTERNAL:
            for kv in init.external_data:
                if kv.key == "location" and (base / kv.value) not in files:
                    files.append(base / kv.value)
    return files


def _file_sizes(paths: Sequence[Path]) -> tuple[int, int]:
    """Raw and gzip bytes of the files that ship together (model + any external weights)."""
    raw = zipped = 0
    for p in paths:
        data = p.read_bytes()
        raw += len(data)
        zipped += len(gzip.compress(data, compresslevel=6, mtime=0))
    return raw, zipped


# ---------------------------------------------------------------- shapes


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
) -> dict[str, tuple[int, list[int] | None]]:
    """name -> (elem_type, dims) for every tensor onnx can infer with batch (and other symbols) = 1.

    Inputs are fixed first (fix_input_dims), then onnx's inference runs with data propagation so
    Shape->Gather->Reshape chains resolve too.
    """
    return _inferred(fix_input_dims(model, shapes))


def _inferred(m: onnx.ModelProto) -> dict[str, tuple[int, list[int] | None]]:
    """Shapes onnx infers for a model whose inputs are fixed already."""
    # A graph onnx cannot type keeps what the inputs alone give.
    with contextlib.suppress(Exception):
        m = onnx.shape_inference.infer_shapes(
            m, check_type=False, strict_mode=False, data_prop=True
        )
    known: dict[str, tuple[int, list[int] | None]] = {}
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
    for init in m.graph.initializer:
        known[init.name] = (init.data_type, list(init.dims))
    for node in m.graph.node:
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    known[node.output[0]] = (a.t.data_type, list(a.t.dims))
    return known


# ---------------------------------------------------------------- MACs


def _conv_out_shape(node: onnx.NodeProto, x: list[int], w: list[int]) -> list[int] | None:
    """Conv output shape from the attributes, for when shape inference left it open."""
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    nsp = len(x) - 2
    kernel = list(attrs.get("kernel_shape", w[2:]))
    strides = list(attrs.get("strides", [1] * nsp))
    dil = list(attrs.get("dilations", [1] * nsp))
    pads = list(attrs.get("pads", [0] * (2 * nsp)))
    auto = attrs.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    out = [x[0], w[0]]
    for i in range(nsp):
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            out.append(math.ceil(x[2 + i] / strides[i]))
            continue
        span = (kernel[i] - 1) * dil[i] + 1
        pad = 0 if auto == "VALID" else pads[i] + pads[i + nsp]
        out.append((x[2 + i] + pad - span) // strides[i] + 1)
    return out if all(d > 0 for d in out) else None


def _node_macs(node: onnx.NodeProto, shape_of) -> int | None:
    """Multiply-accumulates of one node at batch 1; None when they cannot be counted (shapes
    unknown, or an op that multiplies but has no rule here)."""
    op = node.op_type
    if node.domain not in ("", "ai.onnx") and not (
        op in _CONV or op in _MATMUL or op in _GEMM or op in _ZERO_MAC_CUSTOM
    ):
        return None
    if op in _UNCOUNTED_ONNX:
        return None
    if op in _CONV:
        xi, wi = _CONV[op]
        x, w = shape_of(node.input[xi]), shape_of(node.input[wi])
        if w is None:
            return None
        y = shape_of(node.output[0])
        if y is None and x is not None:
            y = _conv_out_shape(node, x, w)
        if y is None:
            return None
        # y = [N, M, *spatial], w = [M, C/group, *kernel]: each output element is C/g*k MACs.
        return math.prod(y) * math.prod(w[1:])
    if op == "ConvTranspose":
        x, w = shape_of(node.input[0]), shape_of(node.input[1])
        if x is None or w is None:
            return None
        # w = [C, M/group, *kernel]: each input element scatters into M/g*k outputs.
        return math.prod(x) * math.prod(w[1:])
    if op in _GEMM:
        ai, bi = _GEMM[op]
        a, b = shape_of(node.input[ai]), shape_of(node.input[bi])
        if a is None or b is None or len(a) != 2 or len(b) != 2:
            return None
        attrs = {at.name: helper.get_attribute_value(at) for at in node.attribute}
        m, k = (a[1], a[0]) if attrs.get("transA", 0) else (a[0], a[1])
        n = b[0] if attrs.get("transB", 0) else b[1]
        return m * k * n
    if op in _MATMUL:
        ai, bi = _MATMUL[op]
        a, b = shape_of(node.input[ai]), shape_of(node.input[bi])
        if a is None or b is None:
            return None
        a = [1, *a] if len(a) == 1 else a
        b = [*b, 1] if len(b) == 1 else b
        batch_a, batch_b = a[:-2], b[:-2]
        n = max(len(batch_a), len(batch_b))
        batch_a = [1] * (n - len(batch_a)) + batch_a
        batch_b = [1] * (n - len(batch_b)) + batch_b
        batch = math.prod(max(p, q) for p, q in zip(batch_a, batch_b, strict=True))
        return batch * a[-2] * a[-1] * b[-1]
    return 0


# ---------------------------------------------------------------- params


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


def _constants(model: onnx.ModelProto) -> dict[str, tuple[int, list[int]]]:
    """Initializers and Constant-node tensors: name -> (dtype, dims)."""
    out = {i.name: (i.data_type, list(i.dims)) for i in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    out[node.output[0]] = (a.t.data_type, list(a.t.dims))
    return out


def count_params(model: onnx.ModelProto) -> int:
    """Elements of stored weights, each tensor once (by name), quantization scales not included.

    A QDQ or QOperator model counts its int8 weights and int32 biases; a scale, zero point,
    reshape target or axis list is configuration, not a parameter.
    """
    consts = _constants(model)
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


# ---------------------------------------------------------------- activations


def _topo_order(graph: onnx.GraphProto) -> list[onnx.NodeProto]:
    """Nodes in dependency order (ONNX requires it, but be robust to files that break it)."""
    producer = {o: i for i, n in enumerate(graph.node) for o in n.output if o}
    deps = [
        {producer[x] for x in n.input if x in producer and producer[x] != i}
        for i, n in enumerate(graph.node)
    ]
    users = defaultdict(list)
    for i, ds in enumerate(deps):
        for d in ds:
            users[d].append(i)
    remaining = [len(ds) for ds in deps]
    ready = [i for i, r in enumerate(remaining) if r == 0]
    order = []
    while ready:
        i = ready.pop(0)
        order.append(i)
        for u in users[i]:
            remaining[u] -= 1
            if remaining[u] == 0:
                ready.append(u)
    if len(order) != len(graph.node):  # a cycle: keep file order
        return list(graph.node)
    return [graph.node[i] for i in order]


def _nbytes(dtype: int, dims: list[int] | None) -> int | None:
    if dims is None:
        return None
    n = math.prod(dims)
    if dtype in (TensorProto.INT4, TensorProto.UINT4):
        return (n + 1) // 2
    try:
        return n * helper.tensor_dtype_to_np_dtype(dtype).itemsize
    except Exception:
        return None


def peak_activation(
    model: onnx.ModelProto, known: Mapping[str, tuple[int, list[int] | None]]
) -> tuple[int, bool]:
    """Largest sum of live activation bytes over a topological walk, batch 1; (bytes, complete).

    The planner model is a simple static one, as on a microcontroller: each tensor gets its own
    buffer from its producer to its last consumer, weights live in flash (not counted), view ops
    (Reshape, Flatten, ...) share their input's buffer, and a QDQ pair shares the int8 buffer
    (Q's float input and DQ's float output are what a fused int8 kernel never materialises).
    No in-place reuse, so this is an upper bound for a planner that does reuse.
    """
    g = model.graph
    nodes = _topo_order(g)
    const = set(_constants(model))
    for node in nodes:  # weight-only subgraphs (DequantizeLinear of a weight) fold into flash
        ins = [x for x in node.input if x]
        if node.op_type == "Constant" or (ins and all(x in const for x in ins)):
            const.update(o for o in node.output if o)

    consumers: dict[str, list[onnx.NodeProto]] = defaultdict(list)
    for node in nodes:
        for x in node.input:
            if x:
                consumers[x].append(node)
    outputs = {o.name for o in g.output}

    parent: dict[str, str] = {}

    def root(t: str) -> str:
        while t in parent:
            t = parent[t]
        return t

    for node in nodes:
        x0 = node.input[0] if node.input else ""
        if not x0 or x0 in const or not node.output:
            continue
        if node.op_type in _VIEW_OPS:
            parent[node.output[0]] = x0
        elif node.op_type == "DequantizeLinear" and node.output[0] not in outputs:
            parent[node.output[0]] = x0  # a float graph output is materialised, though
    for node in nodes:
        if node.op_type != "QuantizeLinear" or node.input[0] in const:
            continue
        x = node.input[0]
        if (
            x not in outputs
            and x not in parent
            and all(c.op_type == "QuantizeLinear" for c in consumers[x])
        ):
            parent[x] = node.output[0]  # the float feeding Q is written as int8 directly

    start: dict[str, int] = {}
    end: dict[str, int] = {}
    last = len(nodes)

    def touch(t: str, step: int) -> None:
        r = root(t)
        start[r] = min(start.get(r, step), step)
        end[r] = max(end.get(r, step), step)

    init_names = {i.name for i in g.initializer}
    for inp in g.input:
        if inp.name not in init_names:
            touch(inp.name, 0)
    for step, node in enumerate(nodes):
        for x in node.input:
            if x and x not in const:
                touch(x, step)
        for o in node.output:
            if o and o not in const:
                touch(o, step)
                if o in outputs:
                    touch(o, last)

    complete = True
    sizes = {}
    for r in start:
        dtype, dims = known.get(r, (0, None))
        nb = _nbytes(dtype, dims)
        if nb is None:
            complete = False
            nb = 0
        sizes[r] = nb
    peak = 0
    for step in range(last + 1):
        live = sum(sizes[r] for r in start if start[r] <= step <= end[r])
        peak = max(peak, live)
    return peak, complete


# ---------------------------------------------------------------- public


def _open_values(model: onnx.ModelProto, known: Mapping[str, tuple[int, list[int] | None]]):
    """Node outputs whose shape is still unknown, in graph order."""
    return [
        o
        for node in model.graph.node
        for o in node.output
        if o and known.get(o, (0, None))[1] is None
    ]


def graph_stats(
    path: str | Path,
    *,
    shapes: Mapping[str, Sequence[int]] | None = None,
    max_input_mb: float | None = None,
) -> GraphStats:
    """Size, gzip size, parameters, MACs and peak activation bytes of one model file.

    `.ort` files are flatbuffers the onnx package cannot read: only their sizes are reported.
    Shapes onnx cannot infer are measured by one onnxruntime run at batch 1, whose inputs are
    refused above `max_input_mb` like bench's own (EdgeKDError).
    """
    path = Path(path)
    if not path.is_file():
        raise EdgeKDError(f"model file not found: {path}; pass an existing .onnx or .ort file")
    if path.suffix.lower() == ".ort":
        raw, zipped = _file_sizes([path])
        return GraphStats(
            raw,
            zipped,
            notes=[
                "ORT format: params/MACs/activations are counted from the .onnx it came from "
                "(bench that file, or pass the .onnx with --ort)"
            ],
        )
    model = load_model(path)
    ext = _external_files(model, path.parent)
    missing = [p for p in ext if not p.is_file()]
    if missing:
        raise EdgeKDError(
            f"{path} keeps its weights in {missing[0].name}, which is missing; keep it beside "
            "the model or re-save the model as one file"
        )
    raw, zipped = _file_sizes([path, *ext])
    stats = GraphStats(raw, zipped)
    if ext:
        stats.notes.append(
            f"weights live in side file(s) {', '.join(p.name for p in ext)}: sizes include them; "
            "ship one file (onnx.save with save_as_external_data=False)"
        )
    fixed = fix_input_dims(model, shapes)
    known = _inferred(fixed)
    missing = _open_values(fixed, known)
    if missing:
        from edgekd.bench.observed import observe_shapes

        known.update(
            observe_shapes(fixed, missing, base_dir=path.parent, max_input_mb=max_input_mb)
        )

    def shape_of(name: str) -> list[int] | None:
        return known.get(name, (0, None))[1]

    stats.params = count_params(model)
    macs = 0
    by_op: dict[str, int] = defaultdict(int)
    for node in model.graph.node:
        n = _node_macs(node, shape_of)
        if n is None:
            stats.uncounted.append(f"{node.op_type}:{node.name or node.output[0]}")
            continue
        if n:
            by_op[node.op_type] += n
            macs += n
    stats.macs = macs
    stats.macs_by_op = dict(by_op)
    if stats.uncounted:
        stats.notes.append(
            f"MACs are a lower bound: {len(stats.uncounted)} node(s) not counted "
            f"({', '.join(stats.uncounted[:3])}{', ...' if len(stats.uncounted) > 3 else ''}); "
            "their op has no MAC rule or their shapes stayed unknown (try --shape)"
        )
    peak, complete = peak_activation(model, known)
    stats.peak_activation_bytes = peak
    if not complete:
        stats.notes.append("peak activation estimate leaves out tensors of unknown shape")
    return stats
