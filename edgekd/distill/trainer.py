"""One training loop for teachers (hard labels) and students (KD), nanoGPT-plain.

Batches are index slices (data/stream.TrainRows: tensors on the device, or rows read lazily
from a streamed source) rather than a DataLoader over samples: for tiny models the loader,
not the math, would dominate the time.

Under torchrun (edgekd/distributed.py) the model trains wrapped in DDP: each rank takes its
slice of every epoch's seeded permutation with `ceil(batch_size / world)` rows per step (the
global batch stays `batch_size`), rank 0 alone evaluates and broadcasts the figures, and
rank 0's best weights are broadcast to every rank at the end.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
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
from edgekd.data.stream import TrainRows, inference_chunks
from edgekd.distill.augment import Augmenter, Batch, resolve_augment
from edgekd.distill.ledger import Best, Ledger
from edgekd.distill.logit_cache import LogitCache, teacher_logits
from edgekd.distill.losses import IGNORE, soft_targets
from edgekd.distill.recipe import make_scheduler, recipe_loss, view_accuracy
from edgekd.distill.text_augment import TextAugmenter
from edgekd.distill.views import readable_views
from edgekd.heartbeat import Heartbeat
from edgekd.plan import TINY_VAL, auto_epochs

TeacherFn = Callable[[torch.Tensor], torch.Tensor]

# Validation (and the checkpoint) every epoch, or about every EVAL_STEPS steps when an epoch is
# a step to three: on 36 rows, 3,000 one-step epochs validated and checkpointed 3,000 times.
EVAL_STEPS = 8


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
    patience: int | None = None  # stop after this many epochs without a better val epoch
    tokens: Any = None  # texts: the bundle's TextInfo (ids to mask, special tokens) for views


@dataclass
class TrainResult:
    best_val_accuracy: float
    best_epoch: int
    seconds: float
    history: list[dict] = field(default_factory=list)
    epochs: int = 0  # epochs planned (the recipe's budget when the config gave none)
    steps: int = 0  # optimisation steps taken
    teacher_view_accuracy: float | None = None  # the teacher on augmented training views
    views: tuple[str, ...] = ()  # the augmentation ops trained with
    views_dropped: dict[str, float] = field(default_factory=dict)  # auto's, misread by the teacher


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and ddp.active():  # torchrun: one GPU per rank
        return torch.device(f"cuda:{ddp.local_rank()}")
    return torch.device(device)


@torch.no_grad()
def predict_logits(model: nn.Module | TeacherFn, x: np.ndarray, device: torch.device) -> np.ndarray:
    """Logits for a whole array, in eval mode, in batches sized by the input (bounded memory)."""
    if isinstance(model, nn.Module):
        model.eval().to(device)
    out = [model(torch.from_numpy(c).to(device)).float().cpu() for c in inference_chunks(x)]
    return torch.cat(out).numpy()


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray, device: torch.device) -> float:
    return float((predict_logits(model, x, device).argmax(1) == y).mean())


def validate(model: nn.Module, x: np.ndarray, y: np.ndarray, device) -> tuple[float, float]:
    """(accuracy, mean cross-entropy) on the validation split, computed by rank 0 and
    broadcast under torchrun.

    The loss breaks ties in accuracy: on a small validation set (wine: 23 rows) accuracy
    saturates within a few epochs, and picking the first epoch to reach it shipped a student
    still in its warm-up (0.867 on the test split against 1.000 after the full schedule).
    """
    acc = loss = 0.0
    if ddp.rank() == 0:
        logits = torch.from_numpy(predict_logits(model, x, device))
        target = torch.from_numpy(np.asarray(y, dtype=np.int64))
        loss = float(F.cross_entropy(logits, target))
        acc = float((logits.argmax(1) == target).float().mean())
    if ddp.world_size() > 1:
        acc, loss = ddp.broadcast_float(acc, device), ddp.broadcast_float(loss, device)
    return acc, loss


@dataclass
class Views:
    """How each batch is shown: the augmenter (None: as stored), the teacher's cached soft
    targets (un-augmented KD only) and the teacher's accuracy on augmented views."""

    augmenter: Augmenter | None = None
    cached: torch.Tensor | None = None
    view_accuracy: float | None = None
    ops: tuple[str, ...] = ()
    dropped: dict[str, float] = field(default_factory=dict)  # auto views the teacher misreads
    clean_accuracy: float | None = None  # the teacher on the same rows, unaugmented

    def record(self) -> dict:
        """TrainResult's account of the views: what trained, what auto dropped, how the
        teacher read them."""
        return {
            "teacher_view_accuracy": self.view_accuracy,
            "views": self.ops,
            "views_dropped": self.dropped,
        }


