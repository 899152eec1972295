"""Command line: parsing and printing only. Each command calls a Python API a user could import.

Heavy modules are imported inside commands so `edgekd bench` and `edgekd profiles` never import
torch: they must run on the device itself.
"""

from __future__ import annotations

import sys

import click

from edgekd.errors import EdgeKDError


class _Group(click.Group):
    """Turns EdgeKDError into one line on stderr and exit code 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except EdgeKDError as e:
            click.echo(f"edgekd: error: {e}", err=True)
            sys.exit(2)


@click.group(cls=_Group)
@click.version_option(package_name="edgekd")
def main() -> None:
    """Distill, prune, quantize and measure classifiers for edge devices."""


@main.command()
@click.option("--config", "config_file", type=click.Path(), help="YAML or TOML run config.")
@click.option("--teacher", multiple=True, help="Teacher spec; repeat for an ensemble.")
@click.option("--student", help="Student zoo name (mlp, cnn-tiny, dscnn, resnet-tiny).")
@click.option("--student-width", type=float, help="Width multiplier of the student.")
@click.option("--data", help="Data spec: digits, mnist1d.")
@click.option("--transfer", help="Unlabelled transfer set for the soft term, e.g. mnist1d:25000.")
@click.option("--epochs", type=int, help="Distillation epochs.")
@click.option("--teacher-epochs", type=int, help="Epochs for a teacher trained on the spot.")
@click.option("--temperature", type=float, help="Softmax temperature T.")
@click.option("--alpha", type=float, help="Weight of the soft (teacher) term.")
@click.option("--quantize", type=click.Choice(["auto", "int8", "dynamic", "fp16", "none"]))
@click.option("--max-accuracy-drop", type=float, help="Quantization tolerance (fraction).")
@click.option("--budget", help="Budget profile name or TOML file.")
@click.option("--max-latency-ms", type=float, help="Override the budget's latency limit.")
@click.option("--max-memory-mb", type=float, help="Override the budget's added-memory limit.")
@click.option("--max-size-kb", type=float, help="Override the budget's file-size limit.")
@click.option("--min-retention", type=float, help="Require this accuracy retention.")
@click.option("--out", help="Run directory.")
@click.option("--seed", type=int)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]))
def compress(config_file, **flags) -> None:
    """Distill, export, quantize and measure; exit 1 when the budget is missed."""
    from edgekd.config import resolve_config
    from edgekd.pipeline import compress as run_compress

    flags["teacher"] = list(flags["teacher"]) or None
    result = run_compress(resolve_config(config_file, **flags))
    click.echo(f"run directory: {result.run_dir}")
    sys.exit(0 if result.ok else 1)


@main.command()
@click.argument("models", nargs=-1, required=True)
@click.option("--budget", help="Budget: phone, iot, mcu or a TOML file (sets threads and batch).")
@click.option("--threads", type=int, help="Intra-op threads (default: the budget's, else 1).")
@click.option(
    "--batch",
    "batches",
    type=int,
    multiple=True,
    help="Batch size; repeat for throughput at several (the first one is timed).",
)
@click.option("--runs", type=int, default=200, show_default=True, help="Timed runs per model.")
@click.option("--duration", type=float, help="Time for S seconds instead of --runs.")
@click.option("--warmup", type=int, default=20, show_default=True, help="Untimed runs first.")
@click.option("--shape", "shapes", multiple=True, help="Fix a symbolic input: NAME=1x3x32x32.")
@click.option("--data", help="Real inputs: an .npz with key X.")
@click.option("--memory/--no-memory", default=True, help="Measure peak memory in a child.")
@click.option(
    "--arena",
    type=click.Choice(["on", "off", "both"]),
    default="both",
    show_default=True,
    help="CPU memory arena setting(s) for the memory figures.",
)
@click.option("--ort", is_flag=True, help="Also write and measure the .ort file + operator config.")
@click.option("--ort-dir", help="Where --ort writes (default: beside each model).")
@click.option("--max-latency-ms", type=float, help="Override the budget's latency limit.")
@click.option("--max-memory-mb", type=float, help="Override the budget's added-memory limit.")
@click.option("--max-size-kb", type=float, help="Override the budget's file-size limit.")
@click.option("--min-retention", type=float, help="Retention limit (not measured by bench).")
@click.option("--json", "as_json", is_flag=True, help="Print report.json-style JSON.")
def bench(models, **options) -> None:
    """Measure ONNX/ORT models on onnxruntime CPU; exit 1 when a budget limit is missed."""
    from edgekd.bench.command import run_bench

    _, code = run_bench(models, **options)
    sys.exit(code)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the profiles as JSON.")
def profiles(as_json: bool) -> None:
    """List the budget profiles and their limits."""
    from edgekd.bench.command import run_profiles

    run_profiles(as_json)


@main.command()
@click.argument("model")
@click.option("--data", required=True, help=".npz with X (samples) and y (labels).")
@click.option("--out", required=True, help="Quantized model path (written only if one ships).")
@click.option("--mode", default="auto", show_default=True, help="auto, int8, dynamic or fp16.")
@click.option(
    "--max-accuracy-drop",
    type=float,
    default=0.5,
    show_default=True,
    help="Allowed top-1 drop vs fp32, in percentage points.",
)
@click.option(
    "--calibration-samples",
    type=int,
    default=256,
    show_default=True,
    help="Rows of --data used to calibrate; the rest validate.",
)
@click.option("--threads", type=int, default=1, show_default=True, help="Intra-op threads.")
@click.option("--runs", type=int, default=200, show_default=True, help="Timed runs per model.")
@click.option("--json", "as_json", is_flag=True, help="Print the choice as JSON.")
def quantize(model, data, **options) -> None:
    """Quantize MODEL, measure the candidates against fp32, write --out if one qualifies."""
    from edgekd.quantize.command import run_quantize

    run_quantize(model, data, **options)
