"""What to prune: the spec (method, ratio, steps, importance, scope) and its validation."""

from __future__ import annotations

from dataclasses import dataclass

from edgekd.errors import EdgeKDError

METHODS = ("structured", "unstructured")
IMPORTANCES = ("l2", "taylor")
SCOPES = ("uniform", "global")


@dataclass(frozen=True)
class PruneSpec:
    """What to prune and how. `ratio` 0 means no pruning (see the module doc for its meaning)."""

    ratio: float
    method: str = "structured"
    steps: int = 1
    importance: str = "l2"
    scope: str = "uniform"
    round_to: int | None = None

    def __post_init__(self) -> None:
        validate_prune(self.ratio, self.method, self.steps, self.importance, self.scope)
        if self.round_to is not None and self.round_to < 1:
            raise EdgeKDError(f"prune round_to must be >= 1, got {self.round_to}")

    @property
    def meaning(self) -> str:
        if self.method == "unstructured":
            return "fraction of the prunable layers' weights set to zero (global magnitude)"
        if self.scope == "global":
            return "fraction of all prunable channels removed (ranked across layers)"
        return "fraction of output channels removed from each prunable layer"


def validate_prune(
    ratio: float,
    method: str = "structured",
    steps: int = 1,
    importance: str = "l2",
    scope: str = "uniform",
) -> None:
    """One-line EdgeKDError for a bad setting, raised before any training starts."""
    if not isinstance(ratio, int | float) or not 0 <= ratio < 1:
        raise EdgeKDError(
            f"prune ratio must lie in [0, 1) (the fraction of channels removed), got {ratio!r}; "
            "use e.g. --prune-ratio 0.5"
        )
    if method not in METHODS:
        raise EdgeKDError(f"unknown prune method '{method}'; choose one of: {', '.join(METHODS)}")
    if importance not in IMPORTANCES:
        raise EdgeKDError(
            f"unknown prune importance '{importance}'; choose one of: {', '.join(IMPORTANCES)}"
        )
    if scope not in SCOPES:
        raise EdgeKDError(f"unknown prune scope '{scope}'; choose one of: {', '.join(SCOPES)}")
    if not isinstance(steps, int) or steps < 1:
        raise EdgeKDError(f"prune steps must be an integer >= 1, got {steps!r}")
