"""`edgekd search`: the most accurate student that fits the budget, found with Optuna.

One search directory (`--out`):

    teacher.onnx  teacher.json   the teacher, trained or converted once; every trial uses it
    study.journal                the Optuna study (default storage; --storage puts it elsewhere)
    trials/NNNN/                 each trial's run directory (a real `compress` run, shortened)
    final/                       the chosen configuration retrained in full: a normal run directory
    best.yaml                    that configuration: `edgekd compress --config best.yaml` reruns it
    search.json                  every trial's figures, the Pareto front, the choice
    report.html  report.md       the Pareto front as a table and a plot

Each trial runs the real chain (distill -> prune -> export -> quantize -> measure) with
`search.epochs` screening epochs and measures the ONNX file that would ship. The study is
multi-objective (validation accuracy up, latency and size down) with every budget limit as a
constraint; hopeless trials stop early on validation accuracy. Selection uses the validation
split only; the final run's test accuracy is what the report states.

Re-running the same command continues the study (the journal file keeps it); any number of
workers given the same --storage (and teacher) share one study.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import math
import os
import shutil
import socket
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from rich.console import Console

from edgekd.atomic import atomic_path, write_text_atomic
from edgekd.config import CompressConfig, dump_config
from edgekd.errors import EdgeKDError
from edgekd.search.figures import (
    binding_limits,
    binding_sentence,
    choose_best,
    closest,
    constraint_values,
    pareto_front,
    ranked,
    trial_figures,
)
from edgekd.search.space import DEFAULT_FAMILIES, EarlyStop, SearchSettings, suggest_all
from edgekd.search.storage import describe, open_storage

DIRECTIONS = ["maximize", "minimize", "minimize"]  # val accuracy, latency, size
OBJECTIVES = ["val_accuracy", "latency_ms", "size_kb"]
DEFAULT_STUDY = "edgekd-search"
FINAL_ATTEMPTS = 3  # full retrains tried, best feasible trial first
# Config keys a trial always overrides (the teacher is the search's teacher.onnx).
TEACHER_KEYS = ("teacher", "teacher_arch", "teacher_output", "teacher_weight", "trust_pickle")


@dataclass
class SearchResult:
    out: Path
    summary: dict
    final_ok: bool | None  # None: no final run (--no-final, or nothing was measured)

    @property
    def ok(self) -> bool:
        best = self.summary.get("best")
        return bool(best and best.get("feasible") and self.final_ok is not False)


class StopTrial(Exception):
    """Raised inside training by the early-stopping hook."""


# --------------------------------------------------------------------------- small helpers


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock shared by every worker using this search directory."""
    with open(path, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _first_line(e: BaseException) -> str:
    lines = [line for line in str(e).strip().splitlines() if line.strip()]
    return f"{type(e).__name__}: {lines[0] if lines else ''}"[:400]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _quiet_optuna() -> None:
    import optuna

    # ERROR: a failed trial is reported once, by the search's own line (not a traceback)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


# --------------------------------------------------------------------------- set-up


def _families(base: CompressConfig, settings: SearchSettings, data, given: bool) -> list[str]:
    """Student families that build for this data; defaults that do not are dropped quietly,
    families the user named must all build."""
    from edgekd.distill.students import build_student

    names = list(settings.space["student"].choices)
    if not given and len(data.input_shape) >= 2:
        names += [f for f in DEFAULT_FAMILIES if f not in names]
    widths = settings.space["student_width"]
    width = widths.high if widths.choices is None else max(widths.choices)
    kept = []
    for name in names:
        try:
            build_student(name, data, width=width, standardize=base.standardize)
        except EdgeKDError:
            if given or name == base.student:
                raise
            continue
        kept.append(name)
    return kept


def _prepare_teacher(
    base: CompressConfig, data, out: Path, console: Console, study_sha: str | None = None
) -> dict:
    """Train/convert the teacher once into out/teacher.onnx (reused when its config matches).

    `study_sha`: the teacher of the study this worker joins; a --teacher file with exactly those
    bytes (another worker's teacher.onnx) is copied as is, so both workers hold the same file.
    """
    from edgekd.distill.teachers import prepare_teacher
    from edgekd.evaluate import onnx_accuracy
    from edgekd.pipeline import _train_config, teacher_of

    keys = {k: getattr(base, k) for k in (*TEACHER_KEYS, "teacher_epochs", "data", "seed")}
    keys["lr"], keys["batch_size"], keys["device"] = base.lr, base.batch_size, base.device
    spec_hash = hashlib.sha256(json.dumps(keys, sort_keys=True).encode()).hexdigest()[:16]
    path, info_path = out / "teacher.onnx", out / "teacher.json"
    if path.is_file() and info_path.is_file():
        info = json.loads(info_path.read_text())
        if info.get("spec_hash") == spec_hash and info.get("sha256") == _sha256(path):
            console.print(f"teacher: reusing {path} (val accuracy {info['val_accuracy']:.4f})")
            return info
    given = Path(base.teacher[0]) if len(base.teacher) == 1 else None
    if study_sha and given is not None and given.is_file() and _sha256(given) == study_sha:
        with atomic_path(path) as tmp:
            shutil.copyfile(given, tmp)
        info = {
            "spec": base.teacher,
            "spec_hash": spec_hash,
            "sha256": study_sha,
            "kind": "onnx",
            "trained_here": False,
            "val_accuracy": onnx_accuracy(path, data.x_val, data.y_val),
            "test_accuracy": onnx_accuracy(path, data.x_test, data.y_test),
        }
        write_text_atomic(info_path, json.dumps(info, indent=2))
        console.print(f"teacher: {given} is this study's teacher; copied to {path}")
        return info
    import torch

    from edgekd.distill.students import build_student

    # The same random draws as `compress` makes before it builds the teacher, so a recipe
    # teacher trained here is the one `edgekd compress` would train with this config.
    torch.manual_seed(base.seed)
    build_student(base.student, data, width=base.student_width, standardize=base.standardize)
    teacher = teacher_of(base, data)
    teacher_info = prepare_teacher(teacher, data, _train_config(base, base.teacher_epochs), console)
    teacher_path, _ = teacher.export(path, data)
    _rename_scores(teacher_path)
    info = {
        "spec": base.teacher or ["teacher-cnn"],
        "spec_hash": spec_hash,
        "sha256": _sha256(teacher_path),
        "kind": teacher_info.kind,
        "trained_here": teacher_info.trained_here,
        "val_accuracy": onnx_accuracy(teacher_path, data.x_val, data.y_val),
        "test_accuracy": onnx_accuracy(teacher_path, data.x_test, data.y_test),
    }
    if teacher_info.kind == "ensemble":
        info["note"] = (
            "teacher.onnx is the ensemble in one graph (the mean of its members' probabilities "
            "at T = 1); trials temper that mean, not each member"
        )
    write_text_atomic(info_path, json.dumps(info, indent=2))
    return info


def _rename_scores(path: Path) -> None:
    """An ONNX teacher comes back from `export` normalized, with its output named `scores`;
    loading such a file as a teacher again (every trial does) would define `scores` twice, so
    the output is renamed `teacher_scores` (the graph is otherwise untouched)."""
    import onnx

    model = onnx.load(str(path))
    if [o.name for o in model.graph.output] != ["scores"]:
        return
    for node in model.graph.node:
        node.output[:] = ["teacher_scores" if n == "scores" else n for n in node.output]
        node.input[:] = ["teacher_scores" if n == "scores" else n for n in node.input]
    model.graph.output[0].name = "teacher_scores"
    with atomic_path(path) as tmp:
        onnx.save(model, str(tmp))


def _study_attrs(storage, name: str) -> dict | None:
    """The user attributes of study `name` in `storage`, None when there is no such study."""
    for study in storage.get_all_studies():
        if study.study_name == name:
            return dict(study.user_attrs)
    return None


def _open_study(storage, name: str, seed: int, settings: SearchSettings, attrs: dict):
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


def _fail_dead_trials(study) -> None:
    """Trials this host left RUNNING (killed worker): mark them failed and interrupted, so the
    study can count them out and run a replacement."""
    from optuna.trial import TrialState

    host = socket.gethostname()
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        pid = t.user_attrs.get("pid")
        if t.user_attrs.get("host") == host and pid and not _pid_alive(pid):
            study._storage.set_trial_user_attr(t._trial_id, "interrupted", True)
            study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)


