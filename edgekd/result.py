"""What `compress` hands back: the run directory, the report, and the trained student itself.

A notebook caller wants to use the student next (evaluate it, fine-tune it, save it its own
way), look up the file that ships, and read the verdict without parsing report.json.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class RunResult:
    run_dir: Path
    report: dict
    rank: int = 0  # torchrun: ranks other than 0 only train (report {}, nothing written)
    student: Any = None  # the distilled fp32 nn.Module student.onnx was exported from (CPU, eval)

    @property
    def ok(self) -> bool:
        return True if self.rank else bool(self.report["budget"]["ok"])

    @property
    def artifacts(self) -> dict[str, Path]:
        """Every measured ONNX artifact's path by its report name (teacher, student, ...)."""
        return {a["name"]: self.run_dir / a["path"] for a in self.report.get("artifacts", [])}

    @property
    def final(self) -> str:
        """The name of the artifact that ships (the one the budget verdict is about)."""
        return self.report["final"]

    @property
    def final_path(self) -> Path:
        return self.artifacts[self.final]

    @property
    def budget(self) -> dict:
        """The verdict: profile, ok, and every limit checked with its value."""
        return self.report["budget"]
