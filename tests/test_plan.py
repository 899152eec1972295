"""One training budget: the plan's rules, the plan against what ran, progress lines in logs,
and the weak-teacher check on small data (cross-validated, still refusing chance)."""

import json

import numpy as np
import pytest

from edgekd import plan
from edgekd.plan import PlanInputs, fit_time, make_plan, parse_duration
from tests.cli_runs import run_compress, write_table


def test_durations_parse_and_bad_ones_say_the_forms():
    assert [parse_duration(t) for t in ("90s", "10m", "1.5h", "45", 30)] == [90, 600, 5400, 45, 30]
    for bad in ("ten minutes", "0s", "-5m"):
        with pytest.raises(ValueError, match="90s, 10m or 1h"):
            parse_duration(bad)


def test_small_sets_get_steps_and_flags_override_only_their_own_stage():
    tiny = PlanInputs(rows=45, labelled_rows=45, batch_size=64, recipe="function-matching",
                      teacher_runs=1, prune_steps=2)  # fmt: skip
    p = make_plan(tiny)
    assert p.stages["teacher"].steps == plan.TEACHER_STEPS  # not 20 one-step epochs
    assert p.stages["distill"].steps == plan.MIN_STEPS
    assert p.stages["prune"].runs == 2
    given = make_plan(PlanInputs(**{**tiny.__dict__, "epochs": 2, "teacher_epochs": 3}))
    assert (given.epochs("teacher"), given.epochs("distill")) == (3, 2)
    assert given.epochs("prune") <= 2  # a given --epochs bounds the prune fine-tune
    own = make_plan(PlanInputs(**{**tiny.__dict__, "epochs": 2, "prune_epochs": 7}))
    assert own.epochs("prune") == 7 and own.stages["prune"].source == "--prune-epochs"
    big = make_plan(PlanInputs(rows=50000, labelled_rows=50000, batch_size=64,
                               recipe="function-matching", teacher_runs=1))  # fmt: skip
    assert big.epochs("teacher") == plan.TEACHER_EPOCHS  # 782 steps an epoch: 20 suffice


def test_a_time_budget_scales_the_free_stages_and_keeps_the_given_ones():
    inputs = PlanInputs(rows=640, labelled_rows=640, batch_size=64, recipe="function-matching",
                        teacher_runs=1, teacher_epochs=5)  # fmt: skip
    full = make_plan(inputs)
    rates = {"teacher": 0.1, "distill": 0.05}
    fitted = fit_time(full, rates, budget=60)
    assert fitted.stages["teacher"] == full.stages["teacher"].__class__(
        **{**full.stages["teacher"].__dict__, "seconds": 5.0}
    )  # --teacher-epochs 5: kept as given
    assert fitted.epochs("distill") < full.epochs("distill")
    assert sum(s.seconds for s in fitted.stages.values()) <= 60 * plan.TRAINING_SHARE
    roomy = fit_time(full, rates, budget=10**6)
    assert roomy.epochs("distill") == full.epochs("distill")  # never scaled up


def test_a_tight_budget_scales_the_teacher_last_and_counts_only_folds_that_will_run():
    inputs = PlanInputs(rows=640, labelled_rows=640, batch_size=64, recipe="function-matching",
                        teacher_runs=1, fold_rows=[427, 427, 426])  # fmt: skip
    full = make_plan(inputs)  # teacher 40 epochs x 10 steps, folds 3 x 40 x 7, distill 3000
    cheap = fit_time(full, {"teacher": 0.01, "teacher-cv": 0.01, "distill": 0.1}, budget=200)
    assert cheap.epochs("teacher") == full.epochs("teacher")  # 4 s of teacher: kept whole
    assert cheap.epochs(plan.CV_STAGE) == full.epochs(plan.CV_STAGE)
    assert cheap.epochs("distill") < full.epochs("distill")  # the student's stage is scaled
    costly = fit_time(full, dict.fromkeys(full.stages, 1.0), budget=400)
    teacher = sum(costly.stages[n].seconds for n in ("teacher", plan.CV_STAGE))
    room = 400 * plan.TRAINING_SHARE
    epoch = full.stages["teacher"].epoch_steps + full.stages[plan.CV_STAGE].epoch_steps
    assert teacher <= plan.TEACHER_SHARE * room < teacher + epoch * 1.0  # its share, to an epoch
    assert costly.epochs("distill") >= 1 and costly.overrun() == 0
    maybe = make_plan(PlanInputs(**{**inputs.__dict__, "folds_certain": False}))
    fitted = fit_time(maybe, dict.fromkeys(maybe.stages, 1.0), budget=400)
    assert not fitted.stages[plan.CV_STAGE].budgeted  # a clear validation score skips them
    counted = sum(s.seconds for s in fitted.stages.values() if s.budgeted)
    assert counted <= room and fitted.overrun() == 0
    assert fitted.epochs("teacher") > costly.epochs("teacher")  # their time went to the teacher
    assert "not counted in the time budget" in "\n".join(fitted.lines())


