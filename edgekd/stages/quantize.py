"""Stage `quantize`: build the quantized candidates of the fp32 model that would ship (pruned
when pruning ran), measure them, and keep the best (edgekd/quantize/choose.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgekd.config import CompressConfig
from edgekd.measure import Artifact
from edgekd.plan import TINY_VAL
from edgekd.quantize import choose_quantization
from edgekd.quantize.choose import QuantizationChoice
from edgekd.quantize.config import compress_options, ignored_settings
from edgekd.stages.base import DATA, StageResult, stage
from edgekd.stages.context import RunContext
from edgekd.stages.export import ExportResult
from edgekd.stages.prune import PruneStageResult

FIELDS = (*DATA, "quantize", "budget.profile", "budget.max_size_kb", "budget.target")


def wanted(cfg: CompressConfig) -> bool:
    return cfg.quantize.mode != "none"


@dataclass
class QuantizeResult(StageResult):
    choice: QuantizationChoice
    source: str  # the fp32 artifact quantized ("student" or "student-pruned")
    size_note: str | None  # why candidates qualified on accuracy alone, when they did
    rows_note: str | None = None  # judged on more than the validation split: why

    @property
    def artifact(self) -> Artifact | None:
        """The quantized file written (shipped, or kept to compare), None when none was."""
        path = self.choice.written_path
        if path is None:
            return None
        precision = "fp16" if path.name.endswith(".fp16.onnx") else "int8"
        return Artifact(f"{self.source}-{precision}", path, precision)

    @property
    def final(self) -> str:
        """The artifact that ships: the quantized one, or its fp32 source."""
        kept = self.artifact
        return kept.name if kept is not None and self.choice.path is not None else self.source

    def files(self) -> list[Path]:
        return [self.choice.written_path] if self.choice.written_path else []


@stage("quantize", FIELDS)
def run(ctx: RunContext, fp32: ExportResult | PruneStageResult) -> QuantizeResult:
    cfg, budget, data = ctx.cfg, ctx.budget, ctx.data
    ignored = ignored_settings(
        cfg.quantize.mode, cfg.quantize.format, cfg.quantize.calibration_method
    )
    if ignored:
        ctx.console.print(f"[yellow]warning: {ignored}[/yellow]")
    # An fp32 file over the budget's size limit cannot ship within budget anyway, so there a
    # quantized candidate qualifies on accuracy alone, faster or not (latency is still
    # checked by the verdict).
    fp32_kb = fp32.path.stat().st_size / 1024
    speed, size_note = {}, None
    if budget.max_size_kb is not None and fp32_kb > budget.max_size_kb:
        speed = {"min_speedup": 1e-9}
        size_note = (
            f"{fp32.path.name} ({fp32_kb:.1f} KB) is over the {budget.max_size_kb:g} KB size "
            "limit, so quantized candidates qualified on accuracy alone, not on speed"
        )
    suffix = "fp16" if cfg.quantize == "fp16" else "int8"
    out = ctx.run_dir / f"{fp32.name.replace('-', '.')}.{suffix}.onnx"
    judged_x, judged_y, rows_note = judged_rows(data)
    common = dict(
        calibration=data.x_train,
        val_x=judged_x,
        val_y=judged_y,
        max_accuracy_drop=cfg.quantize.max_accuracy_drop,  # points, as everywhere
        threads=ctx.threads,  # choose at the threads the budget is judged at
        keep_best=True,  # fp32 ships? the best candidate is still measured beside it
        target=budget.target,  # host int8 timing is evidence only for the host's class
        **speed,
    )
    if data.is_text:  # token inputs: int8 of embeddings + MatMul/Gemm (quantize/text.py)
        from edgekd.quantize.text import choose_text_quantization

        samples = cfg.quantize.calibration_samples
        choice = choose_text_quantization(fp32.path, out, calibration_samples=samples, **common)
    else:
        choice = choose_quantization(
            fp32.path,
            out,
            mode=cfg.quantize.mode,
            **common,
            **compress_options(
                cfg.quantize.mode,
                cfg.quantize.format,
                cfg.quantize.calibration_method,
                cfg.quantize.calibration_samples,
            ),
        )
    if rows_note:
        choice.judged_on = f"Training + validation rows ({len(judged_y)})"
    return QuantizeResult(choice, fp32.name, size_note, rows_note)


def judged_rows(data) -> tuple[np.ndarray, np.ndarray, str | None]:
    """(x, y, note) the quantized candidates are judged on: the validation split; or, on one
    too small to judge (TINY_VAL rows: on GunPoint's 5 one row is 20 points, and a 0.5-point
    tolerance means no flip at all), the training and validation rows together. What is
    judged is the drop quantization causes in one fixed function, not how well the function
    generalizes, so the rows the float model trained on measure it as well."""
    if len(data.y_val) >= TINY_VAL:
        return data.x_val, data.y_val, None
    # a split this small comes from a small set: its training rows fit in memory
    x = np.concatenate([data.x_train[: len(data.x_train)], data.x_val[: len(data.x_val)]])
    y = np.concatenate([data.y_train, data.y_val])
    note = (
        f"quantized candidates were judged on the {len(y)} training and validation rows: the "
        f"validation split's {len(data.y_val)} are too few to judge an accuracy drop"
    )
    return x, y, note
