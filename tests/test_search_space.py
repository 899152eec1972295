"""edgekd search: the search space, the selection rules and bad input (one line, exit 2)."""

import pytest
import yaml
from click.testing import CliRunner

from edgekd.cli import main
from edgekd.errors import EdgeKDError
from edgekd.search import load_search_config
from edgekd.search.figures import (
    binding_sentence,
    choose_best,
    closest,
    constraint_values,
    pareto_front,
)
from edgekd.search.space import EarlyStop, parse_settings, suggest_all
from edgekd.search.trial import hopeless

pytest.importorskip("optuna")


# ----------------------------------------------------------------------------- the space


def test_defaults_cover_the_whole_chain():
    settings, given = parse_settings(None, base_student="dscnn")
    assert not given
    assert set(settings.space) >= {
        "student",
        "student_width",
        "temperature",
        "alpha",
        "prune_ratio",
        "quantize",
    }
    assert settings.space["student"].choices == ("dscnn",)
    assert settings.trials == 30 and settings.epochs >= 10


def test_config_file_sets_the_space(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "data": "digits",
                "max_size_kb": 16,
                "search": {
                    "trials": 7,
                    "epochs": 3,
                    "space": {
                        "student": ["mlp", "dscnn"],
                        "alpha": [0.5, 0.9],
                        "temperature": 4,
                        "prune_ratio": {"choices": [0, 0.25]},
                        "student_width": {"low": 0.5, "high": 1.0, "log": True},
                        "quantize": ["int8"],
                    },
                },
            }
        )
    )
    base, settings, given = load_search_config(path, trials=9)
    assert base.budget.max_size_kb == 16 and base.run.out == "runs/search"
    assert settings.trials == 9 and settings.epochs == 3 and given
    space = settings.space
    assert space["student"].choices == ("mlp", "dscnn")
    assert (space["alpha"].low, space["alpha"].high) == (0.5, 0.9)
    assert space["temperature"].fixed and space["quantize"].fixed
    assert space["prune_ratio"].choices == (0.0, 0.25)
    assert space["student_width"].log


def test_quant_format_is_only_asked_for_int8():
    import optuna

    settings, _ = parse_settings({"space": {"quantize": ["none"]}}, base_student="dscnn")
    study = optuna.create_study(directions=["maximize"])
    trial = study.ask()
    params = suggest_all(settings.space, trial)
    assert params["quantize"] == "none" and "quant_format" not in params
    settings, _ = parse_settings({"space": {"quantize": "int8"}}, base_student="dscnn")
    params = suggest_all(settings.space, study.ask())
    assert params["quant_format"] in ("qdq", "qoperator")


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"space": {"widht": [0.5, 1]}}, "unknown search-space key 'widht'"),
        ({"space": {"alpha": [0.9, 0.3]}}, "empty range [0.9, 0.3]"),
        ({"space": {"alpha": []}}, "empty range"),
        ({"space": {"student": []}}, "empty choices"),
        ({"space": {"prune_ratio": {"choices": []}}}, "empty choices"),
        ({"space": {"alpha": [0.5, 1.5]}}, "out of bounds"),
        ({"space": {"quantize": ["int4"]}}, "unknown mode 'int4'"),
        ({"space": {"student_width": {"low": 0, "high": 1, "log": True}}}, "out of bounds"),
        ({"trails": 3}, "unknown search setting 'trails'"),
        ({"early_stop": {"patience": 3}}, "unknown early_stop key"),
        ({"trials": 0}, "'trials': must be an integer >= 1"),
    ],
)
def test_bad_space_is_one_clear_error(raw, message):
    with pytest.raises(EdgeKDError) as err:
        parse_settings(raw, base_student="dscnn")
    assert message in str(err.value) and "\n" not in str(err.value)


def _one_line_exit_2(result, message):
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("edgekd: error: ") and message in lines[0], lines[0]