def make_augmenter(ops: tuple[str, ...], x_train, *, seed: int, device, tokens=None):
    """The augmenter for `ops`: token-id views when `tokens` (a TextInfo) is given."""
    if tokens is not None:
        return TextAugmenter(ops, x_train, tokens, seed=seed, device=device)
    return Augmenter(ops, x_train, seed=seed, device=device)


def prepare_views(cfg, x_train, y_train, x, teacher, cache_teacher, logit_cache, device) -> Views:
    """The augmenter, or the teacher's logits computed once when batches are not augmented."""
    text = cfg.tokens is not None
    views = Views(ops=resolve_augment(cfg.augment, tuple(x_train.shape[1:]), text=text))
    # Streamed rows: the augmentation's statistics from a sample, never the whole set in RAM.
    stats = x_train if isinstance(x_train, np.ndarray) else x_train[:8192]
    if views.ops and cfg.augment == "auto" and teacher is not None and y_train is not None:

        def probe(ops: tuple[str, ...]):
            return make_augmenter(ops, stats, seed=cfg.seed + 1, device=device, tokens=cfg.tokens)

        views.ops, views.dropped, views.clean_accuracy = readable_views(
            teacher, views.ops, probe, x_train, y_train, device
        )
    if views.ops:
        views.augmenter = make_augmenter(
            views.ops, stats, seed=cfg.seed, device=device, tokens=cfg.tokens
        )
        if teacher is not None and y_train is not None:
            probe = make_augmenter(
                views.ops, stats, seed=cfg.seed + 1, device=device, tokens=cfg.tokens
            )
            views.view_accuracy = view_accuracy(teacher, probe, x_train, y_train, device)
    elif teacher is not None and cache_teacher:
        logits = np.array(teacher_logits(teacher, x, logit_cache))
        views.cached = soft_targets(torch.from_numpy(logits), cfg.temperature).to(device)
    return views


def progress_bar(rank: int) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("epoch {task.completed}/{task.total}"),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        transient=False,
        disable=rank != 0,
    )


def start_task(progress: Progress, label: str, views: Views, done: int, epochs: int):
    """The epoch bar, after a line on the teacher's views and on where a resumed run starts."""
    if views.dropped:
        misread = ", ".join(f"{op} {acc:.3f}" for op, acc in views.dropped.items())
        progress.console.print(
            f"{label}: views dropped from auto: the teacher misreads them ({misread}; "
            f"{views.clean_accuracy:.3f} unaugmented): they would teach the student its errors"
        )
    if views.view_accuracy is not None:
        progress.console.print(
            f"{label}: teacher accuracy on augmented training views "
            f"({', '.join(views.ops)}): {views.view_accuracy:.4f}"
        )
    if done:
        progress.console.print(f"{label}: resuming from the checkpoint of epoch {done}/{epochs}")
    return progress.add_task(label, total=epochs, status="", completed=done)


def augment_rng(augmenter: Augmenter | None) -> dict:
    """The augmenter's own random streams, saved with a checkpoint."""
    if augmenter is None:
        return {}
    return {
        "augment_rng": augmenter.gen.get_state(),
        "augment_np_rng": augmenter.np_gen.bit_generator.state,
    }


def restore_augment_rng(augmenter: Augmenter | None, extra: dict) -> None:
    if augmenter is not None and "augment_rng" in extra:
        augmenter.gen.set_state(extra["augment_rng"])
        augmenter.np_gen.bit_generator.state = extra["augment_np_rng"]


