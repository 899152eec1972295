"""`compress`: data -> teacher -> distilled student -> ONNX -> quantized -> measured -> verdict.

Every verdict is about the artifact that ships (an ONNX file run by onnxruntime), never the
PyTorch object. Inputs are validated before any training starts.
"""

from __future__ import annotations

import contextlib
import copy
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from rich.console import Console

from edgekd import distributed as ddp
from edgekd.atomic import atomic_path, write_text_atomic
from edgekd.bench.budgets import check_budget, load_budget, metrics_from_result
from edgekd.bench.ort_format import to_ort
from edgekd.config import CompressConfig, dump_config
from edgekd.data import load_data
from edgekd.data.transfer import load_transfer
from edgekd.distill.baseline import report_section, train_baseline
from edgekd.distill.hints import build_hints
from edgekd.distill.kd_search import AUTO, search_kd
from edgekd.distill.logit_cache import LogitCache
from edgekd.distill.students import build_student, inner_model
from edgekd.distill.teachers import load_teacher, prepare_teacher
from edgekd.distill.trainer import TrainConfig, fit
from edgekd.export import check_parity, export_onnx
from edgekd.manifest import Manifest
from edgekd.measure import Artifact, measure_artifacts
from edgekd.prune import PruneSpec, check_prunable, prune_and_export, report_notes
from edgekd.quantize import choose_quantization
from edgekd.quantize.config import compress_options, ignored_settings
from edgekd.report import build_report, print_summary, write_reports

QUANT_FILES = {
    "int8": "student.int8.onnx",
    "dynamic": "student.int8.onnx",
    "fp16": "student.fp16.onnx",
}


@dataclass
class RunResult:
    run_dir: Path
    report: dict
    rank: int = 0  # torchrun: ranks other than 0 only train (report {}, nothing written)

    @property
    def ok(self) -> bool:
        return True if self.rank else bool(self.report["budget"]["ok"])


def _train_config(cfg: CompressConfig, epochs: int) -> TrainConfig:
    return TrainConfig(
        epochs=epochs,
        lr=cfg.lr,
        batch_size=cfg.batch_size,
        temperature=cfg.temperature,
        alpha=cfg.alpha,
        seed=cfg.seed,
        device=cfg.device,
    )


def _prune_spec(cfg: CompressConfig) -> PruneSpec:
    return PruneSpec(
        cfg.prune_ratio,
        method=cfg.prune_method,
        steps=cfg.prune_steps,
        importance=cfg.prune_importance,
        scope=cfg.prune_scope,
    )


def budget_of(cfg: CompressConfig):
    """The config's budget profile with its single-limit overrides applied."""
    return load_budget(
        cfg.budget,
        max_latency_ms=cfg.max_latency_ms,
        max_memory_mb=cfg.max_memory_mb,
        max_size_kb=cfg.max_size_kb,
        min_retention=cfg.min_retention,
    )


def data_of(cfg: CompressConfig, warn: Callable[[str], None] | None = None):
    """The config's data spec with its loading options, validated."""
    return load_data(
        cfg.data,
        seed=cfg.seed,
        label_column=cfg.label_column,
        image_size=cfg.image_size,
        image_mean=cfg.image_mean,
        image_std=cfg.image_std,
        warn=warn,
        workers=cfg.workers,
    )


def teacher_of(cfg: CompressConfig, data):
    """The config's teacher spec(s), loaded and checked against the data (not yet trained)."""
    return load_teacher(
        cfg.teacher,
        data,
        arch=cfg.teacher_arch,
        output=cfg.teacher_output,
        weights=cfg.teacher_weight,
        trust_pickle=cfg.trust_pickle,
        temperature=cfg.temperature,
    )


def measure_threads(budget) -> int:
    """The budget's thread count, capped by this host's cores (oversubscribing only adds noise)."""
    return min(budget.threads, os.cpu_count() or 1)


