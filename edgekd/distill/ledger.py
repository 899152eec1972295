"""Which epoch of a training run ships: the best validation epoch (higher accuracy, then lower
loss), or the latest where the validation split is too small to rank epochs; and when patience
runs out. Kept apart from the loop so `fit` reads as the loop it is."""

from __future__ import annotations

import copy
from dataclasses import dataclass

from torch import nn

from edgekd import distributed as ddp


@dataclass
class Best:
    """The best validation epoch so far: higher accuracy, then lower loss."""

    accuracy: float = -1.0
    loss: float = float("inf")
    epoch: int = 0
    state: dict | None = None

    def improves(self, accuracy: float, loss: float) -> bool:
        return accuracy > self.accuracy or (accuracy == self.accuracy and loss < self.loss)


@dataclass
class Ledger:
    """What `fit` keeps across validations: the history and the epoch that ships, which is the
    best one, or the latest when the split is too small to rank epochs (`keep_last`)."""

    history: list
    best: Best
    keep_last: bool
    rank: int  # only rank 0 keeps weights (torchrun)

    def record(self, model: nn.Module, epoch: int, loss: float, val: tuple[float, float]) -> str:
        """Note one validation; the progress bar's status line."""
        val_acc, val_loss = val
        self.history.append(
            {"epoch": epoch, "loss": loss, "val_accuracy": val_acc, "val_loss": val_loss}
        )
        if self.keep_last or self.best.improves(val_acc, val_loss):
            state = copy.deepcopy(model.state_dict()) if self.rank == 0 else None
            self.best = Best(val_acc, val_loss, epoch, state)
        return f"loss {loss:.4f}  val {val_acc:.4f}  best {self.best.accuracy:.4f}"

    def out_of_patience(self, epoch: int, patience: int | None) -> bool:
        return patience is not None and epoch - self.best.epoch >= patience

    def ship(self, model: nn.Module) -> None:
        """Leave `model` holding the kept epoch's weights, the same on every rank."""
        if self.best.state is not None:
            model.load_state_dict(self.best.state)
        if ddp.world_size() > 1:
            ddp.broadcast_state(model)
        model.eval()
