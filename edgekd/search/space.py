"""The search space and the search settings: defaults, the config file's `search:` section, checks.

A config file for `edgekd search` is a compress config (every key `edgekd compress` takes: the
base every trial starts from) plus an optional `search:` mapping:

    search:
      trials: 30            # trials in the study (all workers together)
      timeout: null         # seconds this worker searches before it stops asking for trials
      epochs: 15            # screening epochs per trial (the final run trains `epochs`)
      latency_runs: 50      # timed runs per artifact in a trial
      threads: 1            # torch threads while training (small students train fastest on 1)
      early_stop: {warmup: 0.5, margin: 0.05, min_trials: 4}
      enqueue:              # configurations tried first (missing keys are sampled)
        - {student: dscnn, student_width: 1.0, quantize: int8}
      space:
        student: [dscnn, cnn-tiny]                  # choices
        student_width: {low: 0.25, high: 2.0, log: true}
        temperature: [1, 8]                         # a numeric [low, high] is a range
        alpha: [0.3, 0.95]
        prune_ratio: {low: 0.0, high: 0.5, step: 0.1}
        quantize: [int8, none]                      # auto, dynamic, fp16 also allowed
        quant_format: [qdq, qoperator]              # only where quantize is int8
        lr: 0.003                                   # a single value fixes the key
        max_accuracy_drop: {choices: [0.5, 1, 2]}   # int8 accuracy guard, points

Numeric keys take `[low, high]`, `{low, high, log, step}`, `{choices: [...]}` or one value;
`student`, `quantize` and `quant_format` take a list of choices or one value.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any, get_args

from edgekd.config import QuantizeMode
from edgekd.errors import EdgeKDError

NUMERIC = {  # key -> (allowed?, how the rule reads)
    "student_width": (lambda v: v > 0, "> 0"),
    "temperature": (lambda v: v > 0, "> 0"),
    "alpha": (lambda v: 0 <= v <= 1, "in [0, 1]"),
    "prune_ratio": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "lr": (lambda v: v > 0, "> 0"),
    # the int8 accuracy guard, in points: searched because the search judges the accuracy of
    # what ships anyway, and a guard that keeps layers in float can undo a size limit
    "max_accuracy_drop": (lambda v: 0 <= v <= 100, "in [0, 100] points"),
}
CATEGORICAL = ("student", "quantize", "quant_format")
SPACE_KEYS = (*CATEGORICAL, *NUMERIC)
QUANT_FORMATS = ("qdq", "qoperator")

# Students tried by default for spatial inputs (1-D signals, images) besides the configured one.
DEFAULT_FAMILIES = ("dscnn", "cnn-tiny", "resnet-tiny")
DEFAULT_SPACE: dict[str, Any] = {
    "student_width": {"low": 0.25, "high": 2.0, "log": True},
    "temperature": {"low": 1.0, "high": 8.0},
    "alpha": {"low": 0.3, "high": 0.95},
    "prune_ratio": {"low": 0.0, "high": 0.5, "step": 0.1},
    # int8 with one fixed format ships a predictable file; "auto" ships the fastest of three
    # formats whose sizes differ by up to 1.4x, a choice a noisy host can flip between runs
    "quantize": ["int8", "none"],
    "quant_format": ["qdq", "qoperator"],  # asked only when quantize is int8
    "max_accuracy_drop": {"choices": [0.5, 1.0, 2.0]},  # asked only when quantizing
}

SETTINGS_KEYS = (
    "trials",
    "timeout",
    "epochs",
    "latency_runs",
    "threads",
    "early_stop",
    "space",
    "enqueue",
)
EARLY_STOP_KEYS = ("warmup", "margin", "min_trials")


def _close(key: str, valid: tuple[str, ...] | list[str]) -> str:
    match = difflib.get_close_matches(key, list(valid), n=1)
    return f"did you mean '{match[0]}'? " if match else ""


@dataclass(frozen=True)
class Param:
    """One dimension: a range (low..high, optional log scale or step) or a list of choices."""

    name: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple | None = None

    @property
    def fixed(self) -> bool:
        return (self.choices is not None and len(self.choices) == 1) or (
            self.choices is None and self.low == self.high
        )

    def suggest(self, trial) -> Any:
        if self.choices is not None:
            if len(self.choices) == 1:
                return self.choices[0]
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.low == self.high:
            return self.low
        value = trial.suggest_float(self.name, self.low, self.high, log=self.log, step=self.step)
        return float(f"{value:.3g}")  # what best.yaml shows is exactly what was trained

    def to_dict(self) -> dict[str, Any]:
        if self.choices is not None:
            return {"choices": list(self.choices)}
        out: dict[str, Any] = {"low": self.low, "high": self.high}
        if self.log:
            out["log"] = True
        if self.step is not None:
            out["step"] = self.step
        return out


def _number(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise EdgeKDError(f"search space '{key}': {value!r} is not a finite number")
    return float(value)


def _check_bounds(key: str, values: list[float]) -> None:
    allowed, rule = NUMERIC[key]
    for v in values:
        if not allowed(v):
            raise EdgeKDError(f"search space '{key}': {v:g} is out of bounds; it must be {rule}")


def _numeric_param(key: str, spec: Any) -> Param:
    if isinstance(spec, dict):
        unknown = [k for k in spec if k not in ("low", "high", "log", "step", "choices")]
        if unknown:
            raise EdgeKDError(
                f"search space '{key}': unknown option '{unknown[0]}'; use low, high, log, step "
                "or choices"
            )
        if "choices" in spec:
            choices = spec["choices"]
            if not isinstance(choices, list) or not choices:
                raise EdgeKDError(f"search space '{key}': empty choices; list at least one value")
            values = [_number(key, v) for v in choices]
            _check_bounds(key, values)
            return Param(key, choices=tuple(dict.fromkeys(values)))
        if "low" not in spec or "high" not in spec:
            raise EdgeKDError(f"search space '{key}': a range needs both low and high")
        low, high = _number(key, spec["low"]), _number(key, spec["high"])
        log, step = bool(spec.get("log", False)), spec.get("step")
        step = None if step is None else _number(key, step)
    elif isinstance(spec, list):
        if len(spec) != 2:
            what = "empty range" if not spec else f"{len(spec)} values"
            raise EdgeKDError(
                f"search space '{key}': {what}; give [low, high], {{choices: [...]}} or one value"
            )
        low, high = _number(key, spec[0]), _number(key, spec[1])
        log, step = False, None
    else:
        value = _number(key, spec)
        _check_bounds(key, [value])
        return Param(key, low=value, high=value)
    if low > high:
        raise EdgeKDError(
            f"search space '{key}': empty range [{low:g}, {high:g}] (low > high); swap the bounds"
        )
    _check_bounds(key, [low, high])
    if log and low <= 0:
        raise EdgeKDError(f"search space '{key}': a log range needs low > 0, got {low:g}")
    if step is not None and (step <= 0 or log):
        raise EdgeKDError(f"search space '{key}': step must be > 0 and cannot go with log")
    return Param(key, low=low, high=high, log=log, step=step)


def _categorical_param(key: str, spec: Any) -> Param:
    values = spec if isinstance(spec, list) else [spec]
    if isinstance(spec, dict):
        values = spec.get("choices")
        if set(spec) != {"choices"} or not isinstance(values, list):
            raise EdgeKDError(f"search space '{key}': give a list of choices or one value")
    if not values:
        raise EdgeKDError(f"search space '{key}': empty choices; list at least one value")
    if any(not isinstance(v, str) or not v.strip() for v in values):
        raise EdgeKDError(f"search space '{key}': choices must be non-empty strings")
    if key == "quant_format":
        bad = [v for v in values if v not in QUANT_FORMATS]
        if bad:
            raise EdgeKDError(
                f"search space 'quant_format': unknown format '{bad[0]}'; use qdq or qoperator"
            )
    if key == "quantize":
        modes = get_args(QuantizeMode)
        bad = [v for v in values if v not in modes]
        if bad:
            raise EdgeKDError(
                f"search space 'quantize': unknown mode '{bad[0]}'; {_close(bad[0], modes)}"
                f"use {', '.join(modes)}"
            )
    return Param(key, choices=tuple(dict.fromkeys(values)))


def suggest_all(space: dict[str, Param], trial) -> dict[str, Any]:
    """One configuration; `quant_format` and `max_accuracy_drop` only where they mean something
    (quantize int8, and any quantization)."""
    params: dict[str, Any] = {}
    for name, param in space.items():
        if name == "quant_format" and params.get("quantize") != "int8":
            continue
        if name == "max_accuracy_drop" and params.get("quantize") == "none":
            continue
        params[name] = param.suggest(trial)
    return params


@dataclass
class EarlyStop:
    """Stop a trial whose validation accuracy, after `warmup` of its epochs (a fraction), trails
    the best feasible trial's at the same epoch by more than `margin`; needs `min_trials`
    feasible trials to compare with. margin < 0 turns it off."""

    warmup: float = 0.5
    margin: float = 0.05
    min_trials: int = 4


@dataclass
class SearchSettings:
    trials: int = 30
    timeout: float | None = None
    epochs: int = 15
    latency_runs: int = 50
    threads: int = 1
    enqueue: list = None  # type: ignore[assignment]
    early_stop: EarlyStop = None  # type: ignore[assignment]
    space: dict[str, Param] = None  # type: ignore[assignment]
    notices: tuple[str, ...] = ()  # about the config file (flat keys), printed before the study

    def space_dict(self) -> dict[str, Any]:
        return {k: p.to_dict() for k, p in self.space.items()}

    def fingerprint(self, base: dict[str, Any], budget: dict[str, Any]) -> str:
        """What a study must keep between workers and resumes (not trials/timeout)."""
        blob = {
            "base": base,
            "budget": budget,
            "epochs": self.epochs,
            "latency_runs": self.latency_runs,
            "early_stop": self.early_stop.__dict__,
            "space": self.space_dict(),
            "enqueue": self.enqueue,
        }
        return hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()[:16]


def _parse_enqueue(raw: Any, space: dict[str, Param]) -> list[dict[str, Any]]:
    """Configurations to try first: partial mappings over the space's keys."""
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(x, dict) for x in raw):
        raise EdgeKDError("search setting 'enqueue' must be a list of mappings (key: value)")
    out = []
    for item in raw:
        for key, value in item.items():
            if key not in SPACE_KEYS:
                raise EdgeKDError(
                    f"unknown search-space key '{key}' in 'enqueue'; {_close(str(key), SPACE_KEYS)}"
                    f"valid keys: {', '.join(SPACE_KEYS)}"
                )
            param = space[key]
            if key in CATEGORICAL:
                if value not in param.choices:
                    raise EdgeKDError(
                        f"search setting 'enqueue': {key} '{value}' is not among the space's "
                        f"choices ({', '.join(map(str, param.choices))})"
                    )
            else:
                _check_bounds(key, [_number(key, value)])
        out.append(dict(item))
    return out


