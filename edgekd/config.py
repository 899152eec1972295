"""The run configuration: one pydantic model, loadable from YAML/TOML, overridable by flags.

The resolved config is saved in the run directory; loading it again reproduces the run.
"""

from __future__ import annotations

import difflib
import math
import tomllib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from edgekd.errors import EdgeKDError
from edgekd.plan import parse_duration

# The recipes' defaults, kept here (not imported from distill/) so config loads without torch.
RECIPE_DEFAULTS = {
    "function-matching": {
        "temperature": 1.0,
        "alpha": 1.0,
        "augment": "auto",
        "schedule": "cosine",
    },
    "hinton": {
        "temperature": 4.0,
        "alpha": 0.9,
        "augment": "none",
        "schedule": "onecycle",
        "epochs": 60,  # edgekd's epochs before recipes; function matching counts steps
    },
}
QuantizeMode = Literal["auto", "int8", "dynamic", "fp16", "none"]
AUTO = "auto"


class CompressConfig(BaseModel):
    """Everything `edgekd compress` does, as data."""

    model_config = ConfigDict(extra="forbid")

    data: str = "digits"
    transfer: str | None = Field(None, description="unlabelled transfer set, e.g. mnist1d:25000")
    teacher: list[str] = Field(
        default_factory=list, description="empty: the built-in recipe for the data's shape"
    )
    teacher_epochs: int | None = Field(
        None, ge=1, description="None: planned by data size (20 epochs, >= 400 steps)"
    )
    teacher_arch: list[str] = Field(
        default_factory=list,
        description="architecture of state_dict teachers: zoo name or module:callable; "
        "one for all weights files or one per weights file",
    )
    teacher_output: Literal["auto", "logits", "probs"] = "auto"
    teacher_weight: list[float] = Field(
        default_factory=list, description="ensemble weights, one per teacher (default equal)"
    )
    trust_pickle: bool = Field(False, description="allow unpickling whole-module .pt files")
    hint: list[str] = Field(
        default_factory=list, description="TEACHER_LAYER:STUDENT_LAYER feature hints (FitNets)"
    )
    hint_weight: float = Field(1.0, ge=0)
    standardize: bool | None = Field(
        None, description="standardize inputs inside the student; None: on for 1-D features"
    )
    label_column: str | None = Field(None, description="CSV label column (default: last)")
    image_size: int | None = Field(None, ge=1, description="resize images to N x N")
    image_mean: list[float] | None = Field(None, description="per-channel mean after /255")
    image_std: list[float] | None = Field(None, description="per-channel std after /255")
    workers: int = Field(0, ge=0, description="DataLoader processes reading streamed data")
    student: str = Field(AUTO, description="auto: the built-in recipe for the data's shape")
    student_width: float = Field(1.0, gt=0)
    epochs: int | None = Field(
        None, ge=1, description="None: the recipe's budget for the data size (hinton: 60)"
    )
    time_budget: str | None = Field(
        None,
        description="e.g. 90s, 10m, 1h: the training plan is scaled down to fit, from a short "
        "timed probe of each model; flags that fix epochs are kept",
    )
    # "auto": a short grid search on the validation split (distill/kd_search.py). The saved
    # config keeps "auto" so a rerun searches again; the values chosen are in the report.
    # None: the recipe's value (distill/recipe.py RECIPE_DEFAULTS), filled in on load.
    temperature: float | Literal["auto"] | None = Field(None, description="softmax T, or auto")
    alpha: float | Literal["auto"] | None = Field(
        None, description="weight of the soft term, or auto"
    )
    recipe: Literal["function-matching", "hinton"] = Field(
        "function-matching",
        description="function-matching: soft term only (T=1) on augmented inputs, online "
        "teacher, long cosine schedule; hinton: CE + T^2 KL, cached teacher, one-cycle",
    )
    augment: str | None = Field(
        None, description="auto, none or a comma list (distill/augment.py); None: the recipe's"
    )
    schedule: Literal["cosine", "onecycle"] | None = Field(None, description="None: the recipe's")
    patience: int | None = Field(
        None,
        ge=1,
        description="early stopping: epochs without a better validation accuracy "
        "(or lower loss at equal accuracy)",
    )
    allow_weak_teacher: bool = Field(
        False, description="distill even from a teacher near chance or below a linear model"
    )
    baseline: bool = Field(
        False, description="also train the student on hard labels alone, to show what KD added"
    )
    resume: bool = Field(
        False, description="continue an interrupted run in `out`, skipping its finished stages"
    )
    lr: float = Field(3e-3, gt=0)
    batch_size: int = Field(64, ge=1)
    prune_ratio: float = Field(
        0.0, ge=0, lt=1, description="structured: fraction of channels removed; 0 = no pruning"
    )
    prune_method: Literal["structured", "unstructured"] = "structured"
    prune_steps: int = Field(1, ge=1, description="prune + KD fine-tune, N times")
    prune_epochs: int | None = Field(
        None,
        ge=0,
        description="KD fine-tuning epochs after each prune step; None: half the distillation's "
        "epochs, shared by the prune steps",
    )
    prune_importance: Literal["l2", "taylor"] = "l2"
    prune_scope: Literal["uniform", "global"] = "uniform"
    quantize: QuantizeMode = "auto"
    max_accuracy_drop: float = Field(
        0.5, ge=0, le=100, description="top-1 drop allowed by quantization, in percentage points"
    )
    quant_format: Literal["qdq", "qoperator"] = Field("qdq", description="--quantize int8 only")
    calibration_method: Literal["minmax", "entropy", "percentile"] = Field(
        "minmax", description="--quantize int8 only"
    )
    calibration_samples: int = Field(256, ge=1, description="train rows used to calibrate int8")
    budget: str = "iot"
    max_latency_ms: float | None = Field(None, gt=0, description="overrides the budget's limit")
    max_memory_mb: float | None = Field(None, gt=0)
    max_size_kb: float | None = Field(None, gt=0)
    min_retention: float | None = Field(None, gt=0)
    latency_runs: int = Field(300, ge=10)
    out: str = "runs/default"
    ort: bool = Field(
        False, description="also write the final artifact as .ort + required_operators.config"
    )
    seed: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"

    @model_validator(mode="after")
    def _recipe_defaults(self) -> CompressConfig:
        """Settings left unset take the recipe's value, so config.yaml says what ran."""
        for key, value in RECIPE_DEFAULTS[self.recipe].items():
            if getattr(self, key) is None:
                setattr(self, key, value)
        return self

    @field_validator("time_budget", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> Any:
        if v is not None:
            parse_duration(v)  # ValueError: "must be a duration like 90s, 10m or 1h"
            return str(v)
        return v

    @field_validator("temperature", "alpha", mode="before")
    @classmethod
    def _number_or_auto(cls, v: Any, info: ValidationInfo) -> Any:
        if v is None:
            return None
        if isinstance(v, str) and v.strip().lower() == AUTO:
            return AUTO
        try:
            x = float(v)
        except (TypeError, ValueError):
            raise ValueError("must be a number or 'auto'") from None
        if info.field_name == "temperature" and not (math.isfinite(x) and x > 0):
            raise ValueError("must be a number > 0 or 'auto'")
        if info.field_name == "alpha" and not 0 <= x <= 1:
            raise ValueError("must be a number in [0, 1] or 'auto'")
        return x


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
    if "in_memory" in data:  # written by edgekd.compress(teacher=model, ...): see objects.py
        given = data["in_memory"] if isinstance(data["in_memory"], dict) else {}
        names = ", ".join(k for k in given if k not in ("replayable", "note"))
        raise EdgeKDError(
            f"config file '{path}' records a run given in-memory Python objects ({names}); "
            "the file alone cannot replay it: pass the objects to edgekd.compress again"
        )
    return data


def resolve_config(path: str | Path | None = None, **overrides: Any) -> CompressConfig:
    """File values, then flags that were given (None means 'not given')."""
    return resolve_values(read_config_file(path) if path else {}, **overrides)


def resolve_values(values: dict[str, Any], **overrides: Any) -> CompressConfig:
    """`values` (e.g. a config file's, less sections other commands read), then given flags."""
    values = {**values, **{k: v for k, v in overrides.items() if v is not None and v != ()}}
    try:
        return CompressConfig(**values)
    except ValidationError as e:
        raise EdgeKDError(_explain(e, list(CompressConfig.model_fields))) from None


def dump_config(cfg: CompressConfig) -> str:
    return yaml.safe_dump(cfg.model_dump(), sort_keys=False)
