"""MCU latency estimates from the graph, calibrated on published MLPerf Tiny measurements.

No MCU runs here, so an MCU latency is an estimate and is printed as one: a range, with the
published figures it rests on. The cost model: each conv, depthwise and dense layer costs the
int8 work it does, its multiply-accumulates plus the bytes it moves (weights read once,
activations read and written; bench/layers.py counts both per layer kind). A board turns work
into cycles at some efficiency; every calibration model gives the efficiency one int8 deployment
reached on that board, and the estimate is this graph's work at the lowest and the highest of
those efficiencies, divided by the board's clock.

Why a range and not a per-kind fit: with three reference models per board (ResNet-8: 3x3
convs; MobileNetV1-0.25: pointwise + depthwise; the AD autoencoder: dense), fitting one cycles
coefficient per kind is exactly determined: it reproduces its own calibration rows and leaves
nothing to size its error on an unseen model. The efficiency spread is what the published data
can say. Held out of the calibration: the keyword-spotting DS-CNN on both boards
(benchmarks/device_estimates.py checks the range holds it).

Source of every figure: MLPerf Tiny v1.1 results, https://github.com/mlcommons/tiny_results_v1.1,
closed division, submitter Krai, `closed/Krai/results/<BOARD>_X-CUBE-AI-<V>/<task>/performance/
results.txt` (median throughput, inferences per second; int8 models, STM X-CUBE-AI 7.3 / 8.0).
Torch-free: `edgekd bench` prints these estimates on any machine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgekd.bench.layers import LayerWork, layer_work, totals
from edgekd.bench.targets import TARGETS
from edgekd.errors import EdgeKDError

RESULTS_REPO = "https://github.com/mlcommons/tiny_results_v1.1"

# Work of each MLPerf Tiny reference graph: (MACs, bytes moved) at batch 1, counted by
# bench/layers.py on edgekd's export of the zoo model (ResNet-8, MobileNetV1 alpha 0.25 at
# 96x96, DS-CNN small) and on the AD FC autoencoder (640-128x4-8-128x4-640, all dense), built by
# benchmarks/device_estimates.py. tests/test_device_estimates.py recounts them.
REFERENCE_WORK: dict[str, tuple[int, int]] = {
    "resnet8": (12_501_632, 260_730),
    "mobilenet-v1-0.25": (7_489_664, 696_818),
    "ds-cnn": (2_656_768, 158_582),
    "fc-autoencoder": (264_192, 267_536),
}
TASK_MODEL = {"ic": "resnet8", "vww": "mobilenet-v1-0.25", "kws": "ds-cnn", "ad": "fc-autoencoder"}
BOARDS = {"cortex-m4": "NUCLEO-L4R5ZI", "cortex-m7": "NUCLEO-H7A3ZI-Q"}
HELD_OUT_TASKS = ("kws",)  # never used to calibrate: the check of the range


@dataclass(frozen=True)
class Published:
    """One published MLPerf Tiny performance result."""

    task: str
    target: str
    framework: str  # X-CUBE-AI version
    inferences_per_s: float

    @property
    def model(self) -> str:
        return TASK_MODEL[self.task]

    @property
    def board(self) -> str:
        return BOARDS[self.target]

    @property
    def latency_ms(self) -> float:
        return 1000.0 / self.inferences_per_s

    @property
    def held_out(self) -> bool:
        return self.task in HELD_OUT_TASKS

    @property
    def source(self) -> str:
        return (
            f"{RESULTS_REPO}, closed/Krai/results/{self.board}_X-CUBE-AI-{self.framework}/"
            f"{self.task}/performance/results.txt"
        )

    def cycles_per_work(self) -> float:
        """Clock cycles per unit of work (one MAC or one byte moved) this result implies."""
        macs, traffic = REFERENCE_WORK[self.model]
        clock_hz = TARGETS[self.target].clock_mhz * 1e6
        return self.latency_ms * 1e-3 * clock_hz / (macs + traffic)


def _rows(target: str, framework: str, per_s: Sequence[float]) -> list[Published]:
    return [Published(t, target, framework, v) for t, v in zip(TASK_MODEL, per_s, strict=True)]


# Throughput in TASK_MODEL order: ic, vww, kws, ad. (The L4R5ZI X-CUBE-AI 8.0 vww log flags its
# windows as shorter than the 10 s rule, 9.95 s; the figure is kept as published.)
PUBLISHED: tuple[Published, ...] = (
    *_rows("cortex-m4", "7.3", (4.41, 4.45, 13.381, 131.949)),
    *_rows("cortex-m4", "8.0", (4.51, 4.522, 13.76, 131.9)),
    *_rows("cortex-m7", "7.3", (18.6, 19.8, 59.788, 547.0)),
    *_rows("cortex-m7", "8.0", (18.2, 19.9, 61.0, 547.0)),
)


def calibration(target: str) -> list[Published]:
    """The published rows an estimate for `target` rests on (held-out tasks excluded)."""
    return [p for p in PUBLISHED if p.target == target and not p.held_out]


@dataclass(frozen=True)
class Estimate:
    """An estimated latency range for one graph on one MCU target; never a measurement."""

    target: str
    low_ms: float
    high_ms: float
    macs: int
    traffic_bytes: int
    by_kind: dict[str, dict[str, int]]
    basis: str
    unknown_layers: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"estimated ({self.target}, calibrated on {self.basis})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": "estimated",
            "target": self.target,
            "processor": f"{self.target} ({TARGETS[self.target].description})",
            "low_ms": round(self.low_ms, 3),
            "high_ms": round(self.high_ms, 3),
            "macs": self.macs,
            "traffic_bytes": self.traffic_bytes,
            "by_kind": self.by_kind,
            "basis": self.basis,
            "sources": sorted({p.source for p in calibration(self.target)}),
            "method": "work (MACs + int8 bytes moved) x the lowest..highest cycles per unit of "
            "work of the calibration models on this board, / clock",
            "unknown_layers": list(self.unknown_layers),
        }


def estimate_layers(layers: Sequence[LayerWork], target: str, unknown: Sequence[str] = ()):
    """The latency range of a graph whose per-layer work is `layers`, on MCU `target`."""
    if target not in BOARDS:
        raise EdgeKDError(
            f"no MCU calibration for target {target!r}; estimates exist for {', '.join(BOARDS)}"
        )
    rows = calibration(target)
    effs = [p.cycles_per_work() for p in rows]
    kinds = totals(list(layers))
    macs = sum(k["macs"] for k in kinds.values())
    traffic = sum(k["traffic_bytes"] for k in kinds.values())
    clock_hz = TARGETS[target].clock_mhz * 1e6
    to_ms = (macs + traffic) / clock_hz * 1e3
    models = ", ".join(dict.fromkeys(p.model for p in rows))
    frameworks = "/".join(dict.fromkeys(p.framework for p in rows))
    basis = (
        f"MLPerf Tiny v1.1 {models} on {BOARDS[target]} "
        f"({TARGETS[target].clock_mhz:g} MHz), Krai, X-CUBE-AI {frameworks}"
    )
    return Estimate(
        target, to_ms * min(effs), to_ms * max(effs), macs, traffic, kinds, basis, tuple(unknown)
    )


def estimate_file(
    path: str | Path, target: str, shapes: Mapping[str, Sequence[int]] | None = None
) -> Estimate:
    """The latency range of the .onnx file at `path` on MCU `target` (batch 1)."""
    from edgekd.bench.graph import model_shapes

    model, known = model_shapes(path, shapes)
    layers, unknown = layer_work(model, known)
    return estimate_layers(layers, target, unknown)


def add_estimates(artifacts: Sequence[dict[str, Any]], target: str) -> None:
    """Put an `estimate` into each .onnx artifact (report.json/bench shape) for an MCU target."""
    if target not in BOARDS:
        return
    for art in artifacts:
        path = Path(art["path"])
        if path.suffix.lower() == ".onnx" and path.is_file():
            art["estimate"] = estimate_file(path, target).to_dict()
