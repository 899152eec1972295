"""One training budget for the whole run, planned before any training starts (torch-free).

Every trained stage (teacher, its cross-validation folds, the T/alpha search, distillation,
the prune fine-tune, the baseline) takes its epochs from one `TrainingPlan`, sized from the
data's rows: budgets are counted in optimiser *steps*, because on a small data set an epoch
is a single step (GunPoint's 45 training rows at batch 64) and "20 epochs" means 20 steps.
`--epochs`, `--teacher-epochs` and `--prune-epochs` override their own stage where given; a
given `--epochs` also bounds the prune fine-tune. With `--time-budget` the stages not fixed
by a flag are scaled down, from a short timed probe of each model, so the run fits.

The plan is printed before training, saved in report.json (`plan`: planned vs actual steps
and seconds per stage) and reproduced from config.yaml (the same inputs give the same plan;
only a time budget depends on the host's speed).
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field, replace

HINTON_EPOCHS = 60  # edgekd's epochs before recipes existed
# Function matching's patience when the user gives no --epochs: at least MIN_EPOCHS epochs and
# MIN_STEPS steps; and on small sets PATIENT_STEPS steps, up to PATIENT_EPOCHS epochs. On
# mnist1d (57 steps an epoch) 60 epochs closed 21% of an mlp's gap to the teacher and 200
# epochs 42% (one seed; design.md measured the same trend outside edgekd up to 400).
MIN_STEPS, MIN_EPOCHS = 3000, 60
PATIENT_STEPS, PATIENT_EPOCHS = 12000, 200
# The built-in teacher: its historic 20 epochs where an epoch holds many steps, and at least
# TEACHER_STEPS steps on small sets (GunPoint: 20 steps left it at chance, 300 reached 0.987
# test accuracy; ItalyPowerDemand 0.964 at 300).
TEACHER_EPOCHS, TEACHER_STEPS = 20, 400  # digits: 20 epochs of 21 steps, as before
PRUNE_SHARE = 0.5  # the prune fine-tune: half the distillation's epochs, over all prune steps
SEARCH_SHARE = 0.1  # each T/alpha grid point: a tenth of the distillation's epochs (>= 2)
# The time budget a run has unless told otherwise, so that a default run ends in about this
# long whatever the data's size and the host's speed (GunPoint's plan by size alone: 4,600
# steps of teacher, its folds and distillation, over 10 minutes on 2 cores; FSDD's 2,400
# spoken digits: 200 epochs). `--time-budget off` trains the plan by data size, however long.
DEFAULT_TIME_BUDGET = "8m"
NO_TIME_BUDGET = ("off", "none")
# With --time-budget, training gets this share of it; export, quantization and the ONNX
# measurements take the rest.
TRAINING_SHARE = 0.75
# Under a time budget too small for the whole plan the built-in teacher (and its folds) keeps
# its recipe up to this share of training's time, and the other stages are scaled first: a
# student learns no better than its teacher (ACSF1 under the 8-minute default, every stage
# scaled alike: a teacher trained 24 of its 400 epochs scored 74%, its student 73%, while the
# same student on hard labels alone reached 81%).
TEACHER_SHARE = 0.5
TEACHER_STAGES = ("teacher", "teacher-cv")
# Below this many validation rows (a row is 5 points or more) the split ranks no epochs and
# judges no teacher (GunPoint's 5 rows: 0.6 or 0.8): training keeps the weights of its last
# epoch, at the end of the annealed schedule, as the UCR reference models do (InceptionTime
# trains a fixed 1,500 epochs on the whole training split), and the weak-teacher check
# cross-validates the teacher recipe.
TINY_VAL = 20
CV_FOLDS = 3  # each fold trains the teacher again: 3 keeps the check under the teacher x 3
CV_STAGE = "teacher-cv"  # the weak-teacher check's folds, inside the teacher stage
PLAIN_STAGE = "plain-scratch"  # the plain-scratch student, inside the baseline stage
INSIDE = {CV_STAGE: "teacher", PLAIN_STAGE: "baseline"}  # planned apart, run inside a stage
_UNITS = {"s": 1, "m": 60, "h": 3600}


def parse_duration(text: str | float | int) -> float:
    """Seconds from `90`, `90s`, `10m`, `1.5h`; ValueError naming the accepted forms."""
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", str(text).lower())
        if not match:
            raise ValueError("must be a duration like 90s, 10m or 1h")
        seconds = float(match[1]) * _UNITS[match[2] or "s"]
    if not seconds > 0:
        raise ValueError("must be a positive duration like 90s, 10m or 1h")
    return seconds


def steps_per_epoch(rows: int, batch_size: int) -> int:
    return max(1, math.ceil(rows / batch_size))


def auto_epochs(recipe: str, n_train: int, batch_size: int) -> int:
    """The distillation budget when the user gives none: 60 epochs for hinton; for function
    matching a long schedule counted in steps (wine's ~100 rows make 2 steps an epoch: 60
    epochs would be 120 steps, far too few to learn anything). Budgets by data size at batch
    64: wine 1,500 epochs, digits and mnist1d 200, 50,000 images 60."""
    if recipe == "hinton":
        return HINTON_EPOCHS
    per_epoch = steps_per_epoch(n_train, batch_size)
    patient = min(PATIENT_EPOCHS, math.ceil(PATIENT_STEPS / per_epoch))
    return max(MIN_EPOCHS, math.ceil(MIN_STEPS / per_epoch), patient)


def trial_epochs(epochs: int) -> int:
    """Epochs per T/alpha grid point: a tenth of the distillation's, at least 2."""
    return max(2, math.ceil(epochs * SEARCH_SHARE))


