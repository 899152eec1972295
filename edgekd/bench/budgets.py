"""Device budgets: built-in profiles, user TOML files, single-limit overrides, and the verdict.

A budget fixes how to measure (threads, batch, which latency percentile) and what must hold
(latency, added memory, file size, estimated activations, accuracy retention). A limit that is
None is not checked. The verdict's dict is the report.json "budget" contract.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from edgekd.bench.targets import PROFILE_TARGETS, TARGETS
from edgekd.errors import EdgeKDError

Percentile = Literal["p50", "p90", "p95", "p99"]


class Budget(BaseModel):
    """One device class: how to measure it and the limits an artifact must meet."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "custom"
    description: str = ""
    threads: int = Field(1, ge=1, le=256)
    batch: int = Field(1, ge=1)
    latency_percentile: Percentile = "p90"
    max_latency_ms: float | None = Field(None, gt=0)
    max_memory_mb: float | None = Field(None, gt=0)
    max_size_kb: float | None = Field(None, gt=0)
    max_activation_kb: float | None = Field(None, gt=0)
    min_retention: float | None = Field(None, gt=0, le=2)
    target: str = "host"  # the processor class the verdict is for (edgekd/bench/targets.py)

    @field_validator("target")
    @classmethod
    def _known_target(cls, v: str) -> str:
        if v not in TARGETS:
            raise ValueError(f"unknown target; use one of {', '.join(TARGETS)}")
        return v

    @property
    def latency_metric(self) -> str:
        return f"latency_{self.latency_percentile}_ms"

    def limits(self) -> dict[str, float | None]:
        return {k: getattr(self, k) for k in _LIMITS}


_LIMITS = ("max_latency_ms", "max_memory_mb", "max_size_kb", "max_activation_kb", "min_retention")
OVERRIDES = (*_LIMITS, "target")

PROFILES: dict[str, Budget] = {
    "phone": Budget(
        name="phone",
        target=PROFILE_TARGETS["phone"],
        description="mid-range Android CPU class",
        threads=4,
        max_latency_ms=20,
        max_memory_mb=100,
        max_size_kb=20 * 1024,
    ),
    "iot": Budget(
        name="iot",
        target=PROFILE_TARGETS["iot"],
        description="Raspberry-Pi-class Linux board",
        threads=1,
        max_latency_ms=50,
        max_memory_mb=32,
        max_size_kb=4 * 1024,
    ),
    "mcu": Budget(
        name="mcu",
        target=PROFILE_TARGETS["mcu"],
        description="MCUNet / MLPerf Tiny class; activations estimated from the graph",
        threads=1,
        max_latency_ms=100,
        max_activation_kb=256,
        max_size_kb=1024,
    ),
}


def list_profiles() -> list[Budget]:
    """The built-in profiles, for `edgekd profiles`."""
    return list(PROFILES.values())


def _closest(word: str, options: list[str]) -> str:
    match = difflib.get_close_matches(word, options, n=1, cutoff=0.0)
    return match[0] if match else options[0]


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ModuleNotFoundError as e:
            raise EdgeKDError(
                "reading a TOML budget needs Python 3.11+ or `pip install tomli`"
            ) from e
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise EdgeKDError(f"budget file {path} is not valid TOML ({e}); fix the syntax") from e
    except UnicodeDecodeError as e:
        raise EdgeKDError(f"budget file {path} is not a UTF-8 TOML text file") from e


def _validate(fields: dict[str, Any], source: str) -> Budget:
    valid = list(Budget.model_fields)
    for key in fields:
        if key not in Budget.model_fields:
            raise EdgeKDError(
                f"unknown budget key {key!r} in {source}; did you mean {_closest(key, valid)!r}? "
                f"(valid keys: base, {', '.join(valid)})"
            )
    try:
        return Budget(**fields)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "budget"
        raise EdgeKDError(
            f"bad budget value {where}={err.get('input')!r} in {source}: {err['msg']}"
        ) from e


def _from_toml(path: Path) -> Budget:
    data = _read_toml(path)
    if "budget" in data and isinstance(data["budget"], dict) and len(data) == 1:
        data = data["budget"]  # a [budget] table is accepted too
    base_name = data.pop("base", None)
    fields: dict[str, Any] = {}
    if base_name is not None:
        if base_name not in PROFILES:
            raise EdgeKDError(
                f"base = {base_name!r} in {path} is not a built-in profile; use one of "
                f"{', '.join(PROFILES)} (did you mean {_closest(str(base_name), list(PROFILES))!r}"
                "?)"
            )
        fields = PROFILES[base_name].model_dump()
    fields["name"] = path.stem
    fields.update(data)
    return _validate(fields, str(path))