def _int_setting(key: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise EdgeKDError(f"search setting '{key}': must be an integer >= {low}, got {value!r}")
    return value


def parse_space(raw: Any, *, base_student: str) -> dict[str, Param]:
    """Defaults merged with the file's `space:` mapping; every value checked."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise EdgeKDError("search 'space' must be a mapping of keys to ranges or choices")
    for key in raw:
        if key not in SPACE_KEYS:
            raise EdgeKDError(
                f"unknown search-space key '{key}'; {_close(str(key), SPACE_KEYS)}"
                f"valid keys: {', '.join(SPACE_KEYS)}"
            )
    merged: dict[str, Any] = {"student": [base_student], **DEFAULT_SPACE, **raw}
    space = {}
    for key, spec in merged.items():
        space[key] = (
            _categorical_param(key, spec) if key in CATEGORICAL else _numeric_param(key, spec)
        )
    return space


def parse_settings(
    raw: Any,
    *,
    base_student: str,
    trials: int | None = None,
    timeout: float | None = None,
    epochs: int | None = None,
) -> tuple[SearchSettings, bool]:
    """The `search:` section plus command-line overrides. Returns (settings, student_given):
    whether the file names the student families (else the defaults may add some)."""
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise EdgeKDError("the config file's 'search' must be a mapping (trials, epochs, space...)")
    for key in raw:
        if key not in SETTINGS_KEYS:
            raise EdgeKDError(
                f"unknown search setting '{key}'; {_close(str(key), SETTINGS_KEYS)}"
                f"valid keys: {', '.join(SETTINGS_KEYS)} (search-space keys go under 'space')"
            )
    stop_raw = raw.get("early_stop") or {}
    if not isinstance(stop_raw, dict):
        raise EdgeKDError("search setting 'early_stop' must be a mapping (warmup, margin, ...)")
    for key in stop_raw:
        if key not in EARLY_STOP_KEYS:
            raise EdgeKDError(
                f"unknown early_stop key '{key}'; {_close(str(key), EARLY_STOP_KEYS)}"
                f"valid keys: {', '.join(EARLY_STOP_KEYS)}"
            )
    stop = EarlyStop(
        warmup=_number("early_stop.warmup", stop_raw.get("warmup", EarlyStop.warmup)),
        margin=_number("early_stop.margin", stop_raw.get("margin", EarlyStop.margin)),
        min_trials=_int_setting(
            "early_stop.min_trials", stop_raw.get("min_trials", EarlyStop.min_trials), 1
        ),
    )
    if not 0 <= stop.warmup <= 1:
        raise EdgeKDError("search setting 'early_stop.warmup' is a fraction of epochs in [0, 1]")
    trials = raw.get("trials", SearchSettings.trials) if trials is None else trials
    timeout = raw.get("timeout") if timeout is None else timeout
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0
    ):
        raise EdgeKDError(f"search setting 'timeout': must be seconds > 0, got {timeout!r}")
    space_raw = raw.get("space")
    space = parse_space(space_raw, base_student=base_student)
    settings = SearchSettings(
        trials=_int_setting("trials", trials, 1),
        timeout=None if timeout is None else float(timeout),
        epochs=_int_setting(
            "epochs", raw.get("epochs", SearchSettings.epochs) if epochs is None else epochs, 1
        ),
        latency_runs=_int_setting(
            "latency_runs", raw.get("latency_runs", SearchSettings.latency_runs), 10
        ),
        threads=_int_setting("threads", raw.get("threads", SearchSettings.threads), 1),
        early_stop=stop,
        space=space,
        enqueue=_parse_enqueue(raw.get("enqueue"), space),
    )
    return settings, isinstance(space_raw, dict) and "student" in space_raw
