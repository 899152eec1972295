"""The run config's sections: each is the settings one subsystem takes, declared once.

A field's `description` is its `--help` text and its documentation; `flat` (json_schema_extra)
is its name in the flat namespace shared by the command line (`--prune-ratio`), the Python API
(`edgekd.compress(prune_ratio=0.5)`), the search space, the manifest's stage records and the
flat config.yaml files written before sections existed. A field without `flat` is named by its
own name there. Torch-free: config loads on a device that only runs `edgekd bench`.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from edgekd.config.units import check_drop_points
from edgekd.plan import DEFAULT_TIME_BUDGET, NO_TIME_BUDGET, parse_duration

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


def flat(name: str, **cli: Any) -> dict[str, Any]:
    """json_schema_extra of a field whose flat name (flag, API keyword) differs from its own;
    `cli` keys tune its option (metavar, comma=True for a comma-separated list)."""
    return {"flat": name, **cli}


class Section(BaseModel):
    """A config section: unknown keys refused, so a typo is never silently ignored."""

    model_config = ConfigDict(extra="forbid")


class DataSection(Section):
    """What load_data reads and how (edgekd/data)."""

    source: str = Field(
        "digits",
        description="Data: digits, mnist1d, shapes32:N, path.npz, path.csv, image folder, "
        "module:callable.",
        json_schema_extra=flat("data"),
    )
    label_column: str | None = Field(
        None, description="CSV label column name (default: the last column)."
    )
    # texts (data/text.py): the text column, tokens per text, the student's vocabulary
    text_column: str | None = Field(None, description="Texts: the CSV / JSON Lines column.")
    max_length: int | None = Field(
        None, ge=2, description="Texts: tokens per text (default: the 95th percentile)."
    )
    vocab_size: int | None = Field(
        None, ge=16, description="Texts: train a student WordPiece of N tokens."
    )
    tokenizer: str | None = Field(
        None, description="Texts: the teacher's tokenizer.json (default: its folder's)."
    )
    image_size: int | None = Field(None, ge=1, description="Resize images to N x N.")
    image_mean: list[float] | None = Field(
        None,
        description="Per-channel image mean after /255, e.g. 0.5,0.5,0.5.",
        json_schema_extra={"comma": True},
    )
    image_std: list[float] | None = Field(
        None,
        description="Per-channel image std after /255, e.g. 0.5,0.5,0.5.",
        json_schema_extra={"comma": True},
    )
    workers: int = Field(
        0, ge=0, description="DataLoader processes decoding streamed data (image folders)."
    )

    def loader_options(self) -> dict[str, Any]:
        """load_data's keyword arguments (everything but the spec itself)."""
        return self.model_dump(exclude={"source"})


class TeacherSection(Section):
    """What load_teacher loads and how the teacher is trained when none is given."""

    specs: list[str] = Field(
        default_factory=list,
        description="Teacher: zoo name, weights.pt/.safetensors (+ --teacher-arch), TorchScript "
        "file, model.onnx, module:callable or file.py:callable; repeat for an ensemble "
        "(none: the built-in recipe for the data's shape).",
        json_schema_extra=flat("teacher"),
    )
    epochs: int | None = Field(
        None, ge=1, description="Epochs for a teacher trained on the spot (default: planned by "
        "data size, 20 epochs and at least 400 steps).",
        json_schema_extra=flat("teacher_epochs"),
    )  # fmt: skip
    augment: str = Field(
        "none",
        description="Views a teacher trained on the spot learns through: none, auto (1-D "
        "signals: shift, stretch, scale, trend; helps shape-like series, hurts others) or a "
        "comma list as for --augment.",
        json_schema_extra=flat("teacher_augment"),
    )
    arch: list[str] = Field(
        default_factory=list,
        description="Architecture of state_dict teachers: zoo name or module:callable; one for "
        "all weights files or one per weights file.",
        json_schema_extra=flat("teacher_arch"),
    )
    output: Literal["auto", "logits", "probs"] = Field(
        "auto", description="What the teacher outputs.", json_schema_extra=flat("teacher_output")
    )
    weights: list[float] = Field(
        default_factory=list,
        description="Ensemble weight, per teacher (default equal).",
        json_schema_extra=flat("teacher_weight"),
    )
    trust_pickle: bool = Field(
        False, description="Allow unpickling a whole pickled module (runs code from the file)."
    )
    allow_weak_teacher: bool = Field(
        False, description="Distill even from a teacher near chance or below a linear model."
    )
    trust_remote_code: bool = Field(
        False, description="Texts: let a Hugging Face teacher folder run its own code."
    )

    def loader_options(self) -> dict[str, Any]:
        """load_teacher's keyword arguments (the specs and training aside)."""
        keys = {"arch", "output", "weights", "trust_pickle", "trust_remote_code"}
        return self.model_dump(include=keys)


