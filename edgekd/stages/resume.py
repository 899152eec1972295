"""`compress --resume`: which finished stages of an interrupted run may be skipped.

A stage is skipped when the interrupted run's manifest records it finished with the same config
fields, the files it read unchanged and the files it wrote intact; its result is rebuilt from
those files (and its training checkpoint) instead of being computed again. Once one stage is
redone, every later stage is redone too, since its inputs may now differ. Training checkpoints
(OUT/checkpoints/<stage>-<fields hash>.pt) are kept until the run is done: an unfinished stage
continues from its last epoch, and a finished training stage is rebuilt from its last one.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgekd.config import CompressConfig, flat_fields
from edgekd.errors import EdgeKDError
from edgekd.manifest import config_hash, file_sha256, read_manifest

CHECKPOINTS = "checkpoints"  # a subfolder: clearing an earlier run's top-level files spares it


def _plain(value: Any) -> Any:
    """A config value as the manifest stored it (JSON: tuples become lists, paths strings)."""
    return json.loads(json.dumps(value, default=str))


def _intact(files: dict[str, str], run_dir: Path | None = None) -> bool:
    """Every file still exists with the sha256 recorded (folders are named, not hashed)."""
    for name, digest in files.items():
        path = run_dir / name if run_dir else Path(name)
        if digest == "folder":
            if not path.is_dir():
                return False
        elif not path.is_file() or file_sha256(path) != digest:
            return False
    return True


@dataclass
class Resume:
    """The interrupted run's finished stages, and what this run has skipped so far."""

    run_dir: Path
    records: dict[str, dict]  # finished stage records, by stage name
    resumed: list[str] = field(default_factory=list)  # stages skipped, in order (report.json)
    redoing: bool = False  # a stage was redone: every later stage is redone too

    def kept(self, name: str, values: dict[str, Any]) -> dict | None:
        """The interrupted run's record of stage `name` when it may be skipped, else None."""
        record = self.records.get(name)
        if self.redoing or record is None:
            return None
        same = record.get("fields_hash") == config_hash(values)
        if not same or not _intact(record.get("inputs", {})):
            return None
        return record if _intact(record.get("output_sha256", {}), self.run_dir) else None

    def skipped(self, name: str) -> None:
        self.resumed.append(name)

    def redo(self, name: str) -> None:
        """Stage `name` runs again: later stages follow, and if it had finished, the training
        checkpoints of later stages (made from its old result) no longer apply."""
        if not self.redoing and name in self.records:
            folder = self.run_dir / CHECKPOINTS
            for path in folder.glob("*.pt") if folder.is_dir() else []:
                if not path.name.startswith(f"{name}-"):
                    path.unlink(missing_ok=True)
        self.redoing = True


def _flat_value(cfg: Any, key: str) -> Any:
    """`key` as a manifest names it (a flat field name) in `cfg` (sections, or flat values)."""
    if isinstance(cfg, CompressConfig):
        return cfg.flat(key) if key in flat_fields(type(cfg)) else None
    return getattr(cfg, key, None)


def start_resume(run_dir: Path, cfg: Any) -> Resume | None:
    """The resume of `run_dir` for `cfg` (call it holding the directory's lock); None when the
    directory holds no run (then `--resume` just runs). Refuses a finished run, and a config
    that differs in a field a finished stage depends on."""
    data = read_manifest(run_dir)
    if data is None:
        return None
    if data.get("status") == "done":
        raise EdgeKDError(
            f"--resume: the run in '{run_dir}' finished; nothing to resume (rerun without "
            "--resume to run it again)"
        )
    finished = [*data.get("resumable", []), *data["stages"]]  # carried by an earlier resume
    records = {s["stage"]: s for s in finished}
    changed: dict[str, str] = {}
    for record in records.values():
        for key, old in record.get("fields", {}).items():
            new = _plain(_flat_value(cfg, key))
            if new != old and new != "auto":  # auto: kd-search decides; its record tells
                changed[key] = f"{key} changed since the interrupted run ({old} -> {new})"
    if changed:
        raise EdgeKDError(
            f"--resume: {'; '.join(changed.values())}; rerun without --resume to start over"
        )
    return Resume(Path(run_dir), records)


def clear_checkpoints(run_dir: Path) -> None:
    """Remove the training checkpoints: a new run must not continue an earlier one's training,
    and a finished run needs them no more."""
    shutil.rmtree(Path(run_dir) / CHECKPOINTS, ignore_errors=True)
