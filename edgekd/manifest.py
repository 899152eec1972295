"""The run directory's manifest: which stages finished, on what inputs, writing what.

Rewritten atomically after every stage, so an interrupted run (Ctrl-C) leaves a directory
whose manifest tells exactly what is complete.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from edgekd.atomic import write_text_atomic


def config_hash(config: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


class Manifest:
    def __init__(self, run_dir: Path, config: dict[str, Any]):
        self.path = run_dir / "manifest.json"
        self.data: dict[str, Any] = {
            "config_hash": config_hash(config),
            "status": "running",
            "stages": [],
        }
        self._save()

    def _save(self) -> None:
        write_text_atomic(self.path, json.dumps(self.data, indent=2))

    @contextmanager
    def stage(self, name: str) -> Iterator[Callable[..., None]]:
        """Time a stage; the block calls the yielded `outputs(*paths)` to record its files."""
        start, outputs = time.perf_counter(), []
        yield lambda *paths: outputs.extend(Path(p).name for p in paths)
        self.data["stages"].append(
            {"stage": name, "seconds": round(time.perf_counter() - start, 2), "outputs": outputs}
        )
        self._save()

    def finish(self, status: str) -> None:
        self.data["status"] = status
        self._save()
