"""Training on several processes under torchrun: the process group, each process's share of the data, and
the few agreements that keep every process in step.

torchrun starts one process per GPU (or several on a CPU) and tells each who it is in environment variables
(RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT). Every process builds the same model from the same
seed, DistributedDataParallel averages the gradients of each step, and so the weights stay equal everywhere.
What must also stay equal is every decision that ends a loop: a process that stops alone leaves the others
waiting in a collective forever. So the stop flag (a signal, the user's request) is all-reduced every step,
the reported train loss is summed over the processes (a NaN anywhere becomes a NaN everywhere), and the
validation numbers that steer early stopping are rank 0's, broadcast to all.

The data order is DistributedSampler's (shuffle=True, drop_last=True): one permutation of the training set
seeded with seed + epoch, cut to a multiple of the process count, and dealt out like cards (rank r takes
positions r, r + W, r + 2W, ...). Local batch k of every rank together is then exactly the slice
[k·B, (k+1)·B) of that permutation (B = global batch), so a run on W processes takes the same steps as one
process with batch B on that order.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn

# How long a collective waits for a process that stopped answering before it fails. Long enough for the
# slowest normal wait (a rank evaluating while another saves a checkpoint), short enough that a crashed
# machine ends the run in minutes instead of hanging it.
DEFAULT_TIMEOUT_S = 300.0


def launched_world_size() -> int:
    """The number of processes torchrun started (1 without torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def launched_rank() -> int:
    """This process's rank among them (0 without torchrun): rank 0 alone writes the run folder."""
    return int(os.environ.get("RANK", "0"))


def local_batch_size(batch_size: int, world_size: int) -> int:
    """Each process's share of the global batch; a batch the processes cannot share equally is refused
    (unequal local batches would weigh some images more in the averaged gradient)."""
    if batch_size % world_size:
        raise ValueError(f"batch size {batch_size} cannot be split evenly over {world_size} processes: "
                         f"choose a multiple of {world_size}")
    return batch_size // world_size


def rank_order(count: int, epoch: int, seed: int, rank: int, world_size: int) -> torch.Tensor:
    """The training-set indices `rank` takes in `epoch` (0-based), in order, as DistributedSampler gives them."""
    permutation = torch.randperm(count, generator=torch.Generator().manual_seed(seed + epoch))
    kept = count // world_size * world_size  # drop_last: every rank gets the same number of images
    return permutation[:kept][rank::world_size]


@dataclass
class TrainingGroup:
    """This process's place in a multi-process run, and the collectives the trainer needs."""

    rank: int
    world_size: int
    local_rank: int
    backend: str
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def wrap(self, model: nn.Module) -> nn.Module:
        """The model as DistributedDataParallel: its backward pass averages the gradients of all ranks."""
        from torch.nn.parallel import DistributedDataParallel

        device_ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=device_ids)

    def local_batch(self, batch_size: int) -> int:
        return local_batch_size(batch_size, self.world_size)

    def steps_per_epoch(self, count: int, batch_size: int) -> int:
        return math.ceil(count // self.world_size / self.local_batch(batch_size))

    def epoch_order(self, count: int, epoch: int, seed: int) -> torch.Tensor:
        return rank_order(count, epoch, seed, self.rank, self.world_size)

    def any_rank(self, flag: bool) -> bool:
        """True on every rank when it is True on one: the ranks stop at the same step."""
        value = torch.tensor([1.0 if flag else 0.0], device=self.device)
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item() > 0)

    def agreed_stop(self, should_stop: Callable[[], bool]) -> Callable[[], bool]:
        """`should_stop`, asked here and on every other rank, and True everywhere when one says yes."""
        return lambda: self.any_rank(should_stop())

    def summed(self, values: list[float]) -> list[float]:
        """Element-wise sums over the ranks (one collective for the whole list)."""
        tensor = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor.tolist()

    def rank0_values(self, values: list[float]) -> list[float]:
        """Rank 0's `values` on every rank, so a decision taken from them is the same everywhere."""
        tensor = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.broadcast(tensor, src=0)
        return tensor.tolist()

    def close(self, healthy: bool = True) -> None:
        """Leave the group. After a normal end every rank first waits for the others: a rank that destroys
        its group while another is still in its last collective can abort that one at exit. After a failure
        there is nobody reliable to wait for."""
        if not dist.is_initialized():
            return
        try:
            if healthy:
                dist.barrier()
        finally:
            dist.destroy_process_group()


def start_group(device_name: str = "auto", timeout_s: float = DEFAULT_TIMEOUT_S) -> TrainingGroup | None:
    """Join the process group torchrun set up (nccl on CUDA, gloo on the CPU); None for a single process."""
    world_size = launched_world_size()
    if world_size <= 1:
        return None
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    wants_cuda = device_name.startswith("cuda") or (device_name == "auto" and torch.cuda.is_available())
    if wants_cuda:
        if not torch.cuda.is_available():
            raise ValueError("--device cuda was asked for, but this machine has no CUDA GPU")
        if local_rank >= torch.cuda.device_count():
            raise ValueError(f"process {local_rank} has no GPU of its own: this machine has "
                             f"{torch.cuda.device_count()}; start at most that many per node")
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        device, backend = torch.device("cpu"), "gloo"
    dist.init_process_group(backend, timeout=timedelta(seconds=timeout_s))
    return TrainingGroup(dist.get_rank(), dist.get_world_size(), local_rank, backend, device)