def teacher_epochs(n_train: int, batch_size: int) -> int:
    """The built-in teacher's epochs: 20, or TEACHER_STEPS steps on a small set."""
    return max(TEACHER_EPOCHS, math.ceil(TEACHER_STEPS / steps_per_epoch(n_train, batch_size)))


@dataclass
class StagePlan:
    """One trained stage: `runs` trainings (teacher members and folds, grid points, prune
    steps) of `epochs` epochs each, `epoch_steps` steps an epoch over all runs."""

    epochs: int
    epoch_steps: int
    runs: int = 1
    source: str = "recipe"  # the flag that fixed it, "recipe" (by data size) or "time budget"
    seconds: float | None = None  # estimated from the probe (--time-budget only)
    # counted in the time budget: not the teacher's folds when a good validation score can
    # skip them (they then run only for a teacher the validation split cannot clear)
    budgeted: bool = True

    @property
    def steps(self) -> int:
        return self.epochs * self.epoch_steps

    @property
    def fixed(self) -> bool:
        return self.source.startswith("--")

    def to_dict(self) -> dict:
        return {**asdict(self), "steps": self.steps}


@dataclass
class PlanInputs:
    """What the plan is derived from: the data's size, the config's flags, the stages run."""

    rows: int  # rows trained on per epoch (training split plus any transfer rows)
    labelled_rows: int  # rows the teacher and the baseline train on
    batch_size: int
    recipe: str
    epochs: int | None = None
    teacher_epochs: int | None = None
    prune_epochs: int | None = None
    teacher_runs: int = 0  # members trained here (0: a given, already trained teacher)
    fold_rows: list[int] = field(default_factory=list)  # the teacher check's CV training folds
    folds_certain: bool = True  # no validation score can clear the teacher: the folds will run
    search_points: int = 0  # T/alpha grid points (0: no search)
    prune_steps: int = 0  # prune steps (0: no pruning)
    baseline: bool = False
    plain_baseline: bool = False  # the plain-scratch student (hinton recipe) trains too