def compress(
    cfg: CompressConfig,
    console: Console | None = None,
    on_epoch: Callable[[int, float], None] | None = None,
) -> RunResult:
    """`on_epoch(epoch, val_accuracy)`: called after each distillation epoch (may raise)."""
    console = console or Console(stderr=True)
    ddp.setup(cfg.device)  # no-op unless started by torchrun (RANK/WORLD_SIZE set)
    budget = budget_of(cfg)
    # Every input is loaded and checked (shapes, classes, a forward pass) before the run
    # directory exists: bad input leaves nothing behind.
    data = data_of(
        cfg, warn=lambda m: console.print(f"[yellow]warning: {m}[/yellow]", soft_wrap=True)
    )
    transfer = (
        load_transfer(cfg.transfer, data, seed=cfg.seed, label_column=cfg.label_column)
        if cfg.transfer
        else None
    )
    torch.manual_seed(cfg.seed)
    student = build_student(cfg.student, data, width=cfg.student_width, standardize=cfg.standardize)
    teacher = teacher_of(cfg, data)
    hints = build_hints(cfg.hint, teacher, inner_model(student), cfg.hint_weight, data.x_train)
    if cfg.prune_ratio > 0:  # a model pruning cannot handle fails here, before any training
        check_prunable(student, torch.from_numpy(data.x_test[:2]), _prune_spec(cfg))
    if not ddp.is_main():  # a torchrun worker: train in step with rank 0, write nothing
        scratch = Path(tempfile.mkdtemp(prefix=f"edgekd-rank{ddp.rank()}-"))
        try:
            manifest = Manifest(scratch, cfg.model_dump())
            _run(cfg, budget, data, transfer, student, scratch, manifest, console, teacher, hints)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
            ddp.teardown()
        return RunResult(Path(cfg.out), {}, rank=1)
    run_dir = Path(cfg.out)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(run_dir / "config.yaml", dump_config(cfg))
    manifest = Manifest(run_dir, cfg.model_dump())
    try:
        report = _run(
            cfg, budget, data, transfer, student, run_dir, manifest, console, teacher, hints,
            on_epoch,
        )  # fmt: skip
    except BaseException:
        manifest.finish("interrupted")
        raise
    finally:
        ddp.teardown()
    manifest.finish("done")
    return RunResult(run_dir, report)


