"""The Optuna side of `edgekd search`: opening (or joining) the study in its storage, the lock
shared by the workers of one search directory, trials left by dead workers, and the study seen
as plain rows (what search.json lists)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgekd.config import CompressConfig
from edgekd.errors import EdgeKDError
from edgekd.search.space import SearchSettings

DIRECTIONS = ["maximize", "minimize", "minimize"]  # val accuracy, latency, size
OBJECTIVES = ["val_accuracy", "latency_ms", "size_kb"]
DEFAULT_STUDY = "edgekd-search"


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock shared by every worker using this search directory."""
    with open(path, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def quiet_optuna() -> None:
    import optuna

    # ERROR: a failed trial is reported once, by the search's own line (not a traceback)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def study_attrs(storage, name: str) -> dict | None:
    """The user attributes of study `name` in `storage`, None when there is no such study."""
    for study in storage.get_all_studies():
        if study.study_name == name:
            return dict(study.user_attrs)
    return None


def open_study(storage, name: str, seed: int, settings: SearchSettings, attrs: dict):
    """Create the study, or join it when it exists with the same search; returns (study,
    created)."""
    import optuna

    def sampler(s: int | None):
        return optuna.samplers.TPESampler(
            seed=s,
            multivariate=True,
            group=True,  # quant_format exists only in int8 trials
            constant_liar=True,
            n_startup_trials=max(3, min(10, settings.trials // 3)),
        )

    try:
        study = optuna.create_study(
            storage=storage, study_name=name, directions=DIRECTIONS, sampler=sampler(seed)
        )
        for k, v in attrs.items():
            study.set_user_attr(k, v)
        return study, True
    except optuna.exceptions.DuplicatedStudyError:
        pass
    # A worker joining (or a resume) gets a fresh seed: same-seeded samplers would propose the
    # same configurations in every worker.
    joined = int.from_bytes(os.urandom(4), "little")
    study = optuna.load_study(study_name=name, storage=storage, sampler=sampler(joined))
    if list(study.directions) != [optuna.study.StudyDirection[d.upper()] for d in DIRECTIONS]:
        raise EdgeKDError(f"study '{name}' exists in this storage but is not an edgekd search")
    for _ in range(50):  # the creator writes its attributes right after creating the study
        have = study.user_attrs
        if "fingerprint" in have:
            break
        time.sleep(0.2)
    if have.get("fingerprint") != attrs["fingerprint"]:
        raise EdgeKDError(
            f"study '{name}' already exists with different settings (base config, budget, space "
            "or screening); rerun with the same ones to continue it, or pick a new --out or "
            "--study-name"
        )
    if have.get("teacher_sha256") != attrs["teacher_sha256"]:
        raise EdgeKDError(
            f"study '{name}' was started with another teacher (sha256 "
            f"{str(have.get('teacher_sha256'))[:12]}); give every worker that teacher file: "
            "--teacher FIRST_WORKER_OUT/teacher.onnx"
        )
    return study, False


def fail_dead_trials(study) -> None:
    """Trials this host left RUNNING (killed worker): mark them failed and interrupted, so the
    study can count them out and run a replacement."""
    from optuna.trial import TrialState

    host = socket.gethostname()
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        pid = t.user_attrs.get("pid")
        if t.user_attrs.get("host") == host and pid and not pid_alive(pid):
            study._storage.set_trial_user_attr(t._trial_id, "interrupted", True)
            study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)


def counts(t) -> bool:
    """Trials that use up the --trials budget (not surplus, not interrupted)."""
    return not (t.user_attrs.get("surplus") or t.user_attrs.get("interrupted"))


def trial_rows(study) -> list[dict]:
    """Every counted trial of the study as a plain dict (what search.json lists)."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        if t.user_attrs.get("surplus"):
            continue
        figures = t.user_attrs.get("figures") or {}
        row = {
            "number": t.number,
            "state": t.state.name,
            "status": _status(t),
            "params": t.user_attrs.get("config") or dict(t.params),
            **figures,
            "constraints": dict(t.constraints) or None,
            "seconds": t.user_attrs.get("seconds"),
            "run_dir": t.user_attrs.get("run_dir"),
            "host": t.user_attrs.get("host"),
        }
        if not figures:
            row["checks"] = None
            if t.constraints and any(v > 0 for v in t.constraints.values()):
                row["feasible"] = False
        for key in ("stopped", "error", "size_floor_kb", "interrupted"):
            if key in t.user_attrs:
                row[key] = t.user_attrs[key]
        if t.user_attrs.get("val_curve"):
            row["val_curve"] = t.user_attrs["val_curve"]
        rows.append(row)
    return rows


def _status(t) -> str:
    """measured, stopped (early, on validation accuracy), skipped (too large to fit whatever
    training does), failed, interrupted or running."""
    state = t.state.name
    if state == "COMPLETE":
        return "measured"
    if state == "PRUNED":
        return "skipped" if t.user_attrs.get("size_floor_kb") is not None else "stopped"
    if state == "FAIL":
        return "interrupted" if t.user_attrs.get("interrupted") else "failed"
    return state.lower()


@dataclass
class SearchContext:
    base: CompressConfig
    settings: SearchSettings
    budget: Any
    data: Any
    out: Path
    teacher_path: Path
    teacher_info: dict
    study: Any = None

    def reference_curves(self) -> list[list[float]]:
        rows = trial_rows(self.study)
        return [
            r["val_curve"]
            for r in rows
            if r["state"] == "COMPLETE" and r.get("feasible") and r.get("val_curve")
        ]
