"""Model inputs: read names, dtypes and shapes from the session, resolve symbolic dims, build feeds.

Works from onnxruntime's own input metadata (not from the onnx package), so the memory child can
use it without importing anything beyond numpy + onnxruntime, and `.ort` files work too.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgekd.errors import EdgeKDError

ORT_DTYPES: dict[str, type] = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(int16)": np.int16,
    "tensor(int8)": np.int8,
    "tensor(uint8)": np.uint8,
    "tensor(uint16)": np.uint16,
    "tensor(bool)": np.bool_,
}

# Inputs may take this share of the memory available: the session's activations, the memory
# child's own copy and the throughput batches need the rest. Capped, because an edge model's
# inputs are kilobytes to megabytes: gigabytes mean a wrong declared shape, on any host.
INPUT_SHARE = 0.25
INPUT_CAP_MB = 2048.0  # also the limit where /proc/meminfo is missing (not Linux)
MEMINFO = "/proc/meminfo"

_SHAPE_RE = re.compile(r"^\s*([^=\s]+)\s*=\s*(\d+(?:\s*[xX,]\s*\d+)*)\s*$")


@dataclass
class ResolvedInputs:
    """Concrete shapes per input plus the notes a user should see (e.g. a symbolic dim set to 1)."""

    shapes: dict[str, tuple[int, ...]]
    dtypes: dict[str, str]
    notes: list[str] = field(default_factory=list)
    declared: dict[str, list] = field(default_factory=dict)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {n: {"shape": list(s), "dtype": self.dtypes[n]} for n, s in self.shapes.items()}


def parse_shape_specs(specs: Iterable[str] | Mapping[str, Sequence[int]] | None) -> dict:
    """`["x=1x3x32x32"]` -> `{"x": (1, 3, 32, 32)}`; a dict passes through (validated)."""
    if not specs:
        return {}
    if isinstance(specs, Mapping):
        out = {str(k): tuple(int(d) for d in v) for k, v in specs.items()}
    else:
        out = {}
        for spec in specs:
            m = _SHAPE_RE.match(spec)
            if not m:
                raise EdgeKDError(
                    f"bad --shape {spec!r}; write NAME=DIMS with positive integers, "
                    "e.g. --shape input=1x3x32x32"
                )
            out[m.group(1)] = tuple(int(d) for d in re.split(r"\s*[xX,]\s*", m.group(2)))
    for name, dims in out.items():
        if not dims or any(d <= 0 for d in dims):
            raise EdgeKDError(
                f"--shape for {name!r} has a zero or empty dimension {dims}; use positive sizes"
            )
    return out


def _dim_label(d: Any) -> str:
    return repr(d) if isinstance(d, str) else "unnamed"


def resolve_shapes(
    session_inputs: Sequence[Any],
    shapes: Mapping[str, Sequence[int]] | None = None,
    batch: int = 1,
    seq_len: int | None = None,
) -> ResolvedInputs:
    """Concrete shapes for every model input, or EdgeKDError naming the impossible one.

    Fixed dims must match a user's --shape; the first symbolic dim becomes `batch`, a symbolic
    axis 1 of an integer input becomes `seq_len` when given (token ids: the text length the
    model was built for), other symbolic dims become 1 with a note (a user fixes them with
    --shape).
    """
    if batch < 1:
        raise EdgeKDError(f"--batch must be at least 1, got {batch}")
    shapes = dict(shapes or {})
    names = [i.name for i in session_inputs]
    unknown = [n for n in shapes if n not in names]
    if unknown:
        raise EdgeKDError(
            f"--shape names input {unknown[0]!r}, which the model does not have; "
            f"its inputs are: {', '.join(names)}"
        )
    out = ResolvedInputs(shapes={}, dtypes={})
    for inp in session_inputs:
        declared = list(inp.shape or [])
        if inp.type not in ORT_DTYPES:
            raise EdgeKDError(
                f"input {inp.name!r} has type {inp.type}, which edgekd cannot generate; "
                "bench models with numeric tensor inputs"
            )
        out.dtypes[inp.name] = inp.type[len("tensor(") : -1]
        out.declared[inp.name] = declared
        if inp.name in shapes:
            given = tuple(shapes[inp.name])
            if len(given) != len(declared):
                raise EdgeKDError(
                    f"--shape {inp.name}={'x'.join(map(str, given))} has rank {len(given)} but the "
                    f"model input has rank {len(declared)} {declared}; give {len(declared)} dims"
                )
            for axis, (g, d) in enumerate(zip(given, declared, strict=True)):
                if isinstance(d, int) and d > 0 and g != d:
                    raise EdgeKDError(
                        f"--shape {inp.name}={'x'.join(map(str, given))} is impossible: "
                        f"axis {axis} is fixed to {d} in the model; use {d} there"
                    )
            if batch != 1 and declared and not (isinstance(declared[0], int) and declared[0] > 0):
                given = (batch, *given[1:])  # --batch sets a symbolic first axis
            out.shapes[inp.name] = given
            continue
        resolved = []
        for axis, d in enumerate(declared):
            if isinstance(d, int) and d > 0:
                if axis == 0 and batch != 1 and d != batch:
                    raise EdgeKDError(
                        f"input {inp.name!r} has a fixed batch of {d}; --batch {batch} is "
                        f"impossible for this model (use --batch {d} or re-export it dynamic)"
                    )
                resolved.append(d)
            elif axis == 0:
                resolved.append(batch)
                out.notes.append(
                    f"input {inp.name!r} axis 0 is symbolic ({_dim_label(d)}); using the batch, "
                    f"{batch} (set it with --batch)"
                )
            elif axis == 1 and seq_len and "int" in inp.type:
                resolved.append(seq_len)
                out.notes.append(
                    f"input {inp.name!r} axis 1 is symbolic ({_dim_label(d)}); using the model's "
                    f"sequence length, {seq_len} tokens (set it with --shape {inp.name}=...)"
                )
            else:
                resolved.append(1)
                out.notes.append(
                    f"input {inp.name!r} axis {axis} is symbolic ({_dim_label(d)}); using 1 "
                    f"(set it with --shape {inp.name}=...)"
                )
        out.shapes[inp.name] = tuple(resolved)
    return out


def available_mb() -> float | None:
    """MemAvailable from /proc/meminfo in MiB; None where the file is missing or odd."""
    try:
        with open(MEMINFO) as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def input_limit_mb(max_input_mb: float | None = None) -> tuple[float, str]:
    """(limit MiB, its source): the user's --max-input-mb, else a share of MemAvailable."""
    if max_input_mb is not None:
        if max_input_mb <= 0:
            raise EdgeKDError(f"--max-input-mb must be positive, got {max_input_mb:g}")
        return float(max_input_mb), "--max-input-mb"
    avail = available_mb()
    if avail is None or avail * INPUT_SHARE > INPUT_CAP_MB:
        return INPUT_CAP_MB, f"default: {INPUT_SHARE:.0%} of memory available, at most this"
    return avail * INPUT_SHARE, f"default: {INPUT_SHARE:.0%} of {avail:,.0f} MiB available"


