"""The graph side of ONNX teachers (any framework's classifier: Keras, scikit-learn via
skl2onnx...): checks, normalization and ensemble composition; `OnnxTeacher` runs the result.

A user's ONNX file is checked at the door (it parses, passes onnx.checker, loads in
onnxruntime, takes one float input of the data's shape) and then *normalized* in memory into
the one shape the rest of edgekd expects: one float32 input with a dynamic batch axis, one
float output of class scores `(batch, classes)`. Concretely that

- picks the class-score output (a rank-2 float tensor; or the tensor a ZipMap node turns into
  a list of {class: probability} dicts, as skl2onnx classifiers emit by default),
- drops the other outputs (predicted labels) and the nodes only they need,
- casts a float32 input to the double input the model may want,
- frees a fixed batch dimension.

The same normalized graph runs the teacher during distillation and is what the run directory
keeps as `teacher.onnx`, so the teacher measured is the teacher that taught. Ensembles are
composed into one graph (`compose_ensemble`): the weighted mean of the members'
probabilities, as log-probabilities.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from edgekd.errors import EdgeKDError, first_line

INPUT_NAME = "input"
OUTPUT_NAME = "scores"
_FLOATS = {TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16}
LOG_EPS = 1e-8


def _bad(path: Path, reason: str) -> EdgeKDError:
    return EdgeKDError(
        f"teacher '{path}' is not a usable ONNX model ({reason}); the file may be truncated, "
        "corrupt or not ONNX at all: re-export it"
    )


def load_onnx_checked(path: Path) -> onnx.ModelProto:
    """Parse + onnx.checker; every failure is one line naming the file."""
    if not path.is_file():
        raise EdgeKDError(f"teacher file '{path}' not found; check the path")
    try:
        model = onnx.load(str(path))
    except Exception as e:
        raise _bad(path, f"does not parse: {first_line(e)}") from None
    return check_onnx(model, path)


def check_onnx(model: onnx.ModelProto, path: Path) -> onnx.ModelProto:
    """A graph that onnx.checker passes (a file's, or an in-memory ModelProto's)."""
    if not model.graph.node or not model.graph.output or not model.opset_import:
        raise _bad(path, "it parsed but holds no graph")
    try:
        onnx.checker.check_model(model)
    except Exception as e:
        raise _bad(path, f"onnx.checker: {first_line(e)}") from None
    return model


def _graph_inputs(model: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    inits = {i.name for i in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in inits]


def _prune(graph: onnx.GraphProto, keep_outputs: list[str]) -> None:
    """Drop nodes and initializers that no kept output depends on."""
    needed = set(keep_outputs)
    kept = []
    for node in reversed(graph.node):
        if any(o in needed for o in node.output):
            kept.append(node)
            needed.update(i for i in node.input if i)
            for attr in node.attribute:  # names a subgraph reads from the outer scope
                for g in [attr.g, *attr.graphs]:
                    for sub in g.node:
                        needed.update(i for i in sub.input if i)
    kept.reverse()
    del graph.node[:]
    graph.node.extend(kept)
    inits = [i for i in graph.initializer if i.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(inits)


def _pick_output(model: onnx.ModelProto, path: Path) -> tuple[str, bool, list | None]:
    """(name of the class-score tensor, is it a ZipMap's input (probabilities), its labels)."""
    producers = {o: n for n in model.graph.node for o in n.output}
    for out in model.graph.output:
        t = out.type
        if t.HasField("tensor_type") and t.tensor_type.elem_type in _FLOATS:
            dims = t.tensor_type.shape.dim if t.tensor_type.HasField("shape") else None
            if dims is None or len(dims) == 2:
                return out.name, False, None
    for out in model.graph.output:
        node = producers.get(out.name)
        if node is not None and node.op_type == "ZipMap":
            labels = None
            for a in node.attribute:
                if a.name == "classlabels_int64s":
                    labels = list(a.ints)
                elif a.name == "classlabels_strings":
                    labels = [s.decode() for s in a.strings]
            return node.input[0], True, labels
    names = ", ".join(o.name for o in model.graph.output)
    raise EdgeKDError(
        f"teacher '{path}' has no class-score output (outputs: {names}); edgekd needs a "
        "(batch, classes) float tensor of logits or probabilities: export scores, not labels"
    )


def normalize(model: onnx.ModelProto, path: Path, input_rank: int) -> tuple[onnx.ModelProto, bool]:
    """The model reduced to `input` (float32, dynamic batch) -> `scores` (batch, classes).

    Returns (model, outputs are probabilities for sure (a ZipMap fed them)).
    """
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    inputs = _graph_inputs(model)
    if len(inputs) != 1:
        raise EdgeKDError(
            f"teacher '{path}' takes {len(inputs)} inputs ({', '.join(i.name for i in inputs)}); "
            "edgekd feeds one tensor of features"
        )
    source, from_zipmap, labels = _pick_output(model, path)
    int_labels = labels is not None and all(isinstance(v, int) for v in labels)
    if int_labels and labels != list(range(len(labels))):
        raise EdgeKDError(
            f"teacher '{path}' labels its classes {labels}; edgekd's labels are class "
            f"indices 0..{len(labels) - 1}: retrain or relabel so they match"
        )
    old = inputs[0]
    elem = old.type.tensor_type.elem_type
    if elem not in (TensorProto.FLOAT, TensorProto.DOUBLE):
        raise EdgeKDError(
            f"teacher '{path}' wants {TensorProto.DataType.Name(elem).lower()} inputs; edgekd "
            "feeds float32 features"
        )
    dims = [
        d.dim_value if d.HasField("dim_value") else None for d in old.type.tensor_type.shape.dim
    ]
    if len(dims) != input_rank + 1:
        raise EdgeKDError(
            f"teacher '{path}' takes inputs of rank {len(dims)} {_shape(dims)} but the data's "
            f"samples have rank {input_rank} plus a batch axis; the input shape must match"
        )
    new_input = helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["batch", *dims[1:]])
    if elem == TensorProto.DOUBLE:
        graph.node.insert(
            0, helper.make_node("Cast", [INPUT_NAME], [old.name], to=TensorProto.DOUBLE)
        )
    else:
        _rename(graph, old.name, INPUT_NAME)
    graph.input.remove(old)
    graph.input.insert(0, new_input)
    _prune(graph, [source])
    if source == OUTPUT_NAME:  # an already-normalized file (e.g. a run's teacher.onnx)
        source = f"{OUTPUT_NAME}_raw"
        for node in graph.node:
            node.output[:] = [source if o == OUTPUT_NAME else o for o in node.output]
            node.input[:] = [source if i == OUTPUT_NAME else i for i in node.input]
    graph.node.append(helper.make_node("Cast", [source], [OUTPUT_NAME], to=TensorProto.FLOAT))
    del graph.output[:]
    graph.output.append(
        helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", None])
    )
    del graph.value_info[:]
    return model, from_zipmap


