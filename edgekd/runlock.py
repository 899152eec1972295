"""One writer per run directory: an OS-level lock held for the whole life of a run.

`fcntl.flock` on `RUN/.edgekd.lock`: the kernel drops the lock when its holder exits, however
it exits (SIGKILL, the OOM killer included), so there is never a stale lock to delete by hand.
The file records who holds it (pid, host, start time) so a second writer can be told whom it
is waiting for. The holder removes the file on release; a writer that locked a file another
holder had just removed sees the path now names another inode and tries again.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from edgekd.errors import EdgeKDError

LOCK_NAME = ".edgekd.lock"


def _holder(path: Path) -> dict:
    try:
        info = json.loads(path.read_text())
        return info if isinstance(info, dict) else {}
    except (OSError, ValueError):
        return {}


def _busy(run_dir: Path, path: Path) -> EdgeKDError:
    h = _holder(path)
    return EdgeKDError(
        f"{run_dir} is being written by edgekd pid {h.get('pid', '?')} on {h.get('host', '?')} "
        f"since {h.get('since', '?')}; choose another --out or wait"
    )


def _open_locked(path: Path) -> int | None:
    """An fd holding the exclusive lock on `path`, or None when another process holds it."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)  # the previous holder removed this file as we locked it: take the new one


@contextlib.contextmanager
def hold(run_dir: str | Path) -> Iterator[Path]:
    """Create `run_dir` and hold its lock for the block; EdgeKDError at once when it is taken.

    Take it before writing anything else into the directory.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK_NAME
    fd = _open_locked(path)
    if fd is None:
        raise _busy(run_dir, path)
    try:
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        }
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(info).encode())
        yield path
    finally:
        path.unlink(missing_ok=True)  # still locked: nobody can take the old inode meanwhile
        os.close(fd)  # closing the last fd releases the lock


def ensure_free(run_dir: str | Path) -> None:
    """Refuse at once (before minutes of loading) when another process writes `run_dir`;
    `hold` still decides, this only saves the wait. Creates nothing."""
    if is_held(run_dir):
        raise _busy(Path(run_dir), Path(run_dir) / LOCK_NAME)


def is_held(run_dir: str | Path) -> bool:
    """Whether a live process holds `run_dir`'s lock (this one included)."""
    path = Path(run_dir) / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
