"""The run config's sections: one place to add an option, flat keys of older files, one unit."""

import json

import click
import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from pydantic import Field

from edgekd.cli import main
from edgekd.cli_options import SectionedCommand, config_options
from edgekd.config import (
    CompressConfig,
    PruneSection,
    dump_config,
    ref_values,
    resolve_config,
    resolve_values,
)
from edgekd.errors import EdgeKDError
from edgekd.manifest import config_hash
from edgekd.stages.base import FIELDS
from edgekd.stages.resume import start_resume

# config.yaml as main wrote it before sections (every key flat), for a tiny digits run.
FLAT_CONFIG_YAML = """\
data: digits
transfer: null
teacher:
- teacher-cnn
teacher_epochs: 1
teacher_arch: []
teacher_output: auto
teacher_weight: []
trust_pickle: false
hint: []
hint_weight: 1.0
standardize: null
label_column: null
image_size: null
image_mean: null
image_std: null
workers: 0
student: dscnn
student_width: 0.5
epochs: 1
temperature: 1.0
alpha: 1.0
recipe: function-matching
augment: auto
schedule: cosine
patience: null
allow_weak_teacher: true
baseline: false
resume: false
lr: 0.003
batch_size: 64
prune_ratio: 0.0
prune_method: structured
prune_steps: 1
prune_epochs: 100
prune_importance: l2
prune_scope: uniform
quantize: none
max_accuracy_drop: 0.5
quant_format: qdq
calibration_method: minmax
calibration_samples: 256
budget: iot
max_latency_ms: null
max_memory_mb: null
max_size_kb: null
min_retention: null
latency_runs: 20
out: OUT
ort: false
seed: 0
device: cpu
"""


class KnobPrune(PruneSection):
    knob: int = Field(3, ge=0, description="A pruning knob added in one place.")


class KnobConfig(CompressConfig):
    prune: KnobPrune = Field(default_factory=KnobPrune)


def test_a_field_added_to_a_section_reaches_help_config_yaml_and_the_stage_hash():
    import edgekd.stages.prune  # noqa: F401  (registers the prune stage's dependencies)

    @click.command(cls=SectionedCommand)
    @config_options("prune", cls=KnobConfig)
    def cmd(**flags):
        click.echo(json.dumps(flags))

    help_text = " ".join(CliRunner().invoke(cmd, ["--help"]).output.split())
    assert "Pruning options" in help_text and "--knob INTEGER" in help_text
    assert "A pruning knob added in one place. [default: 3]" in help_text
    given = json.loads(CliRunner().invoke(cmd, ["--knob", "5"]).output)
    assert given["knob"] == 5 and given["prune_ratio"] is None  # others: not given

    cfg = resolve_values({}, cls=KnobConfig, **given)
    assert yaml.safe_load(dump_config(cfg))["prune"]["knob"] == 5
    values = ref_values(cfg, FIELDS["prune"])
    assert values["knob"] == 5
    default = ref_values(resolve_values({}, cls=KnobConfig), FIELDS["prune"])
    assert config_hash(values) != config_hash(default)
    with pytest.raises(EdgeKDError, match="config key 'knob'"):
        resolve_values({"prune": {"knob": -1}}, cls=KnobConfig)


def test_flat_keys_map_to_sections_and_unknown_keys_are_refused(tmp_path):
    flat = resolve_values({"prune_ratio": 0.25, "budget": "phone", "teacher": ["a.onnx"]})
    nested = resolve_values({"prune": {"ratio": 0.25}, "budget": {"profile": "phone"}},
                            teacher=["a.onnx"])  # fmt: skip
    assert flat == nested and flat.prune.ratio == 0.25 and flat.flat("budget") == "phone"
    with pytest.raises(
        EdgeKDError, match="unknown config key 'prune.ration'; did you mean 'ratio'"
    ):
        resolve_values({"prune": {"ration": 0.5}})
    with pytest.raises(EdgeKDError, match="unknown config key 'prune_ration'; did you mean"):
        resolve_values({"prune_ration": 0.5})


def test_a_flat_config_yaml_from_before_sections_reruns_with_one_notice(tmp_path):
    old = tmp_path / "config.yaml"
    old.write_text(FLAT_CONFIG_YAML.replace("OUT", str(tmp_path / "run")))
    cfg = resolve_config(old)
    assert (cfg.data.source, cfg.student.width, cfg.run.device) == ("digits", 0.5, "cpu")

    result = CliRunner().invoke(main, ["compress", "--config", str(old)])
    assert result.exit_code in (0, 1), result.output  # 1: the budget missed, still a full run
    notices = [line for line in result.output.splitlines() if "uses flat keys" in line]
    assert len(notices) == 1 and "read into their sections" in notices[0]
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["student"] == {"name": "dscnn", "width": 0.5, "standardize": None}
    assert resolve_config(tmp_path / "run" / "config.yaml") == cfg  # the sectioned form reloads


def test_resume_reads_a_manifest_whose_stage_fields_are_flat(tmp_path):
    """A manifest written before sections records stage fields by flat name, as now."""
    manifest = {
        "status": "interrupted",
        "stages": [{"stage": "export", "fields": {"data": "digits", "seed": 0}}],
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    assert start_resume(tmp_path, resolve_values({})) is not None
    with pytest.raises(EdgeKDError, match=r"seed changed since the interrupted run \(0 -> 4\)"):
        start_resume(tmp_path, resolve_values({}, seed=4))


def test_accuracy_drop_is_points_everywhere_and_the_old_fraction_is_refused(tmp_path):
    from edgekd.config.units import drop_fraction
    from edgekd.quantize import choose_quantization

    assert resolve_values({}, max_accuracy_drop=0.5).quantize.max_accuracy_drop == 0.5
    assert drop_fraction(0.5) == 0.005  # what the guard compares, for both callers
    x = np.zeros((4, 3), np.float32)
    with pytest.raises(EdgeKDError) as err:
        choose_quantization(tmp_path / "m.onnx", tmp_path / "q.onnx", calibration=x, val_x=x,
                            val_y=np.zeros(4), max_accuracy_drop=0.005)  # fmt: skip
    assert "percentage points" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(EdgeKDError, match="config key 'max_accuracy_drop'"):
        resolve_values({}, max_accuracy_drop=150)
    with pytest.raises(EdgeKDError, match="config key 'min_retention'"):  # 98 read as percent
        resolve_values({}, min_retention=98)


def test_flags_click_refuses_are_one_line_exit_2():
    """A bad choice, a bad number and an unknown flag read like every other bad input."""
    from click.testing import CliRunner

    from edgekd.cli import main

    for args, words in [
        (["--quantize", "int4"], "config key 'quantize'"),
        (["--epochs", "many"], "config key 'epochs'"),
        (["--epoch", "3"], "No such option '--epoch'"),
    ]:
        result = CliRunner().invoke(main, ["compress", *args])
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert result.exit_code == 2, result.output
        assert len(lines) == 1 and words in lines[0], lines
