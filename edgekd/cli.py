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
        except KeyboardInterrupt as e:  # Ctrl-C or SIGTERM: 130 or 143, never 1 (budget missed)
            from edgekd.signals import exit_code

            click.echo(f"edgekd: interrupted ({e or 'SIGINT'})", err=True)
            sys.exit(exit_code(e))


def _floats(_ctx, _param, value):
    if value is None:
        return None
    try:
        return [float(v) for v in value.split(",")]
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a comma-separated list of numbers") from None


@click.group(cls=_Group)
@click.version_option(package_name="edgekd")
def main() -> None:
    """Distill, prune, quantize and measure classifiers for edge devices."""


@main.command()
@click.option("--config", "config_file", type=click.Path(), help="YAML or TOML run config.")
@click.option(
    "--teacher",
    multiple=True,
    help="Teacher: zoo name, weights.pt/.safetensors (+ --teacher-arch), TorchScript file, "
    "model.onnx, module:callable or file.py:callable; repeat for an ensemble.",
)
@click.option("--teacher-arch", multiple=True, help="Architecture of state_dict teachers.")
@click.option("--teacher-output", type=click.Choice(["auto", "logits", "probs"]))
@click.option("--teacher-weight", type=float, multiple=True, help="Ensemble weight, per teacher.")
@click.option(
    "--trust-pickle/--no-trust-pickle",
    default=None,
    help="Allow unpickling a whole pickled module (runs code from the file).",
)
@click.option(
    "--student", help="Student: zoo name[:width=W], module:callable or auto (by data shape)."
)
@click.option("--student-width", type=float, help="Width multiplier of the student.")
@click.option(
    "--standardize/--no-standardize",
    default=None,
    help="Standardize inputs inside the student (default: on for tabular features).",
)
@click.option("--hint", multiple=True, help="TEACHER_LAYER:STUDENT_LAYER feature hint.")
@click.option("--hint-weight", type=float, help="Weight of the hint (feature) loss.")
@click.option(
    "--data",
    help="Data: digits, mnist1d, shapes32:N, path.npz, path.csv, image folder, module:callable.",
)
@click.option("--label-column", help="CSV label column name (default: the last column).")
@click.option("--image-size", type=int, help="Resize images to N x N.")
@click.option("--image-mean", callback=_floats, help="Per-channel image mean, e.g. 0.5,0.5,0.5.")
@click.option("--image-std", callback=_floats, help="Per-channel image std, e.g. 0.5,0.5,0.5.")
@click.option(
    "--workers", type=int, help="DataLoader processes decoding streamed data (image folders)."
)
@click.option(
    "--transfer",
    help="Unlabelled transfer set for the soft term: mnist1d:N, path.npz (key X) or path.csv.",
)
@click.option("--epochs", type=int, help="Distillation epochs (default: planned by data size).")
@click.option("--teacher-epochs", type=int, help="Epochs for a teacher trained on the spot.")
@click.option(
    "--time-budget",
    metavar="DURATION",
    help="e.g. 90s, 10m, 1h: scale the training plan to fit (a short timed probe first).",
)
@click.option(
    "--temperature",
    metavar="T|auto",
    help="Softmax temperature T; auto: short search on the validation split.",
)
@click.option(
    "--alpha",
    metavar="A|auto",
    help="Weight of the soft (teacher) term; auto: short search on the validation split.",
)
@click.option(
    "--recipe",
    type=click.Choice(["function-matching", "hinton"]),
    help="function-matching (default): soft term only at T=1 on augmented views, online "
    "teacher, long cosine schedule; hinton: CE + T^2 KL, cached teacher, one-cycle, 60 epochs.",
)
@click.option(
    "--augment",
    metavar="auto|none|LIST",
    help="Batch augmentation fed to teacher and student alike: auto (by input rank), none, or "
    "e.g. crop,hflip,mixup | shift,stretch,scale,trend,noise,mixup | mixup,noise.",
)
@click.option("--schedule", type=click.Choice(["cosine", "onecycle"]), help="LR schedule.")
@click.option("--patience", type=int, help="Early stopping: epochs without a better val score.")
@click.option(
    "--allow-weak-teacher/--no-allow-weak-teacher",
    default=None,
    help="Distill even from a teacher near chance or below a linear model.",
)
@click.option(
    "--baseline/--no-baseline",
    default=None,
    help="Also train the student on hard labels alone; the report shows what KD added.",
)
@click.option("--prune-ratio", type=float, help="Fraction of channels removed, in [0, 1).")
@click.option("--prune-method", help="structured (remove channels, default) or unstructured.")
@click.option("--prune-steps", type=int, help="Prune + KD fine-tune in N steps.")
@click.option("--prune-epochs", type=int, help="KD fine-tuning epochs after each prune step.")
@click.option("--prune-importance", help="Channel importance: l2 (default) or taylor.")
@click.option("--prune-scope", help="uniform (each layer, default) or global ratio.")
@click.option("--quantize", type=click.Choice(["auto", "int8", "dynamic", "fp16", "none"]))
@click.option(
    "--max-accuracy-drop",
    type=float,
    help="Top-1 drop allowed by quantization, in percentage points (default 0.5).",
)
@click.option(
    "--quant-format",
    type=click.Choice(["qdq", "qoperator"]),
    help="int8 graph format (--quantize int8 only; auto measures both).",
)
@click.option(
    "--calibration-method",
    type=click.Choice(["minmax", "entropy", "percentile"]),
    help="int8 calibration (--quantize int8 only; auto uses minmax).",
)
@click.option("--calibration-samples", type=int, help="Training rows used to calibrate int8.")
@click.option("--budget", help="Budget profile name or TOML file.")
@click.option("--max-latency-ms", type=float, help="Override the budget's latency limit.")
@click.option("--max-memory-mb", type=float, help="Override the budget's added-memory limit.")
@click.option("--max-size-kb", type=float, help="Override the budget's file-size limit.")
@click.option("--min-retention", type=float, help="Require this accuracy retention.")
@click.option("--out", help="Run directory.")
@click.option(
    "--ort/--no-ort",
    default=None,
    help="Also write the final artifact as an .ort file + required_operators.config "
    "(ONNX Runtime Mobile).",
)
@click.option("--seed", type=int)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]))
@click.option(
    "--resume/--no-resume",
    default=None,
    help="Continue the interrupted run in --out: skip its finished stages, resume training.",
)
def compress(config_file, **flags) -> None:
    """Distill, export, quantize and measure; exit 1 when the budget is missed."""
    try:
        from edgekd.config import resolve_config
        from edgekd.pipeline import compress as run_compress
    except ImportError as e:
        raise EdgeKDError(
            f"edgekd compress needs the training extras ({e.name} is missing): "
            "pip install 'edgekd[train]'"
        ) from e

    flags["teacher"] = list(flags["teacher"]) or None
    result = run_compress(resolve_config(config_file, **flags))
    if result.rank:  # a torchrun worker: it trained in step with rank 0, which writes the run
        sys.exit(0)
    click.echo(f"run directory: {result.run_dir}")
    sys.exit(0 if result.ok else 1)


@main.command()
@click.option("--config", "config_file", type=click.Path(), help="Compress config + 'search:'.")
@click.option("--teacher", multiple=True, help="Teacher spec (as for compress); trained once.")
@click.option("--teacher-arch", multiple=True, help="Architecture of state_dict teachers.")
@click.option("--teacher-epochs", type=int, help="Epochs for a teacher trained on the spot.")
@click.option("--student", help="Student family always in the space (default: by data shape).")
@click.option("--data", help="Data spec, as for compress.")
@click.option("--budget", help="Budget profile name or TOML file.")
@click.option("--max-latency-ms", type=float, help="Override the budget's latency limit.")
@click.option("--max-memory-mb", type=float, help="Override the budget's added-memory limit.")
@click.option("--max-size-kb", type=float, help="Override the budget's file-size limit.")
@click.option("--min-retention", type=float, help="Require this accuracy retention.")
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
@click.option("--out", help="Search directory (default: runs/search).")
@click.option(
    "--final/--no-final",
    default=True,
    help="Retrain the best configuration in full into OUT/final (default) or only search.",
)
@click.option("--seed", type=int)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]))
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
