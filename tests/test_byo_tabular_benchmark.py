"""benchmarks/tabular_forest.py --quick: the tabular demo runs end to end and writes its table."""

import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "tabular_forest.py"


def test_tabular_forest_quick(tmp_path):
    spec = importlib.util.spec_from_file_location("tabular_forest", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "tabular_forest.md"
    (result,) = module.main(["--quick", "--data", "breast_cancer", "--results", str(out)])
    assert result["teacher"]["accuracy"] > 0.85  # the forest, run from its ONNX file
    assert result["teacher"]["accuracy"] == result["sklearn_forest_accuracy"]
    assert 0 < result["student"]["size_bytes"] < 64 * 1024
    assert "breast_cancer" in out.read_text()
    assert json.loads(out.with_suffix(".json").read_text())[0]["data"] == "breast_cancer"
