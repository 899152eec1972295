"""`compress`: data -> teacher -> distilled student -> ONNX -> quantized -> measured -> verdict.

`run_stages` is the whole chain, one line per stage (each stage is a module of edgekd/stages/).
Every verdict is about the artifact that ships (an ONNX file run by onnxruntime), never the
PyTorch object. Inputs are validated before any training starts.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from edgekd import distributed as ddp
from edgekd.config import CompressConfig
from edgekd.objects import resolve_inputs
from edgekd.result import RunResult
from edgekd.stages import (
    baseline,
    distill,
    export,
    kd_search,
    measure,
    ort,
    prune,
    quantize,
    report,
    teacher,
)
from edgekd.stages.context import RunContext, run_directory
from edgekd.stages.inputs import RunInputs, load_inputs


def run_stages(ctx: RunContext, inputs: RunInputs) -> dict | None:
    """The chain, top to bottom. A stage's result feeds the stages after it; a stage that does
    not apply to this config is None. torchrun: every rank trains in step (ranks other than 0
    into a scratch directory); only rank 0 quantizes, measures and reports."""
    cfg, m = ctx.cfg, inputs.models
    tch = teacher.run(ctx, m.teacher)
    kd = kd_search.run(ctx, m.initial, tch) if kd_search.wanted(cfg) else None
    ctx = kd.resolve(ctx) if kd else ctx  # later stages see T and alpha as found
    student = distill.run(ctx, m.student, tch, m.hints)
    ctx = student.resolve(ctx)  # later stages train with the views distillation kept
    onnx = export.run(ctx, student)
    pruned = prune.run(ctx, student, tch) if cfg.prune.ratio > 0 else None
    fp32 = pruned or onnx  # the fp32 model that ships unless a quantized one does
    quant = quantize.run(ctx, fp32) if quantize.wanted(cfg) and ctx.main else None
    base = baseline.run(ctx, m.initial) if cfg.run.baseline else None
    if not ctx.main:
        return None
    final = quant.final if quant else fp32.name
    measured = measure.run(ctx, [tch, onnx, pruned, quant, base], final, reference=tch.reference)
    if cfg.run.ort:
        ort.run(ctx, measured)
    chain = report.Chain(tch, kd, student, onnx, pruned, quant, base, measured)
    return report.run(ctx, chain).report


def compress(
    cfg: CompressConfig | str | Path | None = None,
    console: Console | None = None,
    on_epoch: Callable[[int, float], None] | None = None,
    *,
    teacher: Any = None,
    student: Any = None,
    data: Any = None,
    transfer: Any = None,
    tokenizer: Any = None,
    **options: Any,
) -> RunResult:
    """`on_epoch(epoch, val_accuracy)`: called after each distillation epoch (may raise).

    From Python, `teacher`/`student`/`data`/`transfer` take spec strings or in-memory objects
    (edgekd/objects.py), and `options` are CompressConfig fields (`epochs=30, budget="phone"`).
    Texts: `teacher` may be a transformers model and `tokenizer` its tokenizer.
    """
    given = resolve_inputs(
        cfg, teacher=teacher, student=student, data=data, transfer=transfer, tokenizer=tokenizer,
        **options,
    )  # fmt: skip
    console = console or Console(stderr=True)
    ddp.setup(given.cfg.run.device)  # no-op unless started by torchrun (RANK/WORLD_SIZE set)
    try:
        inputs = load_inputs(given, console)  # bad input fails here: nothing is written
        with run_directory(inputs.cfg, inputs, console, on_epoch) as ctx:
            result = run_stages(ctx, inputs)
    finally:
        ddp.teardown()
    if result is None:  # a torchrun worker: trained in step with rank 0, wrote nothing
        return RunResult(Path(inputs.cfg.run.out), {}, rank=1)
    return RunResult(Path(inputs.cfg.run.out), result, student=inputs.models.student.cpu().eval())