def _shape(dims: list) -> str:
    return "(" + ", ".join("N" if d is None else str(d) for d in dims) + ")"


def _rename(graph: onnx.GraphProto, old: str, new: str) -> None:
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name == old:
                node.input[i] = new
    for out in graph.output:
        if out.name == old:
            out.name = new


def static_input_dims(model: onnx.ModelProto) -> list[int | None]:
    old = _graph_inputs(model)[0]
    return [
        d.dim_value if d.HasField("dim_value") else None for d in old.type.tensor_type.shape.dim
    ]


def _default_opset(model: onnx.ModelProto) -> int:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)


def compose_ensemble(
    members: list[onnx.ModelProto], probs: list[bool], weights: list[float]
) -> onnx.ModelProto:
    """One graph: log( sum_i w_i * p_i ), p_i = softmax(scores_i) or the member's probabilities.

    Members are normalized models (`input` -> `scores`); older default-domain opsets are
    raised to the newest member's with onnx's version converter.
    """
    from onnx import compose, version_converter

    target = max(18, *(_default_opset(m) for m in members))
    nodes, inits, opsets = [], [], {"": target}
    parts = []
    for i, m in enumerate(members):
        if _default_opset(m) != target:
            try:
                m = version_converter.convert_version(m, target)
            except Exception as e:
                raise EdgeKDError(
                    f"ensemble member {i + 1} uses ONNX opset {_default_opset(m)} and could not "
                    f"be converted to opset {target} ({first_line(e)}); re-export the members "
                    "with the same opset"
                ) from None
        for o in m.opset_import:
            if o.domain not in ("", "ai.onnx"):
                opsets[o.domain] = max(opsets.get(o.domain, 0), o.version)
        m = compose.add_prefix(m, f"m{i}_")
        _rename(m.graph, f"m{i}_{INPUT_NAME}", INPUT_NAME)
        nodes.extend(m.graph.node)
        inits.extend(m.graph.initializer)
        score = f"m{i}_{OUTPUT_NAME}"
        p = score
        if not probs[i]:
            p = f"m{i}_probs"
            nodes.append(helper.make_node("Softmax", [score], [p], axis=1))
        w = f"m{i}_weight"
        inits.append(numpy_helper.from_array(np.array(weights[i], np.float32), w))
        nodes.append(helper.make_node("Mul", [p, w], [f"m{i}_weighted"]))
        parts.append(f"m{i}_weighted")
    inits.append(numpy_helper.from_array(np.array(LOG_EPS, np.float32), "ensemble_eps"))
    nodes += [
        helper.make_node("Sum", parts, ["ensemble_probs"]),
        helper.make_node("Max", ["ensemble_probs", "ensemble_eps"], ["ensemble_clamped"]),
        helper.make_node("Log", ["ensemble_clamped"], [OUTPUT_NAME]),
    ]
    first_input = members[0].graph.input[0]
    graph = helper.make_graph(
        nodes,
        "edgekd_teacher_ensemble",
        [first_input],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", None])],
        initializer=inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid(d, v) for d, v in opsets.items()],
        producer_name="edgekd",
    )
    model.ir_version = max(m.ir_version for m in members)
    onnx.checker.check_model(model)
    return model