class StudentSection(Section):
    """The student build_student makes."""

    name: str = Field(
        AUTO,
        description="Student: zoo name[:width=W], module:callable or auto (by data shape).",
        json_schema_extra=flat("student"),
    )
    width: float = Field(
        1.0, gt=0, description="Width multiplier of the student.",
        json_schema_extra=flat("student_width"),
    )  # fmt: skip
    standardize: bool | None = Field(
        None, description="Standardize inputs inside the student (default: on for tabular "
        "features).",
    )  # fmt: skip


# The distill fields the trainer's TrainConfig takes (the rest: hints, transfer, epochs).
TRAIN_OPTIONS = ("lr", "batch_size", "temperature", "alpha", "recipe", "augment", "schedule",
                 "patience")  # fmt: skip


class DistillSection(Section):
    """How the student learns from the teacher: the recipe, its loss and schedule, hints."""

    recipe: Literal["function-matching", "hinton"] = Field(
        "function-matching",
        description="function-matching (default): soft term only at T=1 on augmented views, "
        "online teacher, long cosine schedule; hinton: CE + T^2 KL, cached teacher, one-cycle, "
        "60 epochs.",
    )
    epochs: int | None = Field(
        None, ge=1, description="Distillation epochs (default: planned by data size)."
    )
    # "auto": a short grid search on the validation split (distill/kd_search.py). The saved
    # config keeps "auto" so a rerun searches again; the values chosen are in the report.
    # None: the recipe's value (RECIPE_DEFAULTS), filled in on load.
    temperature: float | Literal["auto"] | None = Field(
        None,
        description="Softmax temperature T; auto: short search on the validation split.",
        json_schema_extra={"metavar": "T|auto"},
    )
    alpha: float | Literal["auto"] | None = Field(
        None,
        description="Weight of the soft (teacher) term; auto: short search on the validation "
        "split.",
        json_schema_extra={"metavar": "A|auto"},
    )
    augment: str | None = Field(
        None,
        description="Batch augmentation fed to teacher and student alike: auto (by input rank), "
        "none, or e.g. crop,hflip,mixup | shift,stretch,scale,trend,noise,mixup | mixup,noise.",
        json_schema_extra={"metavar": "auto|none|LIST"},
    )
    schedule: Literal["cosine", "onecycle"] | None = Field(
        None, description="LR schedule (default: the recipe's)."
    )
    patience: int | None = Field(
        None, ge=1, description="Early stopping: epochs without a better val score."
    )
    lr: float = Field(3e-3, gt=0, description="Learning rate.")
    batch_size: int = Field(64, ge=1, description="Training batch size.")
    transfer: str | None = Field(
        None,
        description="Unlabelled transfer set for the soft term: mnist1d:N, path.npz (key X) or "
        "path.csv.",
    )
    hint: list[str] = Field(
        default_factory=list, description="TEACHER_LAYER:STUDENT_LAYER feature hint (FitNets)."
    )
    hint_weight: float = Field(1.0, ge=0, description="Weight of the hint (feature) loss.")

    @model_validator(mode="after")
    def _recipe_defaults(self) -> DistillSection:
        """Settings left unset take the recipe's value, so config.yaml says what ran."""
        for key, value in RECIPE_DEFAULTS[self.recipe].items():
            if getattr(self, key) is None:
                setattr(self, key, value)
        return self

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

    def train_options(self) -> dict[str, Any]:
        """The trainer's TrainConfig keywords this section holds."""
        return self.model_dump(include=set(TRAIN_OPTIONS))


