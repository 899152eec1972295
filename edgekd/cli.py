"""Command line: parsing and printing only. Each command calls a Python API a user could import.

Heavy modules are imported inside commands so `edgekd bench` and `edgekd profiles` never import
torch: they must run on the device itself.
"""

from __future__ import annotations

import sys

import click

from edgekd.cli_options import SectionedCommand, config_options
from edgekd.config import LIMIT_OVERRIDES, section_types
from edgekd.errors import EdgeKDError

SECTIONS = tuple(section_types())  # compress takes every field of every section
BUDGET_LIMITS = tuple(f"budget.{name}" for name in LIMIT_OVERRIDES)


def usage_line(e: click.UsageError) -> str:
    """A flag click refused, as the one line every other bad input gets; a bad option value names
    its config key too, so the same mistake in a config file is recognisable."""
    message = e.format_message().rstrip(".")
    param = getattr(e, "param", None)
    bad_value = isinstance(e, click.BadParameter) and not isinstance(e, click.MissingParameter)
    if bad_value and isinstance(param, click.Option):
        return f"{message} (config key '{param.name}')"
    return f"{message} (see --help)"


class _Group(click.Group):
    """Turns EdgeKDError and refused flags into one line on stderr and exit code 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except EdgeKDError as e:
            click.echo(f"edgekd: error: {e}", err=True)
            sys.exit(2)
        except click.UsageError as e:
            click.echo(f"edgekd: error: {usage_line(e)}", err=True)
            sys.exit(2)
        except KeyboardInterrupt as e:  # Ctrl-C or SIGTERM: 130 or 143, never 1 (budget missed)
            from edgekd.signals import exit_code

            click.echo(f"edgekd: interrupted ({e or 'SIGINT'})", err=True)
            sys.exit(exit_code(e))


@click.group(cls=_Group)
@click.version_option(package_name="edgekd")
def main() -> None:
    """Distill, prune, quantize and measure classifiers for edge devices."""


@main.command(cls=SectionedCommand)
@click.option("--config", "config_file", type=click.Path(), help="YAML or TOML run config.")
@config_options(*SECTIONS)
def compress(config_file, **flags) -> None:
    """Distill, export, quantize and measure; exit 1 when the budget is missed."""
    try:
        from edgekd.pipeline import compress as run_compress
    except ImportError as e:
        raise EdgeKDError(
            f"edgekd compress needs the training extras ({e.name} is missing): "
            "pip install 'edgekd[train]'"
        ) from e

    flags["teacher"] = list(flags["teacher"]) or None
    result = run_compress(config_file, **flags)
    if result.rank:  # a torchrun worker: it trained in step with rank 0, which writes the run
        sys.exit(0)
    click.echo(f"run directory: {result.run_dir}")
    sys.exit(0 if result.ok else 1)


@main.command(cls=SectionedCommand)
@click.option("--config", "config_file", type=click.Path(), help="Compress config + 'search:'.")
@config_options(
    "teacher.specs", "teacher.arch", "teacher.epochs", "student.name", "data.source",
    "budget.profile", *BUDGET_LIMITS, "run.out", "run.seed", "run.device",
    help={
        "teacher": "Teacher spec (as for compress); trained once.",
        "student": "Student family always in the space (default: by data shape).",
        "out": "Search directory (default: runs/search).",
    },
)  # fmt: skip
@click.option("--trials", type=int, help="Trials in the study, all workers together (30).")
@click.option("--timeout", type=float, help="Seconds this worker searches before it stops.")
@click.option("--epochs", type=int, help="Screening epochs per trial (15).")
@click.option("--final-epochs", type=int, help="Epochs of the final run (the config's epochs).")
@click.option(
    "--storage",
    help="Study storage shared by workers: a journal file path, or an RDB URL such as "
    "postgresql://USER:PASS@HOST/DB (default: OUT/study.journal).",
)
@click.option("--study-name", help="Study name inside the storage (default: edgekd-search).")
@click.option(
    "--final/--no-final",
    default=True,
    help="Retrain the best configuration in full into OUT/final (default) or only search.",
)
def search(config_file, trials, timeout, epochs, final_epochs, storage, study_name, final,
           **flags) -> None:  # fmt: skip
    """Search student, T, alpha, pruning and quantization for the most accurate model that
    meets every budget limit; exit 1 when nothing fits."""
    try:
        from edgekd.search import load_search_config
        from edgekd.search import search as run_search
    except ImportError as e:
        raise EdgeKDError(
            f"edgekd search needs the search extras ({e.name} is missing): "
            "pip install 'edgekd[train,search]'"
        ) from e
    try:
        import optuna  # noqa: F401
    except ImportError as e:
        raise EdgeKDError("edgekd search needs optuna: pip install 'edgekd[train,search]'") from e

    flags["teacher"] = list(flags["teacher"]) or None
    base, settings, given = load_search_config(
        config_file,
        trials=trials,
        timeout=timeout,
        screening_epochs=epochs,
        epochs=final_epochs,
        **flags,
    )
    result = run_search(
        base, settings, student_given=given, storage=storage, study_name=study_name, final=final
    )
    click.echo(f"search directory: {result.out}")
    sys.exit(0 if result.ok else 1)


@main.command(cls=SectionedCommand)
@click.argument("models", nargs=-1, required=True)
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
@click.option(
    "--max-input-mb",
    type=float,
    help="Largest random inputs to create (default: 25% of memory available, <= 2048).",
)
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
@click.option("--json", "as_json", is_flag=True, help="Print report.json-style JSON.")
@config_options(
    "budget.profile", *BUDGET_LIMITS,
    help={
        "budget": "Budget: phone, iot, mcu or a TOML file (sets threads and batch).",
        "min_retention": "Retention limit (not measured by bench).",
    },
)  # fmt: skip
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
@click.option("--json", "as_json", is_flag=True, help="Print the zoo as JSON.")
def zoo(as_json: bool) -> None:
    """List the built-in models: default input, params and MACs (no torch needed)."""
    from edgekd.models.catalog import run_zoo

    run_zoo(as_json)


@main.command()
@click.argument("run_dir")
def report(run_dir: str) -> None:
    """Redraw report.md and report.html of RUN_DIR from its report.json."""
    from edgekd.report.rerender import rerender

    for path in rerender(run_dir):
        click.echo(f"wrote {path}")


@main.command()
@click.argument("model")
@click.option("--data", required=True, help=".npz with X (samples) and y (labels).")
@click.option("--out", required=True, help="Quantized model path (written only if one ships).")
@click.option("--mode", default="auto", show_default=True, help="auto, int8, dynamic or fp16.")
@config_options(
    "quantize.max_accuracy_drop", "quantize.calibration_samples", with_default=True,
    help={"calibration_samples": "Rows of --data used to calibrate; the rest validate."},
)  # fmt: skip
@click.option("--threads", type=int, default=1, show_default=True, help="Intra-op threads.")
@click.option("--runs", type=int, default=200, show_default=True, help="Timed runs per model.")
@click.option("--json", "as_json", is_flag=True, help="Print the choice as JSON.")
def quantize(model, data, **options) -> None:
    """Quantize MODEL, measure the candidates against fp32, write --out if one qualifies."""
    from edgekd.quantize.command import run_quantize

    run_quantize(model, data, **options)
