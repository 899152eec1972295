"""The run directory's manifest: which stages finished, on what inputs, writing what.

Rewritten atomically after every stage, so an interrupted run (Ctrl-C) leaves a directory
whose manifest tells exactly what is complete. Each stage's record holds what a later
`--resume` needs to decide whether the stage can be skipped: the values of the config fields
the stage depends on, the sha256 of every file it read, and the files it wrote with theirs.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from edgekd.atomic import write_text_atomic


def config_hash(config: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:16]


def file_sha256(path: Path) -> str:
    """The file's sha256, read in chunks (data files may be large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _hashes(paths: Iterable[Path]) -> dict[str, str]:
    """{path as given: sha256} for files; folders (image data sets) are named, not hashed."""
    return {str(p): file_sha256(p) if p.is_file() else "folder" for p in map(Path, paths)}


class StageRecord:
    """What the block of `Manifest.stage` tells the manifest: the files the stage wrote."""

    def __init__(self) -> None:
        self.files: list[Path] = []

    def outputs(self, *paths: Path | str) -> None:
        self.files.extend(Path(p) for p in paths)


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
    def stage(
        self,
        name: str,
        fields: dict[str, Any] | None = None,
        inputs: Iterable[Path] = (),
    ) -> Iterator[StageRecord]:
        """Time a stage and record it once its block finishes (an interrupted stage leaves no
        record). `fields`: the config values the stage depends on; `inputs`: the files it reads
        (hashed now, before the stage can change anything); the block calls
        `record.outputs(*paths)` for the files it writes (hashed after it)."""
        fields = fields or {}
        read = _hashes(inputs)
        start, record = time.perf_counter(), StageRecord()
        yield record
        self.data["stages"].append(
            {
                "stage": name,
                "seconds": round(time.perf_counter() - start, 2),
                "fields": fields,
                "fields_hash": config_hash(fields),
                "inputs": read,
                "outputs": [p.name for p in record.files],
                "output_sha256": {p.name: file_sha256(p) for p in record.files},
            }
        )
        self._save()

    def stage_times(self) -> list[dict[str, Any]]:
        """[{stage, seconds}] of the stages finished so far (report.json's `stages`)."""
        return [{"stage": s["stage"], "seconds": s["seconds"]} for s in self.data["stages"]]

    def finish(self, status: str) -> None:
        self.data["status"] = status
        self._save()
