"""One benchmark of one or several model files: size, graph costs, latency, memory.

Produces the artifact fields of report.json (same names), so `edgekd bench --json`, the
pipeline's report and user scripts all read one shape. Several models are timed interleaved
and compared as ratios to the first one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from edgekd.bench import latency as lat
from edgekd.bench.graph import GraphStats, graph_stats
from edgekd.bench.host import host_info
from edgekd.bench.inputs import ResolvedInputs, load_data, make_feeds
from edgekd.bench.memory import measure_memory
from edgekd.errors import EdgeKDError, first_line

# Below this many loop overheads, a p50 mostly measures the call path, not the model.
TINY_FACTOR = 10


def _open(path: Path, threads: int):
    """A session for `path`, or EdgeKDError in one line when the file is not a loadable model."""
    if not path.is_file():
        raise EdgeKDError(f"model file not found: {path}; pass an existing .onnx or .ort file")
    try:
        return lat.make_session(path, threads)
    except Exception as e:
        raise EdgeKDError(f"onnxruntime cannot load {path}: {first_line(e)}") from e


def _names(paths: Sequence[Path]) -> list[str]:
    names, seen = [], {}
    for p in paths:
        n = p.name
        seen[n] = seen.get(n, 0) + 1
        names.append(n if seen[n] == 1 else f"{n}#{seen[n]}")
    return names


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or not a:
        return None
    return round(b / a, 4)


def _throughput(batch: int, p50_ms: float) -> dict[str, Any]:
    return {
        "batch": batch,
        "p50_ms": round(p50_ms, 4),
        "items_per_s": round(batch * 1e3 / p50_ms, 2),
    }


def _checked_files(paths: Sequence[str | Path], arena: str, threads: int) -> list[Path]:
    """The model paths, or EdgeKDError for settings no measurement can run with."""
    if arena not in ("on", "off", "both"):
        raise EdgeKDError(f"arena must be on, off or both, not {arena!r}")
    if threads < 1:
        raise EdgeKDError(f"--threads must be at least 1, got {threads}")
    files = [Path(p) for p in paths]
    if not files:
        raise EdgeKDError("no model given; pass one or more .onnx or .ort files")
    return files


def _settings(
    threads: int, batch: int, runs: int, duration: float | None, warmup: int, n_files: int
) -> dict[str, Any]:
    """The `settings` block: how the figures were taken."""
    return {
        "threads": threads,
        "batch": batch,
        "runs": runs if duration is None else None,
        "duration_s": duration,
        "warmup": warmup,
        "interleaved": n_files > 1,
    }


def _graphs(
    files: Sequence[Path],
    sources: Mapping[str, Path],
    shapes: Mapping[str, Sequence[int]] | None,
    max_input_mb: float | None,
) -> list[GraphStats]:
    """Paper costs of each file; an `.ort` with a known source takes its counts from the .onnx."""
    graphs = []
    for f in files:
        if f.suffix.lower() == ".ort" and str(f) in sources:
            g = graph_stats(f)
            src = graph_stats(sources[str(f)], shapes=shapes, max_input_mb=max_input_mb)
            g.params, g.macs, g.uncounted = src.params, src.macs, src.uncounted
            g.peak_activation_bytes = src.peak_activation_bytes
            g.notes = [f"params/MACs/activations from {sources[str(f)].name}", *src.notes]
        else:
            g = graph_stats(f, shapes=shapes, max_input_mb=max_input_mb)
        graphs.append(g)
    return graphs


def _throughputs(
    files: Sequence[Path],
    extra: Sequence[int],
    threads: int,
    runs: int,
    shapes: Mapping[str, Sequence[int]] | None,
    arrays: Any,
    max_input_mb: float | None,
) -> tuple[list[list[dict]], list[list[str]]]:
    """Per file: throughput figures at each extra batch size, and notes on sizes it skipped."""
    thr: list[list[dict]] = [[] for _ in files]
    skipped: list[list[str]] = [[] for _ in files]
    for b in extra:
        able, bfeeds = [], []
        for i, f in enumerate(files):
            try:
                x, _ = make_feeds(
                    lat.make_session(f, threads),
                    shapes=shapes,
                    batch=b,
                    data=arrays,
                    max_input_mb=max_input_mb,
                )
            except EdgeKDError as e:  # e.g. a fixed batch of 1: skip this size for this model
                skipped[i].append(f"throughput at batch {b} skipped: {e}")
                continue
            able.append(i)
            bfeeds.append(x)
        if not able:
            continue
        tr_runs = max(20, min(runs, 100) // 2)
        tstats = lat.compare_latency(
            [files[i] for i in able], threads=threads, batch=b, runs=tr_runs, warmup=5, feeds=bfeeds
        )
        for i, st in zip(able, tstats, strict=True):
            thr[i].append(_throughput(b, st.p50))
    return thr, skipped


def _add_memory(art: dict[str, Any], f: Path, arena: str, mem_args: dict[str, Any]) -> None:
    """Measure `f`'s memory in a fresh process (arena on, off or both) into `art`."""
    on = off = None
    if arena in ("on", "both"):
        on = measure_memory(f, arena=True, **mem_args)
    if arena in ("off", "both"):
        off = measure_memory(f, arena=False, **mem_args)
    main = on or off
    mem = main.to_dict()
    if on is not None and off is not None:
        mem["arena_off"] = {"peak": off.peak_mb, "added": off.added_mb}
    art["memory_mb"] = mem
    if main.cold_start_ms is not None:  # session + first run in a fresh process
        art["cold_start_ms"]["fresh_process"] = round(main.cold_start_ms, 3)
    if main.note:
        art["notes"].append(main.note)