def _counts(t) -> bool:
    """Trials that use up the --trials budget (not surplus, not interrupted)."""
    return not (t.user_attrs.get("surplus") or t.user_attrs.get("interrupted"))


# --------------------------------------------------------------------------- one trial


def hopeless(
    epoch: int, val_acc: float, refs: list[list[float]], stop: EarlyStop, epochs: int
) -> str | None:
    """Why a trial should stop now, or None: past the warm-up, its validation accuracy trails
    the best feasible trial's at the same epoch by more than the margin (with at least
    `min_trials` feasible trials to compare with)."""
    if stop.margin < 0 or len(refs) < stop.min_trials:
        return None
    if epoch < max(1, math.ceil(stop.warmup * epochs)):
        return None
    best = max((r[epoch - 1] for r in refs if len(r) >= epoch), default=None)
    if best is None or val_acc >= best - stop.margin:
        return None
    return (
        f"stopped at epoch {epoch}/{epochs}: validation accuracy {val_acc:.4f} trails the best "
        f"feasible trial's {best:.4f} at that epoch by more than {stop.margin:g}"
    )


def _size_floor_kb(cfg: CompressConfig, data) -> float:
    """A lower bound on the shipped file's size, from the shapes alone: every conv/linear weight
    takes at least 1 byte (int8), 2 (fp16) or 4 (fp32). Exact channel counts after structured
    pruning come from pruning an untrained copy (uniform scope removes the same counts)."""
    import torch
    from torch import nn

    from edgekd.distill.students import build_student
    from edgekd.pipeline import _prune_spec
    from edgekd.prune import prune_model

    model = build_student(cfg.student, data, width=cfg.student_width, standardize=cfg.standardize)
    if cfg.prune_ratio > 0 and cfg.prune_method == "structured" and cfg.prune_scope == "uniform":
        spec = _prune_spec(cfg)
        spec = type(spec)(spec.ratio, method=spec.method, steps=spec.steps, importance="l2")
        prune_model(model, torch.from_numpy(data.x_train[:2]), spec)
    weights = sum(
        m.weight.numel()
        for m in model.modules()
        if isinstance(m, nn.Conv1d | nn.Conv2d | nn.Conv3d | nn.Linear)
    )
    per = {"none": 4, "fp16": 2}.get(cfg.quantize, 1)
    return weights * per / 1024