def test_runs_have_a_default_time_budget_that_off_removes_and_one_epoch_is_the_floor():
    from edgekd.config import CompressConfig

    assert CompressConfig().run.time_budget == plan.DEFAULT_TIME_BUDGET
    assert CompressConfig().with_flat(time_budget=None).run.time_budget is None
    assert CompressConfig.model_validate({"run": {"time_budget": "off"}}).run.time_budget is None
    inputs = PlanInputs(rows=6400, labelled_rows=6400, batch_size=64, recipe="function-matching",
                        teacher_runs=1)  # fmt: skip
    default = parse_duration(plan.DEFAULT_TIME_BUDGET)
    fitted = fit_time(make_plan(inputs), {"teacher": 0.01, "distill": 0.01}, default)
    assert "(the default; --time-budget off" in fitted.lines()[0]
    assert fitted.overrun() == 0 and not any("note:" in line for line in fitted.lines())
    slow = fit_time(make_plan(inputs), {"teacher": 5.0, "distill": 5.0}, default)
    assert (slow.epochs("teacher"), slow.epochs("distill")) == (1, 1)  # never below one epoch
    assert slow.overrun() == 2 * 100 * 5.0 - default * plan.TRAINING_SHARE
    assert "longer than its time budget" in slow.lines()[-1]


def test_a_resumed_run_trains_to_the_interrupted_runs_plan_not_a_new_probe(tmp_path):
    from edgekd.config import CompressConfig
    from edgekd.manifest import Manifest
    from edgekd.stages.planning import _interrupted_plan

    inputs = PlanInputs(rows=640, labelled_rows=640, batch_size=64, recipe="function-matching",
                        teacher_runs=1, prune_steps=1, prune_epochs=4)  # fmt: skip
    timed = fit_time(make_plan(inputs), dict.fromkeys(("teacher", "distill", "prune"), 0.05), 60)
    Manifest(tmp_path, {}, plan=timed.to_dict())  # the interrupted run's manifest, status running
    cfg = CompressConfig().with_flat(out=str(tmp_path), resume=True)
    saved = _interrupted_plan(cfg)
    assert saved.to_dict() == timed.to_dict()  # to_dict / from_dict round trip
    changed = make_plan(PlanInputs(**{**inputs.__dict__, "prune_epochs": 9}))
    resumed = changed.resumed(saved)
    assert resumed.epochs("distill") == timed.epochs("distill") < changed.epochs("distill")
    assert resumed.epochs("prune") == 9  # a flag given now still fixes its own stage
    assert _interrupted_plan(cfg.with_flat(resume=False)) is None


def test_the_plain_scratch_student_is_planned_its_epochs_and_scaled_by_a_time_budget():
    inputs = PlanInputs(rows=640, labelled_rows=640, batch_size=64, recipe="function-matching",
                        baseline=True, plain_baseline=True)  # fmt: skip
    full = make_plan(inputs)
    assert full.epochs(plan.PLAIN_STAGE) == plan.HINTON_EPOCHS  # the historic recipe
    given = make_plan(PlanInputs(**{**inputs.__dict__, "epochs": 3}))
    assert given.epochs(plan.PLAIN_STAGE) == 3  # --epochs: the same budget as the student
    rates = dict.fromkeys(full.stages, 0.05)
    fitted = fit_time(full, rates, budget=30)
    assert fitted.epochs(plan.PLAIN_STAGE) < plan.HINTON_EPOCHS
    assert fitted.stages[plan.PLAIN_STAGE].source == "time budget"
    assert sum(s.seconds for s in fitted.stages.values()) <= 30 * plan.TRAINING_SHARE


def test_a_teacher_cut_by_the_time_budget_is_refused_naming_the_budget():
    from types import SimpleNamespace

    from edgekd.config import CompressConfig
    from edgekd.stages.teacher import _advice

    cut = make_plan(PlanInputs(rows=45, labelled_rows=45, batch_size=64,
                               recipe="function-matching", teacher_runs=1))  # fmt: skip
    cut.stages["teacher"].epochs, cut.stages["teacher"].source = 7, "time budget"
    cfg = CompressConfig().with_flat(time_budget="2m")
    data = SimpleNamespace(y_train=np.zeros(45))
    line = _advice(SimpleNamespace(cfg=cfg, data=data, plan=cut))
    assert "--time-budget 2m" in line and f"7 of its {plan.TEACHER_STEPS} epochs" in line
    kept = make_plan(PlanInputs(rows=45, labelled_rows=45, batch_size=64,
                                recipe="function-matching", teacher_runs=1))  # fmt: skip
    assert "--teacher-epochs" in _advice(SimpleNamespace(cfg=cfg, data=data, plan=kept))