@pytest.mark.parametrize(
    "search, message",
    [
        ({"space": {"temprature": [1, 4]}}, "unknown search-space key 'temprature'"),
        ({"space": {"prune_ratio": [0.5, 0.1]}}, "empty range"),
    ],
)
def test_cli_bad_space_exit_2_nothing_written(tmp_path, search, message):
    cfg = tmp_path / "search.yaml"
    cfg.write_text(yaml.safe_dump({"data": "digits", "search": search}))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["search", "--config", str(cfg), "--out", str(out)])
    _one_line_exit_2(result, message)
    assert not out.exists()


@pytest.mark.parametrize(
    "url, message",
    [
        ("postgresql://edgekd:s3cret@127.0.0.1:9/edgekd", "study storage"),
        ("sqlite:////no/such/folder/study.db", "cannot open study storage"),
        ("/no/such/folder/study.journal", "does not exist"),
        ("ftp://example.org/study", "unknown scheme"),
    ],
)
def test_cli_unreachable_storage_exit_2_nothing_written(tmp_path, url, message):
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main,
        ["search", "--data", "digits", "--teacher", "dscnn", "--storage", url, "--out", str(out)],
    )
    _one_line_exit_2(result, message)
    assert "s3cret" not in result.output  # passwords never printed
    assert not out.exists()


# ----------------------------------------------------------------------------- selection


def _trial(number, acc, size, latency=0.1, limit_kb=16.0, state="COMPLETE"):
    checks = [
        {"metric": "latency_p90_ms", "limit": 50.0, "value": latency, "ok": latency <= 50},
        {"metric": "size_kb", "limit": limit_kb, "value": size, "ok": size <= limit_kb},
    ]
    return {
        "number": number,
        "state": state,
        "params": {},
        "val_accuracy": acc,
        "latency_ms": latency,
        "size_kb": size,
        "checks": checks,
        "feasible": all(c["ok"] for c in checks),
    }


def test_a_trial_over_budget_is_never_chosen():
    trials = [
        _trial(0, 0.99, 40.0),  # the most accurate, but 2.5x over the size limit
        _trial(1, 0.98, 16.5),  # just over
        _trial(2, 0.91, 15.0),
        _trial(3, 0.93, 12.0),
        _trial(4, 0.93, 10.0),  # ties on accuracy with #3: the smaller file wins
        _trial(5, 0.97, 9.0, latency=70.0),  # accurate and small but too slow
        {**_trial(6, 0.999, 1.0), "state": "PRUNED"},  # never measured to the end
    ]
    best = choose_best(trials)
    assert best["number"] == 4
    assert all(c["ok"] for c in best["checks"])
    front = [t["number"] for t in pareto_front(trials)]
    assert 0 not in front and 1 not in front and 5 not in front and 4 in front


def test_unmeasured_limit_counts_as_missed():
    t = _trial(0, 0.9, 10.0)
    t["checks"].append({"metric": "memory_added_mb", "limit": 32, "value": None, "ok": None})
    t["feasible"] = False  # trial_figures sets feasible only when every check is True
    assert constraint_values(t["checks"])["memory_added_mb"] == 1.0
    assert choose_best([t]) is None


def test_nothing_fits_names_the_binding_limit_and_the_distance():
    trials = [_trial(0, 0.95, 24.0), _trial(1, 0.9, 18.0), _trial(2, 0.97, 40.0)]
    assert choose_best(trials) is None
    assert closest(trials)["number"] == 1
    sentence = binding_sentence(trials)
    assert "'size_kb' binds" in sentence and "#1" in sentence
    assert "18" in sentence and "16" in sentence and "12.5% over" in sentence


def test_hopeless_trials_stop_only_after_warmup_with_enough_references():
    stop = EarlyStop(warmup=0.5, margin=0.05, min_trials=2)
    refs = [[0.5, 0.7, 0.8, 0.9], [0.4, 0.6, 0.85, 0.88]]
    assert hopeless(1, 0.1, refs, stop, 4) is None  # warm-up
    assert hopeless(2, 0.66, refs, stop, 4) is None  # within the margin of 0.7
    assert "epoch 2/4" in hopeless(2, 0.6, refs, stop, 4)
    assert hopeless(3, 0.6, refs[:1], stop, 4) is None  # too few references
    assert hopeless(3, 0.1, refs, EarlyStop(margin=-1), 4) is None  # turned off