def _latency_notes(st: lat.LatencyStats, overhead: float) -> list[str]:
    """A warning when the p50 is too close to the loop overhead to compare models by."""
    if st.p50 < TINY_FACTOR * overhead:
        return [
            f"p50 {st.p50:.4f} ms is under {TINY_FACTOR}x the loop overhead "
            f"({overhead:.4f} ms per call): differences this small are mostly the call path"
        ]
    return []


def _timed_feeds(
    files: Sequence[Path],
    threads: int,
    batch: int,
    shapes: Mapping[str, Sequence[int]] | None,
    arrays: Any,
    max_input_mb: float | None,
) -> tuple[list[Any], list[ResolvedInputs]]:
    """Inputs at the timed batch for each file, and how their shapes were resolved.

    Every file is opened first, so an unloadable one fails before any input is drawn.
    """
    sessions = [_open(f, threads) for f in files]
    feeds, resolved = [], []
    for s in sessions:
        x, r = make_feeds(s, shapes=shapes, batch=batch, data=arrays, max_input_mb=max_input_mb)
        feeds.append(x)
        resolved.append(r)
    del sessions
    return feeds, resolved


def _artifact(
    f: Path,
    name: str,
    g: GraphStats | None,
    st: lat.LatencyStats,
    *,
    overhead: float,
    cold: lat.ColdStart,
    throughput: list[dict],
    inputs: ResolvedInputs,
    skipped: list[str],
) -> dict[str, Any]:
    """One file's report.json artifact fields, memory still None."""
    latency = st.to_dict()
    latency["loop_overhead"] = round(overhead, 5)
    notes = [*(g.notes if g else []), *inputs.notes, *_latency_notes(st, overhead)]
    notes += skipped
    art: dict[str, Any] = {
        "name": name,
        "path": str(f),
        "format": "ort" if f.suffix.lower() == ".ort" else "onnx",
        **(g.to_dict() if g else {}),
        "latency_ms": latency,
        "cold_start_ms": cold.to_dict(),
        "throughput": throughput,
        "memory_mb": None,
        "inputs": inputs.to_dict(),
        "notes": notes,
    }
    if g is not None and g.macs_by_op:
        art["macs_by_op"] = g.macs_by_op
    return art


