"""Objects in: the teacher, student and data a notebook already holds, passed to `compress`.

A Python caller has its teacher as an `nn.Module` and its data as arrays; saving them to files
only for edgekd to load them back is busywork and a source of mismatches. `resolve_inputs`
splits `compress(cfg, teacher=..., student=..., data=..., **options)` into

- `cfg`: the run's CompressConfig, strings only, with each in-memory object replaced by a
  `<in-memory ...>` label (what config.yaml, messages and the report show), and
- `loading`: the same config with the objects themselves in those fields, which the loaders
  (`load_data`, `load_teacher`, `build_student`, `load_transfer`) accept beside the strings
  they always took, so an object passes exactly the checks a file does; a text tokenizer
  object is handed to the data loader beside it (`GivenInputs.tokenizer`), not in a field.

config.yaml records each object (kind, class, parameter count, sha256 of its weights or data)
under `in_memory` and says the file alone cannot replay the run; `read_config_file` refuses
such a file with that reason rather than with a confusing unknown-spec error.

This module imports no torch: objects are recognized by their classes' names.
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from edgekd.config import (
    CompressConfig,
    dump_config,
    flat_fields,
    read_config_file,
    resolve_values,
)
from edgekd.errors import EdgeKDError

IN_MEMORY_KEY = "in_memory"


def _is_a(obj: Any, module: str, name: str) -> bool:
    """isinstance by class name, so recognizing a torch/onnx object never imports them."""
    return any(c.__name__ == name and c.__module__.startswith(module) for c in type(obj).__mro__)


def is_module(obj: Any) -> bool:
    return _is_a(obj, "torch.nn", "Module")


def is_tensor(obj: Any) -> bool:
    return _is_a(obj, "torch", "Tensor")


def is_dataset(obj: Any) -> bool:
    """A torch Dataset, or anything map-style (len + getitem) that is not itself an array."""
    if _is_a(obj, "torch.utils.data", "Dataset"):
        return True
    plain = (str, bytes, dict, tuple, list, np.ndarray)
    return (
        hasattr(obj, "__getitem__")
        and hasattr(obj, "__len__")
        and not isinstance(obj, plain)
        and not is_tensor(obj)
    )


def is_onnx_model(obj: Any) -> bool:
    return _is_a(obj, "onnx", "ModelProto")


def is_ort_session(obj: Any) -> bool:
    return _is_a(obj, "onnxruntime", "InferenceSession")


def is_object(value: Any) -> bool:
    """An in-memory input (anything but a spec string or 'not given')."""
    return value is not None and not isinstance(value, str)


def kind_of(obj: Any) -> str:
    if is_module(obj):
        return "nn.Module"
    if is_onnx_model(obj):
        return "onnx.ModelProto"
    if is_ort_session(obj):
        return "onnxruntime.InferenceSession"
    if isinstance(obj, dict):
        return "dict of splits"
    if isinstance(obj, tuple | list):
        return "(X, y)"
    if is_tensor(obj) or isinstance(obj, np.ndarray):
        return "array"
    if is_dataset(obj):
        return "Dataset"
    if callable(obj):
        return "callable"
    return type(obj).__name__


def class_name(obj: Any) -> str:
    if isinstance(obj, tuple | list) and obj:
        return "/".join(dict.fromkeys(type(v).__name__ for v in obj))
    if isinstance(obj, dict):
        return "/".join(str(k) for k in obj)
    if callable(obj) and not isinstance(obj, type) and hasattr(obj, "__qualname__"):
        return obj.__qualname__  # a function: its name says more than 'function'
    return type(obj).__name__


def describe(obj: Any) -> str:
    """The label an in-memory object goes by in messages, config.yaml and the report."""
    return f"<in-memory {kind_of(obj)} {class_name(obj)}>"


def spec_label(spec: Any) -> str:
    """A spec string as it is; an object as its label (for one-line error messages)."""
    return spec if isinstance(spec, str) else describe(spec)


def ort_model_bytes(session: Any) -> bytes | None:
    """The ONNX model an InferenceSession was created from, when onnxruntime kept it.

    onnxruntime keeps the path (`_model_path`) or the bytes (`_model_bytes`) it was given;
    neither is public API, so a session without them is run as a plain callable instead.
    """
    raw = getattr(session, "_model_bytes", None)
    if raw:
        return bytes(raw)
    path = getattr(session, "_model_path", None)
    if path and Path(path).is_file():
        return Path(path).read_bytes()
    return None


# --- what config.yaml says about an object --------------------------------------------------


def _hash_arrays(arrays: list[np.ndarray]) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _module_record(module: Any) -> dict:
    import torch

    h = hashlib.sha256()
    for name, t in module.state_dict().items():
        t = t.detach().cpu().contiguous()
        h.update(f"{name}{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.flatten().view(torch.uint8).numpy().tobytes())
    return {"params": sum(p.numel() for p in module.parameters()), "sha256": h.hexdigest()}


def _onnx_record(raw: bytes) -> dict:
    import onnx

    model = onnx.load_from_string(raw)
    params = sum(int(np.prod(i.dims)) for i in model.graph.initializer)
    return {"params": params, "sha256": hashlib.sha256(raw).hexdigest()}


def record(obj: Any, data=None) -> dict:
    """kind, class, parameter count and sha256 of the weights (models) or the data read.

    `data`: the DataBundle a data object became; its arrays are what the run trained on.
    """
    row: dict[str, Any] = {"kind": kind_of(obj), "class": class_name(obj)}
    if is_module(obj):
        row.update(_module_record(obj))
    elif is_onnx_model(obj):
        row.update(_onnx_record(obj.SerializeToString()))
    elif is_ort_session(obj) and (raw := ort_model_bytes(obj)) is not None:
        row.update(_onnx_record(raw))
    elif hasattr(obj, "to_str") or hasattr(obj, "backend_tokenizer"):  # a text tokenizer
        text = getattr(obj, "backend_tokenizer", obj).to_str()
        row.update(sha256=hashlib.sha256(text.encode()).hexdigest())
    elif data is not None:
        splits = ("train", "val", "test")
        row["samples"] = {s: len(getattr(data, f"y_{s}")) for s in splits}
        row["input_shape"] = list(data.input_shape)
        row["num_classes"] = data.num_classes
        arrays = [getattr(data, f"{xy}_{s}") for s in splits for xy in "xy"]
        row["sha256"] = _hash_arrays(arrays)
    elif isinstance(obj, np.ndarray) or is_tensor(obj):  # a transfer set
        x = obj.detach().cpu().numpy() if is_tensor(obj) else obj
        row.update(samples=len(x), sha256=_hash_arrays([x]))
    else:
        row.update(params=None, sha256=None, note="a Python callable: its weights are unknown")
    return row


# --- compress(cfg, teacher=..., **options) -> configs ---------------------------------------


@dataclass
class GivenInputs:
    """The run's config (strings) and the loaders' view of it (objects in place)."""

    cfg: CompressConfig
    loading: CompressConfig
    objects: dict[str, Any] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)  # about the config file, e.g. flat keys

    @property
    def tokenizer(self) -> Any:
        """A tokenizer object given for texts (None: none, or a path, which `loading` holds).
        Not in `loading`: the data section's options are a pydantic dump, and a tokenizer in
        its str field would be serialised with a warning instead of handed over."""
        return self.objects.get("tokenizer")

    def config_yaml(self, data=None) -> str:
        """The resolved config; with in-memory objects, their records and the caveat."""
        text = dump_config(self.cfg)
        if not self.objects:
            return text
        records: dict[str, Any] = {}
        for name, obj in self.objects.items():
            if name == "teacher":
                records[name] = [record(t) for t in obj if is_object(t)]
            else:
                records[name] = record(obj, data if name == "data" else None)
        section = {
            IN_MEMORY_KEY: {
                "replayable": False,
                "note": "this run was given in-memory Python objects; this file alone cannot "
                "replay it. Pass the same objects to edgekd.compress again (the sha256 values "
                "identify them), or use this run's teacher.onnx as --teacher (written for every "
                "teacher with an ONNX graph; a plain Python callable has none).",
                **records,
            }
        }
        return text + yaml.safe_dump(section, sort_keys=False)


def _check_options(options: dict[str, Any]) -> None:
    """Options are flat field names (`epochs=30`, `prune_ratio=0.5`: the documented keyword
    API, the same names as the flags) or whole sections as mappings (`prune={"ratio": 0.5}`)."""
    fields = [*flat_fields(), *CompressConfig.model_fields]
    for name in options:
        if name not in fields:
            close = difflib.get_close_matches(name, fields, n=3, cutoff=0.5)
            hint = (
                f"close matches: {', '.join(close)}"
                if close
                else f"options are the config's flat fields: {', '.join(fields)}"
            )
            raise EdgeKDError(f"compress() got an unknown option '{name}'; {hint}")


def resolve_inputs(
    cfg: CompressConfig | str | Path | None = None,
    *,
    teacher: Any = None,
    student: Any = None,
    data: Any = None,
    transfer: Any = None,
    tokenizer: Any = None,
    **options: Any,
) -> GivenInputs:
    """Validate options by the CLI's config model, and set objects apart from strings.

    `cfg`: a CompressConfig, a config file path (as `--config`), or None (defaults).
    `teacher`: one spec or object, or a list of them (an ensemble). `tokenizer`: texts, the
    teacher's tokenizer (a path, a `tokenizers.Tokenizer` or a transformers fast tokenizer).
    """
    _check_options(options)
    if isinstance(cfg, str | Path):
        base = read_config_file(cfg)
    else:
        base = cfg.model_dump() if cfg is not None else {}
    given = {
        "teacher": teacher, "student": student, "data": data, "transfer": transfer,
        "tokenizer": tokenizer,
    }  # fmt: skip
    labels: dict[str, Any] = {}
    objects: dict[str, Any] = {}
    for name, value in given.items():
        if value is None:
            continue
        if name == "teacher":
            members = list(value) if isinstance(value, list | tuple) else [value]
            labels[name] = [spec_label(m) for m in members]
            if any(is_object(m) for m in members):
                objects[name] = members
        else:
            labels[name] = spec_label(value)
            if is_object(value):
                objects[name] = value
    run_cfg = resolve_values(base, **labels, **options)  # labels: flat names, merged per section
    # no validation: objects stay as they are; a tokenizer, read where the data section is
    # dumped whole, stays out of its str field (GivenInputs.tokenizer)
    loading = run_cfg.with_flat(**{k: v for k, v in objects.items() if k != "tokenizer"})
    return GivenInputs(run_cfg, loading, objects, getattr(base, "notices", []))
