"""Turning the strings a user types into Python objects, safely and with one-line errors.

- `module:callable` and `path/to/file.py:callable` resolve to a callable (`resolve_callable`).
- Weight files load without unpickling arbitrary objects: `.safetensors` through safetensors,
  `.pt`/`.pth` through `torch.load(weights_only=True)`; a whole pickled module needs an explicit
  `trust_pickle=True` (`--trust-pickle`), and the refusal says so.
- TorchScript archives load through `torch.jit.load`, which runs TorchScript code only.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.util
import inspect
import re
import sys
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from edgekd.errors import EdgeKDError, first_line

_MODULE_RE = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")
_ATTR_RE = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")
WEIGHT_SUFFIXES = {".pt", ".pth", ".bin", ".ckpt"}
TORCHSCRIPT_SUFFIXES = {".ts", ".torchscript", ".jit"}


def is_callable_spec(spec: str) -> bool:
    """`pkg.mod:fn` or `some/file.py:fn` (the callable part may be dotted: `mod:Class.make`)."""
    left, sep, right = spec.rpartition(":")
    if not sep or not _ATTR_RE.match(right):
        return False
    return left.endswith(".py") or bool(_MODULE_RE.match(left))


def _import_file(path: Path):
    if not path.is_file():
        raise EdgeKDError(f"python file '{path}' not found; check the path")
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]
    name = f"_edgekd_user_{path.stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    # Let the file import its neighbours, as `python file.py` would.
    sys.path.insert(0, str(path.parent.resolve()))
    try:
        spec.loader.exec_module(module)
    except BaseException as e:
        sys.modules.pop(name, None)
        if isinstance(e, KeyboardInterrupt | SystemExit):
            raise
        raise EdgeKDError(
            f"importing '{path}' raised {first_line(e, kind=True)}; "
            f"fix the file (run `python {path}`)"
        ) from None
    finally:
        sys.path.remove(str(path.parent.resolve()))
    return module


def _import_module(name: str):
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name and (name == e.name or name.startswith(f"{e.name}.")):
            raise EdgeKDError(
                f"module '{name}' not found; install it, or run from the folder that holds it, "
                "or give a file path instead (path/to/file.py:callable)"
            ) from None
        raise EdgeKDError(f"importing module '{name}' raised {first_line(e, kind=True)}") from None
    except Exception as e:
        raise EdgeKDError(f"importing module '{name}' raised {first_line(e, kind=True)}") from None


def resolve_callable(spec: str, what: str = "spec") -> Callable[..., Any]:
    """Import `module:callable` or `file.py:callable` and return the callable."""
    if not is_callable_spec(spec):
        raise EdgeKDError(
            f"{what} '{spec}' is not of the form module:callable or path/to/file.py:callable"
        )
    left, _, attr = spec.rpartition(":")
    module = _import_file(Path(left)) if left.endswith(".py") else _import_module(left)
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            names = [n for n in dir(obj) if not n.startswith("_")]
            close = difflib.get_close_matches(part, names, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise EdgeKDError(f"{what} '{spec}': '{left}' has no attribute '{part}'{hint}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise EdgeKDError(f"{what} '{spec}' names a {type(obj).__name__}, not a callable")
    return obj


def call_with_known_args(fn: Callable[..., Any], spec: str, what: str, **known: Any) -> Any:
    """Call `fn` with those of `known` (input_shape, num_classes, width...) it accepts by name.

    A factory `def make(input_shape, num_classes)` gets both; `def make()` gets none.
    """
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        params = {}
    takes_kwargs = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    kwargs = {k: v for k, v in known.items() if takes_kwargs or k in params}
    try:
        return fn(**kwargs)
    except EdgeKDError:
        raise
    except Exception as e:
        raise EdgeKDError(
            f"{what} '{spec}' raised {first_line(e, kind=True)} when called"
        ) from None


# --- weights ---------------------------------------------------------------------------


def is_torchscript(path: Path) -> bool:
    """TorchScript archives hold a `code/` folder; `torch.save` archives do not."""
    if path.suffix in TORCHSCRIPT_SUFFIXES:
        return True
    if not zipfile.is_zipfile(path):
        return False
    try:
        with zipfile.ZipFile(path) as z:
            return any("/code/" in n or n.endswith("constants.pkl") for n in z.namelist())
    except zipfile.BadZipFile:
        return False


def load_torchscript(path: Path, what: str = "teacher"):
    import torch

    try:
        return torch.jit.load(str(path), map_location="cpu").eval()
    except Exception as e:
        raise EdgeKDError(
            f"{what} '{path}' is not a loadable TorchScript file ({first_line(e, kind=True)}); "
            "re-save it with torch.jit.save"
        ) from None


def _unwrap_checkpoint(obj: Any) -> Any:
    """Accept {'state_dict': ...}-style checkpoints and DataParallel's 'module.' prefix."""
    import torch

    if isinstance(obj, Mapping) and not all(isinstance(v, torch.Tensor) for v in obj.values()):
        for key in ("state_dict", "model_state_dict", "model", "weights"):
            inner = obj.get(key)
            if isinstance(inner, Mapping) and inner:
                obj = inner
                break
    if isinstance(obj, Mapping) and obj and all(str(k).startswith("module.") for k in obj):
        obj = {str(k)[len("module.") :]: v for k, v in obj.items()}
    return obj


