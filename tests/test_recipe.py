"""Recipes: consistent augmentation, online teacher, hinton kept exactly, weak teachers caught."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from edgekd.config import CompressConfig, dump_config, resolve_values
from edgekd.data.arrays import bundle_from_arrays
from edgekd.distill.augment import Augmenter, resolve_augment
from edgekd.distill.losses import kd_loss
from edgekd.distill.recipe import (
    MIN_STEPS,
    PATIENT_EPOCHS,
    PATIENT_STEPS,
    auto_epochs,
    check_teacher,
    recipe_loss,
)
from edgekd.distill.trainer import TrainConfig, fit
from edgekd.errors import EdgeKDError
from edgekd.models import create_model
from edgekd.teachers import load_teacher

CPU = torch.device("cpu")


class Spy(nn.Module):
    """Wraps a model and keeps every input it sees in training mode (or always)."""

    def __init__(self, inner: nn.Module, always: bool = False):
        super().__init__()
        self.inner, self.always, self.seen = inner, always, []

    def forward(self, x):
        if self.always or self.training:
            self.seen.append(x.detach().clone())
        return self.inner(x)


def _signals(n=96, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = (rng.normal(size=(n, 1, 40)) + y[:, None, None]).astype(np.float32)
    return x, y


def test_the_same_augmented_tensor_reaches_teacher_and_student():
    x, y = _signals()
    torch.manual_seed(0)
    teacher = Spy(create_model("mlp", (1, 40), 3), always=True).eval()
    student = Spy(create_model("mlp", (1, 40), 3))
    cfg = TrainConfig(epochs=2, batch_size=32, device="cpu", augment="auto", schedule="cosine")
    result = fit(student, x, y, x[:16], y[:16], cfg, teacher=teacher)
    assert len(student.seen) == 6  # 3 batches x 2 epochs
    taught = teacher.seen[-len(student.seen) :]  # the first call is the view-accuracy probe
    for s, t in zip(student.seen, taught, strict=True):
        assert torch.equal(s, t)
    originals = torch.from_numpy(x)
    assert not any(
        torch.equal(s, originals[i : i + len(s)]) for s in student.seen for i in range(len(x))
    )  # the views are augmented, not raw rows
    assert result.teacher_view_accuracy is not None


def test_mixup_mixes_inputs_labels_and_teacher_probabilities_with_one_lambda():
    x = torch.randn(16, 5)
    y = torch.randint(0, 3, (16,))
    probs = torch.softmax(torch.randn(16, 3), 1)
    aug = Augmenter(("mixup",), x.numpy(), seed=0, device=CPU)
    batch = aug(x)
    lam, perm = batch.mix.lam, batch.mix.perm
    assert not torch.all(lam == 1)
    expected_x = lam[:, None] * x + (1 - lam[:, None]) * x[perm]
    torch.testing.assert_close(batch.x, expected_x)
    onehot = F.one_hot(y, 3).float()
    torch.testing.assert_close(
        batch.targets(y, 3), lam[:, None] * onehot + (1 - lam[:, None]) * onehot[perm]
    )
    torch.testing.assert_close(
        batch.mix(probs), lam[:, None] * probs + (1 - lam[:, None]) * probs[perm]
    )
    # The loss learns the labels mixed with that lambda (and the teacher's mixed-view probs).
    logits = torch.randn(16, 3)
    loss = recipe_loss(logits, batch, y, probs, temperature=2.0, alpha=0.3)
    hard = -(batch.targets(y, 3) * F.log_softmax(logits, 1)).sum(1).mean()
    soft = 4.0 * F.kl_div(F.log_softmax(logits / 2, 1), probs, reduction="batchmean")
    torch.testing.assert_close(loss, 0.7 * hard + 0.3 * soft)


def test_cutmix_lambda_is_the_share_of_the_image_kept():
    x = torch.zeros(8, 1, 8, 8)
    x[::2] = 1.0  # rows alternate ones/zeros, so a pasted box changes the mean
    batch = Augmenter(("cutmix",), x.numpy(), seed=3, device=CPU)(x)
    mixed = batch.mix(x.flatten(1).mean(1, keepdim=True)).squeeze(1)
    torch.testing.assert_close(batch.x.flatten(1).mean(1), mixed)


def test_hinton_without_augmentation_reproduces_the_historic_loss_values(digits):
    """Numbers recorded from edgekd's trainer before recipes existed (commit f1aa305)."""
    n = 256
    torch.manual_seed(0)
    teacher = create_model("mlp", digits.input_shape, digits.num_classes)
    fit(teacher, digits.x_train[:n], digits.y_train[:n], digits.x_val, digits.y_val,
        TrainConfig(epochs=2, batch_size=32, seed=0, device="cpu"), label="t")  # fmt: skip
    torch.manual_seed(1)
    student = create_model("cnn-tiny", digits.input_shape, digits.num_classes)
    cfg = TrainConfig(epochs=3, batch_size=32, seed=0, device="cpu", temperature=4.0, alpha=0.9)
    assert (cfg.recipe, cfg.augment, cfg.schedule) == ("hinton", "none", "onecycle")
    r = fit(student, digits.x_train[:n], digits.y_train[:n], digits.x_val, digits.y_val, cfg,
            teacher=teacher, label="s")  # fmt: skip
    losses = [h["loss"] for h in r.history]
    assert losses == pytest.approx(
        [0.2480274736881256, 0.22264091670513153, 0.21427516639232635], rel=1e-5
    )
    assert [h["val_accuracy"] for h in r.history] == pytest.approx(
        [0.11805555555555555, 0.20833333333333334, 0.2638888888888889]
    )


