"""edgekd search end to end on digits (tiny: 1-epoch trials): constraints, outputs, resume.

Trial 0 is queued over the size limit (measured, infeasible), trial 1 within it; the search must
ship a feasible configuration, write search.json / best.yaml / report.html, and a rerun with
more trials must continue the same study.
"""

import json
import os
import socket
import subprocess
import sys

import pytest
import yaml
from click.testing import CliRunner

from edgekd.cli import main
from edgekd.config import resolve_config

optuna = pytest.importorskip("optuna")

LIMIT_KB = 28.0  # dscnn width 1 on digits: ~33 KB in fp32 (measured, over); width 0.5: ~10 KB


def _config(tmp_path, trials):
    path = tmp_path / "search.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "data": "digits",
                "teacher": ["dscnn"],
                "teacher_epochs": 1,
                "allow_weak_teacher": True,  # a 1-epoch teacher, for speed
                "epochs": 1,  # the final run
                "prune_epochs": 1,
                "latency_runs": 10,
                "max_size_kb": LIMIT_KB,
                "search": {
                    "trials": trials,
                    "epochs": 1,
                    "latency_runs": 10,
                    "space": {
                        "student": ["dscnn"],
                        "student_width": {"choices": [0.5, 1.0]},
                        "temperature": [2, 6],
                        "alpha": [0.5, 0.9],
                        "prune_ratio": 0,
                        "quantize": "none",
                    },
                    "enqueue": [{"student_width": 1.0}, {"student_width": 0.5}],
                },
            }
        )
    )
    return path


def _search(tmp_path, trials):
    out = tmp_path / "search"
    args = ["search", "--config", str(_config(tmp_path, trials)), "--out", str(out)]
    result = CliRunner().invoke(main, args)
    return result, out


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("search")
    result, out = _search(tmp, trials=3)
    assert result.exit_code == 0, result.output
    return tmp, out, json.loads((out / "search.json").read_text())


def test_over_budget_trial_is_measured_but_never_chosen(searched):
    _, _, summary = searched
    trials = {t["number"]: t for t in summary["trials"]}
    over = trials[0]
    assert over["state"] == "COMPLETE" and over["feasible"] is False
    assert over["size_kb"] > LIMIT_KB and over["constraints"]["size_kb"] > 0
    assert trials[1]["feasible"] is True
    best = summary["best"]
    assert best["feasible"] and best["number"] != 0
    assert trials[best["number"]]["size_kb"] <= LIMIT_KB
    assert all(t["feasible"] for t in summary["pareto"])
    # the choice is the most accurate feasible trial, on validation accuracy
    feasible = [t for t in summary["trials"] if t.get("feasible")]
    assert best["val_accuracy"] == max(t["val_accuracy"] for t in feasible)
    assert summary["final"]["budget_ok"] is True


def test_every_trial_has_its_run_directory_and_figures(searched):
    _, out, summary = searched
    assert summary["counts"]["trials"] == 3
    for t in summary["trials"]:
        run = out / t["run_dir"]
        assert run.name == f"{t['number']:04d}"
        manifest = json.loads((run / "manifest.json").read_text())
        assert manifest["status"] == "done"
        for key in ("val_accuracy", "test_accuracy", "latency_ms", "size_kb", "memory_added_mb"):
            assert t[key] is not None, key
        assert t["checks"] and t["val_curve"]
    assert (out / "teacher.onnx").is_file() and (out / "study.journal").is_file()


def test_reports_show_the_pareto_front(searched):
    _, out, summary = searched
    html = (out / "report.html").read_text()
    assert "<svg" in html and "Pareto front" in html and "over budget" in html
    assert f"#{summary['best']['number']} (chosen)" in (out / "report.md").read_text()
    final = json.loads((out / "final" / "report.json").read_text())
    assert final["search"]["best"]["number"] == summary["best"]["number"]
    assert "<svg" in (out / "final" / "report.html").read_text().split('id="search"')[1]


def test_best_yaml_reproduces_the_final_run(searched):
    tmp, out, summary = searched
    best = resolve_config(out / "best.yaml")
    assert (out / "best.yaml").read_text() == (out / "final" / "config.yaml").read_text()
    assert best.student.width == summary["best"]["params"]["student_width"]
    again = tmp / "again"
    args = ["compress", "--config", str(out / "best.yaml"), "--out", str(again)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    first = json.loads((out / "final" / "report.json").read_text())
    second = json.loads((again / "report.json").read_text())
    assert second["final"] == first["final"]
    acc = {r["name"]: r["accuracy"] for r in second["artifacts"]}
    assert acc[second["final"]] == pytest.approx(summary["final"]["test_accuracy"], abs=0.02)


def test_resume_continues_the_study_and_replaces_a_killed_trial(searched):
    tmp, out, before = searched
    # a worker killed mid-trial leaves a RUNNING trial behind; its pid is gone
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    storage = JournalStorage(JournalFileBackend(str(out / "study.journal")))
    study = optuna.load_study(study_name="edgekd-search", storage=storage)
    killed = study.ask()
    killed.set_user_attr("host", socket.gethostname())
    killed.set_user_attr("pid", int(dead.stdout))
    assert not os.path.exists(f"/proc/{int(dead.stdout)}")

    result, _ = _search(tmp, trials=4)
    assert result.exit_code == 0, result.output
    assert "continuing, 4 trial(s) so far" in result.output
    after = json.loads((out / "search.json").read_text())
    rows = {t["number"]: t for t in after["trials"]}
    assert rows[killed.number]["status"] == "interrupted"
    counted = [t for t in after["trials"] if t["status"] != "interrupted"]
    assert len(counted) == 4 and all(t["state"] == "COMPLETE" for t in counted)
    for t in before["trials"]:  # the first three trials are kept as they were
        assert rows[t["number"]]["val_accuracy"] == t["val_accuracy"]
        assert rows[t["number"]]["params"] == t["params"]
