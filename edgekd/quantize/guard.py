"""Accuracy guard: find the layers whose quantization hurts most and keep them in float.

Sensitivity is measured on the QDQ graph, which keeps every float tensor: for each node present
in both graphs, the input it actually reads in the quantized model (usually a DequantizeLinear
output) is compared with the same input in the fp32 model. A node's score is how much that
error grows from what the node reads to what its consumers read from it (so the score covers its
weights, its arithmetic and the quantization of its output). Errors are taken per channel and
averaged, because one outlier channel with a huge range would otherwise dominate a whole-tensor
norm while every other channel is rounded to zero -- the classic way per-tensor activation
quantization destroys a layer.

Keeping a tensor in float needs its producer AND its quantizing consumers excluded (the QDQ
quantizer puts a Q/DQ pair on a tensor when either side is quantized), so the guard excludes
one node per try, re-measures accuracy, and re-ranks on the new model until the drop is within
tolerance or the tries run out.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

from edgekd.evaluate import onnx_accuracy
from edgekd.quantize.config import QuantConfig
from edgekd.quantize.core import Quantizer, quiet
from edgekd.quantize.data import batches

_FLOAT_TYPES = {onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.DOUBLE}
_PROBE_BATCH = 16
Pair = tuple[
    str, str
]  # (tensor name in the fp32 graph, name of what is read in the quantized graph)


def _elem_types(model: onnx.ModelProto) -> dict[str, int]:
    with contextlib.suppress(Exception):
        model = onnx.shape_inference.infer_shapes(model)
    g = model.graph
    return {
        vi.name: vi.type.tensor_type.elem_type
        for vi in [*g.value_info, *g.input, *g.output]
        if vi.type.HasField("tensor_type")
    }


def _session_with_outputs(
    model: onnx.ModelProto, names: Sequence[str], path: Path
) -> tuple[ort.InferenceSession, list[str]]:
    """A session that also returns the float tensors `names` (those with a known float type)."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    types = _elem_types(model)
    existing = {o.name for o in model.graph.output}
    kept = []
    for name in names:
        if types.get(name) not in _FLOAT_TYPES:
            continue
        kept.append(name)
        if name not in existing:
            model.graph.output.append(onnx.helper.make_tensor_value_info(name, types[name], None))
            existing.add(name)
    onnx.save(model, str(path))
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    opts.log_severity_level = 3
    opts.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    return session, kept


class _Stats:
    """Per-channel sums of the reference signal and of the error, accumulated over batches."""

    def __init__(self) -> None:
        self.signal: np.ndarray | None = None
        self.noise: np.ndarray | None = None

    def add(self, ref: np.ndarray, got: np.ndarray) -> None:
        ref = ref.astype(np.float64)
        diff = got.astype(np.float64) - ref
        axes = tuple(i for i in range(ref.ndim) if i != 1) if ref.ndim >= 2 else None
        s = np.atleast_1d((ref**2).sum(axis=axes))
        n = np.atleast_1d((diff**2).sum(axis=axes))
        self.signal = s if self.signal is None else self.signal + s
        self.noise = n if self.noise is None else self.noise + n

    def error(self) -> float:
        """Mean over channels of rms(error)/rms(signal), each capped at 1 (signal lost)."""
        rs, rn = np.sqrt(self.signal), np.sqrt(self.noise)
        floor = 0.1 * float(np.median(rs)) or 0.1 * float(rs.mean()) or 1e-12
        return float(np.minimum(rn / np.maximum(rs, floor), 1.0).mean())


@dataclass
class Sensitivity:
    """Nodes worth keeping in float, most harmful first, with the measured error growth."""

    order: list[str]
    scores: dict[str, float] = field(default_factory=dict)


def rank_exclusions(
    fp32_path: Path,
    qdq_path: Path,
    x: np.ndarray,
    spec,
    excluded: Sequence[str],
    workdir: Path,
) -> Sensitivity:
    """Rank the nodes to keep in float next, comparing fp32 and QDQ activations on `x`."""
    # One pass over graph indexes (nodes, reads, err, consumers) that its closures share; the
    # choice made from the scores is `_picks`.
    fm, qm = onnx.load(str(fp32_path)), onnx.load(str(qdq_path))
    fg, qg = fm.graph, qm.graph
    f_types = _elem_types(fm)
    constants = {t.name for t in fg.initializer} | {
        o for n in fg.node if n.op_type == "Constant" for o in n.output
    }
    nodes = {n.name: n for n in fg.node if n.name}
    q_nodes = {n.name: n for n in qg.node if n.name}
    present = {name for name in nodes if name in q_nodes}
    dq_outputs = {o for n in qg.node if n.op_type == "DequantizeLinear" for o in n.output}
    consumers: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for n in fg.node:
        for k, t in enumerate(n.input):
            consumers[t].append((n.name, k))
    graph_outputs = {o.name for o in fg.output}
    q_outputs = {o.name for o in qg.output}

    def is_activation(t: str) -> bool:
        return bool(t) and t not in constants and f_types.get(t) in _FLOAT_TYPES

    # What each present node reads, paired with the fp32 tensor it should be reading.
    reads: dict[tuple[str, int], Pair] = {}
    for name in present:
        fnode, qnode = nodes[name], q_nodes[name]
        for k, t in enumerate(fnode.input):
            if is_activation(t) and k < len(qnode.input) and qnode.input[k]:
                reads[(name, k)] = (t, qnode.input[k])
    pairs = set(reads.values()) | {(o, o) for o in graph_outputs if o in q_outputs}

    stats = _collect(fm, qm, pairs, x, spec, workdir)
    err = {p: s.error() for p, s in stats.items()}

    def downstream(tensor: str, seen: set[str]) -> list[tuple[Pair, str | None]]:
        """Reads of `tensor` by the nearest nodes present in the quantized graph."""
        found: list[tuple[Pair, str | None]] = []
        if tensor in graph_outputs and (tensor, tensor) in err:
            found.append(((tensor, tensor), None))
        for c, k in consumers.get(tensor, []):
            if c in present:
                if (c, k) in reads and reads[(c, k)] in err:
                    found.append((reads[(c, k)], c))
            elif c in nodes and c not in seen:  # fused away (e.g. a Relu): look past it
                seen.add(c)
                for o in nodes[c].output:
                    found.extend(downstream(o, seen))
        return found

    def in_error(name: str) -> float:
        return max((err[p] for (n, _), p in reads.items() if n == name and p in err), default=0.0)

    def quantized(name: str) -> bool:
        return any(i in dq_outputs for i in q_nodes[name].input)

    scored: list[tuple[float, str | None, list[tuple[Pair, str | None]]]] = []
    for name in present:
        outs = [r for o in nodes[name].output for r in downstream(o, set())]
        if outs:
            growth = max(err[p] for p, _ in outs) - in_error(name)
            scored.append((growth, name, outs))
    for inp in fg.input:  # the quantized model input itself, owned by its consumers
        outs = downstream(inp.name, set())
        if outs:
            scored.append((max(err[p] for p, _ in outs), None, outs))
    scored.sort(key=lambda s: s[0], reverse=True)

    return _picks(scored, set(excluded), err, dq_outputs, quantized)


