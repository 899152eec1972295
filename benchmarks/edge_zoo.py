"""Do int8 and pruning pay at MLPerf Tiny sizes? fp32 vs edgekd int8 vs onnxruntime-default int8,
and pruned-0.5 fp32 vs unpruned, for each edge zoo model at its MLPerf Tiny input.

For each model (random init; BatchNorm statistics from one batch of random inputs):
  1. export to ONNX (parity-checked) and count MACs, params and size from the file;
  2. edgekd int8: `choose_quantization` (mode auto) picks among its candidates by latency, with
     the accuracy tolerance opened (`--max-accuracy-drop 1`): the data here is random, so only
     speed is judged; accuracy-within-tolerance is checked on real data elsewhere;
  3. onnxruntime-default int8: `quant_pre_process` + `quantize_static` with its defaults
     (QDQ, S8S8, per-tensor, MinMax), calibrated on the same random inputs;
  4. pruned-0.5: Torch-Pruning structured, 0.5 of every prunable layer's channels, no
     fine-tuning (latency does not depend on the weights' values);
  5. all four files timed interleaved in one `compare_latency` call per thread count
     (onnxruntime CPU, batch 1, p50), so every ratio comes from the same stretch of the host.
"float nodes" counts the Conv/Gemm/MatMul nodes onnxruntime still runs in float after its own
graph optimisation (the graph it executes), "transposes" the layout transposes it inserted.

    python benchmarks/edge_zoo.py            # full: writes benchmarks/results/edge_zoo.*
    python benchmarks/edge_zoo.py --quick    # resnet8 only, few runs, for the test suite
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnxruntime.quantization import quantize_static
from rich.progress import Progress

from edgekd.bench.graph import graph_stats
from edgekd.bench.latency import compare_latency
from edgekd.export import export_checked
from edgekd.models import create_model
from edgekd.models.catalog import zoo_entry
from edgekd.prune import PruneSpec, prune_model
from edgekd.quantize import choose_quantization, quantize_model
from edgekd.quantize.core import preprocess, quiet
from edgekd.quantize.data import NumpyCalibrationReader, input_spec, load_onnx
from edgekd.quantize.nodes import count_int8_nodes

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, environment, write_results

MODELS = ("resnet8", "mobilenet-v1", "ds-cnn", "mobilenet-v2")
TARGET_MODELS = ("resnet8", "mobilenet-v1")
TARGETS = {"int8_speedup_1t": 1.5, "pruned_speedup_1t": 1.5}
VARIANTS = ("fp32", "edgekd int8", "ort-default int8", "pruned-0.5 fp32")
CPU_FLAGS = ("avx2", "avx512f", "avx512_vnni")


def cpu_flags() -> dict[str, bool]:
    """Which of the int8-relevant instruction sets the host has (VNNI: int8 dot products)."""
    try:
        words = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        words = set()
    return {f: f in words for f in CPU_FLAGS}


def _model(name: str, width: float, shape: tuple[int, ...], classes: int) -> torch.nn.Module:
    torch.manual_seed(0)
    model = create_model(name, shape, classes, width=width)
    with torch.no_grad():
        model.train()
        model(torch.rand(32, *shape))
    return model.eval()


def _ort_default(fp32: Path, x: np.ndarray, work: Path) -> Path:
    pre = preprocess(fp32, work / "ort-pre.onnx")
    out = work / "ort-default.int8.onnx"
    with quiet():
        quantize_static(str(pre), str(out), NumpyCalibrationReader(x, input_spec(load_onnx(pre))))
    return out


def _nodes(path: Path) -> dict:
    n = count_int8_nodes(path)
    return {
        "float_nodes": n["float"],
        "int8_nodes": n["int8"],
        "transposes": n["by_op"].get("Transpose", 0),
    }


def _conv_kinds(pre: Path) -> list[str]:
    """Kind of each Conv of the pre-processed model, in graph order: stem, dw, pw or conv."""
    model = onnx.load(str(pre))
    weights = {t.name: list(t.dims) for t in model.graph.initializer}
    kinds = []
    for n in (n for n in model.graph.node if n.op_type == "Conv"):
        w = weights[n.input[1]]
        group = next((a.i for a in n.attribute if a.name == "group"), 1)
        kinds.append(
            "stem" if not kinds else "dw" if group > 1 else "pw" if w[2:] == [1, 1] else "conv"
        )
    return kinds


def _kernel_us(path: Path, x: np.ndarray, runs: int) -> list[float]:
    """Median kernel time (µs, 1 thread) of each conv onnxruntime runs, in graph order."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.enable_profiling, opts.log_severity_level = 1, True, 3
    opts.optimized_model_filepath = str(path.with_suffix(".opt.onnx"))
    opts.profile_file_prefix = str(path.with_suffix(".profile"))  # beside the model, not in cwd
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: x}
    for _ in range(runs):
        session.run(None, feed)
    profile = Path(session.end_profiling())
    times: dict[str, list[float]] = {}
    for e in json.loads(profile.read_text()):
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            times.setdefault(e["name"][: -len("_kernel_time")], []).append(e["dur"])
    profile.unlink()
    convs = ("Conv", "FusedConv", "NchwcConv", "QLinearConv")
    graph = onnx.load(opts.optimized_model_filepath).graph
    return [float(np.median(times[n.name])) for n in graph.node if n.op_type in convs]


