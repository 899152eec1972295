"""Stage `search` (kd-search): with `--temperature auto` / `--alpha auto`, a short grid search
on the validation split picks them (edgekd/distill/kd_search.py); later stages see the values
found through `ctx.with_cfg`."""

from __future__ import annotations

import copy
from dataclasses import dataclass

from torch import nn

from edgekd.config import CompressConfig
from edgekd.distill.kd_search import AUTO, KDSearch, search_kd
from edgekd.stages.base import DATA_FIELDS, STUDENT_FIELDS, TRAIN_FIELDS, StageResult, stage
from edgekd.stages.context import RunContext
from edgekd.stages.teacher import TeacherResult

FIELDS = (*DATA_FIELDS, *TRAIN_FIELDS, *STUDENT_FIELDS, "epochs", "temperature", "alpha")


def wanted(cfg: CompressConfig) -> bool:
    return AUTO in (cfg.temperature, cfg.alpha)


@dataclass
class KDSearchResult(StageResult):
    search: KDSearch

    def resolve(self, ctx: RunContext) -> RunContext:
        """The context the later stages run in: T and alpha as found."""
        return ctx.with_cfg(temperature=self.search.temperature, alpha=self.search.alpha)


@stage("search", FIELDS)
def run(ctx: RunContext, initial: nn.Module, teacher: TeacherResult) -> KDSearchResult:
    data = ctx.data
    found = search_kd(
        lambda: copy.deepcopy(initial),  # every trial starts from the same initial weights
        data.x_train,
        data.y_train,
        data.x_val,
        data.y_val,
        ctx.train_config(ctx.cfg.epochs),
        teacher=teacher.teacher,
        temperature=ctx.cfg.temperature,
        alpha=ctx.cfg.alpha,
        x_transfer=ctx.transfer,
        epochs=ctx.epochs("search"),
    )
    if hasattr(teacher.teacher, "temperature"):  # an ensemble tempers its members inside
        teacher.teacher.temperature = found.temperature
    return KDSearchResult(found)
