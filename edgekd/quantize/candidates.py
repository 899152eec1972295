"""What `choose_quantization` measured and decided: one `Candidate` per built variant (and the
fp32 baseline), the `QuantizationChoice` that ships, and the one-word verdict per candidate.

Apart from choose.py (building, timing and judging) so the report side reads these records
without the quantizer's machinery.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from edgekd.bench.targets import KernelRule


@dataclass
class Candidate:
    name: str
    mode: str
    accuracy: float
    accuracy_drop: float
    p50_ms: float
    latency_ratio_vs_fp32: float
    size_bytes: int
    size_ratio_vs_fp32: float
    int8_nodes: int
    float_nodes_kept: list[str] = field(default_factory=list)
    qualified: bool = False
    why_not: str = ""
    p90_ms: float = math.nan
    float_compute_nodes: int = 0
    config: dict | None = None
    guard_history: list[dict] = field(default_factory=list)
    # int8 only (edgekd.quantize.spec): the same file by the ONNX spec's semantics
    spec_accuracy: float = math.nan
    spec_agreement: float = math.nan  # share of validation predictions equal to the host's
    spec_max_steps: float = math.nan  # largest logit difference, 8-bit steps (edgekd.numerics)
    spec_path: str = ""
    host_dependent: bool = False  # host and spec disagree: the accuracy above is this host's
    second_runtime: dict | None = None  # tract vs onnxruntime on validation, before shipping
    path: Path | None = None  # the built file (temporary; only the shipped one is copied out)

    @property
    def retention(self) -> float:
        base = self.accuracy + self.accuracy_drop
        return self.accuracy / base if base else math.nan

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("path")
        d["retention"] = self.retention
        return _clean(d)


@dataclass
class QuantizationChoice:
    shipped: str
    path: Path | None
    reason: str
    candidates: list[Candidate]
    baseline: Candidate
    max_accuracy_drop: float
    threads: int
    runs: int
    written: str | None = None  # the candidate in the output file (shipped, or kept to compare)
    written_path: Path | None = None
    rule: KernelRule = field(default_factory=KernelRule)  # the target; this host's class
    judged_on: str = "Validation split"  # the rows accuracy was judged on, as the table says

    @property
    def kernels_differ(self) -> bool:
        """True: host int8 timing was not evidence for the target (choose.py's target rule)."""
        return self.rule.differs

    @property
    def shipped_candidate(self) -> Candidate:
        return next((c for c in self.candidates if c.name == self.shipped), self.baseline)

    def to_dict(self) -> dict:
        """JSON-safe; drops are fractions (0.005 = 0.5 points), each candidate has a verdict."""

        def entry(c: Candidate) -> dict:
            return {**c.to_dict(), "verdict": verdict(c, self.shipped, self.written)}

        return _clean(
            {
                "shipped": self.shipped,
                "path": str(self.path) if self.path else None,
                "written": self.written,
                "written_path": str(self.written_path) if self.written_path else None,
                "reason": self.reason,
                "judged_on": self.judged_on,
                "max_accuracy_drop": self.max_accuracy_drop,
                "max_accuracy_drop_points": self.max_accuracy_drop * 100,
                "latency": {
                    "threads": self.threads,
                    "batch": 1,
                    "runs": self.runs,
                    "measured_on": "host",
                },
                "target": self.rule.target,
                "host_class": self.rule.host_class,
                "kernels_differ": self.kernels_differ,
                "baseline": entry(self.baseline),
                "candidates": [entry(c) for c in self.candidates],
            }
        )


def _clean(obj):
    """JSON-safe: NaN becomes None, floats rounded, paths become strings."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, float):
        return None if math.isnan(obj) else round(obj, 6)
    if isinstance(obj, Path):
        return str(obj)
    return obj


def verdict(c: Candidate, shipped: str, written: str | None = None) -> str:
    """One or two words for a table cell; `why_not` has the sentence."""
    if c.name == shipped:
        return "shipped"
    if c.mode == "fp32":
        return "baseline"
    if c.qualified:
        return "qualified"
    if c.path is None and math.isnan(c.p50_ms):
        return "failed"
    words = ["tract disagrees"] if "tract" in c.why_not else []
    if c.accuracy_drop > 0 and "accuracy" in c.why_not:
        words.append("inaccurate")
    if "fp32 (p50" in c.why_not:
        words.append("too slow")
    if "host-dependent" in c.why_not:
        words.append("host-dependent")
    text = ", ".join(words) or "rejected"
    return f"{text} (file kept)" if c.name == written else text