def layer_profile(fp32: Path, x: np.ndarray, work: Path, runs: int) -> dict | None:
    """Where int8 wins and loses: conv kernel time by kind, fp32 vs every conv in int8 (QDQ
    U8S8 per-channel, the recipe with no layer kept in float). Convs are matched by graph order,
    which is exact for a chain only: None for a model with residual adds (or unmatched counts).
    """
    pre = preprocess(fp32, work / "kinds-pre.onnx")
    if any(n.op_type == "Add" for n in onnx.load(str(pre)).graph.node):
        return None
    int8 = work / "all-int8.onnx"
    quantize_model(fp32, int8, mode="int8", calibration=x[:32])
    kinds = _conv_kinds(pre)
    a, b = _kernel_us(fp32, x[:1], runs), _kernel_us(int8, x[:1], runs)
    if not len(kinds) == len(a) == len(b):
        return None
    out: dict[str, dict] = {}
    for k, ta, tb in zip(kinds, a, b, strict=True):
        row = out.setdefault(k, {"layers": 0, "fp32_us": 0.0, "int8_us": 0.0})
        row["layers"] += 1
        row["fp32_us"] += ta
        row["int8_us"] += tb
    for row in out.values():
        row["int8_over_fp32"] = round(row["int8_us"] / row["fp32_us"], 3)
    return out


