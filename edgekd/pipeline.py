"""`compress`: data -> teacher -> distilled student -> ONNX -> quantized -> measured -> verdict.

Every verdict is about the artifact that ships (an ONNX file run by onnxruntime), never the
PyTorch object. Inputs are validated before any training starts.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
from rich.console import Console

from edgekd.atomic import atomic_path, write_text_atomic
from edgekd.bench.budgets import check_budget, load_budget, metrics_from_result
from edgekd.config import CompressConfig, dump_config
from edgekd.data import load_data
from edgekd.data.transfer import load_transfer
from edgekd.distill.teachers import build_teacher
from edgekd.distill.trainer import TrainConfig, fit
from edgekd.export import check_parity, export_onnx
from edgekd.manifest import Manifest
from edgekd.measure import Artifact, measure_artifacts
from edgekd.models import create_model
from edgekd.quantize import choose_quantization
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

    @property
    def ok(self) -> bool:
        return bool(self.report["budget"]["ok"])


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


def compress(cfg: CompressConfig, console: Console | None = None) -> RunResult:
    console = console or Console(stderr=True)
    budget = load_budget(
        cfg.budget,
        max_latency_ms=cfg.max_latency_ms,
        max_memory_mb=cfg.max_memory_mb,
        max_size_kb=cfg.max_size_kb,
        min_retention=cfg.min_retention,
    )
    data = load_data(cfg.data, seed=cfg.seed)
    transfer = load_transfer(cfg.transfer, data, seed=cfg.seed) if cfg.transfer else None
    torch.manual_seed(cfg.seed)
    student = create_model(cfg.student, data.input_shape, data.num_classes, width=cfg.student_width)
    run_dir = Path(cfg.out)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(run_dir / "config.yaml", dump_config(cfg))
    manifest = Manifest(run_dir, cfg.model_dump())
    try:
        report = _run(cfg, budget, data, transfer, student, run_dir, manifest, console)
    except BaseException:
        manifest.finish("interrupted")
        raise
    manifest.finish("done")
    return RunResult(run_dir, report)


def _run(cfg, budget, data, transfer, student, run_dir: Path, manifest: Manifest, console) -> dict:
    with manifest.stage("teacher") as outputs:
        teacher, teacher_info = build_teacher(
            cfg.teacher, data, _train_config(cfg, cfg.teacher_epochs), console
        )
        teacher_path = export_onnx(
            teacher, torch.from_numpy(data.x_test[:2]), run_dir / "teacher.onnx"
        )
        teacher_parity = check_parity(teacher, teacher_path, data.x_test)
        outputs(teacher_path)

    with manifest.stage("distill") as outputs:
        train = fit(
            student,
            data.x_train,
            data.y_train,
            data.x_val,
            data.y_val,
            _train_config(cfg, cfg.epochs),
            teacher=teacher,
            x_transfer=transfer,
            label=f"distill {cfg.student}",
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
    quant = None
    if cfg.quantize != "none":
        with manifest.stage("quantize") as outputs:
            quant = choose_quantization(
                student_path,
                run_dir / QUANT_FILES["fp16" if cfg.quantize == "fp16" else "int8"],
                calibration=data.x_train,
                val_x=data.x_val,
                val_y=data.y_val,
                mode=cfg.quantize,
                max_accuracy_drop=cfg.max_accuracy_drop,
                threads=1,
            )
            if quant.path is not None:
                precision = "fp16" if quant.path.name == QUANT_FILES["fp16"] else "int8"
                artifacts.append(Artifact(f"student-{precision}", quant.path, precision))
                outputs(quant.path)
    final = artifacts[-1].name

    with manifest.stage("measure"):
        threads = min(budget.threads, os.cpu_count() or 1)
        measured = measure_artifacts(
            artifacts, data, threads=threads, batch=budget.batch, runs=cfg.latency_runs
        )
        final_m = next(m for m in measured if m["name"] == final)
        verdict = check_budget(budget, metrics_from_result(final_m, budget))

    with manifest.stage("report") as outputs:
        report = build_report(
            cfg=cfg,
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
            parity={"teacher": teacher_parity.to_dict(), "student": student_parity.to_dict()},
            quantization=quant.to_dict() if quant else None,
            notes=[
                f"budget '{cfg.budget}' asks for {budget.threads} threads; this host has "
                f"{os.cpu_count()} cores, so latency was measured with {threads}"
                if threads < budget.threads
                else None
            ],
        )
        outputs(*write_reports(run_dir, report))
    print_summary(report, Console(width=None if sys.stdout.isatty() else 120))
    return report