def _comparison(artifacts: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each artifact after the first as ratios to the first (None where a figure is missing)."""
    first = artifacts[0]
    comparison = []
    for art in artifacts[1:]:
        comparison.append(
            {
                "name": art["name"],
                "baseline": first["name"],
                "p50_ratio": _ratio(first["latency_ms"]["p50"], art["latency_ms"]["p50"]),
                "p90_ratio": _ratio(first["latency_ms"]["p90"], art["latency_ms"]["p90"]),
                "size_ratio": _ratio(first.get("size_bytes"), art.get("size_bytes")),
                "macs_ratio": _ratio(first.get("macs"), art.get("macs")),
                "memory_added_ratio": _ratio(
                    (first["memory_mb"] or {}).get("added"), (art["memory_mb"] or {}).get("added")
                ),
            }
        )
    return comparison


def benchmark_many(
    paths: Sequence[str | Path],
    *,
    threads: int = 1,
    batch: int = 1,
    runs: int = 200,
    warmup: int = 20,
    duration: float | None = None,
    memory: bool = True,
    arena: str = "both",
    shapes: Mapping[str, Sequence[int]] | None = None,
    data: str | Path | None = None,
    batches: Sequence[int] = (),
    sources: Mapping[str, str | Path] | None = None,
    max_input_mb: float | None = None,
) -> dict[str, Any]:
    """Measure every model (latency interleaved) and compare each with the first.

    arena: "on", "off" or "both" (the CPU memory arena, for the memory figures).
    batches: extra batch sizes for the throughput figures.
    sources: `.ort` path -> the `.onnx` it came from, whose graph gives params/MACs.
    max_input_mb: refuse random inputs above this (default: a share of MemAvailable), checked
    before any input is drawn (graph counting's own batch-1 run is guarded the same way).
    """
    files = _checked_files(paths, arena, threads)
    arrays = load_data(data) if data is not None else None
    sources = {str(Path(k)): Path(v) for k, v in (sources or {}).items()}
    graphs = _graphs(files, sources, shapes, max_input_mb)

    feeds, resolved = _timed_feeds(files, threads, batch, shapes, arrays, max_input_mb)
    overhead = lat.loop_overhead_ms(threads)
    stats = lat.compare_latency(
        files,
        threads=threads,
        batch=batch,
        runs=runs,
        warmup=warmup,
        feeds=feeds,
        duration=duration,
    )
    colds = [lat.cold_start(f, threads=threads, feeds=x) for f, x in zip(files, feeds, strict=True)]
    extra = [b for b in dict.fromkeys(batches) if b != batch]
    thr, skipped = _throughputs(files, extra, threads, runs, shapes, arrays, max_input_mb)

    artifacts = []
    for i, f in enumerate(files):
        own = _throughput(batch, stats[i].p50)
        art = _artifact(
            f,
            _names(files)[i],
            graphs[i],
            stats[i],
            overhead=overhead,
            cold=colds[i],
            throughput=sorted([own, *thr[i]], key=lambda d: d["batch"]),
            inputs=resolved[i],
            skipped=skipped[i],
        )
        if memory:
            mshapes = {k: list(v) for k, v in resolved[i].shapes.items()}
            mem_args = {"threads": threads, "batch": batch, "shapes": mshapes}
            _add_memory(art, f, arena, {**mem_args, "max_input_mb": max_input_mb})
        artifacts.append(art)

    return {
        "host": host_info(),
        "settings": _settings(threads, batch, runs, duration, warmup, len(files)),
        "artifacts": artifacts,
        "comparison": _comparison(artifacts),
    }


def benchmark(
    path: str | Path,
    *,
    threads: int = 1,
    batch: int = 1,
    runs: int = 200,
    warmup: int = 20,
    memory: bool = True,
    **kwargs: Any,
) -> dict[str, Any]:
    """The report.json artifact measurement fields of one model file (see benchmark_many)."""
    result = benchmark_many(
        [path], threads=threads, batch=batch, runs=runs, warmup=warmup, memory=memory, **kwargs
    )
    return result["artifacts"][0]
