"""The run configuration: sections in one pydantic model, loadable from YAML/TOML, overridable
by flags (flat names).

The resolved config is saved in the run directory; loading it again reproduces the run.
"""

from __future__ import annotations

import difflib
import functools
import tomllib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edgekd.config.sections import (  # re-exported: the config's public names
    AUTO,
    LIMIT_OVERRIDES,
    RECIPE_DEFAULTS,
    BudgetSection,
    DataSection,
    DistillSection,
    PruneSection,
    QuantizeMode,
    QuantizeSection,
    RunSection,
    Section,
    StudentSection,
    TeacherSection,
)
from edgekd.errors import EdgeKDError


class CompressConfig(BaseModel):
    """Everything `edgekd compress` does, as data: one section per subsystem, each the settings
    that subsystem takes (sections.py). Flat names (`prune_ratio`) reach a field through
    `flat_fields` (the CLI, `edgekd.compress(**options)`, the search space, old config files)."""

    model_config = ConfigDict(extra="forbid")

    data: DataSection = Field(default_factory=DataSection)
    teacher: TeacherSection = Field(default_factory=TeacherSection)
    student: StudentSection = Field(default_factory=StudentSection)
    distill: DistillSection = Field(default_factory=DistillSection)
    prune: PruneSection = Field(default_factory=PruneSection)
    quantize: QuantizeSection = Field(default_factory=QuantizeSection)
    budget: BudgetSection = Field(default_factory=BudgetSection)
    run: RunSection = Field(default_factory=RunSection)

    def flat(self, name: str) -> Any:
        """The value of the field whose flat name is `name` (e.g. `prune_ratio`)."""
        section, leaf = flat_fields(type(self))[name]
        return getattr(getattr(self, section), leaf)

    def with_flat(self, **values: Any) -> CompressConfig:
        """A copy with fields set by flat name, unvalidated (like model_copy): for values
        edgekd computed itself, e.g. the T and alpha kd-search found."""
        fields = flat_fields(type(self))
        nested: dict[str, dict[str, Any]] = {}
        for key, value in values.items():  # by flat name only: a dict value is data, here
            section, leaf = fields[key]
            nested.setdefault(section, {})[leaf] = value
        update = {
            name: getattr(self, name).model_copy(update=fields) for name, fields in nested.items()
        }
        return self.model_copy(update=update)

    def flat_values(self) -> dict[str, Any]:
        """Every field by flat name (the manifest's and the search's vocabulary)."""
        return {name: self.flat(name) for name in flat_fields(type(self))}


def section_types(cls: type[CompressConfig] = CompressConfig) -> dict[str, type[Section]]:
    """The sections of a run config class, by name, in declaration order."""
    return {name: f.annotation for name, f in cls.model_fields.items()}  # type: ignore[misc]


def flat_name(section: type[Section], leaf: str) -> str:
    extra = section.model_fields[leaf].json_schema_extra
    return extra.get("flat", leaf) if isinstance(extra, dict) else leaf  # type: ignore[return-value]


@functools.cache
def flat_fields(cls: type[CompressConfig] = CompressConfig) -> dict[str, tuple[str, str]]:
    """Flat name -> (section, field), for every field of every section; a flat name used twice
    is a programming error, caught the first time the config class is used."""
    found: dict[str, tuple[str, str]] = {}
    for name, section in section_types(cls).items():
        for leaf in section.model_fields:
            key = flat_name(section, leaf)
            if key in found:
                raise TypeError(f"flat config name '{key}' names {found[key]} and {(name, leaf)}")
            found[key] = (name, leaf)
    return found


def nest(
    values: dict[str, Any], cls: type[CompressConfig] = CompressConfig
) -> tuple[dict[str, Any], list[str]]:
    """`values` with flat keys moved into their sections, and the flat keys moved. A key that
    is a section's name holding a mapping is that section; keys neither flat nor a section are
    kept, for validation to refuse with close matches."""
    sections, fields = section_types(cls), flat_fields(cls)
    nested: dict[str, Any] = {}
    moved: list[str] = []
    for key, value in values.items():
        if key in sections and isinstance(value, dict):
            nested.setdefault(key, {}).update(value)
        elif key in fields:
            section, leaf = fields[key]
            nested.setdefault(section, {})[leaf] = value
            moved.append(key)
        else:
            nested[key] = value
    return nested, moved


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Section-wise update: `over`'s fields replace `base`'s, other fields stay."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def field_refs(*refs: str) -> tuple[str, ...]:
    """Config dependencies, checked now (at import of the stage naming them): a section's name
    (`"data"`: every field it has, including fields added later) or `"section.field"`."""
    sections = section_types()
    for ref in refs:
        name, _, leaf = ref.partition(".")
        if name not in sections or (leaf and leaf not in sections[name].model_fields):
            raise TypeError(f"'{ref}' names no config section or field")
    return refs


