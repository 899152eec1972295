"""`edgekd bench` and `edgekd profiles` behind the click parsing: measure, judge, print.

Kept out of cli.py so the command is callable (and testable) without click, and so cli.py
imports none of this (nor onnxruntime) until the command runs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from edgekd.bench.budgets import list_profiles, load_budget
from edgekd.bench.inputs import parse_shape_specs
from edgekd.errors import EdgeKDError

EXIT_OK, EXIT_MISSED = 0, 1


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("edgekd")
    except Exception:
        return "unknown"


def _judge(result: dict[str, Any], budget) -> dict[str, Any]:
    """Per-artifact verdicts, and one top-level verdict in the report.json shape; an MCU
    target's latency is estimated from each graph (bench/mcu.py), never taken from this host."""
    from edgekd.bench.mcu import add_estimates
    from edgekd.bench.verdict import judge

    add_estimates(result["artifacts"], budget.target)
    verdicts = []
    for art in result["artifacts"]:
        v = judge(art, budget, result["host"]["cpu"])
        art["budget"] = v.to_dict()
        verdicts.append((art["name"], v))
    if len(verdicts) == 1:
        return verdicts[0][1].to_dict()
    checks = [{"artifact": name, **c} for name, v in verdicts for c in v.checks]
    ok = all(v.ok for _, v in verdicts)
    return {"profile": budget.name, "target": budget.target, "ok": ok, "checks": checks}


def _check_timing(models: Sequence[str], runs: int, duration: float | None, warmup: int) -> None:
    """EdgeKDError for a model list or timing options no benchmark can run with."""
    if not models:
        raise EdgeKDError("no model given; pass one or more .onnx or .ort files")
    if runs < 1:
        raise EdgeKDError(f"--runs must be at least 1, got {runs}")
    if duration is not None and duration <= 0:
        raise EdgeKDError(f"--duration must be positive seconds, got {duration}")
    if warmup < 0:
        raise EdgeKDError(f"--warmup cannot be negative, got {warmup}")


def _convert_ort(
    paths: Sequence[Path], ort_dir: str | None
) -> tuple[dict[str, Path], dict[str, Any]]:
    """Convert every .onnx in `paths` to ORT format: (.ort path -> its .onnx, report `ort` block).

    Several models share one reduced-build config, so one runtime build covers them all.
    """
    from edgekd.bench.ort_format import to_ort, write_config

    sources: dict[str, Path] = {}
    made = []
    for p in [p for p in paths if p.suffix.lower() != ".ort"]:
        out_dir = Path(ort_dir) if ort_dir else p.parent
        ort_path, config = to_ort(p, out_dir)
        sources[str(ort_path)] = p
        made.append(ort_path)
    if not made:
        raise EdgeKDError("--ort needs at least one .onnx model to convert")
    if len(made) > 1:  # one reduced runtime build must cover every model
        config = write_config(made, config)
    return sources, {"files": [str(m) for m in made], "config": str(config)}


def _print_result(out: dict[str, Any], as_json: bool) -> None:
    """The result as JSON on stdout, or as rich tables."""
    if as_json:
        print(json.dumps(out, indent=2))
    else:
        from edgekd.bench.table import render_bench

        render_bench(out)


def token_shapes(paths: Sequence[Path], seq_len: int) -> dict[str, tuple[int, int]]:
    """`--seq-len N`: (1, N) for every rank-2 integer input (token ids, attention masks) of the
    models; the batch axis still follows --batch."""
    import onnx

    if seq_len < 1:
        raise EdgeKDError(f"--seq-len must be at least 1, got {seq_len}")
    ints = {onnx.TensorProto.INT64, onnx.TensorProto.INT32}
    out = {}
    for p in paths:
        if p.suffix != ".onnx":
            continue
        for i in onnx.load(str(p), load_external_data=False).graph.input:
            t = i.type.tensor_type
            if t.elem_type in ints and len(t.shape.dim) == 2:
                out[i.name] = (1, seq_len)
    if not out:
        raise EdgeKDError("--seq-len: the models have no token inputs (rank-2 integer tensors)")
    return out


def run_bench(
    models: Sequence[str],
    *,
    budget: str | None = None,
    threads: int | None = None,
    batches: Sequence[int] = (),
    runs: int = 200,
    duration: float | None = None,
    warmup: int = 20,
    shapes: Sequence[str] = (),
    seq_len: int | None = None,
    data: str | None = None,
    memory: bool = True,
    arena: str = "both",
    ort: bool = False,
    ort_dir: str | None = None,
    as_json: bool = False,
    max_input_mb: float | None = None,
    max_latency_ms: float | None = None,
    max_memory_mb: float | None = None,
    max_size_kb: float | None = None,
    max_activation_kb: float | None = None,
    min_retention: float | None = None,
    target: str | None = None,
) -> tuple[dict[str, Any], int]:
    """Measure `models`, check the budget (if any), print table or JSON; (result, exit code)."""
    from edgekd.bench.run import benchmark_many

    _check_timing(models, runs, duration, warmup)
    overrides = {
        "max_latency_ms": max_latency_ms,
        "max_memory_mb": max_memory_mb,
        "max_size_kb": max_size_kb,
        "max_activation_kb": max_activation_kb,
        "min_retention": min_retention,
        "target": target,
    }
    wants_budget = budget is not None or any(v is not None for v in overrides.values())
    bud = load_budget(budget, **overrides) if wants_budget else None
    threads = threads if threads is not None else (bud.threads if bud else 1)
    batches = list(batches) or [bud.batch if bud else 1]
    shape_map = parse_shape_specs(shapes)
    paths = [Path(m) for m in models]
    for p in paths:
        if not p.is_file():
            raise EdgeKDError(f"model file not found: {p}; pass an existing .onnx or .ort file")
    if seq_len is not None:
        shape_map = {**token_shapes(paths, seq_len), **shape_map}  # --shape still wins

    ort_info = None
    sources: dict[str, Path] = {}
    if ort:
        sources, ort_info = _convert_ort(paths, ort_dir)
        paths += [Path(m) for m in ort_info["files"]]

    result = benchmark_many(
        paths,
        threads=threads,
        batch=batches[0],
        runs=runs,
        warmup=warmup,
        duration=duration,
        memory=memory,
        arena=arena,
        shapes=shape_map,
        data=data,
        batches=batches,
        sources=sources,
        max_input_mb=max_input_mb,
    )
    out: dict[str, Any] = {"edgekd_version": _version(), **result}
    if ort_info:
        out["ort"] = ort_info
    code = EXIT_OK
    if bud is not None:
        out["budget"] = _judge(out, bud)
        code = EXIT_OK if out["budget"]["ok"] else EXIT_MISSED
    _print_result(out, as_json)
    return out, code


def run_profiles(as_json: bool = False) -> None:
    """Print the built-in budget profiles and their limits."""
    profiles = list_profiles()
    if as_json:
        print(json.dumps([p.model_dump() for p in profiles], indent=2))
        return
    from edgekd.bench.table import make_console, profiles_table

    make_console().print(profiles_table(profiles))
