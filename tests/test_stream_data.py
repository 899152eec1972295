"""Streamed data sources: same batches as in memory, the on-disk teacher-logit cache, shapes32."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from edgekd.data import load_data
from edgekd.data.rows import Rows
from edgekd.data.stream import TrainRows
from edgekd.distill.logit_cache import LogitCache, teacher_logits
from edgekd.errors import EdgeKDError

CPU = torch.device("cpu")


def _images(n: int = 80, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n, 3, 8, 8), dtype=np.uint8)
    return x, np.arange(n) % 4


def _epoch_batches(x, seed: int, batch: int = 16) -> list[torch.Tensor]:
    rows = TrainRows(x, None, CPU)
    order = torch.randperm(len(rows), generator=torch.Generator().manual_seed(seed))
    return [xb for _, xb in rows.batches(order, batch)]


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEKD_CACHE", str(tmp_path / "cache"))


def test_uncompressed_npz_streams_the_same_rows_as_the_in_memory_load(tmp_path):
    x, y = _images()
    np.savez(tmp_path / "plain.npz", X=x, y=y)  # stored: memory-mapped from the zip
    np.savez_compressed(tmp_path / "packed.npz", X=x, y=y)  # deflated: read into memory
    streamed = load_data(str(tmp_path / "plain.npz"), seed=3)
    memory = load_data(str(tmp_path / "packed.npz"), seed=3)
    assert isinstance(streamed.x_train, Rows) and isinstance(memory.x_train, np.ndarray)
    assert streamed.x_train.source.array.dtype == np.uint8  # never widened on disk or in RAM
    for split in ("train", "val", "test"):
        a, b = getattr(streamed, f"x_{split}"), getattr(memory, f"x_{split}")
        assert a.shape == b.shape
        np.testing.assert_array_equal(a[:], b)
        np.testing.assert_array_equal(
            getattr(streamed, f"y_{split}"), getattr(memory, f"y_{split}")
        )
    np.testing.assert_array_equal(streamed.x_val[3:9], memory.x_val[3:9])
    got, want = _epoch_batches(streamed.x_train, 7), _epoch_batches(memory.x_train, 7)
    assert len(got) == len(want) > 1
    for g, w in zip(got, want, strict=True):
        assert g.dtype == torch.float32 and torch.equal(g, w)


def test_image_folder_decodes_lazily_in_workers_and_matches_eager_decoding(tmp_path):
    x, y = _images(40)
    for i, (img, label) in enumerate(zip(x, y, strict=True)):
        folder = tmp_path / "imgs" / f"c{label}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img.transpose(1, 2, 0)).save(folder / f"{i:03d}.png")
    data = load_data(str(tmp_path / "imgs"), seed=1, workers=2)
    rows = data.x_train
    assert isinstance(rows, Rows) and rows.workers == 2
    files = [rows.source.files[i] for i in rows.index]
    eager = np.stack(
        [np.asarray(Image.open(f).convert("RGB"), np.float32).transpose(2, 0, 1) for f in files]
    )
    eager = (eager / 255.0 - 0.5) / 0.5
    np.testing.assert_array_equal(rows[:], eager)
    order = torch.randperm(len(rows), generator=torch.Generator().manual_seed(0))
    batches = list(TrainRows(rows, None, CPU).batches(order, 8))  # decoded by 2 workers
    for idx, xb in batches:
        np.testing.assert_array_equal(xb.numpy(), eager[idx.numpy()])
    assert sum(len(idx) for idx, _ in batches) == len(rows)


def test_transfer_rows_follow_streamed_train_rows(tmp_path):
    x, y = _images()
    np.savez(tmp_path / "plain.npz", X=x, y=y)
    data = load_data(str(tmp_path / "plain.npz"))
    extra = np.random.default_rng(1).standard_normal((5, 3, 8, 8)).astype(np.float32)
    rows = TrainRows(data.x_train, extra, CPU)
    n = len(data.x_train)
    assert len(rows) == n + 5
    got = rows.fetch(np.array([n + 4, 0, n, 2]))
    want = np.stack([extra[4], data.x_train[0], extra[0], data.x_train[2]])
    np.testing.assert_array_equal(got.numpy(), want)


class _Counting(nn.Module):
    """A linear teacher that counts the rows it is asked about."""

    def __init__(self, seed: int):
        super().__init__()
        torch.manual_seed(seed)
        self.fc = nn.Linear(3 * 8 * 8, 4)
        self.rows_seen = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.rows_seen += len(x)
        return self.fc(x.flatten(1))


def _save(teacher: nn.Module, path: Path) -> Path:
    torch.save(teacher.state_dict(), path)
    return path


def test_teacher_logits_are_cached_on_disk_and_invalidated_by_a_new_teacher(tmp_path):
    x, y = _images()
    np.savez(tmp_path / "plain.npz", X=x, y=y)
    rows = TrainRows(load_data(str(tmp_path / "plain.npz")).x_train, None, CPU)
    teacher = _Counting(0)
    cache = LogitCache(tmp_path / "run" / "teacher_logits.npy", _save(teacher, tmp_path / "t.pt"))

    first = np.array(teacher_logits(teacher, rows, cache))
    assert teacher.rows_seen >= len(rows) and cache.path.is_file()
    with torch.no_grad():
        want = teacher.fc(torch.cat([xb for xb in rows.in_order()]).flatten(1)).numpy()
    np.testing.assert_allclose(first, want, rtol=1e-6, atol=1e-6)

    teacher.rows_seen = 0  # a second run, same teacher file, same data: no teacher pass
    again = teacher_logits(teacher, rows, cache)
    assert teacher.rows_seen == 0
    np.testing.assert_array_equal(again, first)

    other = _Counting(1)  # the teacher file changes: the cache is recomputed from the new one
    _save(other, cache.teacher_file)
    changed = np.array(teacher_logits(other, rows, cache))
    assert other.rows_seen >= len(rows)
    assert not np.allclose(changed, first)

    fewer = TrainRows(load_data(str(tmp_path / "plain.npz"), seed=5).x_train, None, CPU)
    other.rows_seen = 0  # a different split (other rows) is other data: recomputed too
    teacher_logits(other, fewer, cache)
    assert other.rows_seen >= len(fewer)


def test_fit_reads_the_teacher_logits_through_the_cache(tmp_path):
    from edgekd.distill.trainer import TrainConfig, fit

    x, y = _images()
    np.savez(tmp_path / "plain.npz", X=x, y=y)
    data = load_data(str(tmp_path / "plain.npz"))
    teacher = _Counting(0)
    cache = LogitCache(tmp_path / "teacher_logits.npy", _save(teacher, tmp_path / "t.pt"))
    cfg = TrainConfig(epochs=1, batch_size=16, device="cpu")
    for run in range(2):
        teacher.rows_seen = 0
        student = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 4))
        fit(student, data.x_train, data.y_train, data.x_val, data.y_val, cfg, teacher=teacher,
            logit_cache=cache)  # fmt: skip
        if run == 0:
            assert teacher.rows_seen >= len(data.x_train)
        else:  # the second fit found the cache: the teacher saw no rows at all
            assert teacher.rows_seen == 0


def test_shapes32_is_deterministic_per_seed_and_cached_as_uint8():
    from edgekd.data.shapes32 import CHUNK, generate_chunk, materialise

    x0, y0 = generate_chunk(0, 0)
    x1, y1 = generate_chunk(0, 0)
    np.testing.assert_array_equal(x0, x1)
    np.testing.assert_array_equal(y0, y1)
    other, _ = generate_chunk(1, 0)
    assert x0.dtype == np.uint8 and x0.shape == (CHUNK, 3, 32, 32)
    assert np.mean(other != x0) > 0.5
    assert np.bincount(y0).tolist() == [CHUNK // 10] * 10  # balanced classes

    x_path, y_path = materialise(150)
    stamp = x_path.stat().st_mtime_ns
    np.testing.assert_array_equal(np.load(x_path, mmap_mode="r"), x0[:150])
    np.testing.assert_array_equal(np.load(y_path), y0[:150])
    assert materialise(150)[0].stat().st_mtime_ns == stamp  # reused, not regenerated
    assert not [p for p in x_path.parent.iterdir() if ".tmp" in p.name]

    data = load_data("shapes32:150", seed=0)
    assert data.input_shape == (3, 32, 32) and data.num_classes == 10
    assert len(data.x_train) + len(data.x_val) + len(data.x_test) == 150
    batch = data.x_test[:4]
    assert batch.dtype == np.float32 and batch.min() >= -1 and batch.max() <= 1


@pytest.mark.parametrize("spec", ["shapes32:abc", "shapes32:5"])
def test_shapes32_bad_size_is_one_clear_error(spec):
    with pytest.raises(EdgeKDError, match="shapes32:N"):
        load_data(spec)


def test_calibration_and_validation_accept_streamed_rows(tmp_path):
    from edgekd.quantize.data import InputSpec, check_array

    x, y = _images()
    np.savez(tmp_path / "plain.npz", X=x, y=y)
    rows = load_data(str(tmp_path / "plain.npz")).x_train
    spec = InputSpec("input", (None, 3, 8, 8))
    assert check_array(rows, spec, "calibration data") is rows  # not read into memory
    with pytest.raises(EdgeKDError, match="shape"):
        check_array(rows, InputSpec("input", (None, 3, 4, 4)), "calibration data")


def test_prediction_batches_shrink_with_the_input_so_memory_stays_bounded():
    # 1,024 rows of 8x8 digits are tiny; 1,024 rows of 32x32x3 images made a teacher's
    # activations take hundreds of MiB (the shapes32:50000 run's distill-stage peak).
    from edgekd.data.stream import INFERENCE_ELEMENTS, inference_batch
    from edgekd.distill.trainer import predict_logits

    class Recorder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.sizes = []

        def forward(self, x):
            self.sizes.append(len(x))
            return x.flatten(1)[:, :3]

    assert inference_batch((1, 8, 8)) == 1024
    for shape in ((3, 32, 32), (3, 96, 96)):
        model = Recorder()
        x = np.random.default_rng(0).random((700, *shape), dtype=np.float32)
        out = predict_logits(model, x, torch.device("cpu"))
        assert sum(model.sizes) == 700 and np.allclose(out, x.reshape(700, -1)[:, :3])
        assert max(model.sizes) * np.prod(shape) <= INFERENCE_ELEMENTS < 1024 * np.prod(shape)
