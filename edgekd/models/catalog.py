"""The zoo's figures without torch: each built-in model at its default input, with the params
and MACs its exported ONNX file has.

`edgekd zoo` must run where torch is not installed (on the device, beside `edgekd bench`), and
building a ResNet-18 and exporting it to count MACs takes seconds. So the figures are a static
table here, and tests/test_zoo_edge.py builds and exports every entry and checks that the table
still says what the models are: a changed model fails that test until its row is updated.
Params and MACs are counted by `edgekd bench`'s graph statistics on the exported file
(BatchNorm folded into each conv's weights and bias; MACs per sample at batch 1). Keras, which
the MLPerf Tiny references use, also counts 4 BatchNorm numbers per channel: resnet8's 77,706
here is 78,666 there (+4 x 240 BN channels).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class ZooEntry:
    name: str
    width: float
    input_shape: tuple[int, ...]  # (C, H, W) or (C, L), without the batch axis
    num_classes: int
    params: int
    macs: int
    role: str  # what it is for, and where its reference figures come from

    @property
    def spec(self) -> str:
        """The CLI spelling: name, plus `:width=W` when not 1."""
        return self.name if self.width == 1.0 else f"{self.name}:width={self.width:g}"


ZOO: tuple[ZooEntry, ...] = (
    ZooEntry("resnet8", 1.0, (3, 32, 32), 10, 77_706, 12_501_632,
             "MLPerf Tiny image classification (ref. ~78k params / 12.5M MACs)"),
    ZooEntry("mobilenet-v1", 0.25, (3, 96, 96), 2, 210_850, 7_489_664,
             "MLPerf Tiny visual wake words, alpha 0.25 (ref. ~0.2M params / ~7.5M MACs)"),
    ZooEntry("mobilenet-v2", 0.35, (3, 96, 96), 2, 391_650, 10_656_688,
             "MobileNetV2, alpha 0.35-1.0; 1280-ch head kept for alpha <= 1"),
    ZooEntry("ds-cnn", 1.0, (1, 49, 10), 12, 22_604, 2_656_768,
             "MLPerf Tiny keyword spotting, DS-CNN small (ref. ~24k params / ~2.7M MACs)"),
    ZooEntry("ds-cnn-medium", 1.0, (1, 49, 10), 12, 135_032, 16_428_064,
             "DS-CNN medium (Hello Edge): 172 channels"),
    ZooEntry("ds-cnn-large", 1.0, (1, 49, 10), 12, 410_700, 50_545_812,
             "DS-CNN large (Hello Edge): 276 channels, 5 blocks"),
    ZooEntry("resnet18-32", 1.0, (3, 32, 32), 10, 11_169_162, 555_422_720,
             "teacher for 32x32 inputs: ResNet-18, 3x3 stem, no max-pool"),
    ZooEntry("mlp", 1.0, (1, 8, 8), 10, 8_970, 8_832, "student for digits / mnist1d"),
    ZooEntry("cnn-tiny", 1.0, (1, 8, 8), 10, 4_978, 133_872, "student for digits / mnist1d"),
    ZooEntry("dscnn", 1.0, (1, 8, 8), 10, 6_418, 164_304,
             "student for digits / mnist1d (compress's default)"),
    ZooEntry("resnet-tiny", 1.0, (1, 8, 8), 10, 28_266, 673_088, "student for digits / mnist1d"),
    ZooEntry("teacher-cnn", 1.0, (1, 8, 8), 10, 556_746, 7_117_312,
             "teacher for digits / mnist1d (compress's default)"),
    ZooEntry("teacher-mlp", 1.0, (1, 8, 8), 10, 85_002, 84_480,
             "teacher for rows of features (compress's default for tables)"),
)  # fmt: skip


def zoo_entry(name: str) -> ZooEntry:
    """The catalog row of a registered model (every registered model has one; a test checks)."""
    return next(e for e in ZOO if e.name == name)


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(str(d) for d in shape)


def run_zoo(as_json: bool = False) -> None:
    """`edgekd zoo`: print the catalog as a table, or as JSON."""
    if as_json:
        print(json.dumps([{**asdict(e), "spec": e.spec} for e in ZOO], indent=2))
        return
    from rich.table import Table

    from edgekd.bench.table import make_console

    t = Table(title="edgekd model zoo (figures of the exported ONNX file, BatchNorm folded)")
    for col in ("model", "input (C,H,W)", "classes", "params", "MACs"):
        t.add_column(col, justify="right" if col in ("classes", "params", "MACs") else "left")
    t.add_column("what for")
    for e in ZOO:
        t.add_row(
            e.spec,
            _shape(e.input_shape),
            str(e.num_classes),
            f"{e.params:,}",
            f"{e.macs / 1e6:,.2f} M",
            e.role,
        )
    make_console().print(t)
