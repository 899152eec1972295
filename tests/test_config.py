import pytest

from edgekd.config import CompressConfig, dump_config, resolve_config
from edgekd.default_models import resolve_models
from edgekd.errors import EdgeKDError


def test_flags_override_file_and_dump_round_trips(tmp_path):
    f = tmp_path / "run.yaml"
    f.write_text("epochs: 7\ntemperature: 2.5\ndata: mnist1d\n")
    cfg = resolve_config(f, epochs=3, alpha=None)
    # alpha unset: the default recipe's (function matching: soft term only, alpha 1)
    assert (cfg.distill.epochs, cfg.distill.temperature, cfg.data.source, cfg.distill.alpha) == (
        3,
        2.5,
        "mnist1d",
        1.0,
    )
    saved = tmp_path / "config.yaml"
    saved.write_text(dump_config(cfg))
    assert resolve_config(saved) == cfg


def test_toml_config(tmp_path):
    f = tmp_path / "run.toml"
    f.write_text('student = "dscnn"\nteacher_epochs = 2\n')
    assert resolve_config(f).student.name == "dscnn"


@pytest.mark.parametrize(
    "text,match",
    [
        ("temprature: 3\n", "unknown config key 'temprature'; did you mean 'temperature'"),
        ("epochs: many\n", "config key 'epochs'"),
        ("alpha: 1.5\n", "config key 'alpha'"),
        ("- a\n- b\n", "mapping"),
        ("epochs: [1\n", "not valid yaml"),
    ],
)
def test_bad_config_names_the_key(tmp_path, text, match):
    f = tmp_path / "run.yaml"
    f.write_text(text)
    with pytest.raises(EdgeKDError, match=match.replace("(", r"\(")):
        resolve_config(f)


def test_missing_config_file():
    with pytest.raises(EdgeKDError, match="not found"):
        resolve_config("/nope/run.yaml")


def test_defaults_are_the_embedded_demo():
    cfg = CompressConfig()
    assert (cfg.data.source, cfg.student.name, cfg.teacher.specs, cfg.quantize.mode) == (
        "digits",
        "auto",
        [],
        "auto",
    )
    # "auto" resolved on digits (1x8x8 images): the demo's dscnn student and teacher-cnn recipe
    assert resolve_models(cfg.teacher.specs, cfg.student.name, (1, 8, 8))[:2] == (
        ["teacher-cnn"],
        "dscnn",
    )
