"""One trial of `edgekd search`: its config, the size floor that skips hopeless ones, early
stopping on validation accuracy, and the Optuna objective that runs the real `compress` chain
(the same stage functions) with the trial's config and turns its report into objectives."""

from __future__ import annotations

import contextlib
import math
import os
import socket
import time
from pathlib import Path

from rich.console import Console

from edgekd.config import CompressConfig, resolve_values
from edgekd.errors import first_line
from edgekd.search.figures import constraint_values, trial_figures
from edgekd.search.space import EarlyStop, SearchSettings, suggest_all
from edgekd.search.study import SearchContext, counts


class StopTrial(Exception):
    """Raised inside training by the early-stopping hook."""


def hopeless(
    epoch: int, val_acc: float, refs: list[list[float]], stop: EarlyStop, epochs: int
) -> str | None:
    """Why a trial should stop now, or None: past the warm-up, its validation accuracy trails
    the best feasible trial's at the same epoch by more than the margin (with at least
    `min_trials` feasible trials to compare with)."""
    if stop.margin < 0 or len(refs) < stop.min_trials:
        return None
    if epoch < max(1, math.ceil(stop.warmup * epochs)):
        return None
    best = max((r[epoch - 1] for r in refs if len(r) >= epoch), default=None)
    if best is None or val_acc >= best - stop.margin:
        return None
    return (
        f"stopped at epoch {epoch}/{epochs}: validation accuracy {val_acc:.4f} trails the best "
        f"feasible trial's {best:.4f} at that epoch by more than {stop.margin:g}"
    )


def size_floor_kb(cfg: CompressConfig, data) -> float:
    """A lower bound on the shipped file's size, from the shapes alone: every conv/linear weight
    takes at least 1 byte (int8), 2 (fp16) or 4 (fp32). Exact channel counts after structured
    pruning come from pruning an untrained copy (uniform scope removes the same counts)."""
    import torch
    from torch import nn

    from edgekd.distill.students import build_student
    from edgekd.prune import prune_model
    from edgekd.stages.adapters import prune_spec

    model = build_student(
        cfg.student.name, data, width=cfg.student.width, standardize=cfg.student.standardize
    )
    if cfg.prune.ratio > 0 and cfg.prune.method == "structured" and cfg.prune.scope == "uniform":
        spec = prune_spec(cfg)
        spec = type(spec)(spec.ratio, method=spec.method, steps=spec.steps, importance="l2")
        prune_model(model, torch.from_numpy(data.x_train[:2]), spec)
    weights = sum(
        m.weight.numel()
        for m in model.modules()
        if isinstance(m, nn.Conv1d | nn.Conv2d | nn.Conv3d | nn.Linear)
    )
    per = {"none": 4, "fp16": 2}.get(cfg.quantize.mode, 1)
    return weights * per / 1024


def trial_config(
    base: CompressConfig, params: dict, settings: SearchSettings, teacher: Path, out: Path
) -> CompressConfig:
    scale = settings.epochs / (base.distill.epochs or settings.epochs)  # None: the recipe's budget
    prune = base.prune.epochs  # None: the trial's plan bounds it by the screening epochs
    return resolve_values(
        base.model_dump(),
        **params,
        teacher=[str(teacher)],
        teacher_arch=[],
        teacher_weight=[],
        teacher_output="auto",
        trust_pickle=False,
        epochs=settings.epochs,
        prune_epochs=prune and max(1, round(prune * scale)),
        time_budget=None,  # a trial trains its screening epochs; the search has --timeout
        latency_runs=settings.latency_runs,
        baseline=False,
        ort=False,
        out=str(out),
        allow_weak_teacher=True,  # the search checked its teacher once, before any trial
    )


def final_config(base: CompressConfig, params: dict, teacher: Path, out: Path) -> CompressConfig:
    """The chosen configuration trained in full: what best.yaml holds."""
    return resolve_values(
        base.model_dump(),
        **params,
        teacher=[str(teacher.resolve())],
        teacher_arch=[],
        teacher_weight=[],
        teacher_output="auto",
        trust_pickle=False,
        out=str(out),
    )