def test_unmixed_batches_use_the_hinton_loss_itself():
    from edgekd.distill.augment import Batch

    logits, y = torch.randn(8, 4), torch.randint(0, 4, (8,))
    probs = torch.softmax(torch.randn(8, 4), 1)
    got = recipe_loss(logits, Batch(logits), y, probs, temperature=4.0, alpha=0.9)
    assert torch.equal(got, kd_loss(logits, y, probs, temperature=4.0, alpha=0.9))


@pytest.mark.parametrize(
    ("shape", "spec"),
    [
        ((6, 1, 8, 8), "crop,hflip,mixup,cutmix"),
        ((6, 2, 40), "shift,stretch,scale,trend,noise,mixup"),
        ((6, 7), "mixup,noise"),
    ],
)
def test_augmentation_is_seeded_and_reproducible(shape, spec):
    x = torch.randn(*shape)
    ops = resolve_augment(spec, shape[1:])

    def views(seed):
        aug = Augmenter(ops, x.numpy(), seed=seed, device=CPU)
        return [aug(x).x for _ in range(3)]

    a, b, c = views(0), views(0), views(1)
    assert all(torch.equal(p, q) for p, q in zip(a, b, strict=True))
    assert not torch.equal(a[0], c[0])
    assert not torch.equal(a[0], a[1])  # each batch gets fresh draws
    assert all(v.shape == x.shape for v in a)


def test_augment_auto_follows_the_input_rank_and_bad_names_are_refused():
    assert resolve_augment("auto", (1, 8, 8)) == ("crop",)  # no flip unless asked
    assert "shift" in resolve_augment("auto", (1, 40))
    assert resolve_augment("auto", (30,)) == ("mixup", "noise")
    assert resolve_augment("none", (30,)) == ()
    with pytest.raises(EdgeKDError, match="'crop' is not an augmentation for tabular"):
        resolve_augment("crop", (30,))


def test_an_onnx_teacher_is_called_in_batches(tmp_path, digits):
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    x2 = digits.x_train.reshape(len(digits.x_train), -1)
    x, y = x2[:200], digits.y_train[:200]
    lr = LogisticRegression(max_iter=200).fit(x, y)
    path = tmp_path / "lr.onnx"
    path.write_bytes(to_onnx(lr, x[:1].astype(np.float32)).SerializeToString())
    data = bundle_from_arrays("flat", x2, digits.y_train, seed=0)
    teacher = load_teacher([str(path)], data)
    calls = []
    run = teacher.session.run
    teacher.session.run = lambda out, feed: calls.append(len(feed["input"])) or run(out, feed)
    n = 200
    cfg = TrainConfig(epochs=2, batch_size=50, device="cpu", augment="noise")
    fit(create_model("mlp", data.input_shape, data.num_classes), data.x_train[:n],
        data.y_train[:n], data.x_val, data.y_val, cfg, teacher=teacher)  # fmt: skip
    assert calls[1:] == [50] * 8  # one call per batch of 50 (after the view probe), 2 epochs
    assert calls[0] == n  # the probe: every sample in one call


def test_function_matching_budget_counts_steps_on_tiny_sets():
    epochs = auto_epochs("function-matching", 100, 64)  # wine-sized: 2 steps an epoch
    assert epochs * 2 >= MIN_STEPS
    assert auto_epochs("function-matching", 60000, 64) == 60  # big sets: epochs suffice
    # small sets get a patient schedule: 12,000 steps, up to 200 epochs
    assert auto_epochs("function-matching", 1437, 64) == PATIENT_EPOCHS  # digits
    assert auto_epochs("function-matching", 20000, 64) * 313 >= PATIENT_STEPS
    assert auto_epochs("hinton", 100, 64) == 60


def test_weak_teacher_is_stopped_with_one_line_unless_allowed(digits):
    with pytest.raises(EdgeKDError, match="near chance.*--allow-weak-teacher"):
        check_teacher(0.11, digits)
    with pytest.raises(EdgeKDError, match="below a plain linear classifier"):
        check_teacher(0.6, digits)
    got = check_teacher(0.11, digits, allow_weak=True)
    assert got["weak"] and got["linear_reference"] > 0.8
    assert not check_teacher(0.99, digits)["weak"]


