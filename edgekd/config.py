"""The run configuration: one pydantic model, loadable from YAML/TOML, overridable by flags.

The resolved config is saved in the run directory; loading it again reproduces the run.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

import tomllib
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edgekd.errors import EdgeKDError

QuantizeMode = Literal["auto", "int8", "dynamic", "fp16", "none"]


class CompressConfig(BaseModel):
    """Everything `edgekd compress` does, as data."""

    model_config = ConfigDict(extra="forbid")

    data: str = "digits"
    transfer: str | None = Field(None, description="unlabelled transfer set, e.g. mnist1d:25000")
    teacher: list[str] = Field(default_factory=list, description="empty: built-in recipe")
    teacher_epochs: int = Field(20, ge=1)
    student: str = "dscnn"
    student_width: float = Field(1.0, gt=0)
    epochs: int = Field(60, ge=1)
    temperature: float = Field(4.0, gt=0)
    alpha: float = Field(0.9, ge=0, le=1)
    lr: float = Field(3e-3, gt=0)
    batch_size: int = Field(64, ge=1)
    quantize: QuantizeMode = "auto"
    max_accuracy_drop: float = Field(0.005, ge=0, le=1, description="fraction, 0.005 = 0.5 points")
    budget: str = "iot"
    max_latency_ms: float | None = Field(None, gt=0, description="overrides the budget's limit")
    max_memory_mb: float | None = Field(None, gt=0)
    max_size_kb: float | None = Field(None, gt=0)
    min_retention: float | None = Field(None, gt=0)
    latency_runs: int = Field(300, ge=10)
    out: str = "runs/default"
    seed: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"


def _explain(err: ValidationError, fields: list[str]) -> str:
    first = err.errors()[0]
    key = ".".join(str(p) for p in first["loc"])
    if first["type"] == "extra_forbidden":
        close = difflib.get_close_matches(key, fields, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f"; valid keys: {', '.join(fields)}"
        return f"unknown config key '{key}'{hint}"
    return f"config key '{key}': {first['msg']} (got {first.get('input')!r})"


def read_config_file(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise EdgeKDError(f"config file '{path}' not found; check the path")
    try:
        if path.suffix == ".toml":
            data = tomllib.loads(path.read_text())
        else:
            data = yaml.safe_load(path.read_text()) or {}
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as e:
        raise EdgeKDError(
            f"config file '{path}' is not valid {path.suffix[1:]}: {e}".splitlines()[0]
        ) from e
    if not isinstance(data, dict):
        raise EdgeKDError(f"config file '{path}' must hold a mapping of keys to values")
    return data


def resolve_config(path: str | Path | None = None, **overrides: Any) -> CompressConfig:
    """File values, then flags that were given (None means 'not given')."""
    values = read_config_file(path) if path else {}
    values.update({k: v for k, v in overrides.items() if v is not None and v != ()})
    try:
        return CompressConfig(**values)
    except ValidationError as e:
        raise EdgeKDError(_explain(e, list(CompressConfig.model_fields))) from None


def dump_config(cfg: CompressConfig) -> str:
    return yaml.safe_dump(cfg.model_dump(), sort_keys=False)
