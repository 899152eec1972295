"""One training loop for teachers (hard labels) and students (KD), nanoGPT-plain.

Data sets here fit in memory, so batches are index slices of tensors on the device rather
than a DataLoader: for tiny models the loader, not the math, would dominate the time.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from rich.progress import (
    BarColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from torch import nn

from edgekd import distributed as ddp
from edgekd.checkpoint import Progress as Checkpoint
from edgekd.checkpoint import load_checkpoint, save_checkpoint
from edgekd.data.stream import TrainRows
from edgekd.distill.augment import Augmenter, Batch, resolve_augment
from edgekd.distill.logit_cache import LogitCache, teacher_logits
from edgekd.distill.losses import IGNORE, soft_targets
from edgekd.distill.recipe import auto_epochs, make_scheduler, recipe_loss, view_accuracy

TeacherFn = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class TrainConfig:
    """Defaults are edgekd's historic Hinton loop; `compress` fills in its recipe's values."""

    epochs: int | None = 30  # None: the recipe's budget for the data size (recipe.auto_epochs)
    lr: float = 3e-3
    weight_decay: float = 1e-4
    batch_size: int = 64
    temperature: float = 4.0
    alpha: float = 0.9
    seed: int = 0
    device: str = "auto"
    recipe: str = "hinton"  # distill/recipe.py; with a teacher, names the loss's defaults
    augment: str = "none"  # auto, none or a comma list of distill/augment.py operations
    schedule: str = "onecycle"  # or cosine (warm-up then cosine decay)
    patience: int | None = None  # stop after this many epochs without a better val accuracy


@dataclass
class TrainResult:
    best_val_accuracy: float
    best_epoch: int
    seconds: float
    history: list[dict] = field(default_factory=list)
    epochs: int = 0  # epochs planned (the recipe's budget when the config gave none)
    steps: int = 0  # optimisation steps taken
    teacher_view_accuracy: float | None = None  # the teacher on augmented training views


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and ddp.active():  # torchrun: one GPU per rank
        return torch.device(f"cuda:{ddp.local_rank()}")
    return torch.device(device)


@torch.no_grad()
def predict_logits(model: nn.Module | TeacherFn, x: np.ndarray, device: torch.device) -> np.ndarray:
    """Logits for a whole array, in eval mode, in batches that fit any device."""
    if isinstance(model, nn.Module):
        model.eval().to(device)
    out = [
        model(torch.from_numpy(x[i : i + 1024]).to(device)).float().cpu()
        for i in range(0, len(x), 1024)
    ]
    return torch.cat(out).numpy()


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray, device: torch.device) -> float:
    return float((predict_logits(model, x, device).argmax(1) == y).mean())


def fit(
    model: nn.Module,
    x_train: np.ndarray,
    y_train: np.ndarray | None,
    x_val: np.ndarray,
    y_val: np.ndarray,
    cfg: TrainConfig,
    *,
    teacher: TeacherFn | None = None,
    cache_teacher: bool = True,
    logit_cache: LogitCache | None = None,
    x_transfer: np.ndarray | None = None,
    hint_loss: nn.Module | None = None,
    label: str = "train",
    on_epoch: Callable[[int, float], None] | None = None,
    checkpoint: Path | None = None,
) -> TrainResult:
    """Train `model` in place and leave it holding the weights of its best validation epoch.

    With a teacher, the loss is the recipe's (`recipe_loss`); `cache_teacher` computes the
    teacher's logits on the training set once and reuses them every epoch, valid only when
    batches are not augmented: with `cfg.augment` the teacher runs online on each augmented
    batch, the very tensor the student sees (a consistent view). `logit_cache` keeps cached
    logits on disk across runs (distill/logit_cache.py). `x_transfer` adds
    unlabelled samples (Hinton's transfer set) that learn from
    the teacher's soft targets alone; y_train None makes the whole set unlabelled.
    `hint_loss(x_batch)` (distill/hints.py, used inside its `attached()` block) adds a
    feature-matching term; its adapters are optimized with the model. `on_epoch(epoch,
    val_accuracy)` is called after each epoch; it may raise to stop training (edgekd search
    stops hopeless trials this way). `checkpoint`: a file saved atomically after every epoch
    (edgekd/checkpoint.py); when it exists at the start, training continues after its epoch
    with its best-so-far and history, exactly where the killed run stopped (`--resume`).

    Under torchrun (edgekd/distributed.py) the model trains wrapped in DDP: each rank takes its
    slice of every epoch's seeded permutation with `ceil(batch_size / world)` rows per step (the
    global batch stays `batch_size`), rank 0 alone evaluates and broadcasts the accuracy, and
    rank 0's best weights are broadcast to every rank at the end.
    """
    torch.manual_seed(cfg.seed)
    device = resolve_device(cfg.device)
    model.to(device)
    y_all = np.full(len(x_train), IGNORE, dtype=np.int64) if y_train is None else y_train
    if x_transfer is not None and len(x_transfer):
        if teacher is None:
            raise ValueError("a transfer set needs a teacher: its samples have no labels")
        y_all = np.concatenate([y_all, np.full(len(x_transfer), IGNORE, dtype=np.int64)])
    x = TrainRows(x_train, x_transfer, device)  # batches by index; streamed sources read lazily
    y = torch.from_numpy(y_all).to(device)
    cached = augmenter = view_acc = None
    ops = resolve_augment(cfg.augment, tuple(x_train.shape[1:]))
    # Streamed rows: the augmentation's statistics from a sample, never the whole set in RAM.
    stats = x_train if isinstance(x_train, np.ndarray) else x_train[:8192]
    if ops:
        augmenter = Augmenter(ops, stats, seed=cfg.seed, device=device)
    if teacher is not None and augmenter is not None and y_train is not None:
        probe = Augmenter(ops, stats, seed=cfg.seed + 1, device=device)
        view_acc = view_accuracy(teacher, probe, x_train[:2048], y_train[:2048], device)
    if teacher is not None and cache_teacher and augmenter is None:
        cached = soft_targets(
            torch.from_numpy(np.array(teacher_logits(teacher, x, logit_cache))), cfg.temperature
        ).to(device)
    world, rank = ddp.world_size(), ddp.rank()
    net = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None)
    batch_size = -(-cfg.batch_size // world)  # per rank; the global batch is cfg.batch_size
    params = list(model.parameters())
    if hint_loss is not None:  # FitNets adapters (distill/hints.py) learn with the student
        params += list(hint_loss.to(device).parameters())
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    shard = -(-len(x) // world)  # rows per rank per epoch (the permutation is padded to fit)
    steps_per_epoch = max(1, int(np.ceil(shard / batch_size)))
    epochs = cfg.epochs or auto_epochs(cfg.recipe, len(x), cfg.batch_size)
    sched = make_scheduler(opt, cfg.schedule, cfg.lr, epochs * steps_per_epoch)
    gen = torch.Generator().manual_seed(cfg.seed)
    best_acc, best_epoch, best_state, history, steps = -1.0, 0, None, [], 0
    done, last = 0, epochs  # epochs finished (by a killed run, when resuming from its checkpoint)
    # the hint adapters learn with the model, so they are saved with it
    saved = nn.ModuleList([model, hint_loss]) if hint_loss is not None else model
    if checkpoint is not None and Path(checkpoint).exists():
        was = load_checkpoint(
            checkpoint, model=saved, optimizer=opt, scheduler=sched, generator=gen
        )
        done, history = was.epoch, was.history
        best_acc, best_epoch, best_state = was.best_accuracy, was.best_epoch, was.best_state
        steps = done * steps_per_epoch
        if augmenter is not None and "augment_rng" in was.extra:  # its own random streams
            augmenter.gen.set_state(was.extra["augment_rng"])
            augmenter.np_gen.bit_generator.state = was.extra["augment_np_rng"]
        if cfg.patience is not None and done - best_epoch >= cfg.patience:
            last = done  # the killed run had already stopped early
    start = time.perf_counter()
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("epoch {task.completed}/{task.total}"),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=False, disable=rank != 0) as progress:
        if view_acc is not None:
            progress.console.print(
                f"{label}: teacher accuracy on augmented training views "
                f"({', '.join(ops)}): {view_acc:.4f}"
            )
        task = progress.add_task(label, total=epochs, status="", completed=done)
        if done:
            progress.console.print(
                f"{label}: resuming from the checkpoint of epoch {done}/{epochs}"
            )
        for epoch in range(done + 1, last + 1):
            model.train()
            order = torch.randperm(len(x), generator=gen)
            if world > 1:  # same permutation on every rank (same seed); each takes its slice
                order = torch.cat([order, order[: shard * world - len(order)]])[rank::world]
            order = order.to(device)
            total = torch.zeros((), device=device)  # summed on device: no sync per step
            for idx, xb in x.batches(order, batch_size):  # the one place a batch is fetched
                yb = y[idx]
                batch = augmenter(xb) if augmenter is not None else Batch(xb)
                logits = net(batch.x)
                if teacher is None:
                    probs = None
                elif cached is not None:
                    probs = cached[idx]
                else:  # online: the teacher sees exactly the student's (augmented) tensor
                    with torch.no_grad():
                        probs = soft_targets(teacher(batch.x).float(), cfg.temperature)
                loss = recipe_loss(
                    logits, batch, yb, probs, temperature=cfg.temperature, alpha=cfg.alpha
                )
                if hint_loss is not None:
                    loss = loss + hint_loss(batch.x)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                steps += 1
                total += loss.detach() * len(idx)
            total = total.item()
            val_acc = accuracy(model, x_val, y_val, device) if rank == 0 else 0.0
            if world > 1:
                val_acc = ddp.broadcast_float(val_acc, device)
            history.append({"epoch": epoch, "loss": total / len(order), "val_accuracy": val_acc})
            if val_acc > best_acc:
                best_acc, best_epoch = val_acc, epoch
                best_state = copy.deepcopy(model.state_dict()) if rank == 0 else None
            progress.update(
                task,
                advance=1,
                status=f"loss {total / len(order):.4f}  val {val_acc:.4f}  best {best_acc:.4f}",
            )
            if checkpoint is not None and rank == 0:  # before on_epoch, which may stop the run
                extra = (
                    {}
                    if augmenter is None
                    else {
                        "augment_rng": augmenter.gen.get_state(),
                        "augment_np_rng": augmenter.np_gen.bit_generator.state,
                    }
                )
                save_checkpoint(
                    checkpoint,
                    Checkpoint(epoch, best_acc, best_epoch, best_state, history, extra),
                    model=saved,
                    optimizer=opt,
                    scheduler=sched,
                    generator=gen,
                )
            if on_epoch is not None:
                on_epoch(epoch, val_acc)
            if cfg.patience is not None and epoch - best_epoch >= cfg.patience:
                progress.console.print(
                    f"{label}: no better validation accuracy for {cfg.patience} epochs; "
                    f"stopped early at epoch {epoch}/{epochs}"
                )
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    if world > 1:
        ddp.broadcast_state(model)
    model.eval()
    return TrainResult(
        best_acc,
        best_epoch,
        time.perf_counter() - start,
        history,
        epochs=epochs,
        steps=steps,
        teacher_view_accuracy=view_acc,
    )