def input_nbytes(resolved: ResolvedInputs) -> dict[str, int]:
    """Bytes each input will take at its resolved shape, computed without allocating it."""
    return {
        name: math.prod(shape) * np.dtype(ORT_DTYPES[f"tensor({resolved.dtypes[name]})"]).itemsize
        for name, shape in resolved.shapes.items()
    }


def check_input_bytes(resolved: ResolvedInputs, max_input_mb: float | None = None) -> None:
    """EdgeKDError naming the input that takes the inputs over the limit, before any is created.

    A model may declare an input no host can hold (`[1, 2000000000]`); drawing it anyway takes
    the machine down, and bench is meant to run on the device itself.
    """
    limit_mb, source = input_limit_mb(max_input_mb)
    total = 0
    for name, nbytes in input_nbytes(resolved).items():
        total += nbytes
        if total > limit_mb * 2**20:
            shape = "x".join(map(str, resolved.shapes[name]))
            raise EdgeKDError(
                f"input {name!r} of shape {shape} ({resolved.dtypes[name]}) needs "
                f"{nbytes:,} bytes ({nbytes / 2**20:,.1f} MiB), over the input limit of "
                f"{limit_mb:,.1f} MiB ({source}); raise it with --max-input-mb or pass a "
                "smaller --shape/--batch"
            )


def random_feeds(resolved: ResolvedInputs, seed: int = 0) -> dict[str, np.ndarray]:
    """Random data of the declared dtype: normal for floats, small non-negative ints else.

    Drawn in the input's own dtype (float16 through float32, the narrowest numpy draws), never
    in float64 then cast, so a feed costs its own bytes. Small ints keep index-like inputs
    (token ids, gather indices) in range.
    """
    rng = np.random.default_rng(seed)
    feeds = {}
    for name, shape in resolved.shapes.items():
        dtype = np.dtype(ORT_DTYPES[f"tensor({resolved.dtypes[name]})"])
        if dtype == np.float16:
            feeds[name] = rng.standard_normal(shape, dtype=np.float32).astype(dtype)
        elif np.issubdtype(dtype, np.floating):
            feeds[name] = rng.standard_normal(shape, dtype=dtype)
        elif name == "attention_mask":  # every token real: the full sequence is computed
            feeds[name] = np.ones(shape, dtype=dtype)
        else:
            feeds[name] = rng.integers(0, 2, size=shape, dtype=dtype)
    return feeds


SEQ_LEN_KEY = "edgekd.seq_len"  # ONNX metadata: a text model's default sequence length


def model_seq_len(session: Any) -> int | None:
    """The sequence length a text model was exported for (its data's 95th percentile)."""
    try:
        value = session.get_modelmeta().custom_metadata_map.get(SEQ_LEN_KEY)
    except Exception:  # sessions without metadata (or stand-ins in tests)
        return None
    return int(value) if value and str(value).isdigit() else None


