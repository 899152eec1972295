"""One unit per quantity, checked in one place.

Accuracy drops are percentage points everywhere a user gives one (`--max-accuracy-drop`, config
files, `edgekd.compress`, `edgekd.choose_quantization`, the search space): 0.5 means half a
point. `choose_quantization` took a fraction before (0.005 = 0.5 points); a value that looks like
one is refused there rather than read as a far stricter tolerance. Other quantities carry their
unit in their name (`max_latency_ms`, `max_memory_mb`, `max_size_kb`); retention is a ratio to
the teacher (0.98), bounded so a percentage (98) is refused.
"""

from __future__ import annotations

from edgekd.errors import EdgeKDError

# Below this many points a drop cannot be told from zero on a validation set under 1,000 rows,
# while the old fractions (0.005 = 0.5 points, 0.05 = 5 points) all fall below it.
AMBIGUOUS_BELOW = 0.1


def check_drop_points(points: float) -> float:
    """`points` if it is a drop in percentage points, else ValueError (pydantic's message)."""
    if not 0 <= points <= 100:
        raise ValueError(f"must be in 0..100 percentage points, got {points}")
    return points


def drop_fraction(points: float, name: str = "max_accuracy_drop") -> float:
    """A drop given in points, as the fraction of accuracy the quantization guard compares;
    refuses a value in (0, AMBIGUOUS_BELOW) that reads as the old fraction."""
    try:
        check_drop_points(points)
    except ValueError as e:
        raise EdgeKDError(f"{name} {e}") from None
    if 0 < points < AMBIGUOUS_BELOW:
        raise EdgeKDError(
            f"{name}={points:g} is in percentage points (it was a fraction before): pass "
            f"{points * 100:g} for {points * 100:g} points, or 0 for no drop"
        )
    return points / 100