def load_weights(path: Path, *, trust_pickle: bool = False, what: str = "teacher") -> Any:
    """A state_dict (Mapping of tensors) or, only with `trust_pickle`, a pickled nn.Module."""
    import torch

    if not path.is_file():
        raise EdgeKDError(f"{what} file '{path}' not found; check the path")
    if path.suffix == ".safetensors":
        try:
            from safetensors.torch import load_file
        except ImportError:  # pragma: no cover - safetensors is a dependency
            raise EdgeKDError("reading .safetensors needs `pip install safetensors`") from None
        try:
            return load_file(str(path))
        except Exception as e:
            raise EdgeKDError(
                f"{what} '{path}' is not a valid safetensors file ({first_line(e, kind=True)})"
            ) from None
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=not trust_pickle)
    except Exception as e:
        if not trust_pickle and "weights_only" in str(e).lower():
            raise EdgeKDError(
                f"{what} '{path}' holds pickled Python objects, not a plain state_dict; edgekd "
                "never unpickles by default (unpickling runs arbitrary code): save "
                "model.state_dict() and pass --teacher-arch, or if you trust the file, "
                "pass --trust-pickle"
            ) from None
        raise EdgeKDError(
            f"{what} '{path}' could not be read by torch.load ({first_line(e, kind=True)}); "
            "is it truncated or not a PyTorch file?"
        ) from None
    return _unwrap_checkpoint(obj)


def load_state_dict_into(model, state: Mapping, *, spec: str, arch: str) -> None:
    """Strict load with a one-line explanation of what does not fit."""
    missing, unexpected = [], []
    own = model.state_dict()
    for k in own:
        if k not in state:
            missing.append(k)
    for k in state:
        if k not in own:
            unexpected.append(k)
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing[:3])}{'...' if len(missing) > 3 else ''}")
        if unexpected:
            more = "..." if len(unexpected) > 3 else ""
            parts.append(f"unexpected {', '.join(unexpected[:3])}{more}")
        raise EdgeKDError(
            f"weights '{spec}' do not fit architecture '{arch}' ({'; '.join(parts)}); "
            "check --teacher-arch and its width"
        )
    for k, v in state.items():
        if tuple(own[k].shape) != tuple(v.shape):
            raise EdgeKDError(
                f"weights '{spec}' do not fit architecture '{arch}': '{k}' is "
                f"{tuple(v.shape)} in the file but {tuple(own[k].shape)} in the model; check "
                "--teacher-arch, its width and the number of classes"
            )
    model.load_state_dict(state, strict=True)
