"""A second ONNX runtime that nobody here wrote: `tract` (Sonos, Rust; PyPI `tract`), run on
the file that ships so its predictions are not only onnxruntime's word.

tract runs fp32, QDQ int8 and dynamic int8 graphs; it does not run the com.microsoft operators
of onnxruntime's QOperator format (QLinearAdd, QLinearGlobalAveragePool, ...), which only
onnxruntime runs, so such files say so instead of a figure. The import is optional: edgekd's
core install (what `edgekd bench` needs on a device) does not pull it in.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx

from edgekd.bench.inputs import is_text_model, token_feeds
from edgekd.errors import first_line
from edgekd.numerics import compare_logits

MS_DOMAIN = "com.microsoft"


class Unavailable(Exception):
    """tract is not installed or cannot run this file; the message says which and why."""


def tract_label() -> str | None:
    """'tract 0.23.9', or None when tract is not installed."""
    try:
        import tract
    except ImportError:
        return None
    return f"tract {tract.version()}"


def _microsoft_ops(path: Path) -> list[str]:
    model = onnx.load(str(path), load_external_data=False)
    return sorted({n.op_type for n in model.graph.node if n.domain == MS_DOMAIN})


def tract_logits(path: str | Path, x: np.ndarray, *, batch_size: int = 512) -> np.ndarray:
    """The first output of `path` on `x`, run by tract; raises Unavailable with the reason."""
    path = Path(path)
    ms_ops = _microsoft_ops(path)
    if ms_ops:
        raise Unavailable(
            f"{path.name} uses onnxruntime's com.microsoft ops ({', '.join(ms_ops[:3])}); "
            "only onnxruntime runs them"
        )
    try:
        import tract
    except ImportError as e:
        raise Unavailable("tract is not installed (pip install 'edgekd[train]')") from e
    graph = onnx.load(str(path), load_external_data=False).graph
    known = {i.name for i in graph.initializer}
    names = [i.name for i in graph.input if i.name not in known]
    try:
        runnable = tract.onnx().load(str(path)).into_model().into_runnable()
        outs = [
            runnable.run(_inputs(x[i : i + batch_size], names))[0].to_numpy()
            for i in range(0, len(x), batch_size)
        ]
    except tract.TractError as e:
        raise Unavailable(f"tract could not run {path.name}: {first_line(e)}") from e
    return np.concatenate(outs)


def _inputs(x: np.ndarray, names: list[str]) -> list[np.ndarray]:
    """tract takes inputs by position: a text model's token ids and mask (as onnxruntime gets
    them), else the one float tensor."""
    if is_text_model(names):
        feeds = token_feeds(x, names)
        return [np.ascontiguousarray(feeds[n]) for n in names]
    return [np.ascontiguousarray(x, np.float32)]


def second_opinion(path: str | Path, x: np.ndarray, ort_logits: np.ndarray) -> dict:
    """report.json's `second_runtime`: tract's predictions on `x` against onnxruntime's
    (`ort_logits`), or `skipped` with the reason tract did not run the file."""
    try:
        logits = tract_logits(path, x)
    except Unavailable as e:
        return {"runtime": tract_label(), "skipped": str(e)}
    return {"runtime": tract_label(), **compare_logits(logits, ort_logits).to_dict()}


def opinion_text(opinion: dict) -> str:
    """One sentence for report.md/html and the verdict."""
    runtime = opinion.get("runtime") or "tract"
    if "skipped" in opinion:
        return f"second runtime: not run ({opinion['skipped']})"
    n = opinion["n"]
    same = round(opinion["agreement"] * n)
    text = f"second runtime: {runtime} agrees with onnxruntime on {same} of {n} test predictions"
    if not opinion["agrees"]:
        text += (
            f" (largest logit difference {opinion['max_logit_steps']:.1f} 8-bit steps): "
            "DISAGREES, the accuracy above is onnxruntime's on this host only"
        )
    return text


def final_opinion(report: dict) -> dict | None:
    """The shipped artifact's `second_runtime` in report.json (None: not recorded)."""
    final = report.get("final")
    row = next((a for a in report.get("artifacts") or [] if a.get("name") == final), {})
    return row.get("second_runtime")


def shipped_line(report: dict) -> str | None:
    """The sentence report.md/html print under the artifacts table (None: not recorded)."""
    opinion = final_opinion(report)
    return opinion_text(opinion) if opinion else None


def verdict_suffix(report: dict) -> str:
    """Appended to the budget verdict when the shipped file's second runtime disagrees."""
    opinion = final_opinion(report)
    if opinion and opinion.get("agrees") is False:
        runtime = opinion.get("runtime") or "tract"
        return f"; {runtime} DISAGREES with onnxruntime on the shipped file"
    return ""