def load_budget(spec: str | Path | None, **overrides: Any) -> Budget:
    """A budget from a profile name or a TOML path, with single limits overridden.

    Overrides whose value is None are ignored, so a CLI can pass every option straight through.
    `spec=None` starts from an empty "custom" budget (only the overrides are checked).
    """
    bad = [k for k in overrides if k not in OVERRIDES]
    if bad:
        raise EdgeKDError(
            f"unknown budget override {bad[0]!r}; "
            f"did you mean {_closest(bad[0], list(OVERRIDES))!r}?"
        )
    if spec is None or spec == "":
        budget = Budget()
    elif str(spec) in PROFILES:
        budget = PROFILES[str(spec)]
    else:
        path = Path(spec)
        if path.suffix.lower() == ".toml" or path.exists():
            if not path.is_file():
                raise EdgeKDError(
                    f"budget file not found: {path}; pass phone, iot, mcu or an existing .toml"
                )
            budget = _from_toml(path)
        else:
            raise EdgeKDError(
                f"unknown budget profile {str(spec)!r}; use one of {', '.join(PROFILES)} "
                f"(did you mean {_closest(str(spec), list(PROFILES))!r}?) or a path to a .toml file"
            )
    changes = {k: v for k, v in overrides.items() if v is not None}
    if not changes:
        return budget
    return _validate({**budget.model_dump(), **changes}, "command-line overrides")


@dataclass
class BudgetVerdict:
    """Per-limit checks and the overall verdict (ok only when every measured limit holds)."""

    profile: str
    ok: bool
    checks: list[dict[str, Any]] = field(default_factory=list)
    target: str = "host"

    @property
    def unmeasured(self) -> list[str]:
        return [c["metric"] for c in self.checks if c["ok"] is None]

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "target": self.target,
            "ok": self.ok,
            "checks": [dict(c) for c in self.checks],
        }


def _check(metric: str, limit: float, value: float | None, upper: bool) -> dict[str, Any]:
    """margin is headroom in the metric's unit: positive = met, negative = missed by that much."""
    if value is None:
        return {"metric": metric, "limit": limit, "value": None, "ok": None, "margin": None}
    margin = (limit - value) if upper else (value - limit)
    return {
        "metric": metric,
        "limit": limit,
        "value": round(float(value), 6),
        "ok": bool(margin >= 0),
        "margin": round(float(margin), 6),
    }


def check_budget(budget: Budget, metrics: dict[str, Any]) -> BudgetVerdict:
    """Compare measured metrics with the budget's limits.

    metrics keys: `latency_<pXX>_ms` (the percentile the budget names), `memory_added_mb`,
    `size_bytes`, `activation_bytes`, `retention`. A limit set but a metric missing (e.g.
    retention in `edgekd bench`) gives a check with ok=None: listed, never silently passed,
    and it does not fail the verdict on its own.
    """
    checks = []
    if budget.max_latency_ms is not None:
        metric = budget.latency_metric
        checks.append(_check(metric, budget.max_latency_ms, metrics.get(metric), upper=True))
    if budget.max_memory_mb is not None:
        value = metrics.get("memory_added_mb")
        checks.append(_check("memory_added_mb", budget.max_memory_mb, value, upper=True))
    if budget.max_size_kb is not None:
        size = metrics.get("size_bytes")
        kb = None if size is None else size / 1024
        checks.append(_check("size_kb", budget.max_size_kb, kb, upper=True))
    if budget.max_activation_kb is not None:
        act = metrics.get("activation_bytes")
        kb = None if act is None else act / 1024
        checks.append(_check("activation_kb", budget.max_activation_kb, kb, upper=True))
    if budget.min_retention is not None:
        value = metrics.get("retention")
        checks.append(_check("retention", budget.min_retention, value, upper=False))
    ok = all(c["ok"] is not False for c in checks)
    return BudgetVerdict(profile=budget.name, ok=ok, checks=checks, target=budget.target)


def metrics_from_result(result: dict[str, Any], budget: Budget) -> dict[str, Any]:
    """The check_budget metrics of one `benchmark()` result (or report.json artifact)."""
    lat = result.get("latency_ms") or {}
    mem = result.get("memory_mb") or {}
    pct = budget.latency_percentile
    return {
        budget.latency_metric: lat.get(pct),
        "memory_added_mb": mem.get("added"),
        "size_bytes": result.get("size_bytes"),
        "activation_bytes": result.get("peak_activation_bytes"),
        "retention": result.get("retention"),
    }
