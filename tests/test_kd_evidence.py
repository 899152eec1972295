"""Evidence that distillation pays: gap closed, verdicts, the T/alpha search, transfer sets,
and `compress --baseline --temperature auto` end to end (tiny epochs)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml
from click.testing import CliRunner
from torch import nn

from edgekd.cli import main
from edgekd.config import dump_config, resolve_config
from edgekd.data import load_data
from edgekd.data.transfer import load_transfer
from edgekd.distill import kd_search
from edgekd.distill.baseline import difference_stderr, gap_closed, judge
from edgekd.distill.trainer import TrainConfig, TrainResult, fit
from edgekd.errors import EdgeKDError
from tests.cli_runs import run_compress

# --- share of the gap closed ---------------------------------------------------------------


def test_gap_closed_reproduces_hinton_mnist():
    # Hinton et al. 2015: 67 test errors (teacher), 146 (small net alone), 74 (distilled)
    acc = {k: 1 - e / 10_000 for k, e in {"teacher": 67, "scratch": 146, "kd": 74}.items()}
    assert gap_closed(acc["teacher"], acc["scratch"], acc["kd"]) == pytest.approx(72 / 79)


@pytest.mark.parametrize(
    "teacher,scratch,kd,expected",
    [
        (0.9, 0.8, 0.85, 0.5),
        (0.9, 0.8, 0.9, 1.0),
        (0.9, 0.8, 0.75, -0.5),  # KD hurt: negative share
        (0.8, 0.8, 0.85, None),  # no gap
        (0.7, 0.8, 0.85, None),  # student alone beats the teacher
    ],
)
def test_gap_closed_cases(teacher, scratch, kd, expected):
    got = gap_closed(teacher, scratch, kd)
    assert got == (None if expected is None else pytest.approx(expected))


def test_difference_stderr():
    assert difference_stderr(0.5, 0.5, 100) == pytest.approx(np.sqrt(0.5 / 100))
    assert difference_stderr(0.9, 0.9, 0) == float("inf")


# --- the verdict ---------------------------------------------------------------------------


def _judge(**kw):
    base = dict(teacher=0.95, test_samples=10_000, temperature=4.0, alpha=0.9, data="mnist1d")
    return judge(**{**base, **kw})


def test_verdict_helped():
    v = _judge(kd=0.92, baseline=0.85)
    assert v.helped is True and v.gain == pytest.approx(0.07)
    assert v.gap_closed == pytest.approx(0.7)
    assert "helped" in v.verdict and "70%" in v.verdict and not v.suggestions


def test_verdict_hurt_says_so_plainly_and_suggests():
    v = _judge(kd=0.80, baseline=0.85)
    assert v.helped is False
    assert "did NOT help" in v.verdict
    tips = " ".join(v.suggestions)
    assert "--temperature 2" in tips and "--alpha 0.5" in tips and "mnist1d:25000" in tips


def test_verdict_within_noise_is_not_called_a_win():
    v = _judge(kd=0.851, baseline=0.85, test_samples=300)
    assert v.helped is False and "within the noise" in v.verdict and v.suggestions
    assert "no measurable difference" in v.verdict


def test_verdict_after_search_does_not_suggest_auto_again():
    v = _judge(kd=0.80, baseline=0.85, temperature=1.0, searched=("temperature",))
    tips = " ".join(v.suggestions)
    assert "pinning T and alpha" in tips and "--temperature auto" not in tips


def test_verdict_no_gap_and_no_baseline():
    v = _judge(kd=0.97, baseline=0.96)
    assert v.gap_closed is None and "no gap" in v.verdict
    v = _judge(kd=0.9, baseline=None)
    assert v.gain is None and v.helped is None and "--baseline" in v.verdict


# --- config and flags ----------------------------------------------------------------------


def test_auto_is_accepted_kept_in_the_saved_config_and_validated(tmp_path):
    cfg = resolve_config(None, temperature="auto", alpha="0.5", baseline=True)
    assert (cfg.distill.temperature, cfg.distill.alpha, cfg.run.baseline) == ("auto", 0.5, True)
    saved = tmp_path / "config.yaml"
    saved.write_text(dump_config(cfg))
    assert yaml.safe_load(saved.read_text())["distill"]["temperature"] == "auto"  # rerun: again
    assert resolve_config(saved) == cfg
    for bad, key in [({"temperature": "hot"}, "temperature"), ({"alpha": 1.5}, "alpha")]:
        with pytest.raises(EdgeKDError, match=f"config key '{key}'"):
            resolve_config(None, **bad)
    with pytest.raises(EdgeKDError, match="temperature"):
        resolve_config(None, temperature=0)


def test_cli_rejects_a_bad_temperature_in_one_line(tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["compress", "--temperature", "warm", "--out", str(out)])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and "config key 'temperature'" in result.output
    assert not out.exists()


# --- the T/alpha search --------------------------------------------------------------------


def test_grid_and_trial_epochs():
    assert len(kd_search.grid("auto", "auto")) == len(kd_search.TEMPERATURES) * len(
        kd_search.ALPHAS
    )
    assert kd_search.grid("auto", 0.7) == [(t, 0.7) for t in kd_search.TEMPERATURES]
    assert kd_search.grid(3.0, "auto") == [(3.0, a) for a in kd_search.ALPHAS]
    assert kd_search.trial_epochs(60) == 6 and kd_search.trial_epochs(3) == 2


def _toy(n=96, seed=0):
    g = np.random.default_rng(seed)
    x = g.standard_normal((n, 4)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(np.int64)


def test_search_picks_best_val_accuracy_then_lowest_loss(monkeypatch):
    scores = {(1.0, 0.5): 0.80, (2.0, 0.5): 0.90, (4.0, 0.5): 0.90, (8.0, 0.5): 0.70}
    seen = []

    def fake_fit(model, *args, teacher=None, **kw):
        cfg = args[4]
        seen.append((cfg.temperature, cfg.alpha, cfg.epochs))
        with torch.no_grad():  # lower loss for T=4: larger margin on the right class
            model.weight.copy_(
                torch.tensor([[-cfg.temperature, 0, 0, 0], [cfg.temperature, 0, 0, 0]])
            )
            model.bias.zero_()
        return TrainResult(scores[(cfg.temperature, cfg.alpha)], 1, 0.0)

    monkeypatch.setattr(kd_search, "fit", fake_fit)
    x, y = _toy()
    result = kd_search.search_kd(
        lambda: nn.Linear(4, 2),
        x,
        y,
        x,
        y,
        TrainConfig(epochs=30, device="cpu"),
        teacher=lambda t: t,
        temperature="auto",
        alpha=0.5,
    )
    assert seen == [(t, 0.5, 3) for t in kd_search.TEMPERATURES]
    assert (result.temperature, result.alpha) == (4.0, 0.5)  # tie at 0.90 -> lower val loss
    d = result.to_dict()
    assert d["searched"] == ["temperature"] and len(d["trials"]) == 4
    assert d["chosen"] == {"temperature": 4.0, "alpha": 0.5}


def test_search_runs_for_real_and_tempers_an_ensemble_at_each_trial_t():
    x, y = _toy()
    torch.manual_seed(0)
    teacher_net = nn.Linear(4, 2)
    temps = []

    class Ensemble:  # the EnsembleTeacher protocol: soft targets tempered inside, at T
        temperature = "auto"

        def __call__(self, x):
            raise AssertionError("the search must ask for logits at the trial's T")

        def logits_at(self, x, temperature):
            temps.append(temperature)
            return teacher_net(x)

    torch.manual_seed(0)
    init = nn.Linear(4, 2)
    result = kd_search.search_kd(
        lambda: __import__("copy").deepcopy(init),
        x,
        y,
        x[:32],
        y[:32],
        TrainConfig(epochs=4, batch_size=32, device="cpu"),
        teacher=Ensemble(),
        temperature="auto",
        alpha="auto",
        epochs=1,
    )
    assert sorted(set(temps)) == sorted(kd_search.TEMPERATURES)
    assert (result.temperature, result.alpha) in kd_search.grid("auto", "auto")
    assert all(0 <= t["val_accuracy"] <= 1 for t in result.trials)


# --- transfer sets (Hinton's: unlabelled, data the teacher never saw) ----------------------


@pytest.fixture(scope="module")
def mnist1d():
    return load_data("mnist1d", seed=0)


def test_mnist1d_transfer_set_is_fresh_seeded_and_leaves_global_rng_alone(mnist1d):
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    x = load_transfer("mnist1d:64", mnist1d, seed=0)
    assert np.array_equal(np.random.get_state()[1], before)
    assert x.shape == (64, *mnist1d.input_shape) and x.dtype == np.float32
    assert np.array_equal(x, load_transfer("mnist1d:64", mnist1d, seed=0))  # reproducible
    assert not np.allclose(x, load_transfer("mnist1d:64", mnist1d, seed=1))
    seen = np.concatenate([mnist1d.x_train, mnist1d.x_val, mnist1d.x_test]).reshape(-1, 40)
    flat = x.reshape(len(x), -1)
    nearest = np.abs(flat[:, None, :] - seen[None, :, :]).max(-1).min(-1)
    assert (nearest > 1e-3).all()  # no sample of the train/val/test data reappears


def test_transfer_spec_errors(mnist1d, digits):
    for spec in ("mnist1d:0", "mnist1d:lots", "cifar:10"):
        with pytest.raises(EdgeKDError, match="not understood"):
            load_transfer(spec, mnist1d)
    with pytest.raises(EdgeKDError, match="same kind"):
        load_transfer("mnist1d:8", digits)


def test_fit_learns_the_transfer_set_from_cached_teacher_outputs():
    x, y = _toy()
    x_transfer = _toy(40, seed=1)[0]
    calls = []

    def teacher(t):
        calls.append(len(t))
        return torch.stack([-t[:, 0], t[:, 0]], 1) * 3

    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    cfg = TrainConfig(epochs=2, batch_size=32, device="cpu")
    fit(model, x, y, x, y, cfg, teacher=teacher, x_transfer=x_transfer)
    assert sum(calls) == len(x) + len(x_transfer)  # cached once, over train + transfer
    with pytest.raises(ValueError, match="needs a teacher"):
        fit(nn.Linear(4, 2), x, y, x, y, cfg, x_transfer=x_transfer)


# --- compress --baseline --temperature auto, end to end ------------------------------------


@pytest.fixture(scope="module")
def baseline_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kd")
    flags = ("--baseline", "--temperature", "auto", "--recipe", "hinton")  # T search: hinton
    return run_compress(tmp, *flags, student="mlp", latency_runs=10, quantize="none")


def test_baseline_is_a_measured_artifact_never_the_final_one(baseline_run):
    run_dir, result = baseline_run
    assert result.exit_code == 0, result.output
    report = json.loads((run_dir / "report.json").read_text())
    names = [a["name"] for a in report["artifacts"]]
    assert "student-baseline" in names and report["final"] != "student-baseline"
    assert (run_dir / "student-baseline.onnx").is_file()
    base = next(a for a in report["artifacts"] if a["name"] == "student-baseline")
    student = next(a for a in report["artifacts"] if a["name"] == "student")
    assert base["params"] == student["params"] and base["latency_ms"]["p50"] > 0
    assert report["parity"]["student-baseline"]["top1_agreement"] >= 0.99
    stages = [s["stage"] for s in json.loads((run_dir / "manifest.json").read_text())["stages"]]
    assert stages.index("teacher") < stages.index("kd-search") < stages.index("distill")
    assert "baseline" in stages


def test_report_distillation_section(baseline_run):
    run_dir, _ = baseline_run
    report = json.loads((run_dir / "report.json").read_text())
    d = report["distillation"]
    acc = {a["name"]: a["accuracy"] for a in report["artifacts"]}
    assert d["teacher_accuracy"] == acc["teacher"] and d["kd_accuracy"] == acc["student"]
    assert d["baseline_accuracy"] == acc["student-baseline"]
    assert d["gain"] == pytest.approx(acc["student"] - acc["student-baseline"])
    expected = gap_closed(acc["teacher"], acc["student-baseline"], acc["student"])
    assert d["gap_closed"] == (None if expected is None else pytest.approx(expected))
    assert d["verdict"] and isinstance(d["helped"], bool)
    assert d["baseline_training"]["epochs"] == 2
    # T was searched: the report records the choice and every trial; the config keeps "auto"
    assert report["config"]["distill"]["temperature"] == "auto" and d["alpha"] == 0.9
    assert d["temperature"] in kd_search.TEMPERATURES
    assert d["search"]["chosen"]["temperature"] == d["temperature"]
    assert len(d["search"]["trials"]) == len(kd_search.TEMPERATURES)
    assert resolve_config(run_dir / "config.yaml").model_dump() == report["config"]
    md = (run_dir / "report.md").read_text()
    assert "## Distillation" in md and "student-baseline" in md and d["verdict"] in md


def test_transfer_flag_reaches_the_pipeline_and_is_checked_before_anything_is_written(tmp_path):
    out = tmp_path / "run"
    args = ["compress", "--data", "digits", "--transfer", "mnist1d:10", "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "same kind" in result.output
    assert not out.exists()
