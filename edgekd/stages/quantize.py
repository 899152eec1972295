"""Stage `quantize`: build the quantized candidates of the fp32 model that would ship (pruned
when pruning ran), measure them, and keep the best (edgekd/quantize/choose.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgekd.config import CompressConfig
from edgekd.measure import Artifact
from edgekd.quantize import choose_quantization
from edgekd.quantize.choose import QuantizationChoice
from edgekd.quantize.config import compress_options, ignored_settings
from edgekd.stages.base import DATA, StageResult, stage
from edgekd.stages.context import RunContext
from edgekd.stages.export import ExportResult
from edgekd.stages.prune import PruneStageResult

FIELDS = (*DATA, "quantize", "budget.profile", "budget.max_size_kb")


def wanted(cfg: CompressConfig) -> bool:
    return cfg.quantize.mode != "none"


@dataclass
class QuantizeResult(StageResult):
    choice: QuantizationChoice
    source: str  # the fp32 artifact quantized ("student" or "student-pruned")
    size_note: str | None  # why candidates qualified on accuracy alone, when they did

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
    choice = choose_quantization(
        fp32.path,
        ctx.run_dir / f"{fp32.name.replace('-', '.')}.{suffix}.onnx",
        calibration=data.x_train,
        val_x=data.x_val,
        val_y=data.y_val,
        mode=cfg.quantize.mode,
        max_accuracy_drop=cfg.quantize.max_accuracy_drop,  # points, as everywhere
        threads=ctx.threads,  # choose at the threads the budget is judged at
        keep_best=True,  # fp32 ships? the best candidate is still measured beside it
        **speed,
        **compress_options(
            cfg.quantize.mode,
            cfg.quantize.format,
            cfg.quantize.calibration_method,
            cfg.quantize.calibration_samples,
        ),
    )
    return QuantizeResult(choice, fp32.name, size_note)
