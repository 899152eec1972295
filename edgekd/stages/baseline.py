"""Stage `baseline`: the same student trained on hard labels alone, from the same initial
weights, exported as student-baseline.onnx: measured beside the distilled one so the report
shows what KD bought; never the shipped model."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from edgekd.distill.baseline import baseline_summary, train_baseline, train_plain_baseline
from edgekd.distill.trainer import TrainResult
from edgekd.export import export_checked
from edgekd.heartbeat import counting_steps
from edgekd.measure import Artifact
from edgekd.plan import PLAIN_STAGE
from edgekd.stages.base import DATA, TRAIN, StageResult, stage
from edgekd.stages.context import RunContext

FIELDS = (*DATA, *TRAIN, "student", "distill.epochs", "run.baseline")


@dataclass
class BaselineResult(StageResult):
    train: TrainResult
    path: Path
    parity: Any
    epochs: int | None
    plain: dict | None = None  # the plain-scratch student (no recipe), when the recipe differs
    plain_steps: int = 0  # its optimiser steps (planned apart: edgekd/plan.py PLAIN_STAGE)

    def files(self) -> list[Path]:
        return [self.path]

    @property
    def artifact(self) -> Artifact:
        return Artifact("student-baseline", self.path, "fp32")

    def training(self) -> dict:
        """report.json `distillation.baseline_training`."""
        return baseline_summary(self.train, self.plain)


@stage("baseline", FIELDS)
def run(ctx: RunContext, initial: nn.Module) -> BaselineResult:
    data = ctx.data
    model = copy.deepcopy(initial)
    train = train_baseline(
        model,
        data.x_train,
        data.y_train,
        data.x_val,
        data.y_val,
        ctx.train_config(ctx.epochs("baseline")),
    )
    path, parity = export_checked(model, data.x_test, ctx.run_dir / "student-baseline.onnx")
    with counting_steps() as plain_steps:
        plain = train_plain_baseline(
            copy.deepcopy(initial), data, ctx.train_config(ctx.epochs(PLAIN_STAGE))
        )
    return BaselineResult(train, path, parity, ctx.epochs("baseline"), plain, plain_steps[0])