def _run(
    cfg,
    budget,
    data,
    transfer,
    student,
    run_dir: Path,
    manifest: Manifest,
    console,
    teacher,
    hints,
    on_epoch=None,
) -> dict | None:
    # torchrun: every rank runs the training stages in step (other ranks into a scratch
    # directory); only rank 0 quantizes, measures and reports.
    main = ddp.is_main()
    with manifest.stage("teacher") as outputs:
        teacher_info = prepare_teacher(
            teacher, data, _train_config(cfg, cfg.teacher_epochs), console
        )
        # torch: export + parity; ONNX: normalized copy; ensemble: members composed in one graph
        teacher_path, teacher_parity = teacher.export(run_dir / "teacher.onnx", data)
        outputs(teacher_path)

    # The baseline and every T/alpha search trial start from the student's initial weights.
    initial = copy.deepcopy(student)
    run_cfg, search = cfg, None  # run_cfg keeps any "auto": the report's config is the file's
    if AUTO in (cfg.temperature, cfg.alpha):
        with manifest.stage("search"):
            search = search_kd(
                lambda: copy.deepcopy(initial),
                data.x_train,
                data.y_train,
                data.x_val,
                data.y_val,
                _train_config(cfg, cfg.epochs),
                teacher=teacher,
                temperature=cfg.temperature,
                alpha=cfg.alpha,
                x_transfer=transfer,
            )
        cfg = cfg.model_copy(update={"temperature": search.temperature, "alpha": search.alpha})
        if hasattr(teacher, "temperature"):  # an ensemble tempers its members inside
            teacher.temperature = search.temperature

    with (
        manifest.stage("distill") as outputs,
        hints.attached() if hints else contextlib.nullcontext(),
    ):
        train = fit(
            student,
            data.x_train,
            data.y_train,
            data.x_val,
            data.y_val,
            _train_config(cfg, cfg.epochs),
            teacher=teacher,
            x_transfer=transfer,
            hint_loss=hints,
            label=f"distill {cfg.student}",
            on_epoch=on_epoch,
            logit_cache=LogitCache(run_dir / "teacher_logits.npy", teacher_path),
        )
        with atomic_path(run_dir / "student.pt") as tmp:
            torch.save(student.state_dict(), tmp)
        outputs(run_dir / "student.pt")

    with manifest.stage("export") as outputs:
        student_path = export_onnx(
            student, torch.from_numpy(data.x_test[:2]), run_dir / "student.onnx"
        )
        student_parity = check_parity(student, student_path, data.x_test)
        outputs(student_path)

    artifacts = [
        Artifact("teacher", teacher_path, "fp32"),
        Artifact("student", student_path, "fp32"),
    ]
    pruned, source, stem = None, student_path, "student"
    if cfg.prune_ratio > 0:
        with manifest.stage("prune") as outputs:
            pruned = prune_and_export(
                student,
                data,
                _prune_spec(cfg),
                _train_config(cfg, cfg.prune_epochs),
                run_dir,
                epochs=cfg.prune_epochs,
                teacher=teacher,
                x_transfer=transfer,
            )
            outputs(pruned.checkpoint, pruned.onnx_path)
        artifacts.append(Artifact("student-pruned", pruned.onnx_path, "fp32"))
        source, stem = pruned.onnx_path, "student-pruned"  # quantize the pruned model
    quant = size_note = None
    if cfg.quantize != "none" and main:
        ignored = ignored_settings(cfg.quantize, cfg.quant_format, cfg.calibration_method)
        if ignored:
            console.print(f"[yellow]warning: {ignored}[/yellow]")
        # An fp32 file over the budget's size limit cannot ship within budget anyway, so there a
        # quantized candidate qualifies on accuracy alone, faster or not (latency is still
        # checked by the verdict).
        fp32_kb = source.stat().st_size / 1024
        speed = {}
        if budget.max_size_kb is not None and fp32_kb > budget.max_size_kb:
            speed = {"min_speedup": 1e-9}
            size_note = (
                f"{source.name} ({fp32_kb:.1f} KB) is over the {budget.max_size_kb:g} KB size "
                "limit, so quantized candidates qualified on accuracy alone, not on speed"
            )
        with manifest.stage("quantize") as outputs:
            quant = choose_quantization(
                source,
                run_dir
                / QUANT_FILES["fp16" if cfg.quantize == "fp16" else "int8"].replace(
                    "student", stem.replace("-", "."), 1
                ),
                calibration=data.x_train,
                val_x=data.x_val,
                val_y=data.y_val,
                mode=cfg.quantize,
                max_accuracy_drop=cfg.max_accuracy_drop / 100,  # config: points; API: fraction
                threads=measure_threads(budget),  # choose at the threads the budget is judged at
                keep_best=True,  # fp32 ships? the best candidate is still measured beside it
                **speed,
                **compress_options(
                    cfg.quantize, cfg.quant_format, cfg.calibration_method, cfg.calibration_samples
                ),
            )
            if quant.written_path is not None:
                path = quant.written_path
                precision = "fp16" if path.name.endswith(".fp16.onnx") else "int8"
                artifacts.append(Artifact(f"{stem}-{precision}", path, precision))
                outputs(path)
    final = artifacts[-1].name if quant is None or quant.path is not None else stem

    baseline_train = baseline_parity = None
    if cfg.baseline:  # the same student on hard labels alone: measured, never the final one
        with manifest.stage("baseline") as outputs:
            baseline = copy.deepcopy(initial)
            baseline_train = train_baseline(
                baseline,
                data.x_train,
                data.y_train,
                data.x_val,
                data.y_val,
                _train_config(cfg, cfg.epochs),
            )
            baseline_path = export_onnx(
                baseline, torch.from_numpy(data.x_test[:2]), run_dir / "student-baseline.onnx"
            )
            baseline_parity = check_parity(baseline, baseline_path, data.x_test)
            outputs(baseline_path)
        artifacts.append(Artifact("student-baseline", baseline_path, "fp32"))
    if not main:
        return None

    with manifest.stage("measure"):
        threads = measure_threads(budget)
        measured = measure_artifacts(
            artifacts, data, threads=threads, batch=budget.batch, runs=cfg.latency_runs
        )
        final_m = next(m for m in measured if m["name"] == final)
        verdict = check_budget(budget, metrics_from_result(final_m, budget))

    if cfg.ort:  # ONNX Runtime Mobile: the shipped model as .ort + the operators a build needs
        with manifest.stage("ort") as outputs:
            final_path = next(a.path for a in artifacts if a.name == final)
            ort_path, ort_config = to_ort(final_path, run_dir)
            final_m.update(
                ort_path=ort_path.name,
                ort_config=ort_config.name,
                ort_size_bytes=ort_path.stat().st_size,
            )
            outputs(ort_path, ort_config)

    with manifest.stage("report") as outputs:
        report = build_report(
            cfg=run_cfg,
            artifacts=measured,
            final=final,
            budget=verdict.to_dict(),
            training={
                "teacher": teacher_info.__dict__,
                "student": {
                    "best_val_accuracy": train.best_val_accuracy,
                    "best_epoch": train.best_epoch,
                    "seconds": round(train.seconds, 2),
                },
            },
            parity={
                "teacher": teacher_parity,
                "student": student_parity.to_dict(),
                **({"student-pruned": pruned.parity.to_dict()} if pruned else {}),
                **({"student-baseline": baseline_parity.to_dict()} if baseline_parity else {}),
            },
            quantization=quant.to_dict() if quant else None,
            pruning=pruned.to_dict() if pruned else None,
            distillation=report_section(
                {m["name"]: m["accuracy"] for m in measured},
                test_samples=len(data.y_test),
                temperature=cfg.temperature,
                alpha=cfg.alpha,
                transfer=cfg.transfer,
                data=cfg.data,
                search=search.to_dict() if search else None,
                baseline_training={
                    "epochs": cfg.epochs,
                    "best_val_accuracy": baseline_train.best_val_accuracy,
                    "best_epoch": baseline_train.best_epoch,
                    "seconds": round(baseline_train.seconds, 2),
                }
                if baseline_train
                else None,
            ),
            notes=[
                f"budget '{cfg.budget}' asks for {budget.threads} threads; this host has "
                f"{os.cpu_count()} cores, so latency was measured with {threads}"
                if threads < budget.threads
                else None,
                *(report_notes(pruned.to_dict(), measured) if pruned else []),
                size_note,
            ],
        )
        outputs(*write_reports(run_dir, report))
    print_summary(report, Console(width=None if sys.stdout.isatty() else 120))
    return report
