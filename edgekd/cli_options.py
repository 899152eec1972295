"""click options generated from the run config's fields, so a flag is declared once: its name is
the field's flat name (`prune_ratio` -> `--prune-ratio`), its type and choices come from the
annotation, its help from the `description`. A flag not given is None (or () when repeatable):
the config file's value, or the field's default, stands.

`compress`, `search`, `bench` and `quantize` take the options they share from here; `--help`
lists them under their section (`SectionedCommand`).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from typing import Any, Literal

import click
from pydantic.fields import FieldInfo

from edgekd.config import CompressConfig, flat_name, section_types

TITLES = {
    "data": "Data",
    "teacher": "Teacher",
    "student": "Student",
    "distill": "Distillation",
    "prune": "Pruning",
    "quantize": "Quantization",
    "budget": "Budget",
    "run": "Run",
}


def _floats(_ctx, _param, value):
    if value is None:
        return None
    try:
        return [float(v) for v in value.split(",")]
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a comma-separated list of numbers") from None


def _strip_none(annotation: Any) -> list[Any]:
    """The annotation's alternatives other than None (`int | None` -> [int])."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [a for a in typing.get_args(annotation) if a is not type(None)]
    return [annotation]


def _kind(annotation: Any) -> dict[str, Any]:
    """click keyword arguments for a field's annotation."""
    options = _strip_none(annotation)
    if len(options) > 1:  # e.g. float | Literal["auto"]: parsed by the field's validator
        return {"type": str}
    (ann,) = options
    origin = typing.get_origin(ann)
    if origin is Literal:
        return {"type": click.Choice([str(v) for v in typing.get_args(ann)])}
    if origin is list:
        (item,) = typing.get_args(ann)
        return {"type": item, "multiple": True}
    return {"type": ann}


def _default_text(info: FieldInfo) -> str:
    default = info.get_default(call_default_factory=True)
    if default is None or default == []:
        return ""
    return f" [default: {str(default).lower() if isinstance(default, bool) else default}]"


def field_option(
    section: str,
    leaf: str,
    cls: type[CompressConfig] = CompressConfig,
    help: str | None = None,
    with_default: bool = False,
) -> click.Option:
    """The option of one config field. `with_default`: the field's default is the option's
    (for commands without a config file, e.g. `quantize`); otherwise None = not given."""
    model = section_types(cls)[section]
    info = model.model_fields[leaf]
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    flag = "--" + flat_name(model, leaf).replace("_", "-")
    kind: dict[str, Any] = _kind(info.annotation)
    if kind.get("type") is bool:
        decls = [f"{flag}/--no-{flag[2:]}"]
        kind = {}
    else:
        decls = [flag]
    if extra.get("comma"):
        kind = {"type": str, "callback": _floats}
    text = (help or info.description or "") + ("" if with_default else _default_text(info))
    default = info.get_default(call_default_factory=True) if with_default else None
    option = click.Option(
        decls,
        default=default,
        show_default=with_default,
        help=text,
        metavar=extra.get("metavar"),
        **kind,
    )
    option.section = section  # type: ignore[attr-defined]
    return option


def config_options(
    *refs: str,
    cls: type[CompressConfig] = CompressConfig,
    help: dict[str, str] | None = None,
    with_default: bool = False,
) -> Callable[[Callable], Callable]:
    """Decorator adding the options of `refs` (a section's name: all its fields; or
    "section.field") in declaration order. `help`: per flat name, a command's own wording."""
    help = help or {}
    sections = section_types(cls)
    pairs = []
    for ref in refs:
        name, _, leaf = ref.partition(".")
        pairs.extend((name, f) for f in ([leaf] if leaf else sections[name].model_fields))

    def add(fn: Callable) -> Callable:
        params = getattr(fn, "__click_params__", [])
        for name, leaf in reversed(pairs):  # click lists decorators' params bottom-up
            flat = flat_name(sections[name], leaf)
            params.append(field_option(name, leaf, cls, help.get(flat), with_default))
        fn.__click_params__ = params  # type: ignore[attr-defined]
        return fn

    return add


class SectionedCommand(click.Command):
    """`--help` with the generated options under their section's title, the others first."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        groups: dict[str, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None:
                title = TITLES.get(getattr(param, "section", ""), "")
                groups.setdefault(title and f"{title} options", []).append(record)
        for title, records in sorted(groups.items(), key=lambda g: g[0] != ""):
            with formatter.section(title or "Options"):
                formatter.write_dl(records)