def training_rows(x_train, y_train, x_transfer, teacher, device) -> tuple[TrainRows, torch.Tensor]:
    """The rows trained on and their labels; unlabelled rows (a transfer set, or y_train None)
    carry IGNORE and learn from the teacher alone."""
    y_all = np.full(len(x_train), IGNORE, dtype=np.int64) if y_train is None else y_train
    if x_transfer is not None and len(x_transfer):
        if teacher is None:
            raise ValueError("a transfer set needs a teacher: its samples have no labels")
        y_all = np.concatenate([y_all, np.full(len(x_transfer), IGNORE, dtype=np.int64)])
    x = TrainRows(x_train, x_transfer, device)  # batches by index; streamed sources read lazily
    return x, torch.from_numpy(y_all).to(device)


@dataclass
class Loop:
    """The optimisation state a checkpoint saves and restores, and how epochs are cut."""

    net: nn.Module  # the model, wrapped in DDP under torchrun
    saved: nn.Module  # what a checkpoint holds: the model, plus hint adapters that learn with it
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LRScheduler
    gen: torch.Generator  # the epochs' permutations
    batch_size: int  # per rank; the global batch is cfg.batch_size
    shard: int  # rows per rank per epoch (the permutation is padded to fit)
    steps_per_epoch: int
    epochs: int

    def order(self, n: int, device) -> torch.Tensor:
        """This epoch's rows for this rank: the same seeded permutation on every rank, each
        taking its slice."""
        order = torch.randperm(n, generator=self.gen)
        world = ddp.world_size()
        if world > 1:
            order = torch.cat([order, order[: self.shard * world - len(order)]])[
                ddp.rank() :: world
            ]
        return order.to(device)

    @property
    def eval_every(self) -> int:
        """Epochs between validations: 1, or about EVAL_STEPS steps' worth of tiny epochs."""
        if self.steps_per_epoch * 2 >= EVAL_STEPS:
            return 1
        return max(1, min(self.epochs, EVAL_STEPS // self.steps_per_epoch))

    def save(self, checkpoint: Path, epoch: int, best: Best, history: list, extra: dict) -> None:
        progress = Checkpoint(epoch, best.accuracy, best.epoch, best.state, history, extra)
        save_checkpoint(
            checkpoint,
            progress,
            model=self.saved,
            optimizer=self.opt,
            scheduler=self.sched,
            generator=self.gen,
        )

    def restore(self, checkpoint: Path, views: Views) -> tuple[int, list, Best]:
        """(epochs done, history, best so far) of a killed run, its objects restored in place;
        a fresh start when there is no checkpoint file yet."""
        if not Path(checkpoint).exists():
            return 0, [], Best()
        was = load_checkpoint(
            checkpoint,
            model=self.saved,
            optimizer=self.opt,
            scheduler=self.sched,
            generator=self.gen,
        )
        losses = {h["epoch"]: h.get("val_loss") for h in was.history}
        loss = losses.get(was.best_epoch)
        restore_augment_rng(views.augmenter, was.extra)
        best = Best(
            was.best_accuracy,
            float("inf") if loss is None else loss,
            was.best_epoch,
            was.best_state,
        )
        return was.epoch, was.history, best


def make_loop(model: nn.Module, n_rows: int, cfg: TrainConfig, hint_loss, device) -> Loop:
    """AdamW over the model (and hint adapters), the recipe's schedule over its epoch budget."""
    world = ddp.world_size()
    net = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None)
    batch_size = -(-cfg.batch_size // world)
    params = list(model.parameters())
    if hint_loss is not None:  # FitNets adapters (distill/hints.py) learn with the student
        params += list(hint_loss.to(device).parameters())
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    shard = -(-n_rows // world)
    steps_per_epoch = max(1, int(np.ceil(shard / batch_size)))
    epochs = cfg.epochs or auto_epochs(cfg.recipe, n_rows, cfg.batch_size)
    sched = make_scheduler(opt, cfg.schedule, cfg.lr, epochs * steps_per_epoch)
    saved = nn.ModuleList([model, hint_loss]) if hint_loss is not None else model
    gen = torch.Generator().manual_seed(cfg.seed)
    return Loop(net, saved, opt, sched, gen, batch_size, shard, steps_per_epoch, epochs)


def train_epoch(
    loop: Loop, x, y, order, views: Views, teacher, cfg, hint_loss, beat: Heartbeat
) -> float:
    """One pass over `order`; the mean loss. The teacher, when online, sees exactly the
    student's (augmented) tensor."""
    total = torch.zeros((), device=y.device)  # summed on device: no sync per step
    for idx, xb in x.batches(order, loop.batch_size):  # the one place a batch is fetched
        batch = views.augmenter(xb) if views.augmenter is not None else Batch(xb)
        logits = loop.net(batch.x)
        probs = None
        if views.cached is not None:
            probs = views.cached[idx]
        elif teacher is not None:
            with torch.no_grad():
                probs = soft_targets(teacher(batch.x).float(), cfg.temperature)
        loss = recipe_loss(
            logits, batch, y[idx], probs, temperature=cfg.temperature, alpha=cfg.alpha
        )
        if hint_loss is not None:
            loss = loss + hint_loss(batch.x)
        loop.opt.zero_grad(set_to_none=True)
        loss.backward()
        loop.opt.step()
        loop.sched.step()
        beat.tick()
        total += loss.detach() * len(idx)
    return total.item() / len(order)


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
    """Train `model` in place and leave it holding its best validation epoch's weights
    (highest accuracy; ties go to the lower validation loss), or its last epoch's when the
    validation split is too small to rank epochs (TINY_VAL rows). Epochs of a step or two are
    validated (and checkpointed) in groups of about EVAL_STEPS steps.

    With a teacher the loss is the recipe's. Un-augmented, the teacher's logits are computed
    once (`cache_teacher`; on disk across runs with `logit_cache`); augmented, the teacher runs
    online on the very tensor the student sees. `x_transfer` rows, and every row when y_train
    is None, learn from the teacher alone. `hint_loss(x_batch)` (distill/hints.py) adds a
    feature-matching term whose adapters learn with the model. `on_epoch(epoch, val_acc)` may
    raise to stop training. `checkpoint` is saved at each validation and resumed from when it
    exists.
    """
    torch.manual_seed(cfg.seed)
    device = resolve_device(cfg.device)
    model.to(device)
    x, y = training_rows(x_train, y_train, x_transfer, teacher, device)
    views = prepare_views(cfg, x_train, y_train, x, teacher, cache_teacher, logit_cache, device)
    loop = make_loop(model, len(x), cfg, hint_loss, device)
    rank, epochs = ddp.rank(), loop.epochs
    done, history, best = loop.restore(checkpoint, views) if checkpoint else (0, [], Best())
    book = Ledger(history, best, len(y_val) < TINY_VAL, rank)  # tiny split: the schedule's end
    last = done if done and book.out_of_patience(done, cfg.patience) else epochs  # stopped
    start, ran = time.perf_counter(), done
    beat = Heartbeat(
        label, epochs * loop.steps_per_epoch, epochs, done * loop.steps_per_epoch,
        enabled=None if rank == 0 else False,  # None: on when stderr is not a terminal
    )  # fmt: skip
    with progress_bar(rank) as progress:
        task = start_task(progress, label, views, done, epochs)
        for epoch in range(done + 1, last + 1):
            model.train()
            order = loop.order(len(x), device)
            loss = train_epoch(loop, x, y, order, views, teacher, cfg, hint_loss, beat)
            ran = epoch
            if epoch % loop.eval_every and epoch != last:
                progress.update(task, advance=1)
                continue
            val = validate(model, x_val, y_val, device)
            beat.validated(epoch, val[0])
            progress.update(task, advance=1, status=book.record(model, epoch, loss, val))
            if checkpoint is not None and rank == 0:  # before on_epoch, which may stop the run
                loop.save(checkpoint, epoch, book.best, book.history, augment_rng(views.augmenter))
            if on_epoch is not None:
                on_epoch(epoch, val[0])
            if book.out_of_patience(epoch, cfg.patience):
                progress.console.print(
                    f"{label}: stopped early at epoch {epoch}/{epochs}: no better validation "
                    f"accuracy (or loss at equal accuracy) in {cfg.patience} epochs"
                )
                break
    beat.finish()
    book.ship(model)
    return TrainResult(
        book.best.accuracy,
        book.best.epoch,
        time.perf_counter() - start,
        book.history,
        epochs=epochs,
        steps=ran * loop.steps_per_epoch,
        **views.record(),
    )
