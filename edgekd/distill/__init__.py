"""Knowledge distillation: the Hinton loss and the training loop that uses it."""

from edgekd.distill.losses import KDLoss, kd_loss
from edgekd.distill.trainer import TrainConfig, TrainResult, fit

__all__ = ["KDLoss", "TrainConfig", "TrainResult", "fit", "kd_loss"]
