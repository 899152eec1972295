"""What an ONNX graph costs on paper: bytes, parameters, MACs and peak activation memory.

Counted from the graph itself (batch 1), so they are exact and host-independent, unlike latency.
Works for float models, QDQ models (weights behind DequantizeLinear) and QOperator models
(QLinearConv, QLinearMatMul, ConvInteger, MatMulInteger, com.microsoft QGemm,
DynamicQuantizeMatMul, ...): shapes onnx cannot infer past a com.microsoft op are measured by
running the graph once (edgekd.bench.observed). The counting itself lives in one module per
figure: edgekd.bench.params, .macs (a node with MACs edgekd cannot count is named in
`uncounted` and the figure is a lower bound, never a silent undercount) and .activations.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import onnx
from onnx import TensorProto

from edgekd.bench.activations import peak_activation
from edgekd.bench.macs import count_macs
from edgekd.bench.params import count_params
from edgekd.bench.shapes import Known, fix_input_dims, inferred_shapes, open_values
from edgekd.errors import EdgeKDError


@dataclass
class GraphStats:
    """Paper costs of one model file; None where the graph did not allow counting."""

    size_bytes: int
    gzip_bytes: int
    sha256: str  # of the model file itself: ties a device's measurement to this exact file
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
            "sha256": self.sha256,
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


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _ort_stats(path: Path) -> GraphStats:
    """Sizes only: `.ort` files are flatbuffers the onnx package cannot read."""
    raw, zipped = _file_sizes([path])
    return GraphStats(
        raw,
        zipped,
        _sha256(path),
        notes=[
            "ORT format: params/MACs/activations are counted from the .onnx it came from "
            "(bench that file, or pass the .onnx with --ort)"
        ],
    )


def _known_shapes(
    model: onnx.ModelProto,
    shapes: Mapping[str, Sequence[int]] | None,
    base_dir: Path,
    max_input_mb: float | None,
) -> Known:
    """Every tensor's shape at batch 1: inferred by onnx, the rest measured by one run."""
    fixed = fix_input_dims(model, shapes)
    known = inferred_shapes(fixed)
    missing = open_values(fixed, known)
    if missing:
        from edgekd.bench.observed import observe_shapes

        known.update(observe_shapes(fixed, missing, base_dir=base_dir, max_input_mb=max_input_mb))
    return known


def model_shapes(
    path: str | Path,
    shapes: Mapping[str, Sequence[int]] | None = None,
    max_input_mb: float | None = None,
) -> tuple[onnx.ModelProto, Known]:
    """An .onnx file's graph and every tensor's shape at batch 1 (for per-layer cost models)."""
    path = Path(path)
    model = load_model(path)
    return model, _known_shapes(model, shapes, path.parent, max_input_mb)


def _add_counts(stats: GraphStats, model: onnx.ModelProto, known: Known) -> None:
    """Fill params, MACs and peak activation into `stats`, with notes on what is a bound."""

    def shape_of(name: str) -> list[int] | None:
        return known.get(name, (0, None))[1]

    stats.params = count_params(model)
    stats.macs, stats.macs_by_op, uncounted = count_macs(model, shape_of)
    stats.uncounted.extend(uncounted)
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
        return _ort_stats(path)
    model = load_model(path)
    ext = _external_files(model, path.parent)
    missing = [p for p in ext if not p.is_file()]
    if missing:
        raise EdgeKDError(
            f"{path} keeps its weights in {missing[0].name}, which is missing; keep it beside "
            "the model or re-save the model as one file"
        )
    raw, zipped = _file_sizes([path, *ext])
    stats = GraphStats(raw, zipped, _sha256(path))
    if ext:
        stats.notes.append(
            f"weights live in side file(s) {', '.join(p.name for p in ext)}: sizes include them; "
            "ship one file (onnx.save with save_as_external_data=False)"
        )
    _add_counts(stats, model, _known_shapes(model, shapes, path.parent, max_input_mb))
    return stats