@dataclass
class TrainingPlan:
    """Epochs and steps per trained stage, in the order they run."""

    stages: dict[str, StagePlan]
    time_budget: float | None = None
    rows: int = 0
    batch_size: int = 0

    def epochs(self, stage: str) -> int:
        return self.stages[stage].epochs

    @classmethod
    def from_dict(cls, saved: dict) -> TrainingPlan:
        """The plan `to_dict` wrote (manifest.json), without the report's actual figures."""
        keys = set(StagePlan.__dataclass_fields__)
        stages = {
            name: StagePlan(**{k: v for k, v in s.items() if k in keys})
            for name, s in saved["stages"].items()
        }
        return cls(stages, saved.get("time_budget_s"), saved["rows"], saved["batch_size"])

    def resumed(self, saved: TrainingPlan) -> TrainingPlan:
        """This plan (made, not timed) with the interrupted run's epochs wherever no flag fixes
        them: a resumed run trains to the plan its checkpoints were made under, not to a new
        probe of a host that may be busier now."""
        stages = {
            name: s if s.fixed or name not in saved.stages else saved.stages[name]
            for name, s in self.stages.items()
        }
        return TrainingPlan(stages, saved.time_budget, self.rows, self.batch_size)

    def to_dict(self) -> dict:
        return {
            "rows": self.rows,
            "batch_size": self.batch_size,
            "time_budget_s": self.time_budget,
            "stages": {name: s.to_dict() for name, s in self.stages.items()},
        }

    def lines(self) -> list[str]:
        """The plan as printed before training: one line per stage."""
        budget = f", time budget {self.time_budget:.0f} s" if self.time_budget else ""
        if self.time_budget == parse_duration(DEFAULT_TIME_BUDGET):
            budget += " (the default; --time-budget off: the plan by data size alone)"
        head = f"training plan ({self.rows} rows, batch {self.batch_size}{budget}):"
        out = [head]
        for name, s in self.stages.items():
            runs = f" x {s.runs}" if s.runs > 1 else ""
            est = f", ~{s.seconds:.0f} s" if s.seconds is not None else ""
            when = ", only if the validation split cannot clear the teacher" * (name == CV_STAGE)
            when += "; not counted in the time budget" * (not s.budgeted)
            when += ", inside the baseline stage" * (name == PLAIN_STAGE)
            out.append(
                f"  {name:<13} {s.epochs:>5} epochs{runs} = {s.steps:>6} steps{est} "
                f"({s.source}{when})"
            )
        if self.time_budget and self.overrun():
            out.append(
                f"  note: one epoch of each stage needs ~{self.overrun():.0f} s more than "
                f"the {TRAINING_SHARE:.0%} of the budget training may take: the run will "
                "take longer than its time budget (give it more time, or fewer rows)"
            )
        return out

    def overrun(self) -> float:
        """Estimated training seconds beyond the budget's training share (0: it fits)."""
        estimated = sum(s.seconds or 0.0 for s in self.stages.values() if s.budgeted)
        return max(0.0, estimated - TRAINING_SHARE * (self.time_budget or math.inf))


def _stage(epochs: int, rows: list[int], batch_size: int, source: str) -> StagePlan:
    return StagePlan(epochs, sum(steps_per_epoch(r, batch_size) for r in rows), len(rows), source)


