"""What every stage shares: a result that names its files, and the `@stage` recorder.

The decorator is the single place a stage is recorded in the manifest, and so the single place
`--resume` skips a finished stage whose fields and files match (edgekd/stages/resume.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from edgekd import distributed as ddp
from edgekd.config import field_refs, ref_values
from edgekd.heartbeat import counting_steps
from edgekd.manifest import config_hash
from edgekd.stages.resume import CHECKPOINTS

R = TypeVar("R", bound="StageResult")


class StageResult:
    """Base of every stage's result. `files()`: what the stage wrote; a later stage that takes
    this result records these files (with their sha256) as its inputs."""

    def files(self) -> list[Path]:
        return []


def config_files(values: dict[str, Any]) -> list[Path]:
    """The files and folders named by config values (a data spec, teacher files): inputs too.
    Built-in names (`digits`, `mnist1d:5000`, `module:callable`) are not paths and are skipped."""
    found = []
    for value in values.values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and item and Path(item).exists():
                found.append(Path(item))
    return found


def _needed_files(args: Iterable[Any]) -> list[Path]:
    files = []
    for arg in args:
        for item in arg if isinstance(arg, list | tuple) else [arg]:
            if isinstance(item, StageResult):
                files.extend(item.files())
    return files


FIELDS: dict[str, tuple[str, ...]] = {}  # every stage's config dependencies, by stage name


def checkpoint_path(ctx, name: str) -> Path | None:
    """Where stage `name` checkpoints its training every epoch: named by its fields' hash, so a
    run with other values never continues it. None under torchrun (other ranks could not
    follow rank 0's resumed epoch)."""
    if not ctx.main or ddp.active():
        return None
    values = ref_values(ctx.cfg, FIELDS[name])
    return ctx.run_dir / CHECKPOINTS / f"{name}-{config_hash(values)}.pt"


def stage(
    name: str,
    fields: tuple[str, ...] = (),
    restore: Callable[..., R | None] | None = None,
) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Make `run(ctx, *needs)` a recorded stage: `fields` are the config sections and fields
    its result depends on (`field_refs`; their values go into the manifest by flat name),
    `needs` the results it consumes (their files' hashes go into the manifest as its inputs,
    with the files the fields name).
    `restore(ctx, *needs)`: the result rebuilt from the files a finished run of the stage left
    (None when it cannot be), which `--resume` uses instead of running the stage again."""
    FIELDS[name] = field_refs(*fields)

    def wrap(fn: Callable[..., R]) -> Callable[..., R]:
        @functools.wraps(fn)
        def run(ctx, *needs: Any, **kwargs: Any) -> R:
            values = ref_values(ctx.cfg, fields)
            if ctx.resume is not None:
                kept = ctx.resume.kept(name, values)
                result = restore(ctx, *needs, **kwargs) if kept and restore else None
                if result is not None:
                    ctx.manifest.keep(kept)
                    ctx.resume.skipped(name)
                    ctx.console.print(f"[cyan]resumed: {name} (as the interrupted run left it)")
                    return result
                ctx.resume.redo(name)
                ctx.manifest.drop_carried()
            inputs = [*config_files(values), *_needed_files([*needs, *kwargs.values()])]
            with ctx.manifest.stage(name, fields=values, inputs=inputs) as record:
                with counting_steps() as steps:
                    result = fn(ctx, *needs, **kwargs)
                record.outputs(*result.files())
                record.steps = steps[0] if name in ctx.plan.stages else None
            return result

        run.stage_name = name  # type: ignore[attr-defined]
        run.fields = fields  # type: ignore[attr-defined]
        return run

    return wrap


# Config dependencies most stages share, named once: the data as loaded, and the training loop.
DATA = field_refs("data", "run.seed")
TRAIN = field_refs(
    "run.time_budget",  # the plan (edgekd/plan.py) scales epochs to it
    "run.device", "distill.lr", "distill.batch_size", "distill.recipe", "distill.augment",
    "distill.schedule", "distill.patience",
)  # fmt: skip