def load_data(spec: str | Path) -> dict[str, np.ndarray]:
    """Arrays from `--data FILE.npz` (key `X`, or keys named like the model inputs)."""
    path = Path(spec)
    if path.suffix.lower() != ".npz":
        raise EdgeKDError(f"--data {spec}: only .npz files with a key 'X' are supported for bench")
    if not path.is_file():
        raise EdgeKDError(f"--data file not found: {spec}; pass an existing .npz with key 'X'")
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except Exception as e:  # zipfile / pickle / format errors: all mean "not a usable npz"
        raise EdgeKDError(
            f"--data {spec} is not a readable .npz ({e}); save it with np.savez"
        ) from e


def data_feeds(
    resolved: ResolvedInputs, arrays: Mapping[str, np.ndarray], batch: int
) -> dict[str, np.ndarray]:
    """Real inputs: the first `batch` rows of X (or of the array named like each input)."""
    names = list(resolved.shapes)
    feeds = {}
    for name in names:
        if name in arrays:
            x = arrays[name]
        elif "X" in arrays and len(names) == 1:
            x = arrays["X"]
        else:
            raise EdgeKDError(
                f"--data has no array for input {name!r}; store it under key 'X' (one-input "
                f"models) or under the input name (keys found: {', '.join(arrays) or 'none'})"
            )
        want = resolved.declared.get(name) or list(resolved.shapes[name])
        if x.ndim != len(want):
            raise EdgeKDError(
                f"--data array for {name!r} has shape {x.shape} but the model wants rank "
                f"{len(want)} {want}; reshape X to (N, ...) with {len(want) - 1} more axes"
            )
        if len(x) < batch:
            raise EdgeKDError(f"--data has {len(x)} rows, fewer than --batch {batch}")
        x = x[:batch]
        fixed = [(a, d) for a, d in enumerate(want) if a > 0 and isinstance(d, int) and d > 0]
        bad = [(a, d) for a, d in fixed if x.shape[a] != d]
        if bad:
            raise EdgeKDError(
                f"--data array for {name!r} has rows of shape {x.shape[1:]} but the model fixes "
                f"axis {bad[0][0]} to {bad[0][1]}; fix X to match the model input {want}"
            )
        dtype = ORT_DTYPES[f"tensor({resolved.dtypes[name]})"]
        feeds[name] = np.ascontiguousarray(x.astype(dtype, copy=False))
    return feeds


def make_feeds(
    session: Any,
    *,
    shapes: Mapping[str, Sequence[int]] | None = None,
    batch: int = 1,
    data: Mapping[str, np.ndarray] | None = None,
    seed: int = 0,
    max_input_mb: float | None = None,
) -> tuple[dict[str, np.ndarray], ResolvedInputs]:
    """Feeds for one session: real data when given, random data of the right dtype otherwise.

    Random inputs are sized first and refused above the input limit (see check_input_bytes).
    """
    resolved = resolve_shapes(session.get_inputs(), shapes, batch, model_seq_len(session))
    if data is None:
        check_input_bytes(resolved, max_input_mb)
        return random_feeds(resolved, seed), resolved
    feeds = data_feeds(resolved, data, batch)
    # The data defines the symbolic axes, so the "using 1" notes no longer apply.
    resolved.shapes = {k: tuple(v.shape) for k, v in feeds.items()}
    resolved.notes = [n for n in resolved.notes if "is symbolic" not in n]
    return feeds, resolved


# --- texts: a batch of token ids (-1 = padding) -> a text model's ONNX inputs ---------------
# Every place edgekd runs an ONNX file on data (accuracy, parity, calibration) goes through
# `onnx_feeds`, so a text model's two int64 inputs need no special case there.
IDS, MASK = "input_ids", "attention_mask"


def is_text_model(names: Sequence[str]) -> bool:
    """A model whose inputs are token ids (and an attention mask), by the usual names."""
    return IDS in names


def token_feeds(x: np.ndarray, names: Sequence[str], pad_id: int = 0) -> dict[str, np.ndarray]:
    """ids with padding set to `pad_id`, the mask 1 on tokens and 0 on padding; token_type_ids
    (BERT-style ONNX teachers) all 0."""
    x = np.asarray(x)
    mask = x >= 0
    out = {IDS: np.where(mask, x, pad_id).astype(np.int64)}
    if MASK in names:
        out[MASK] = mask.astype(np.int64)
    if "token_type_ids" in names:
        out["token_type_ids"] = np.zeros(x.shape, np.int64)
    return out


def onnx_feeds(session: Any, x: np.ndarray) -> dict[str, np.ndarray]:
    """The feed dict for an onnxruntime session: token inputs for a text model, the one float
    input otherwise."""
    names = [i.name for i in session.get_inputs()]
    if is_text_model(names):
        return token_feeds(x, names)
    return {names[0]: np.asarray(x).astype(np.float32)}
