"""The run directory's manifest: which stages finished, on what inputs, writing what.

Rewritten atomically after every stage, so an interrupted run (Ctrl-C, SIGTERM) leaves a
directory whose manifest tells exactly what is complete. The manifest is also how a later run
knows which files in the directory an earlier run wrote (and may remove), and how a reader
tells a live run from one whose process is gone. Each stage's record holds what a later
`--resume` needs to decide whether the stage can be skipped: the values of the config fields
the stage depends on, the sha256 of every file it read, and the files it wrote with theirs.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from edgekd.atomic import write_text_atomic
from edgekd.runlock import LOCK_NAME, is_held

NAME = "manifest.json"
GONE = "interrupted (the process is gone)"
# Names edgekd gives what it writes into a run directory: a file of this kind that a killed
# run wrote in its unfinished stage is not in its manifest yet, but is still edgekd's own.
OWN_PREFIXES = ("student", "teacher", "report.", "required_operators")


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
        self.steps: int | None = None  # optimiser steps taken (trained stages)

    def outputs(self, *paths: Path | str) -> None:
        self.files.extend(Path(p) for p in paths)


def _listing(run_dir: Path) -> set[str]:
    return {p.name for p in run_dir.iterdir() if p.is_file() and p.name != LOCK_NAME}


def _is_temp(name: str) -> bool:
    """A file `atomic_path` was still writing when its process died (`.stem.XXXX.tmp.ext`)."""
    return name.startswith(".") and ".tmp" in name


def peak_rss_mib() -> float | None:
    """This process's peak resident memory so far (MiB): the stage where it jumps is the one
    that needed the memory. None where the platform has no getrusage."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (2**20 if sys.platform == "darwin" else 2**10), 1)  # bytes on macOS


class Manifest:
    def __init__(
        self,
        run_dir: Path,
        config: dict[str, Any],
        run_files: dict[str, str] | None = None,
        plan: dict | None = None,
    ):
        """`run_files`: files the run wrote at its start, before any stage (texts: the
        student's tokenizer.json), by name, each with the hash of the settings it was made
        for; listed so a later run knows them as this run's, and `--resume` when to reuse them.
        `plan`: the training plan (edgekd/plan.py), which `--resume` trains to."""
        self.run_dir = run_dir
        self.path = run_dir / NAME
        self.data: dict[str, Any] = {
            "config_hash": config_hash(config),
            "status": "running",
            "stages": [],
            **({"run_files": run_files} if run_files else {}),
            "plan": plan,
        }
        self._save()

    def _save(self) -> None:
        write_text_atomic(self.path, json.dumps(self.data, indent=2))
        self._known = _listing(self.run_dir)  # what a stage interrupted after this left is new

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
                "steps": record.steps,
                "peak_rss_mib": peak_rss_mib(),
                "fields": fields,
                "fields_hash": config_hash(fields),
                "inputs": read,
                "outputs": [p.name for p in record.files],
                "output_sha256": {p.name: file_sha256(p) for p in record.files},
            }
        )
        self._save()

    def carry(self, records: list[dict[str, Any]]) -> None:
        """`--resume`: hold an interrupted run's finished records until each is kept or dropped,
        so a resumed run killed in its turn can still be resumed."""
        self.data["resumable"] = list(records)
        self._save()

    def keep(self, record: dict[str, Any]) -> None:
        """Carry over an interrupted run's record of a stage `--resume` skipped."""
        self.data["stages"].append(record)
        self.data["resumable"] = [r for r in self.data.get("resumable", []) if r is not record]
        self._save()

    def drop_carried(self) -> None:
        """A stage was redone: the interrupted run's later records no longer apply."""
        if self.data.pop("resumable", None) is not None:
            self._save()

    def stage_times(self) -> list[dict[str, Any]]:
        """[{stage, seconds, steps, peak_rss_mib}] of the stages finished so far (report.json's
        `stages`; steps: optimiser steps, None for a stage that does not train)."""
        keys = ("stage", "seconds", "steps", "peak_rss_mib")
        return [{k: s.get(k) for k in keys} for s in self.data["stages"]]

    def finish(self, status: str) -> None:
        """Record the final status; an interrupted run first removes its unfinished stage's files
        (complete ones of finished stages stay, listed, for a resume)."""
        if status != "done":
            for name in _listing(self.run_dir) - self._known:
                (self.run_dir / name).unlink(missing_ok=True)
        self.data["status"] = status
        self._save()


# Stages renamed since a manifest may have been written: old name -> new name. The T/alpha
# grid search was "search", the name of the `edgekd search` command.
RENAMED_STAGES = {"search": "kd-search"}


def read_manifest(run_dir: str | Path) -> dict[str, Any] | None:
    """The manifest of `run_dir`, or None when there is none (or it is not edgekd's); stages
    under an old name carry their new one, so a run written before a rename still resumes."""
    try:
        data = json.loads((Path(run_dir) / NAME).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("stages"), list):
        return None
    for record in [*data["stages"], *data.get("resumable", [])]:
        if isinstance(record, dict) and record.get("stage") in RENAMED_STAGES:
            record["stage"] = RENAMED_STAGES[record["stage"]]
    return data


def read_status(run_dir: str | Path) -> str | None:
    """The run's status as a reader should report it; None for a directory with no manifest.

    A manifest saying `running` while no process holds the directory's lock belonged to a
    process that was killed (SIGKILL, the OOM killer, a power cut) before it could say so.
    """
    data = read_manifest(run_dir)
    if data is None:
        return None
    status = str(data.get("status"))
    return GONE if status == "running" and not is_held(run_dir) else status


def earlier_run_files(run_dir: str | Path) -> list[Path]:
    """Files an earlier edgekd run wrote into `run_dir`: never a file edgekd did not write.

    Those its manifest lists (config, manifest, files written at its start, every finished
    stage's outputs), temp files a killed writer left, and, when that run did not finish, files
    named like edgekd's outputs written after its last manifest update (its unfinished stage's).
    """
    run_dir = Path(run_dir)
    data = read_manifest(run_dir)
    if data is None:
        return []
    names = {NAME, "config.yaml", *data.get("run_files", {})}
    for stage in data["stages"]:
        names.update(str(n) for n in stage.get("outputs", []))
    present = _listing(run_dir)
    names.update(n for n in present if _is_temp(n))
    if data.get("status") != "done":
        since = (run_dir / NAME).stat().st_mtime
        names.update(
            n
            for n in present
            if n.startswith(OWN_PREFIXES) and (run_dir / n).stat().st_mtime >= since
        )
    return sorted(run_dir / n for n in names & present)


def clear_earlier_run(run_dir: str | Path) -> list[Path]:
    """Remove an earlier run's own files, so a new run never sits beside its leftovers.

    Call it holding the directory's lock, before writing anything else. Returns what it removed.
    """
    removed = earlier_run_files(run_dir)
    for path in removed:
        path.unlink(missing_ok=True)
    return removed
