"""Peak activation memory of an ONNX graph at batch 1, under a simple static planner.

The planner model is the one of a microcontroller: each tensor gets its own buffer from its
producer to its last consumer, weights live in flash (not counted), view ops (Reshape, Flatten,
...) share their input's buffer, and a QDQ pair shares the int8 buffer (Q's float input and DQ's
float output are what a fused int8 kernel never materialises). No in-place reuse, so this is an
upper bound for a planner that does reuse.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping

import onnx
from onnx import TensorProto, helper

from edgekd.bench.params import constants

# Ops that a memory planner (TFLite Micro, ORT) runs as views over their input's buffer.
_VIEW_OPS = {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity"}


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


def _flash_tensors(model: onnx.ModelProto, nodes: list[onnx.NodeProto]) -> set[str]:
    """Constants, plus outputs of weight-only subgraphs (DequantizeLinear of a weight): these
    fold into flash and take no activation memory."""
    const = set(constants(model))
    for node in nodes:
        ins = [x for x in node.input if x]
        if node.op_type == "Constant" or (ins and all(x in const for x in ins)):
            const.update(o for o in node.output if o)
    return const


def _shared_buffers(
    nodes: list[onnx.NodeProto], const: set[str], outputs: set[str]
) -> dict[str, str]:
    """tensor -> the tensor whose buffer it shares (views, and both sides of a QDQ pair)."""
    consumers: dict[str, list[onnx.NodeProto]] = defaultdict(list)
    for node in nodes:
        for x in node.input:
            if x:
                consumers[x].append(node)
    parent: dict[str, str] = {}
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
    return parent


def _live_ranges(
    graph: onnx.GraphProto,
    nodes: list[onnx.NodeProto],
    const: set[str],
    parent: dict[str, str],
) -> tuple[dict[str, int], dict[str, int]]:
    """First and last step at which each buffer (named by its root tensor) is live."""
    outputs = {o.name for o in graph.output}
    start: dict[str, int] = {}
    end: dict[str, int] = {}
    last = len(nodes)

    def touch(t: str, step: int) -> None:
        while t in parent:
            t = parent[t]
        start[t] = min(start.get(t, step), step)
        end[t] = max(end.get(t, step), step)

    init_names = {i.name for i in graph.initializer}
    for inp in graph.input:
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
    return start, end


def peak_activation(
    model: onnx.ModelProto, known: Mapping[str, tuple[int, list[int] | None]]
) -> tuple[int, bool]:
    """Largest sum of live activation bytes over a topological walk, batch 1; (bytes, complete).

    See the module docstring for the planner this models.
    """
    g = model.graph
    nodes = _topo_order(g)
    const = _flash_tensors(model, nodes)
    parent = _shared_buffers(nodes, const, {o.name for o in g.output})
    start, end = _live_ranges(g, nodes, const, parent)

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
    for step in range(len(nodes) + 1):
        live = sum(sizes[r] for r in start if start[r] <= step <= end[r])
        peak = max(peak, live)
    return peak, complete
