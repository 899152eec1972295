"""Checkpoints: a loop stopped, saved, rebuilt from scratch and loaded takes the same next steps
as the loop that never stopped."""

import random

import numpy as np
import pytest
import torch
from torch import nn

from edgekd.checkpoint import Progress, load_checkpoint, save_checkpoint
from edgekd.errors import EdgeKDError

X = torch.randn(48, 6, generator=torch.Generator().manual_seed(1))
Y = torch.arange(48) % 3
EPOCHS = 6


def _build():
    """Fresh model, optimizer, scheduler and batch-order generator, as a training loop builds."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-2, total_steps=EPOCHS * 3)
    return model, opt, sched, torch.Generator().manual_seed(0)


def _epoch(model, opt, sched, gen) -> None:
    """One epoch drawing on every random stream: batch order (generator), dropout (torch),
    and numpy/Python noise a data pipeline might add."""
    model.train()
    order = torch.randperm(len(X), generator=gen)
    for i in range(0, len(X), 16):
        idx = order[i : i + 16]
        noise = float(np.random.normal()) * 1e-3 + random.random() * 1e-3
        loss = nn.functional.cross_entropy(model(X[idx] + noise), Y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()


def test_resumed_training_takes_the_uninterrupted_steps(tmp_path):
    np.random.seed(3)
    random.seed(3)
    model, opt, sched, gen = _build()
    for _ in range(EPOCHS):
        _epoch(model, opt, sched, gen)
    uninterrupted = {k: v.clone() for k, v in model.state_dict().items()}

    np.random.seed(3)
    random.seed(3)
    model, opt, sched, gen = _build()
    for _ in range(2):
        _epoch(model, opt, sched, gen)
    best = {k: v.clone() for k, v in model.state_dict().items()}
    path = save_checkpoint(
        tmp_path / "ckpt" / "distill.pt",
        Progress(epoch=2, best_accuracy=0.5, best_epoch=2, best_state=best, extra={"T": 4.0}),
        model=model,
        optimizer=opt,
        scheduler=sched,
        generator=gen,
    )
    # the "killed" process's streams move on; the checkpoint must put them back
    torch.manual_seed(99)
    np.random.seed(99)
    random.seed(99)
    model, opt, sched, gen = _build()
    progress = load_checkpoint(path, model=model, optimizer=opt, scheduler=sched, generator=gen)
    assert (progress.epoch, progress.best_accuracy, progress.best_epoch) == (2, 0.5, 2)
    assert progress.extra == {"T": 4.0}
    assert all(torch.equal(best[k], progress.best_state[k]) for k in best)
    assert sched.last_epoch == 2 * 3
    for _ in range(progress.epoch, EPOCHS):
        _epoch(model, opt, sched, gen)
    for k, v in model.state_dict().items():
        assert torch.equal(v, uninterrupted[k]), k


def test_a_checkpoint_loads_with_weights_only(tmp_path):
    model, opt, sched, gen = _build()
    _epoch(model, opt, sched, gen)
    path = save_checkpoint(
        tmp_path / "c.pt", Progress(epoch=1), model=model, optimizer=opt, scheduler=sched
    )
    blob = torch.load(path, weights_only=True)  # raises if anything but plain data was stored
    assert blob["progress"]["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temp file left


def test_a_damaged_or_foreign_checkpoint_is_refused_in_one_line(tmp_path):
    model, opt, sched, gen = _build()
    path = save_checkpoint(tmp_path / "c.pt", Progress(epoch=1), model=model)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(EdgeKDError, match="cannot be read"):
        load_checkpoint(path, model=model)
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(EdgeKDError, match="not an edgekd checkpoint"):
        load_checkpoint(tmp_path / "other.pt", model=model)


def test_patience_stops_early_and_a_resumed_stopped_run_trains_no_further(tmp_path):
    from edgekd.distill.trainer import TrainConfig, fit

    rng = np.random.default_rng(0)
    x, x_val = rng.standard_normal((60, 6), dtype=np.float32), rng.standard_normal((20, 6))
    y, y_val = rng.integers(0, 2, 60), rng.integers(0, 2, 20)  # nothing to learn: it overfits
    cfg = TrainConfig(epochs=40, patience=3, batch_size=16, lr=3e-2)
    ckpt = tmp_path / "fit.pt"
    torch.manual_seed(0)
    first = fit(nn.Linear(6, 2), x, y, x_val.astype(np.float32), y_val, cfg, checkpoint=ckpt)
    stopped = len(first.history)
    assert stopped < 40 and stopped == first.best_epoch + 3
    torch.manual_seed(0)
    again = fit(nn.Linear(6, 2), x, y, x_val.astype(np.float32), y_val, cfg, checkpoint=ckpt)
    assert len(again.history) == stopped and again.best_epoch == first.best_epoch