def test_config_records_each_recipes_settings():
    fm = CompressConfig()
    d = fm.distill
    assert (d.recipe, d.temperature, d.alpha, d.augment, d.schedule, d.epochs) == (
        "function-matching", 1.0, 1.0, "auto", "cosine", None
    )  # fmt: skip
    h = resolve_values({}, recipe="hinton")
    d = h.distill
    assert (d.temperature, d.alpha, d.augment, d.schedule, d.epochs) == (
        4.0, 0.9, "none", "onecycle", 60
    )  # fmt: skip
    mine = resolve_values({}, recipe="hinton", temperature=2.0, augment="mixup")
    assert (mine.distill.temperature, mine.distill.augment) == (2.0, "mixup")
    import yaml

    assert resolve_values(yaml.safe_load(dump_config(fm))) == fm  # config.yaml reloads as is


def test_a_saturated_validation_accuracy_keeps_the_epoch_with_the_lowest_loss():
    # Wine's 23-row validation split reaches 100% within a few epochs; keeping the first epoch
    # to get there shipped a student still in warm-up. Ties must go to the lower loss.
    from sklearn.datasets import load_wine

    x, y = load_wine(return_X_y=True)
    x = ((x - x.mean(0)) / x.std(0)).astype(np.float32)
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(x))
    tr, va = idx[:120], idx[120:145]
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(13, 16), nn.ReLU(), nn.Linear(16, 3))
    cfg = TrainConfig(epochs=40, lr=1e-2, batch_size=32, schedule="cosine")
    result = fit(model, x[tr], y[tr].astype(np.int64), x[va], y[va].astype(np.int64), cfg)
    top = max(h["val_accuracy"] for h in result.history)
    tied = [h for h in result.history if h["val_accuracy"] == top]
    assert len(tied) > 1  # the situation under test: accuracy saturates
    assert result.best_epoch == min(tied, key=lambda h: h["val_loss"])["epoch"]
    assert result.best_epoch > tied[0]["epoch"]  # not the first epoch to reach it


def test_auto_drops_the_views_the_teacher_misreads_and_later_stages_train_without_them():
    from edgekd.config import CompressConfig
    from edgekd.distill.augment import Batch
    from edgekd.distill.trainer import TrainResult
    from edgekd.distill.views import readable_views
    from edgekd.stages.context import RunContext
    from edgekd.stages.distill import DistillResult

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    x = (np.eye(2)[y] * 3 + rng.normal(size=(200, 2)) * 0.1).astype(np.float32)

    def augmenter(ops):  # "noise" swaps the features: the teacher reads every view wrong
        swap = ops in (("noise",), ("crop",), ("mixup",))  # crops and mixing: never judged
        return lambda t: Batch(t.flip(1) if swap else t * 1.1)

    teacher = lambda t: t  # noqa: E731  logits = the inputs: every clean row read right
    ops = ("scale", "noise", "crop", "mixup")
    kept, dropped, clean = readable_views(teacher, ops, augmenter, x, y, torch.device("cpu"))
    assert clean == 1.0 and kept == ("scale", "crop", "mixup") and dropped == {"noise": 0.0}

    cfg = CompressConfig()
    ctx = RunContext(cfg, cfg, *([None] * 5))  # only the config matters here
    trained = DistillResult(None, TrainResult(1.0, 1, 0.0, views=kept, views_dropped=dropped), None)
    assert trained.resolve(ctx).cfg.distill.augment == "scale,crop,mixup"  # later stages: same
    trained.train.views_dropped = {}
    assert trained.resolve(ctx).cfg.distill.augment == "auto"  # nothing dropped: auto as given


@pytest.mark.parametrize("shape", [(1, 40), (1, 8, 8)])
def test_teacher_augment_auto_trains_the_built_in_teacher_through_signal_views(shape, monkeypatch):
    import io

    from rich.console import Console

    import edgekd.teachers.train as teacher_train
    from edgekd.distill.augment import teacher_views

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 60)
    x = (rng.normal(size=(60, *shape)) + y.reshape(-1, *[1] * len(shape))).astype(np.float32)
    data = bundle_from_arrays("toy", x, y, seed=0)
    seen, real_fit = [], teacher_train.fit
    spy = lambda *a, **k: seen.append(a[5]) or real_fit(*a, **k)  # noqa: E731  a[5]: its config
    monkeypatch.setattr(teacher_train, "fit", spy)
    signal = len(shape) == 2
    views = teacher_views("auto", data.input_shape)
    assert views == ("shift,stretch,scale,trend" if signal else "none")
    assert teacher_views("none", data.input_shape) == "none"  # the default
    teacher, out = load_teacher(["teacher-cnn"], data), io.StringIO()
    console = Console(file=out, width=200)
    teacher_train.train_and_measure(teacher, data, TrainConfig(epochs=1), console, views=views)
    assert seen[0].augment == views and seen[0].recipe == "hinton"
    assert ("through views: shift, stretch" in out.getvalue()) == signal
    with pytest.raises(EdgeKDError, match="not an augmentation"):
        teacher_views("shift,crop", (1, 40))  # a bad --teacher-augment: one line, exit 2
