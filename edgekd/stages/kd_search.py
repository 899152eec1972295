"""Stage `kd-search`: with `--temperature auto` / `--alpha auto`, a short grid search
on the validation split picks them (edgekd/distill/kd_search.py); later stages see the values
found through `ctx.with_cfg`. Named apart from `edgekd search` (the budget search); manifests
written before the rename call it "search" (manifest.RENAMED_STAGES)."""

from __future__ import annotations

import copy
from dataclasses import dataclass

from torch import nn

from edgekd.config import CompressConfig
from edgekd.distill.kd_search import AUTO, KDSearch, search_kd
from edgekd.stages.base import DATA, TRAIN, StageResult, stage
from edgekd.stages.context import RunContext
from edgekd.stages.teacher import TeacherResult

NAME = "kd-search"
FIELDS = (
    *DATA, *TRAIN, "student", "distill.transfer", "distill.epochs", "distill.temperature",
    "distill.alpha",
)  # fmt: skip


def wanted(cfg: CompressConfig) -> bool:
    return AUTO in (cfg.distill.temperature, cfg.distill.alpha)


@dataclass
class KDSearchResult(StageResult):
    search: KDSearch

    def resolve(self, ctx: RunContext) -> RunContext:
        """The context the later stages run in: T and alpha as found."""
        return ctx.with_cfg(temperature=self.search.temperature, alpha=self.search.alpha)


@stage(NAME, FIELDS)
def run(ctx: RunContext, initial: nn.Module, teacher: TeacherResult) -> KDSearchResult:
    data = ctx.data
    found = search_kd(
        lambda: copy.deepcopy(initial),  # every trial starts from the same initial weights
        data.x_train,
        data.y_train,
        data.x_val,
        data.y_val,
        ctx.train_config(ctx.cfg.distill.epochs),
        teacher=teacher.teacher,
        temperature=ctx.cfg.distill.temperature,
        alpha=ctx.cfg.distill.alpha,
        x_transfer=ctx.transfer,
        epochs=ctx.epochs("kd-search"),
    )
    if hasattr(teacher.teacher, "temperature"):  # an ensemble tempers its members inside
        teacher.teacher.temperature = found.temperature
    return KDSearchResult(found)