def _trial_config(
    base: CompressConfig, params: dict, settings: SearchSettings, teacher: Path, out: Path
) -> CompressConfig:
    scale = settings.epochs / (base.epochs or settings.epochs)  # None: the recipe's budget
    values = base.model_dump()
    values.update(params)
    values.update(
        teacher=[str(teacher)],
        teacher_arch=[],
        teacher_weight=[],
        teacher_output="auto",
        trust_pickle=False,
        epochs=settings.epochs,
        prune_epochs=max(1, round(base.prune_epochs * scale)) if base.prune_epochs else 0,
        latency_runs=settings.latency_runs,
        baseline=False,
        ort=False,
        out=str(out),
    )
    return CompressConfig(**values)


def final_config(base: CompressConfig, params: dict, teacher: Path, out: Path) -> CompressConfig:
    """The chosen configuration trained in full: what best.yaml holds."""
    values = base.model_dump()
    values.update(params)
    values.update(
        teacher=[str(teacher.resolve())],
        teacher_arch=[],
        teacher_weight=[],
        teacher_output="auto",
        trust_pickle=False,
        out=str(out),
    )
    return CompressConfig(**values)


class _Objective:
    def __init__(self, ctx: _Context):
        self.ctx = ctx

    def __call__(self, trial) -> tuple[float, float, float]:
        import optuna

        ctx = self.ctx
        study = trial.study
        trial.set_user_attr("host", socket.gethostname())
        trial.set_user_attr("pid", os.getpid())
        earlier = [
            t for t in study.get_trials(deepcopy=False) if t.number < trial.number and _counts(t)
        ]
        if len(earlier) >= ctx.settings.trials:  # another worker took the last slot first
            trial.set_user_attr("surplus", True)
            study.stop()
            raise optuna.TrialPruned("the study already has its trials")
        params = suggest_all(ctx.settings.space, trial)
        trial.set_user_attr("config", params)
        run_dir = ctx.out / "trials" / f"{trial.number:04d}"
        trial.set_user_attr("run_dir", str(run_dir.relative_to(ctx.out)))
        start = time.perf_counter()
        try:
            return self._run(trial, params, run_dir)
        except KeyboardInterrupt:
            trial.set_user_attr("interrupted", True)
            raise
        except optuna.TrialPruned:
            raise
        except Exception as e:
            trial.set_user_attr("error", _first_line(e))
            raise
        finally:
            trial.set_user_attr("seconds", round(time.perf_counter() - start, 2))

    def _run(self, trial, params: dict, run_dir: Path):
        import optuna

        from edgekd.evaluate import onnx_accuracy
        from edgekd.pipeline import compress

        ctx = self.ctx
        cfg = _trial_config(ctx.base, params, ctx.settings, ctx.teacher_path, run_dir)
        limit = ctx.budget.max_size_kb
        if limit is not None:
            floor = _size_floor_kb(cfg, ctx.data)
            if floor > limit:  # cannot fit whatever training does: skip it, as infeasible
                trial.set_constraint("size_kb", floor / limit - 1)
                trial.set_user_attr(
                    "stopped",
                    f"not trained: its weights alone need >= {floor:.1f} KB (limit {limit:g} KB)",
                )
                trial.set_user_attr("size_floor_kb", round(floor, 3))
                raise optuna.TrialPruned()

        curve: list[float] = []
        refs = ctx.reference_curves()

        def on_epoch(epoch: int, val_acc: float) -> None:
            curve.append(round(val_acc, 6))
            why = hopeless(epoch, val_acc, refs, ctx.settings.early_stop, cfg.epochs)
            if why:
                raise StopTrial(why)

        run_dir.mkdir(parents=True, exist_ok=True)
        log = run_dir / "trial.log"
        try:
            with (
                open(log, "w") as f,
                contextlib.redirect_stdout(f),
                contextlib.redirect_stderr(f),
            ):
                result = compress(cfg, console=Console(file=f, width=120), on_epoch=on_epoch)
        except StopTrial as e:
            trial.set_user_attr("val_curve", curve)
            trial.set_user_attr("stopped", str(e))
            raise optuna.TrialPruned(str(e)) from None
        finally:
            trial.set_user_attr("val_curve", curve)
        report = result.report
        final = next(a for a in report["artifacts"] if a["name"] == report["final"])
        val_acc = onnx_accuracy(run_dir / final["path"], ctx.data.x_val, ctx.data.y_val)
        figures = trial_figures(
            report,
            run_dir.relative_to(ctx.out),
            ctx.budget,
            val_acc,
            ctx.teacher_info["val_accuracy"],
        )
        quant = report.get("quantization") or {}
        figures["quantization"] = quant.get("shipped")
        trial.set_user_attr("figures", figures)
        for metric, value in constraint_values(figures["checks"]).items():
            trial.set_constraint(metric, value)
        latency = figures["latency_ms"]
        return (
            figures["val_accuracy"],
            latency if latency is not None else math.inf,
            figures["size_kb"],
        )