class Objective:
    def __init__(self, ctx: SearchContext):
        self.ctx = ctx

    def __call__(self, trial) -> tuple[float, float, float]:
        import optuna

        ctx = self.ctx
        study = trial.study
        trial.set_user_attr("host", socket.gethostname())
        trial.set_user_attr("pid", os.getpid())
        earlier = [
            t for t in study.get_trials(deepcopy=False) if t.number < trial.number and counts(t)
        ]
        if len(earlier) >= ctx.settings.trials:  # another worker took the last slot first
            trial.set_user_attr("surplus", True)
            study.stop()
            raise optuna.TrialPruned("the study already has its trials")
        params = suggest_all(ctx.settings.space, trial)
        trial.set_user_attr("config", params)
        run_dir = ctx.out / "trials" / f"{trial.number:04d}"
        trial.set_user_attr("run_dir", str(run_dir.relative_to(ctx.out)))
        start = time.perf_counter()
        try:
            return self._run(trial, params, run_dir)
        except KeyboardInterrupt:
            trial.set_user_attr("interrupted", True)
            raise
        except optuna.TrialPruned:
            raise
        except Exception as e:
            trial.set_user_attr("error", first_line(e, kind=True))
            raise
        finally:
            trial.set_user_attr("seconds", round(time.perf_counter() - start, 2))

    def _run(self, trial, params: dict, run_dir: Path):
        import optuna

        from edgekd.evaluate import onnx_accuracy
        from edgekd.pipeline import compress

        ctx = self.ctx
        cfg = trial_config(ctx.base, params, ctx.settings, ctx.teacher_path, run_dir)
        limit = ctx.budget.max_size_kb
        if limit is not None:
            floor = size_floor_kb(cfg, ctx.data)
            if floor > limit:  # cannot fit whatever training does: skip it, as infeasible
                trial.set_constraint("size_kb", floor / limit - 1)
                trial.set_user_attr(
                    "stopped",
                    f"not trained: its weights alone need >= {floor:.1f} KB (limit {limit:g} KB)",
                )
                trial.set_user_attr("size_floor_kb", round(floor, 3))
                raise optuna.TrialPruned()

        curve: list[float] = []
        refs = ctx.reference_curves()

        def on_epoch(epoch: int, val_acc: float) -> None:
            curve.append(round(val_acc, 6))
            why = hopeless(epoch, val_acc, refs, ctx.settings.early_stop, cfg.distill.epochs)
            if why:
                raise StopTrial(why)

        run_dir.mkdir(parents=True, exist_ok=True)
        log = run_dir / "trial.log"
        try:
            with (
                open(log, "w") as f,
                contextlib.redirect_stdout(f),
                contextlib.redirect_stderr(f),
            ):
                result = compress(cfg, console=Console(file=f, width=120), on_epoch=on_epoch)
        except StopTrial as e:
            trial.set_user_attr("val_curve", curve)
            trial.set_user_attr("stopped", str(e))
            raise optuna.TrialPruned(str(e)) from None
        finally:
            trial.set_user_attr("val_curve", curve)
        report = result.report
        final = next(a for a in report["artifacts"] if a["name"] == report["final"])
        val_acc = onnx_accuracy(run_dir / final["path"], ctx.data.x_val, ctx.data.y_val)
        figures = trial_figures(
            report,
            run_dir.relative_to(ctx.out),
            ctx.budget,
            val_acc,
            ctx.teacher_info["val_accuracy"],
        )
        quant = report.get("quantization") or {}
        figures["quantization"] = quant.get("shipped")
        trial.set_user_attr("figures", figures)
        for metric, value in constraint_values(figures["checks"]).items():
            trial.set_constraint(metric, value)
        latency = figures["latency_ms"]
        return (
            figures["val_accuracy"],
            latency if latency is not None else math.inf,
            figures["size_kb"],
        )
