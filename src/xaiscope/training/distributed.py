"""Data-parallel training: process group set-up from torchrun's environment, sharding, collectives.

``torchrun --nproc_per_node N -m xaiscope train ...`` starts N processes with ``RANK``, ``WORLD_SIZE`` and
``LOCAL_RANK`` set; :func:`setup` joins them into a process group (NCCL on GPUs, gloo on the CPU), one GPU per
process. Multi-machine runs use torchrun's own rendezvous flags (``--nnodes``, ``--node_rank``,
``--rdzv_backend c10d``, ``--rdzv_endpoint``); nothing here changes.

Each sample is trained on exactly once per epoch across all processes: :class:`ShardSampler` deals a shared
permutation out round-robin **without** the padding ``DistributedSampler`` adds (which repeats samples when the
count is not divisible by the world size). Processes may then run one step fewer than others; the training loop
wraps DDP in ``torch.distributed.algorithms.Join`` so that the processes that finished early shadow the
gradient all-reduces of the others instead of hanging.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
from torch.utils.data import Sampler

from xaiscope.errors import ConfigError


@dataclass(frozen=True)
class DistContext:
    """Where this process stands.

    Attributes:
        rank: global rank (0 for a single process).
        world_size: number of processes.
        local_rank: rank on this machine (picks the GPU).
        device: the torch device this process computes on.
        backend: ``nccl``, ``gloo`` or None for a single process.
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    backend: str | None = None

    @property
    def is_main(self) -> bool:
        """Whether this process writes files and prints (rank 0)."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def setup(device: str = "auto") -> DistContext:
    """Join the process group started by torchrun (if any) and pick this process's device.

    Args:
        device: ``auto`` (CUDA when available), ``cpu`` or ``cuda``.

    Raises:
        ConfigError: ``cuda`` asked for but not available.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    chosen = choose_device(device, local_rank)
    use_cuda = chosen.type == "cuda"
    if use_cuda:
        torch.cuda.set_device(chosen)
    backend = None
    if world_size > 1:
        backend = "nccl" if use_cuda else "gloo"
        if not dist.is_initialized():
            dist.init_process_group(backend=backend, timeout=timedelta(minutes=30))
    return DistContext(rank=rank, world_size=world_size, local_rank=local_rank, device=chosen, backend=backend)


def choose_device(device: str = "auto", local_rank: int = 0) -> torch.device:
    """``auto``: this process's GPU when CUDA is available, else the CPU.

    Raises:
        ConfigError: ``cuda`` asked for but not available.
    """
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device = 'cuda' but PyTorch sees no CUDA GPU.",
                          "Use --device cpu, or install a CUDA build of PyTorch on a GPU machine.")
    if device == "cuda" or (device == "auto" and torch.cuda.is_available()):
        return torch.device("cuda", local_rank % max(torch.cuda.device_count(), 1))
    return torch.device("cpu")


def teardown() -> None:
    """Leave the process group (safe to call when there is none)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def gather_objects(value: Any, context: DistContext) -> list[Any]:
    """Every process's ``value``, in rank order, on every process (picklable values)."""
    if not context.distributed:
        return [value]
    gathered: list[Any] = [None] * context.world_size
    dist.all_gather_object(gathered, value)
    return gathered


def broadcast_object(value: Any, context: DistContext) -> Any:
    """Rank 0's ``value`` on every process."""
    if not context.distributed:
        return value
    box = [value if context.is_main else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier(context: DistContext) -> None:
    if context.distributed:
        dist.barrier()


class ShardSampler(Sampler[int]):
    """This process's share of a split: ``permutation(seed + epoch)[rank::world_size]``.

    Over all processes every index appears exactly once per epoch; shares differ in length by at most one.

    Args:
        size: number of samples.
        rank, world_size: this process's place.
        shuffle: permute (training) or keep the order (evaluation).
        seed: the permutation's seed; the same on every process.
    """

    def __init__(self, size: int, rank: int = 0, world_size: int = 1, *, shuffle: bool = True, seed: int = 0) -> None:
        self.size = size
        self.rank = rank
        self.world_size = world_size
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def indices(self) -> list[int]:
        if self.shuffle:
            generator = torch.Generator()
            generator.manual_seed(self.seed + self.epoch)
            order = torch.randperm(self.size, generator=generator).tolist()
        else:
            order = list(range(self.size))
        return order[self.rank::self.world_size]

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices())

    def __len__(self) -> int:
        return len(range(self.rank, self.size, self.world_size))
