"""ONNX Runtime Mobile: the `.ort` file and the operator list a reduced-size runtime build needs.

Uses onnxruntime's own converter (onnxruntime.tools.convert_onnx_models_to_ort), "Fixed"
optimization style: optimizations are baked into the file (NCHWc layout excluded, as the tool
does, so the file runs on ARM as well as x86).
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from edgekd.errors import EdgeKDError, first_line

CONFIG_NAME = "required_operators.config"


@contextlib.contextmanager
def _torch_hidden() -> Iterator[None]:
    """Import onnxruntime.tools without it importing torch.

    `onnxruntime/tools/__init__.py` imports torch whenever torch is installed (for a PyTorch
    export helper we do not use); edgekd.bench promises to import no torch. A None entry in
    sys.modules makes `find_spec("torch")` report it absent for the duration of the import.
    """
    hide = "torch" not in sys.modules
    if hide:
        sys.modules["torch"] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        if hide and sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The converter logs INFO lines and prints progress; a bench run prints its own summary."""
    logger = logging.getLogger("ort_format_model.utils")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        logger.setLevel(level)


def _tools():
    with _torch_hidden():
        from onnxruntime.tools import convert_onnx_models_to_ort as conv
        from onnxruntime.tools.ort_format_model import create_config_from_models
    return conv, create_config_from_models


def write_config(ort_paths: Sequence[str | Path], config_path: str | Path) -> Path:
    """One required_operators.config covering every given `.ort` file (one build runs all)."""
    _, create_config_from_models = _tools()
    config_path = Path(config_path)
    with _quiet():
        create_config_from_models([Path(p) for p in ort_paths], config_path, False)
    return config_path


def to_ort(onnx_path: str | Path, out_dir: str | Path) -> tuple[Path, Path]:
    """Write `<stem>.ort` and `required_operators.config` into out_dir; return both paths.

    Converted in a temporary folder first, so an interrupted or failed conversion leaves
    nothing half-written in out_dir.
    """
    conv, _ = _tools()
    src = Path(onnx_path)
    if not src.is_file():
        raise EdgeKDError(f"model file not found: {src}; pass an existing .onnx file")
    if src.suffix.lower() != ".onnx":
        raise EdgeKDError(f"{src} is not an .onnx file; only ONNX models convert to .ort")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out, prefix=".edgekd-ort-") as tmp:
        work = Path(tmp)
        log = io.StringIO()
        try:
            with contextlib.redirect_stdout(log), _quiet():
                conv.convert_onnx_models_to_ort(
                    src, output_dir=work, optimization_styles=[conv.OptimizationStyle.Fixed]
                )
        except Exception as e:
            raise EdgeKDError(
                f"onnxruntime could not convert {src} to ORT format: {first_line(e)}"
            ) from e
        made = work / f"{src.stem}.ort"
        if not made.is_file():
            raise EdgeKDError(f"onnxruntime wrote no .ort file for {src}: {log.getvalue()[-200:]}")
        ort_path, config_path = out / made.name, out / CONFIG_NAME
        made.replace(ort_path)
        # Regenerated from the final .ort so the config names the file that ships, not a temp path.
        write_config([ort_path], work / CONFIG_NAME).replace(config_path)
    return ort_path, config_path