class PruneSection(Section):
    """The PruneSpec (edgekd/prune) and the KD fine-tuning after each step."""

    ratio: float = Field(
        0.0, ge=0, lt=1,
        description="Fraction of channels removed, in [0, 1); 0 = no pruning.",
        json_schema_extra=flat("prune_ratio"),
    )  # fmt: skip
    method: Literal["structured", "unstructured"] = Field(
        "structured",
        description="structured (remove channels) or unstructured (zero weights).",
        json_schema_extra=flat("prune_method"),
    )
    steps: int = Field(
        1, ge=1, description="Prune + KD fine-tune in N steps.",
        json_schema_extra=flat("prune_steps"),
    )  # fmt: skip
    epochs: int | None = Field(
        None, ge=0, description="KD fine-tuning epochs after each prune step (default: half "
        "the distillation's epochs, shared by the prune steps).",
        json_schema_extra=flat("prune_epochs"),
    )  # fmt: skip
    importance: Literal["l2", "taylor"] = Field(
        "l2", description="Channel importance.", json_schema_extra=flat("prune_importance")
    )
    scope: Literal["uniform", "global"] = Field(
        "uniform",
        description="uniform (the ratio in each layer) or global (ranked across layers).",
        json_schema_extra=flat("prune_scope"),
    )

    def spec_options(self) -> dict[str, Any]:
        """PruneSpec's keyword arguments."""
        return self.model_dump(exclude={"epochs"})


class QuantizeSection(Section):
    """What choose_quantization (edgekd/quantize) is asked to try and accept."""

    mode: QuantizeMode = Field(
        "auto", description="Quantization to try.", json_schema_extra=flat("quantize")
    )
    max_accuracy_drop: float = Field(
        0.5,
        ge=0,
        le=100,
        description="Top-1 drop allowed by quantization, in percentage points (0.5 = half a "
        "point).",
    )
    format: Literal["qdq", "qoperator"] = Field(
        "qdq",
        description="int8 graph format (--quantize int8 only; auto measures both).",
        json_schema_extra=flat("quant_format"),
    )
    calibration_method: Literal["minmax", "entropy", "percentile"] = Field(
        "minmax", description="int8 calibration (--quantize int8 only; auto uses minmax)."
    )
    calibration_samples: int = Field(256, ge=1, description="Training rows used to calibrate int8.")

    @field_validator("max_accuracy_drop")
    @classmethod
    def _points(cls, v: float) -> float:
        return check_drop_points(v)


class BudgetSection(Section):
    """The device budget (edgekd/bench/budgets.py): a profile and single-limit overrides."""

    profile: str = Field(
        "iot", description="Budget profile name or TOML file.", json_schema_extra=flat("budget")
    )
    max_latency_ms: float | None = Field(
        None, gt=0, description="Override the budget's latency limit, in milliseconds."
    )
    max_memory_mb: float | None = Field(
        None, gt=0, description="Override the budget's added-memory limit, in MB."
    )
    max_size_kb: float | None = Field(
        None, gt=0, description="Override the budget's file-size limit, in KB."
    )
    min_retention: float | None = Field(
        None,
        gt=0,
        le=2,
        description="Require this accuracy retention, a ratio to the teacher (0.98 = 98%).",
    )
    target: str | None = Field(
        None,
        description="Processor class the verdict is for: host, arm64, x86-avx2, x86-vnni, "
        "cortex-m4, cortex-m7 (default: the budget profile's).",
    )
    latency_runs: int = Field(300, ge=10, description="Timed runs per measured model.")

    def overrides(self) -> dict[str, Any]:
        """load_budget's single-limit overrides."""
        return self.model_dump(include={*LIMIT_OVERRIDES})


# load_budget's overrides: the single limits, and the target class the verdict is for
LIMIT_OVERRIDES = ("max_latency_ms", "max_memory_mb", "max_size_kb", "min_retention", "target")


class RunSection(Section):
    """The run itself: where it writes, its seed and device, which optional stages run."""

    out: str = Field("runs/default", description="Run directory.")
    seed: int = Field(0, description="Random seed of data splits, models and training.")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="Training device.")
    time_budget: str | None = Field(
        DEFAULT_TIME_BUDGET,
        description="e.g. 90s, 10m, 1h: the whole run's wall time; the training plan is "
        "scaled down to fit it (a short timed probe of each model first); flags that fix "
        "epochs are kept. 'off': the plan by data size alone, however long it takes.",
        json_schema_extra=flat("time_budget", metavar="DURATION"),
    )
    baseline: bool = Field(
        False,
        description="Also train the student on hard labels alone; the report shows what KD added.",
    )
    ort: bool = Field(
        False,
        description="Also write the final artifact as an .ort file + required_operators.config "
        "(ONNX Runtime Mobile).",
    )
    resume: bool = Field(
        False,
        description="Continue the interrupted run in --out: skip its finished stages, resume "
        "training.",
    )

    @field_validator("time_budget", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> Any:
        if v is None or str(v).strip().lower() in NO_TIME_BUDGET:
            return None
        parse_duration(v)  # ValueError: "must be a duration like 90s, 10m or 1h"
        return str(v)