def ref_values(cfg: CompressConfig, refs: tuple[str, ...]) -> dict[str, Any]:
    """The values `refs` name in `cfg`, by flat name (the manifest's stage records). Sections
    expand by the fields `cfg`'s own section type has."""
    values: dict[str, Any] = {}
    for ref in refs:
        name, _, leaf = ref.partition(".")
        section = getattr(cfg, name)
        for field in [leaf] if leaf else type(section).model_fields:
            values[flat_name(type(section), field)] = getattr(section, field)
    return values


def _explain(err: ValidationError, cls: type[CompressConfig]) -> str:
    """The first problem, named by the key a user writes: the flat name (`prune_ratio`), which
    is also the flag (`--prune-ratio`) and the API keyword."""
    first = err.errors()[0]
    loc = [str(p) for p in first["loc"]]
    sections, fields = section_types(cls), flat_fields(cls)
    known = loc[0] in sections and len(loc) > 1 and loc[1] in sections[loc[0]].model_fields
    key = flat_name(sections[loc[0]], loc[1]) if known else ".".join(loc)
    if first["type"] == "extra_forbidden":
        names = [*fields, *sections]
        if loc[0] in sections and len(loc) > 1:  # inside a section: its own fields first
            names = [*sections[loc[0]].model_fields, *names]
        close = difflib.get_close_matches(loc[-1], names, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f"; valid keys: {', '.join(fields)}"
        return f"unknown config key '{key}'{hint}"
    return f"config key '{key}': {first['msg']} (got {first.get('input')!r})"


class ConfigValues(dict):
    """A config file's values, and the notices a run prints about them once its inputs are all
    checked (printed earlier, they would turn a one-line error into two lines)."""

    notices: list[str]


def read_config_file(path: str | Path, cls: type[CompressConfig] = CompressConfig) -> ConfigValues:
    """A YAML/TOML config file's values, sections nested. Flat keys (config.yaml files of runs
    made before sections) are moved into their sections, with a one-line notice."""
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
    nested, moved = nest(data, cls)
    values = ConfigValues(nested)
    values.notices = []
    if moved:
        fields = flat_fields(cls)
        where = ", ".join(f"{k} -> {'.'.join(fields[k])}" for k in moved[:3])
        more = f" and {len(moved) - 3} more" if len(moved) > 3 else ""
        values.notices.append(
            f"'{path}' uses flat keys, read into their sections ({where}{more}); a new run's "
            "config.yaml shows the sectioned form"
        )
    return values


def resolve_config(path: str | Path | None = None, **overrides: Any) -> CompressConfig:
    """File values, then flags that were given (None means 'not given')."""
    return resolve_values(read_config_file(path) if path else {}, **overrides)


def resolve_values(
    values: dict[str, Any], cls: type[CompressConfig] = CompressConfig, **overrides: Any
) -> CompressConfig:
    """`values` (sections, or flat keys: a config file's, less sections other commands read),
    then the overrides that were given (flat names or sections; None and () mean not given)."""
    given = {k: v for k, v in overrides.items() if v is not None and v != ()}
    merged = merge(nest(values, cls)[0], nest(given, cls)[0])
    try:
        return cls(**merged)
    except ValidationError as e:
        raise EdgeKDError(_explain(e, cls)) from None


def dump_config(cfg: CompressConfig) -> str:
    return yaml.safe_dump(cfg.model_dump(), sort_keys=False)


__all__ = [
    "AUTO",
    "LIMIT_OVERRIDES",
    "RECIPE_DEFAULTS",
    "BudgetSection",
    "CompressConfig",
    "ConfigValues",
    "DataSection",
    "DistillSection",
    "PruneSection",
    "QuantizeMode",
    "QuantizeSection",
    "RunSection",
    "Section",
    "StudentSection",
    "TeacherSection",
    "dump_config",
    "field_refs",
    "flat_fields",
    "flat_name",
    "nest",
    "read_config_file",
    "ref_values",
    "resolve_config",
    "resolve_values",
    "section_types",
]
