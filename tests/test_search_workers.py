"""Two `edgekd search` worker processes share one study through one journal file: every trial
slot is used exactly once (no trial lost, none run twice), and both workers do trials."""

import json
import os
import subprocess
import sys

import pytest
import yaml

optuna = pytest.importorskip("optuna")

TRIALS = 4


def test_two_workers_share_one_study_without_losing_or_duplicating_trials(tmp_path):
    cfg = tmp_path / "search.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "data": "digits",
                "teacher": ["dscnn"],
                "teacher_epochs": 1,
                "allow_weak_teacher": True,  # a 1-epoch teacher, for speed
                "latency_runs": 10,
                "search": {
                    "trials": TRIALS,
                    "epochs": 1,
                    "latency_runs": 10,
                    "space": {
                        "student": ["dscnn", "mlp"],
                        "student_width": [0.25, 0.75],
                        "prune_ratio": 0,
                        "quantize": "none",
                    },
                },
            }
        )
    )
    out, storage = tmp_path / "search", tmp_path / "shared.journal"
    cmd = [
        sys.executable, "-m", "edgekd", "search", "--config", str(cfg), "--out", str(out),
        "--storage", str(storage), "--no-final",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    workers = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        for _ in range(2)
    ]
    logs = [w.communicate(timeout=600)[0] for w in workers]
    for w, log in zip(workers, logs, strict=True):
        assert w.returncode == 0, log

    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    study = optuna.load_study(
        study_name="edgekd-search", storage=JournalStorage(JournalFileBackend(str(storage)))
    )
    trials = study.get_trials(deepcopy=False)
    counted = [t for t in trials if not t.user_attrs.get("surplus")]
    numbers = [t.number for t in counted]
    assert sorted(numbers) == list(range(TRIALS)), numbers  # none lost, none twice
    assert all(t.state.name in ("COMPLETE", "PRUNED") for t in counted)
    # each trial ran in exactly one worker, into its own run directory
    pids = {t.user_attrs["pid"] for t in counted}
    assert pids == {w.pid for w in workers}, (pids, logs)
    dirs = [t.user_attrs["run_dir"] for t in counted]
    assert len(set(dirs)) == TRIALS
    for t in counted:
        if t.state.name == "COMPLETE":
            manifest = json.loads((out / t.user_attrs["run_dir"] / "manifest.json").read_text())
            assert manifest["status"] == "done"
    # one teacher, trained once, shared by both workers
    assert sum("reusing" in log for log in logs) == 1
    summary = json.loads((out / "search.json").read_text())
    assert summary["counts"]["trials"] == TRIALS