# --------------------------------------------------------------------------- the study's view


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
class _Context:
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


# --------------------------------------------------------------------------- live progress


def _fmt(v: Any, spec: str = ".4f") -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return format(v, spec)
    return str(v)


def _config_text(p: dict) -> str:
    """A configuration in one short line: `dscnn w0.78 T4 a0.72 p0.2 int8/qoperator`."""
    parts = [str(p.get("student", "?"))]
    for key, tag in (("student_width", "w"), ("temperature", "T"), ("alpha", "a"),
                     ("prune_ratio", "p"), ("lr", "lr")):  # fmt: skip
        if isinstance(p.get(key), int | float):
            parts.append(f"{tag}{p[key]:.3g}")
    if p.get("quantize"):
        parts.append(p["quantize"] + (f"/{p['quant_format']}" if p.get("quant_format") else ""))
    if isinstance(p.get("max_accuracy_drop"), int | float) and p.get("quantize") != "none":
        parts.append(f"drop<={p['max_accuracy_drop']:g}")
    return " ".join(parts)


def progress_table(rows: list[dict], target: int, title: str | None = None, last: int = 18):
    from rich.table import Table

    best = choose_best(rows)
    shown = rows[-last:]
    done = sum(r["state"] in ("COMPLETE", "PRUNED", "FAIL") for r in rows)
    headline = f"edgekd search: {done}/{target} trials" + (
        f"; best #{best['number']} val {best['val_accuracy']:.4f}" if best else ""
    )
    table = Table(title=title or headline, title_justify="left")
    for h in ("#", "status", "configuration", "val acc", "ms", "KB", "mem MB", "fits", "s"):
        table.add_column(h, justify="left" if h in ("status", "configuration", "fits") else "right")
    for r in shown:
        fits = {True: "yes", False: "NO"}.get(r.get("feasible"), "-")
        style = "bold green" if best and r["number"] == best["number"] else None
        if r["state"] == "FAIL":
            style = "red"
        table.add_row(
            str(r["number"]),
            r.get("status", r["state"].lower()),
            _config_text(r.get("params") or {}),
            _fmt(r.get("val_accuracy")),
            _fmt(r.get("latency_ms"), ".3f"),
            _fmt(r.get("size_kb"), ".1f"),
            _fmt(r.get("memory_added_mb"), ".1f"),
            fits,
            _fmt(r.get("seconds"), ".0f"),
            style=style,
        )
    return table


