"""SIGTERM handled like Ctrl-C, and the shell's exit codes for both.

`docker stop`, Kubernetes, Slurm and systemd stop a process with SIGTERM, whose default action
kills Python without running a single `finally`: the manifest would say `running` forever and
half-written files would stay. Turning it into an exception (a KeyboardInterrupt, so every
place that already cleans up after Ctrl-C cleans up after it too) lets the run record that it
was interrupted. Exit codes follow the shell convention, 128 + the signal number: 130 for
SIGINT, 143 for SIGTERM, never 1 (which means "budget missed").
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


class Terminated(KeyboardInterrupt):
    """The process was asked to stop by a signal other than SIGINT."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise(signum: int, _frame) -> None:
    raise Terminated(signum)


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within the block SIGTERM raises `Terminated`; outside it the previous handler is back.

    A no-op off the main thread, where Python cannot install signal handlers.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def exit_code(e: KeyboardInterrupt) -> int:
    """128 + the signal number: 143 for SIGTERM, 130 for Ctrl-C (SIGINT)."""
    return 128 + (e.signum if isinstance(e, Terminated) else signal.SIGINT)
