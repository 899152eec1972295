"""Plain progress lines for logs: when stderr is not a terminal (a log file, a CI job), each
training run prints a line at least every `interval()` seconds and one when it ends, so a
person tailing the log sees that the run lives. On a terminal the rich progress bar does
that job and this prints nothing.

`EDGEKD_PROGRESS_SECONDS` sets the interval (default 30; tests set 0 to get a line a step).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

INTERVAL_S = 30.0
ENV = "EDGEKD_PROGRESS_SECONDS"
_TALLY: ContextVar[list[int] | None] = ContextVar("edgekd_steps", default=None)


@contextmanager
def counting_steps() -> Iterator[list[int]]:
    """`[steps]`: the optimiser steps every training run inside the block took (a stage's
    actual steps, which the report sets against the plan)."""
    box = [0]
    token = _TALLY.set(box)
    try:
        yield box
    finally:
        _TALLY.reset(token)


def interval() -> float:
    try:
        return float(os.environ.get(ENV, INTERVAL_S))
    except ValueError:
        return INTERVAL_S


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class Heartbeat:
    """Counts the steps of one training run of `total` steps; `tick()` after each step."""

    def __init__(self, label: str, total: int, epochs: int, done: int = 0, enabled=None):
        self.label, self.total, self.epochs = label, total, epochs
        self.enabled = (not sys.stderr.isatty()) if enabled is None else enabled
        self.every = interval()
        self.step = self.start_step = done
        self.epoch = 0
        self.val: float | None = None
        self.start = self.last = time.monotonic()

    def _line(self, now: float, state: str) -> str:
        elapsed = now - self.start
        ran = self.step - self.start_step
        left = (self.total - self.step) * elapsed / ran if ran else 0.0
        val = f", last val {self.val:.4f}" if self.val is not None else ""
        return (
            f"[{state}] {self.label}: step {self.step}/{self.total} (epoch {self.epoch}/"
            f"{self.epochs}), {_clock(elapsed)} elapsed, ETA {_clock(left)}{val}"
        )

    def tick(self) -> None:
        self.step += 1
        tally = _TALLY.get()
        if tally is not None:
            tally[0] += 1
        now = time.monotonic()
        if self.enabled and now - self.last >= self.every:
            self.last = now
            print(self._line(now, "progress"), file=sys.stderr, flush=True)

    def validated(self, epoch: int, val: float) -> None:
        self.epoch, self.val = epoch, val

    def finish(self) -> None:
        if self.enabled:
            print(self._line(time.monotonic(), "done"), file=sys.stderr, flush=True)