def _trial_line(r: dict) -> str:
    what = _config_text(r.get("params") or {})
    if r["state"] == "COMPLETE":
        fits = "fits" if r.get("feasible") else "OVER BUDGET"
        return (
            f"trial {r['number']}: val {r['val_accuracy']:.4f}, {r.get('latency_ms', 0):.3f} ms, "
            f"{r['size_kb']:.1f} KB, {fits} ({what}; {_fmt(r.get('seconds'), '.0f')} s)"
        )
    why = r.get("stopped") or r.get("error") or ""
    return f"trial {r['number']}: {r.get('status')}: {why} ({what})"


# --------------------------------------------------------------------------- the search


def search(
    base: CompressConfig,
    settings: SearchSettings,
    *,
    student_given: bool = False,
    storage: str | None = None,
    study_name: str | None = None,
    final: bool = True,
    console: Console | None = None,
) -> SearchResult:
    """Run (or continue, or join) the study, then retrain the best configuration in full."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(settings.threads)  # also for the teacher trained once, below
    try:
        return _search(base, settings, student_given, storage, study_name, final, console)
    finally:
        torch.set_num_threads(threads)


def _search(base, settings, student_given, storage, study_name, final, console) -> SearchResult:
    from edgekd.pipeline import budget_of, data_of, teacher_of

    _quiet_optuna()
    console = console or Console(stderr=True, width=None if sys.stderr.isatty() else 140)
    wall = time.perf_counter()
    if base.hint:
        raise EdgeKDError(
            "edgekd search does not take --hint: trials learn from the search's teacher.onnx, "
            "which has no layers to hook; search without hints"
        )
    budget, data = budget_of(base), data_of(base)
    families = _families(base, settings, data, student_given)
    settings.space["student"] = type(settings.space["student"])("student", choices=tuple(families))
    teacher_of(base, data)  # every teacher problem surfaces now, before anything is written
    out = Path(base.out)
    name = study_name or DEFAULT_STUDY
    if storage:  # an explicit storage is checked before anything is written
        store = open_storage(storage, out / "study.journal")
    out.mkdir(parents=True, exist_ok=True)
    if not storage:
        store = open_storage(None, out / "study.journal")
    where = describe(storage, out / "study.journal")

    # The teacher is not part of the fingerprint: workers compare the teacher file itself.
    skip = {"out", "teacher_epochs", *TEACHER_KEYS}
    fingerprint = settings.fingerprint(
        {k: v for k, v in base.model_dump().items() if k not in skip}, budget.model_dump()
    )
    with _locked(out / ".search.lock"):
        joining = _study_attrs(store, name)
        teacher_info = _prepare_teacher(
            base, data, out, console, (joining or {}).get("teacher_sha256")
        )
        study, created = _open_study(
            store,
            name,
            base.seed,
            settings,
            {
                "fingerprint": fingerprint,
                "teacher_sha256": teacher_info["sha256"],
                "edgekd_version": version("edgekd"),
            },
        )
        if created:  # under the lock: a worker joining now sees them queued
            for params in settings.enqueue:  # tried first, in order
                study.enqueue_trial(params)
    _fail_dead_trials(study)
    ctx = _Context(base, settings, budget, data, out, out / "teacher.onnx", teacher_info, study)
    console.print(
        f"study '{name}' in {where}: "
        + ("new" if created else f"continuing, {len(trial_rows(study))} trial(s) so far")
        + f"; {settings.trials} trials of {settings.epochs} epochs; space: "
        + ", ".join(
            f"{k} {list(p.choices) if p.choices is not None else [p.low, p.high]}"
            for k, p in settings.space.items()
        ),
        soft_wrap=True,
        highlight=False,
    )

    def remaining() -> int:
        return settings.trials - sum(1 for t in study.get_trials(deepcopy=False) if _counts(t))

    if remaining() > 0:
        _optimize(study, ctx, console)
    rows = trial_rows(study)
    summary = _summary(ctx, rows, name, where)
    final_ok = _final_runs(ctx, summary, rows, console) if final else None
    summary["wall_seconds"] = round(time.perf_counter() - wall, 1)
    _write_outputs(ctx, summary)
    _print_outcome(summary, console)
    return SearchResult(out, summary, final_ok)


def _optimize(study, ctx: _Context, console: Console) -> None:

    settings = ctx.settings
    live_console = Console(file=sys.stderr, width=None if sys.stderr.isatty() else 140)
    live = None
    if live_console.is_terminal:
        from rich.live import Live

        live = Live(
            progress_table(trial_rows(study), settings.trials),
            console=live_console,
            refresh_per_second=1,
        )

    def after(study, frozen) -> None:
        rows = trial_rows(study)
        if live is not None:
            live.update(progress_table(rows, settings.trials))
        else:
            row = next((r for r in rows if r["number"] == frozen.number), None)
            if row is not None:
                live_console.print(_trial_line(row), soft_wrap=True, highlight=False)
        # every slot finished or taken by a running trial (another worker's): stop asking
        if sum(1 for t in study.get_trials(deepcopy=False) if _counts(t)) >= settings.trials:
            study.stop()

    with live if live is not None else contextlib.nullcontext():
        study.optimize(
            _Objective(ctx),
            n_trials=None,
            timeout=settings.timeout,
            catch=(Exception,),
            callbacks=[after],
        )


def _summary(ctx: _Context, rows: list[dict], name: str, where: str) -> dict:
    from edgekd.bench.budgets import check_budget

    best = choose_best(rows)
    near = None if best else closest(rows)
    limits = [
        {"metric": c["metric"], "limit": c["limit"]}
        for c in check_budget(ctx.budget, {}).to_dict()["checks"]
    ]
    s = ctx.settings
    summary: dict[str, Any] = {
        "edgekd_version": version("edgekd"),
        "study": name,
        "storage": where,
        "budget": ctx.budget.model_dump(),
        "limits": limits,
        "latency_metric": ctx.budget.latency_metric,
        "objectives": dict(zip(OBJECTIVES, DIRECTIONS, strict=True)),
        "selection": "highest validation accuracy among trials meeting every limit (ties: "
        "smaller file, then lower latency); test accuracy is never used to choose",
        "settings": {
            "trials": s.trials,
            "timeout": s.timeout,
            "screening_epochs": s.epochs,
            "final_epochs": ctx.base.epochs,
            "latency_runs": s.latency_runs,
            "threads": s.threads,
            "early_stop": s.early_stop.__dict__,
        },
        "space": s.space_dict(),
        "teacher": {k: v for k, v in ctx.teacher_info.items() if k != "spec_hash"},
        "counts": {
            "trials": len(rows),
            "complete": sum(r["state"] == "COMPLETE" for r in rows),
            "feasible": sum(r["state"] == "COMPLETE" and r.get("feasible") is True for r in rows),
            "stopped_early": sum(r["status"] == "stopped" for r in rows),
            "skipped": sum(r["status"] == "skipped" for r in rows),
            "failed": sum(r["status"] == "failed" for r in rows),
            "interrupted": sum(r["status"] == "interrupted" for r in rows),
            "running": sum(r["status"] == "running" for r in rows),
        },
        "trials": rows,
        "pareto": [_brief(t) for t in pareto_front(rows)],
        "best": _brief(best) if best else None,
    }
    if best is None:
        summary["closest"] = _brief(near) if near else None
        summary["binding"] = binding_limits(rows)
        summary["binding_sentence"] = binding_sentence(rows)
    return summary


def _brief(t: dict) -> dict:
    keys = (
        "number",
        "params",
        "val_accuracy",
        "test_accuracy",
        "latency_ms",
        "size_kb",
        "memory_added_mb",
        "precision",
        "feasible",
        "run_dir",
    )
    return {k: t.get(k) for k in keys}


def _final_runs(ctx: _Context, summary: dict, rows: list[dict], console: Console) -> bool | None:
    """Retrain the best feasible trial in full; should the full run miss a limit its trial met
    (a quantized file that did not measure faster this time, so fp32 shipped; a latency near its
    limit), the next best feasible trials are tried, FINAL_ATTEMPTS in all. Nothing feasible:
    the closest trial is retrained, so its run directory shows what misses."""
    if summary["best"]:
        choices = [_brief(t) for t in ranked(rows)[:FINAL_ATTEMPTS]]
    else:
        choices = [summary["closest"]] if summary.get("closest") else []
    attempts, ok = [], None
    for i, choice in enumerate(choices):
        if i:
            earlier = ctx.out / f"final.attempt-{i}"
            shutil.rmtree(earlier, ignore_errors=True)
            os.replace(ctx.out / "final", earlier)
            console.print(
                f"final: trial #{attempts[-1]['trial']} retrained misses "
                f"{', '.join(attempts[-1]['missed'])} (its screening run met every limit); "
                f"trying the next best feasible trial, #{choice['number']} (the missed run is "
                f"kept in {earlier})",
                highlight=False,
            )
        ok = _final_run(ctx, summary, choice, console)
        attempts.append(
            {
                "trial": choice["number"],
                "budget_ok": ok,
                "missed": [c["metric"] for c in summary["final"]["checks"] if c["ok"] is False],
            }
        )
        summary["final_attempts"] = attempts
        summary["shipped"] = choice
        if ok or not choice.get("feasible"):
            break
    if attempts:  # the last attempt's report was written before the attempts were complete
        _rewrite_section(ctx.out / "final", summary)
    return ok


def _rewrite_section(final_dir: Path, summary: dict) -> None:
    from edgekd.report import write_reports

    report = json.loads((final_dir / "report.json").read_text())
    report["search"] = _report_section(summary)
    write_reports(final_dir, report)


def _final_run(ctx: _Context, summary: dict, choice: dict, console: Console) -> bool:
    """Retrain the chosen configuration with the full epochs into out/final (reused when a
    finished final run already holds exactly this configuration)."""
    from edgekd.pipeline import compress
    from edgekd.report import write_reports

    final_dir = ctx.out / "final"
    cfg = final_config(ctx.base, choice["params"], ctx.teacher_path, final_dir)
    text = dump_config(cfg)
    write_text_atomic(ctx.out / "best.yaml", text)
    with _locked(ctx.out / ".final.lock"):
        report = _finished_final(final_dir, text)
        if report is None:
            what = "best feasible" if choice.get("feasible") else "closest (nothing fits)"
            console.print(
                f"final: retraining the {what} trial #{choice['number']} for {cfg.epochs} "
                f"epochs into {final_dir}",
                highlight=False,
            )
            report = compress(cfg, console=console).report
        else:
            console.print(f"final: {final_dir} already holds this configuration; reusing it")
        final = next(a for a in report["artifacts"] if a["name"] == report["final"])
        summary["final"] = {
            "run_dir": str(final_dir),
            "trial": choice["number"],
            "artifact": final["name"],
            "test_accuracy": final["accuracy"],
            "latency_ms": (final.get("latency_ms") or {}).get(ctx.budget.latency_percentile),
            "size_kb": round(final["size_bytes"] / 1024, 3),
            "memory_added_mb": (final.get("memory_mb") or {}).get("added"),
            "budget_ok": report["budget"]["ok"],
            "checks": report["budget"]["checks"],
        }
        report["search"] = _report_section(summary)
        write_reports(final_dir, report)
    return bool(report["budget"]["ok"])


def _finished_final(final_dir: Path, config_text: str) -> dict | None:
    try:
        manifest = json.loads((final_dir / "manifest.json").read_text())
        same = (final_dir / "config.yaml").read_text() == config_text
        if manifest.get("status") == "done" and same:
            return json.loads((final_dir / "report.json").read_text())
    except (OSError, ValueError):
        return None
    return None


def _report_section(summary: dict) -> dict:
    """The final run's report.json `search` section: what was searched and why this won."""
    return {
        "summary": _headline(summary),
        "study": summary["study"],
        "storage": summary["storage"],
        "counts": summary["counts"],
        "settings": summary["settings"],
        "space": summary["space"],
        "limits": summary["limits"],
        "latency_metric": summary["latency_metric"],
        "best": summary["best"],
        "shipped": summary.get("shipped"),
        "final_attempts": summary.get("final_attempts"),
        "pareto": summary["pareto"],
        "trials": [
            {
                k: r.get(k)
                for k in (
                    "number",
                    "state",
                    "params",
                    "val_accuracy",
                    "latency_ms",
                    "size_kb",
                    "feasible",
                )
            }
            for r in summary["trials"]
        ],
    }