def run_model(name: str, args, work: Path) -> dict:
    """Build the four files of one model and time them at each thread count."""
    e = zoo_entry(name)
    model = _model(name, e.width, e.input_shape, e.num_classes)
    rng = np.random.default_rng(0)
    x = rng.random((args.samples, *e.input_shape), dtype=np.float32)
    fp32, _ = export_checked(model, x[:64], work / f"{name}.onnx")
    with torch.no_grad():  # fp32's own labels: the "accuracy" here is agreement with fp32
        y = model(torch.from_numpy(x)).argmax(1).numpy()
    half = len(x) // 2
    choice = choose_quantization(
        fp32,
        work / f"{name}.int8.onnx",
        calibration=x[:half],
        val_x=x[half:],
        val_y=y[half:],
        max_accuracy_drop=100.0,  # points: the tolerance opened fully
        runs=args.choose_runs,
        calibration_samples=half,
        keep_best=True,
    )
    int8 = choice.written_path if choice.written_path else fp32
    ort_int8 = _ort_default(fp32, x[:half], work)
    pruned_model = copy.deepcopy(model)
    prune_model(pruned_model, torch.from_numpy(x[:2]), PruneSpec(ratio=0.5))
    pruned, _ = export_checked(pruned_model, x[:64], work / f"{name}.pruned.onnx")

    paths = dict(zip(VARIANTS, (fp32, int8, ort_int8, pruned), strict=True))
    rows = {v: {"size_bytes": p.stat().st_size, **_nodes(p)} for v, p in paths.items()}
    for v in ("fp32", "pruned-0.5 fp32"):
        rows[v]["macs"] = graph_stats(paths[v]).to_dict()["macs"]
    rows["edgekd int8"]["candidate"] = choice.written or "fp32"
    rows["edgekd int8"]["shipped"] = choice.shipped
    feeds = {input_spec(load_onnx(fp32)).name: x[:1]}
    for t in args.threads:
        stats = compare_latency(
            list(paths.values()), threads=t, runs=args.runs, warmup=args.runs // 10 + 5, feeds=feeds
        )
        for v, s in zip(VARIANTS, stats, strict=True):
            rows[v][f"p50_ms_{t}t"] = round(s.p50, 4)
            rows[v][f"speedup_{t}t"] = round(stats[0].p50 / s.p50, 3)
    rows["pruned-0.5 fp32"].update(
        {
            f"speedup_vs_unpruned_{t}t": rows["pruned-0.5 fp32"][f"speedup_{t}t"]
            for t in args.threads
        }
    )
    return {
        "model": e.spec,
        "input": list(e.input_shape),
        "conv_time_by_kind": layer_profile(fp32, x, work, args.profile_runs),
        "candidates": [
            {"name": c.name, "p50_ms": round(c.p50_ms, 4), "float_nodes": c.float_compute_nodes}
            for c in choice.candidates
        ],
        "choice_reason": choice.reason,
        "variants": rows,
    }


def targets(models: list[dict]) -> list[dict]:
    """Each target as measured: met or missed, with the ratio."""
    out = []
    by_name = {m["model"].split(":")[0]: m for m in models}
    for name in TARGET_MODELS:
        m = by_name.get(name)
        if m is None:
            continue
        for key, variant in (
            ("int8_speedup_1t", "edgekd int8"),
            ("pruned_speedup_1t", "pruned-0.5 fp32"),
        ):
            ratio = m["variants"][variant].get("speedup_1t")
            if ratio is None:
                continue
            out.append(
                {
                    "model": m["model"],
                    "target": key,
                    "goal": TARGETS[key],
                    "measured": ratio,
                    "met": ratio >= TARGETS[key],
                }
            )
    return out