def make_plan(p: PlanInputs) -> TrainingPlan:
    """The plan from data size and flags alone (no time budget)."""
    bs, stages = p.batch_size, {}
    if p.teacher_runs:
        given = p.teacher_epochs is not None
        epochs = p.teacher_epochs if given else teacher_epochs(p.labelled_rows, bs)
        source = "--teacher-epochs" if given else "recipe"
        stages["teacher"] = _stage(epochs, [p.labelled_rows] * p.teacher_runs, bs, source)
        if p.fold_rows:  # trained only when the small validation split cannot clear it
            stages[CV_STAGE] = _stage(epochs, list(p.fold_rows), bs, source)
            stages[CV_STAGE].budgeted = p.folds_certain
    distill = p.epochs or auto_epochs(p.recipe, p.rows, bs)
    source = "--epochs" if p.epochs else "recipe"
    if p.search_points:
        search = trial_epochs(distill)
        stages["kd-search"] = _stage(search, [p.rows] * p.search_points, bs, source)
    stages["distill"] = _stage(distill, [p.rows], bs, source)
    if p.prune_steps:
        if p.prune_epochs is not None:
            epochs, source = p.prune_epochs, "--prune-epochs"
        else:
            epochs = max(1, math.ceil(distill * PRUNE_SHARE / p.prune_steps))
        stages["prune"] = _stage(epochs, [p.rows] * p.prune_steps, bs, source)
    if p.baseline:
        stages["baseline"] = _stage(distill, [p.labelled_rows], bs, source)
        if p.plain_baseline:  # the historic 60 epochs, or the user's --epochs: the same budget
            plain = p.epochs or HINTON_EPOCHS
            stages[PLAIN_STAGE] = _stage(plain, [p.labelled_rows], bs, source)
    return TrainingPlan(stages, rows=p.rows, batch_size=bs)


def _seconds(estimate: float) -> float:
    """An estimate to 3 significant figures: a stage of a few fast steps is not shown as 0 s."""
    return float(f"{estimate:.3g}")


def fit_time(plan: TrainingPlan, seconds_per_step: dict[str, float], budget: float) -> TrainingPlan:
    """`plan` with its seconds estimated from `seconds_per_step` (per stage) and the stages no
    flag fixed scaled down (never up) so that training fits TRAINING_SHARE of `budget`: the
    teacher's stages last (TEACHER_SHARE), the others alike."""
    est = {name: s.steps * seconds_per_step[name] for name, s in plan.stages.items()}
    counted = {n: t for n, t in est.items() if plan.stages[n].budgeted}
    fixed = sum(t for n, t in counted.items() if plan.stages[n].fixed)
    free = {n: t for n, t in counted.items() if not plan.stages[n].fixed}
    teacher = sum(t for n, t in free.items() if n in TEACHER_STAGES)
    rest = sum(free.values()) - teacher
    room = max(0.0, budget * TRAINING_SHARE - fixed)
    teacher_room = min(teacher, max(TEACHER_SHARE * room, room - rest))
    scales = {
        True: min(1.0, teacher_room / teacher) if teacher else 1.0,
        False: min(1.0, (room - teacher_room) / rest) if rest else 1.0,
    }
    stages = {}
    for name, s in plan.stages.items():
        scale = scales[name in TEACHER_STAGES]
        if s.fixed or scale >= 1.0:
            stages[name] = replace(s, seconds=_seconds(est[name]))
            continue
        scaled = replace(s, epochs=max(1, math.floor(s.epochs * scale)), source="time budget")
        scaled.seconds = _seconds(scaled.steps * seconds_per_step[name])
        stages[name] = scaled
    return TrainingPlan(stages, budget, plan.rows, plan.batch_size)


def plan_vs_actual(
    plan: TrainingPlan, stage_times: list[dict], inner_steps: dict[str, int] | None = None
) -> dict:
    """report.json's `plan`: each stage's planned epochs, steps and seconds beside the steps it
    took and its wall seconds (manifest.json). A part planned apart but run inside another
    stage (INSIDE) has its steps from `inner_steps` and no seconds of its own: its host's
    seconds include it, its host's steps do not."""
    out = plan.to_dict()
    ran = {s["stage"]: s for s in stage_times}
    for name, planned in out["stages"].items():
        if name in INSIDE:
            planned["actual_steps"] = (inner_steps or {}).get(name, 0)
            planned["actual_seconds"] = None
        else:
            planned["actual_steps"] = ran.get(name, {}).get("steps")
            planned["actual_seconds"] = ran.get(name, {}).get("seconds")
    return out