def _headline(summary: dict) -> str:
    c = summary["counts"]
    best = summary.get("best")
    head = (
        f"{c['trials']} trials ({c['complete']} measured, {c['feasible']} within budget, "
        f"{c['stopped_early']} stopped early, {c['skipped']} skipped as too large, "
        f"{c['failed']} failed)"
    )
    if best:
        text = (
            f"{head}; chosen: trial #{best['number']} (validation accuracy "
            f"{best['val_accuracy']:.4f}, {best['size_kb']:.1f} KB, {best['latency_ms']:.3f} ms)"
        )
        shipped = summary.get("shipped")
        if shipped and shipped["number"] != best["number"]:
            missed = [a["trial"] for a in summary.get("final_attempts") or [] if not a["budget_ok"]]
            text += (
                f"; shipped: trial #{shipped['number']}, as the full retrain of "
                f"{', '.join(f'#{n}' for n in missed)} missed a limit"
            )
        return text
    return f"{head}; nothing fits the budget: {summary.get('binding_sentence')}"


def _write_outputs(ctx: _Context, summary: dict) -> None:
    from edgekd.search.report import render_search_html, render_search_markdown

    summary["headline"] = _headline(summary)
    write_text_atomic(ctx.out / "search.json", json.dumps(summary, indent=2, default=str))
    write_text_atomic(ctx.out / "report.md", render_search_markdown(summary))
    write_text_atomic(ctx.out / "report.html", render_search_html(summary))


def _print_outcome(summary: dict, console: Console) -> None:
    console.print(progress_table(summary["trials"], summary["settings"]["trials"], last=10**6))
    console.print(summary["headline"], soft_wrap=True, highlight=False)
    final = summary.get("final")
    if final:
        verdict = "meets every limit" if final["budget_ok"] else "MISSES a limit"
        console.print(
            f"final ({final['run_dir']}): {final['artifact']}, test accuracy "
            f"{final['test_accuracy']:.4f}, {final['size_kb']:.1f} KB, {verdict}",
            highlight=False,
        )