@pytest.fixture(scope="module")
def planned_run(tmp_path_factory):
    """Every trained stage at tiny sizes, stderr a log (not a terminal), a line per step; a
    time budget too roomy to scale anything, so only its probe's estimates show."""
    mp = pytest.MonkeyPatch()
    mp.setenv("EDGEKD_PROGRESS_SECONDS", "0")
    d = tmp_path_factory.mktemp("plan")
    data = write_table(d / "t.npz", rows=90)
    try:
        run_dir, result = run_compress(
            d, data=str(data), epochs=2, prune_epochs=None, prune_ratio=0.5,
            temperature="auto", baseline=True, quantize="none", time_budget="1h",
        )  # fmt: skip
    finally:
        mp.undo()
    return run_dir, result


def test_the_printed_plan_is_what_ran_and_epochs_bound_the_prune_fine_tune(planned_run):
    run_dir, result = planned_run
    assert result.exit_code in (0, 1), result.output
    report = json.loads((run_dir / "report.json").read_text())
    stages = report["plan"]["stages"]
    assert {"teacher", "kd-search", "distill", "prune", "baseline"} <= set(stages)
    assert plan.PLAIN_STAGE in stages  # the plain-scratch student, --epochs 2 like the rest
    for name, s in stages.items():
        ran = (s["steps"], 0) if name == plan.CV_STAGE else (s["steps"],)  # CV: only if needed
        assert s["actual_steps"] in ran, name
        assert f"{name:<13} {s['epochs']:>5} epochs" in result.stderr  # printed before training
    assert stages["prune"]["epochs"] <= 2  # --epochs 2, no --prune-epochs: at most 2
    assert all(s["seconds"] > 0 for s in stages.values())  # estimated by the probe
    assert report["plan"]["time_budget_s"] == 3600
    assert "# training plan" in (run_dir / "config.yaml").read_text()


def test_a_log_receives_progress_lines_from_every_training_stage(planned_run):
    _, result = planned_run
    for label in ("teacher", "search T=", "distill", "prune 1/1", "baseline", "plain scratch"):
        assert f"[progress] {label}" in result.stderr, label
        assert f"[done] {label}" in result.stderr, label


def _small_run(tmp_path, labels: np.ndarray):
    """40 training rows (and their own test set) at the defaults but a short distillation:
    the teacher and its check as shipped."""
    k = np.arange(80) % 2
    x = (np.random.default_rng(0).normal(size=(80, 5)) + 3 * k[:, None]).astype(np.float32)
    np.savez(tmp_path / "small.npz", X=x[:40], y=labels, X_test=x[40:], y_test=k[40:])
    cfg = {"data": str(tmp_path / "small.npz"), "epochs": 2, "quantize": "none"}
    return run_compress(tmp_path, teacher_epochs=None, allow_weak_teacher=False, **cfg)


def test_a_good_teacher_on_40_rows_is_cross_validated_and_kept(tmp_path):
    run_dir, result = _small_run(tmp_path, np.arange(40) % 2)
    assert result.exit_code in (0, 1), result.output
    check = json.loads((run_dir / "report.json").read_text())["distillation"]["training_recipe"]
    check = check["teacher_check"]
    assert check["method"] == "cross-validation" and check["rows"] == 40  # not 4 val rows
    assert check["weak"] is False and check["teacher_cv"] > 0.9


def test_a_chance_level_teacher_on_40_rows_is_still_refused(tmp_path):
    labels = np.random.default_rng(1).permutation(np.arange(40) % 2)  # nothing to learn
    _, result = _small_run(tmp_path, labels)
    assert result.exit_code == 2
    assert "cross-validation" in result.output and "--allow-weak-teacher" in result.output


def test_int8_candidates_are_judged_on_more_rows_than_a_tiny_validation_split():
    from types import SimpleNamespace

    from edgekd.data.rows import ArraySource, Rows
    from edgekd.stages.quantize import judged_rows

    def data(n_val: int):
        rows = Rows(ArraySource(np.zeros((45, 3), np.float32), "t"), np.arange(45))
        return SimpleNamespace(x_train=rows, y_train=np.zeros(45, int),  # as loaded: Rows
                               x_val=np.ones((n_val, 3)), y_val=np.ones(n_val, int))  # fmt: skip

    x, y, note = judged_rows(data(5))  # GunPoint: 5 validation rows, one is 20 points
    assert len(x) == len(y) == 50 and "too few" in note
    x, y, note = judged_rows(data(plan.TINY_VAL))
    assert len(y) == plan.TINY_VAL and note is None
