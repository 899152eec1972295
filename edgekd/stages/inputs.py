"""What a run reads, loaded and checked before its directory exists: bad input leaves nothing
behind. `read_inputs` is shared by `compress` and `search` (the budget, the data, the built-in
recipes for its shape); `load_inputs` adds what compress alone needs (transfer set, models)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from rich.console import Console

from edgekd import distributed as ddp
from edgekd import runlock
from edgekd.bench.budgets import Budget
from edgekd.config import CompressConfig
from edgekd.data import DataBundle
from edgekd.data.transfer import load_transfer
from edgekd.distill.augment import resolve_augment
from edgekd.objects import GivenInputs
from edgekd.plan import TrainingPlan
from edgekd.stages.adapters import budget_of, data_of, teacher_views_of, train_config, with_recipes
from edgekd.stages.models import Models, build_models
from edgekd.stages.planning import training_plan


@dataclass
class ReadInputs:
    """The budget and data of a config, and the config with the data's built-in recipes."""

    cfg: CompressConfig  # as given, with the data's built-in teacher/student filled in
    budget: Budget
    data: DataBundle
    notes: list[str]  # what edgekd chose for the user (recipes, class numbering), to print


def read_inputs(
    cfg: CompressConfig,
    console: Console,
    loading: CompressConfig | None = None,
    tokenizer: Any = None,
):
    """`loading`: `cfg` as the loaders see it (in-memory objects in place; default `cfg`);
    `tokenizer`: texts, a tokenizer object given beside them (GivenInputs.tokenizer)."""
    budget = budget_of(cfg)
    data = data_of(
        loading or cfg,
        warn=lambda m: console.print(f"[yellow]warning: {m}[/yellow]", soft_wrap=True),
        tokenizer=tokenizer,
    )
    # a bad --augment or --teacher-augment fails before training
    resolve_augment(cfg.distill.augment, data.input_shape, text=data.is_text)
    teacher_views_of(cfg, data)
    cfg, notes = with_recipes(cfg, data)
    return ReadInputs(cfg, budget, data, notes)


def print_notes(notes: list[str], console: Console) -> None:
    for note in notes:
        console.print(f"[cyan]{note}[/cyan]", soft_wrap=True, highlight=False)


@dataclass
class RunInputs:
    """Everything a compress run reads, loaded and checked (shapes, classes, a forward pass)."""

    cfg: CompressConfig  # as given, with the data's built-in recipes filled in
    budget: Budget
    data: DataBundle
    transfer: np.ndarray | None
    models: Models
    config_text: str  # config.yaml: `cfg`, plus a record of any in-memory objects
    plan: TrainingPlan  # epochs and steps per trained stage, printed before training


def load_inputs(given: GivenInputs, console: Console) -> RunInputs:
    """`given`: the run's config and its loaders' view, in which a notebook's in-memory objects
    stand where the CLI has strings (edgekd/objects.py)."""
    cfg, loading = given.cfg, given.loading
    if ddp.is_main():
        runlock.ensure_free(cfg.run.out)  # another run writes there: say so now, not after loading
    read = read_inputs(cfg, console, loading, given.tokenizer)
    data, transfer = read.data, loading.distill.transfer
    if transfer is not None:
        transfer = load_transfer(
            transfer, data, seed=cfg.run.seed, label_column=cfg.data.label_column
        )
    chosen = {k: read.cfg.flat(k) for k in ("teacher", "student") if k not in given.objects}
    models = build_models(loading.with_flat(**chosen), data)
    print_notes([*given.notices, *read.notes], console)
    plan = training_plan(read.cfg, data, transfer, models, train_config(read.cfg, None))
    if ddp.is_main():
        console.print("\n".join(plan.lines()), soft_wrap=True, highlight=False)
    given = replace(given, cfg=read.cfg)
    text = given.config_yaml(data) + "".join(f"# {line}\n" for line in plan.lines())
    return RunInputs(read.cfg, read.budget, data, transfer, models, text, plan)