def markdown(result: dict) -> str:
    threads = result["threads"]
    flags = ", ".join(f"{f} {'yes' if v else 'no'}" for f, v in result["cpu_flags"].items())
    lines = [
        "# Edge zoo: int8 and pruning at MLPerf Tiny sizes",
        "",
        f"Host: {result['host']['cpu']} ({result['host']['cores']} cores); CPU flags: {flags}; "
        f"onnxruntime {result['host']['onnxruntime']}. Load average before/after: "
        f"{result['load_before']} / {result['load_after']} (the host is shared; ratios are "
        "interleaved in one run, absolute times are not device times).",
        "",
        "Random-init models, calibrated and timed on uniform random inputs: latency only. "
        "edgekd int8 = the candidate `choose_quantization` picks on speed (tolerance opened); "
        "accuracy within tolerance is checked on real data elsewhere.",
        "",
    ]
    head = [
        "model",
        "variant",
        *(f"p50 ms {t}T" for t in threads),
        *(f"x fp32 {t}T" for t in threads),
        "size KB",
        "MACs",
        "float nodes",
        "transposes",
    ]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for m in result["models"]:
        for v in VARIANTS:
            r = m["variants"][v]
            name = v if v != "edgekd int8" else f"edgekd int8 ({r['candidate']})"
            lines.append(
                "| "
                + " | ".join(
                    [
                        m["model"],
                        name,
                        *(f"{r[f'p50_ms_{t}t']:.3f}" for t in threads),
                        *(f"{r[f'speedup_{t}t']:.2f}x" for t in threads),
                        f"{r['size_bytes'] / 1024:.1f}",
                        f"{r['macs'] / 1e6:.2f} M" if "macs" in r else "-",
                        str(r["float_nodes"]),
                        str(r["transposes"]),
                    ]
                )
                + " |"
            )
    lines += ["", "## Targets (1 thread, ratio vs fp32 in the same interleaved run)", ""]
    for t in result["targets"]:
        verdict = "met" if t["met"] else "MISSED"
        lines.append(
            f"- {t['model']} {t['target']}: {t['measured']:.2f}x (goal {t['goal']:.1f}x): {verdict}"
        )
    lines += ["", "## edgekd int8 candidates (choose_quantization, 1 thread)", ""]
    for m in result["models"]:
        cands = ", ".join(f"{c['name']} {c['p50_ms']:.3f} ms" for c in m["candidates"])
        lines.append(f"- {m['model']}: {cands}")
    lines += [
        "",
        "## Conv kernel time by layer kind, fp32 vs all-int8 (1 thread, onnxruntime profiler)",
        "",
        "| model | kind | layers | fp32 µs | int8 µs | int8 / fp32 |",
        "|---|---|---|---|---|---|",
    ]
    for m in result["models"]:
        for kind, r in (m["conv_time_by_kind"] or {}).items():
            lines.append(
                f"| {m['model']} | {kind} | {r['layers']} | {r['fp32_us']:.0f} | "
                f"{r['int8_us']:.0f} | {r['int8_over_fp32']:.2f} |"
            )
    lines += ["", "## Where int8 loses (from the table above)", ""]
    for m in result["models"]:
        kinds = m["conv_time_by_kind"] or {}
        slow = [
            f"{k} {r['int8_over_fp32']:.2f}x" for k, r in kinds.items() if r["int8_over_fp32"] > 1
        ]
        if slow:
            lines.append(
                f"- {m['model']}: onnxruntime's int8 conv kernels are slower than its fp32 ones "
                f"for {', '.join(slow)} (kernel time int8 / fp32); the `thinN` candidates keep "
                "convs with fewer than N input channels in float for that reason."
            )
    lines += ["", f"Wall time: {result['seconds']:.0f} s.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="resnet8 only, few runs")
    ap.add_argument("--models", default=None, help=f"comma list (default {','.join(MODELS)})")
    ap.add_argument("--runs", type=int, default=None, help="timed rounds per thread count")
    ap.add_argument("--threads", default="1,4", help="comma list of intra-op thread counts")
    ap.add_argument("--out", type=Path, default=RESULTS, help="folder for the .md and .json")
    args = ap.parse_args(argv)
    q = args.quick
    names = (args.models or ("resnet8" if q else ",".join(MODELS))).split(",")
    args.threads = [int(t) for t in args.threads.split(",")]
    args.runs = args.runs or (20 if q else 1000)
    args.choose_runs = 10 if q else 300
    args.samples = 32 if q else 512
    args.profile_runs = 20 if q else 300
    torch.set_num_threads(1)
    start, load_before = time.perf_counter(), [round(v, 2) for v in os.getloadavg()]
    models = []
    with tempfile.TemporaryDirectory(prefix="edgekd-edge-zoo-") as tmp, Progress() as bar:
        task = bar.add_task("edge zoo", total=len(names))
        for name in names:
            bar.update(task, description=f"edge zoo: {name}")
            models.append(run_model(name, args, Path(tmp)))
            bar.advance(task)
    result = {
        "quick": q,
        "host": environment(),
        "cpu_flags": cpu_flags(),
        "load_before": load_before,
        "load_after": [round(v, 2) for v in os.getloadavg()],
        "threads": args.threads,
        "runs": args.runs,
        "models": models,
        "targets": targets(models),
        "seconds": round(time.perf_counter() - start, 1),
    }
    write_results(args.out, "edge_zoo_quick" if q else "edge_zoo", result, markdown(result))
    return result


if __name__ == "__main__":
    main()
