"""Data-parallel distillation under `torchrun` (DistributedDataParallel).

`torchrun --nproc_per_node N -m edgekd compress ...` starts N copies of the same command with
RANK / WORLD_SIZE / LOCAL_RANK in their environment. Every rank loads the same data and builds
the same student (same seed); the trainer wraps the student in DDP, gives each rank its own
slice of every epoch's seeded permutation (the global batch stays `batch_size`), and lets rank 0
alone evaluate on the validation split: it broadcasts each epoch's accuracy so every rank keeps
the same best epoch, and its best weights at the end. Only rank 0 exports, quantizes, measures
and writes the run directory; the other ranks exit 0 once training is done.

Backend: gloo on CPU, nccl on CUDA (one GPU per rank, `cuda:LOCAL_RANK`).
"""

from __future__ import annotations

import os
from typing import Any

import torch
import torch.distributed as dist


def env_world_size() -> int:
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1


def requested() -> bool:
    """True under torchrun (or any launcher that sets RANK and WORLD_SIZE > 1)."""
    return "RANK" in os.environ and env_world_size() > 1


def active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if active() else 0


def world_size() -> int:
    return dist.get_world_size() if active() else 1


def is_main() -> bool:
    return rank() == 0


def local_rank() -> int:
    try:
        return int(os.environ.get("LOCAL_RANK", "0"))
    except ValueError:
        return 0


def setup(device: str = "auto") -> bool:
    """Join the process group the launcher described; False (and nothing done) without one."""
    if not requested() or not dist.is_available():
        return False
    if dist.is_initialized():
        return True
    use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    if use_cuda:
        torch.cuda.set_device(local_rank())
    dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return True


def teardown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def broadcast_float(value: float, device: torch.device) -> float:
    """Rank 0's `value` on every rank."""
    t = torch.tensor([value], dtype=torch.float64, device=device)
    dist.broadcast(t, src=0)
    return float(t.item())


def broadcast_object(obj: Any) -> Any:
    """Rank 0's picklable `obj` on every rank (e.g. a training plan each rank timed apart)."""
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def broadcast_state(module: torch.nn.Module) -> None:
    """Copy rank 0's parameters and buffers into every rank's module, in place."""
    for tensor in module.state_dict().values():
        if tensor.dtype.is_floating_point or tensor.dtype in (torch.int64, torch.int32):
            dist.broadcast(tensor, src=0)