def _picks(scored, done: set[str], err: dict, dq_outputs: set[str], quantized) -> Sensitivity:
    """The nodes to keep in float, from (growth, node, its downstream reads) most harmful
    first: the node itself when it is quantized, else the readers that put Q/DQ on it."""
    order: list[str] = []
    scores: dict[str, float] = {}
    for growth, name, outs in scored:
        if growth <= 1e-3:
            break
        picks: list[str] = []
        if name is not None and name not in done and quantized(name):
            picks.append(name)
        else:  # already float: the damage is the Q/DQ its consumers put on its output
            readers = sorted(
                ((err[p], c) for p, c in outs if c and p[1] in dq_outputs and c not in done),
                reverse=True,
            )
            picks.extend(c for _, c in readers)
        for p in picks:
            if p not in scores:
                order.append(p)
                scores[p] = round(growth, 4)
    return Sensitivity(order, scores)


def _collect(
    fm: onnx.ModelProto,
    qm: onnx.ModelProto,
    pairs: set[Pair],
    x: np.ndarray,
    spec,
    workdir: Path,
) -> dict[Pair, _Stats]:
    with quiet():
        fs, f_names = _session_with_outputs(
            fm, sorted({p[0] for p in pairs}), workdir / "probe-fp32.onnx"
        )
        qs, q_names = _session_with_outputs(
            qm, sorted({p[1] for p in pairs}), workdir / "probe-q.onnx"
        )
    usable_f, usable_q = set(f_names), set(q_names)
    stats = {p: _Stats() for p in pairs if p[0] in usable_f and p[1] in usable_q}
    for xb in batches(x, spec, _PROBE_BATCH):
        fo = dict(zip(f_names, fs.run(f_names, {spec.name: xb}), strict=True))
        qo = dict(zip(q_names, qs.run(q_names, {spec.name: xb}), strict=True))
        for p, s in stats.items():
            ref, got = fo[p[0]], qo[p[1]]
            if ref.shape == got.shape:
                s.add(ref, got)
    return {p: s for p, s in stats.items() if s.signal is not None}


@dataclass
class GuardResult:
    path: Path
    accuracy: float
    kept: list[str]
    ok: bool
    history: list[dict] = field(default_factory=list)


def accuracy_guard(
    quantizer: Quantizer,
    name: str,
    config: QuantConfig,
    *,
    path: Path,
    accuracy: float,
    fp32_accuracy: float,
    max_accuracy_drop: float,
    val_x: np.ndarray,
    val_y: np.ndarray,
    probe_x: np.ndarray,
    max_tries: int = 6,
    start_kept: Sequence[str] = (),
) -> GuardResult:
    """Keep the most harmful layers of a static int8 candidate in float, one per try.

    `start_kept`: layers found for a candidate with the same numerics; tried first, in one step.
    """
    kept: list[str] = []
    history = [{"kept": [], "accuracy": accuracy}]
    work = quantizer.workdir
    if start_kept:
        kept = list(start_kept)
        path = quantizer.build("int8", work / f"{name}.warm.onnx", config, kept)
        accuracy = onnx_accuracy(path, val_x, val_y)
        history.append({"kept": list(kept), "accuracy": accuracy, "from": "same-numerics twin"})
    for attempt in range(max_tries):
        if fp32_accuracy - accuracy <= max_accuracy_drop:
            break
        qdq = path
        if config.format != "QDQ":  # QOperator hides float tensors: rank on the QDQ twin
            qdq = quantizer.build(
                "int8", work / f"{name}.probe{attempt}.onnx", config.qdq_twin(), kept
            )
        ranking = rank_exclusions(quantizer.pre_path, qdq, probe_x, quantizer.spec, kept, work)
        nxt = next((n for n in ranking.order if n not in kept), None)
        if nxt is None:
            break
        kept.append(nxt)
        path = quantizer.build("int8", work / f"{name}.keep{len(kept)}.onnx", config, kept)
        accuracy = onnx_accuracy(path, val_x, val_y)
        history.append({"kept": list(kept), "accuracy": accuracy, "score": ranking.scores[nxt]})
    ok = fp32_accuracy - accuracy <= max_accuracy_drop
    return GuardResult(path, accuracy, kept, ok, history)
