"""The run context every stage receives, and the run directory's life (config.yaml, manifest,
final status). The inputs it is built from: inputs.py; config adapters: adapters.py."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from edgekd import distributed as ddp
from edgekd import runlock
from edgekd.atomic import write_text_atomic
from edgekd.bench.budgets import Budget
from edgekd.config import CompressConfig
from edgekd.data import DataBundle
from edgekd.distill.trainer import TrainConfig
from edgekd.manifest import Manifest, clear_earlier_run
from edgekd.plan import TrainingPlan
from edgekd.signals import terminate_as_interrupt
from edgekd.stages.adapters import measure_threads, train_config
from edgekd.stages.inputs import RunInputs
from edgekd.stages.resume import Resume, clear_checkpoints, start_resume
from edgekd.stages.run_tokenizer import save_tokenizer


@dataclass(frozen=True)
class RunContext:
    """What every stage may read. `cfg` is resolved (kd-search replaces an "auto" T/alpha by
    the values found); `given_cfg` is the config as given, which the report states."""

    cfg: CompressConfig
    given_cfg: CompressConfig
    run_dir: Path
    manifest: Manifest
    console: Console
    budget: Budget
    data: DataBundle
    transfer: np.ndarray | None = None
    on_epoch: Callable[[int, float], None] | None = None  # after each distillation epoch
    main: bool = True  # torchrun: ranks other than 0 train only (into a scratch directory)
    resume: Resume | None = None  # --resume: the interrupted run's finished stages
    plan: TrainingPlan = field(default_factory=lambda: TrainingPlan({}))  # epochs per stage

    def epochs(self, stage: str) -> int | None:
        """The plan's epochs for `stage` (None: the stage is not in the plan)."""
        planned = self.plan.stages.get(stage)
        return planned.epochs if planned else None

    def with_cfg(self, **update: Any) -> RunContext:
        """The context with config fields replaced by flat name (e.g. the T kd-search found)."""
        return replace(self, cfg=self.cfg.with_flat(**update))

    def train_config(self, epochs: int | None) -> TrainConfig:
        """The run's training settings; texts also carry their tokens (for text views)."""
        return replace(train_config(self.cfg, epochs), tokens=self.data.text)

    @property
    def threads(self) -> int:
        return measure_threads(self.budget)


@contextmanager
def run_directory(
    cfg: CompressConfig,
    inputs: RunInputs,
    console: Console,
    on_epoch: Callable[[int, float], None] | None = None,
) -> Iterator[RunContext]:
    """The run's context over its directory: config.yaml, a text run's tokenizer.json and the
    manifest written first, the manifest's status set to done or interrupted at the end. A
    torchrun rank other than 0 gets a scratch directory, removed afterwards."""

    def context(run_dir: Path, manifest: Manifest, resume: Resume | None = None) -> RunContext:
        return RunContext(
            cfg, cfg, run_dir, manifest, console, inputs.budget, inputs.data, inputs.transfer,
            on_epoch, main=ddp.is_main(), resume=resume, plan=inputs.plan,
        )  # fmt: skip

    if not ddp.is_main():
        scratch = Path(tempfile.mkdtemp(prefix=f"edgekd-rank{ddp.rank()}-"))
        try:
            yield context(scratch, Manifest(scratch, cfg.model_dump()))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return
    run_dir = Path(cfg.run.out)
    # One writer per directory (taken before anything is written); SIGTERM cleans up like ^C.
    with runlock.hold(run_dir), terminate_as_interrupt():
        resume = start_resume(run_dir, cfg) if cfg.run.resume else None  # refusals write nothing
        if resume is None:  # a rerun replaces the earlier run's files, never mixes
            clear_earlier_run(run_dir)
            clear_checkpoints(run_dir)
        write_text_atomic(run_dir / "config.yaml", inputs.config_text)
        run_files = save_tokenizer(run_dir, cfg, inputs.data)  # before the manifest lists files
        manifest = Manifest(run_dir, cfg.model_dump(), run_files, inputs.plan.to_dict())
        if resume is not None:
            manifest.carry(list(resume.records.values()))
        try:
            yield context(run_dir, manifest, resume)
        except BaseException:
            manifest.finish("interrupted")
            raise
        manifest.finish("done")
        clear_checkpoints(run_dir)  # done: nothing left to resume
