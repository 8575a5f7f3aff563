"""Data parallelism for memorize: several processes (GPUs) share each optimizer step.

``lift-reader memorize`` runs unchanged under ``torchrun`` or ``accelerate
launch``: those set ``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` and this module
joins the process group they describe (NCCL on CUDA, gloo on the CPU).

How the work is split: the settings fix what one optimizer step is (its
micro-batches, in a seeded order that does not depend on the number of
processes), and the step's micro-batches are dealt out to the ranks
round-robin.  Each rank scales its losses by the step's global micro-batch
count, the gradients are summed with one all-reduce, and every rank takes
the same AdamW step.  So a run on W processes computes the same updates as
a single process with the same settings (up to the order of float
additions), and a checkpoint written with W processes resumes with any
other number.  We reduce gradients ourselves instead of wrapping the model
in ``DistributedDataParallel``: the gradients meet once per optimizer
step, after all micro-batches, which is exactly one flat all-reduce.

This module imports torch only when a process group is in use.  Only rank 0 writes checkpoints, adapters and the library; every rank reads
the checkpoint on resume (the data folder must be shared between nodes).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator, Sequence

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Distributed:
    """Where this process stands among the processes of one run."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def shard(self, items: Sequence) -> list:
        """This rank's share of one step's micro-batches (round-robin)."""
        return list(items[self.rank::self.world_size])

    def barrier(self) -> None:
        if self.enabled:
            import torch.distributed

            torch.distributed.barrier()

    @contextlib.contextmanager
    def main_first(self) -> Iterator[None]:
        """Rank 0 runs the block first (it may create caches and convert the model), then the others."""
        if not self.is_main:
            self.barrier()
        try:
            yield
        finally:
            if self.is_main:
                self.barrier()

    def sum_gradients(self, params: list[torch.nn.Parameter]) -> None:
        """Sum every rank's gradients in place with one flat all-reduce (a rank without work adds zeros)."""
        if not self.enabled:
            return
        import torch

        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        flat = torch.cat([g.reshape(-1).float() for g in grads])
        torch.distributed.all_reduce(flat)
        offset = 0
        for p, g in zip(params, grads):
            n = g.numel()
            p.grad = flat[offset:offset + n].view_as(p).to(p.dtype)
            offset += n

    def sum_values(self, *values: float) -> list[float]:
        """Sum a few numbers over the ranks (losses, token counts, stop flags)."""
        if not self.enabled:
            return list(values)
        import torch

        t = torch.tensor(values, dtype=torch.float64)
        if torch.distributed.get_backend() == "nccl":
            t = t.cuda()
        torch.distributed.all_reduce(t)
        return t.tolist()


SINGLE = Distributed()


def from_environment(device: str = "auto") -> Distributed:
    """The run's process group from torchrun's environment; a single process when there is none.

    Joins the group on first call (gloo on the CPU, NCCL on CUDA) and, on
    CUDA, binds the process to its local GPU.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return SINGLE
    import torch
    import torch.distributed as dist

    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    use_cuda = torch.cuda.is_available() and device != "cpu"
    if not dist.is_initialized():
        if use_cuda:
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return Distributed(rank=rank, world_size=world, local_rank=local_rank)


def cuda_device_for(ctx: Distributed) -> str:
    """The device string of this rank's GPU (``cuda`` alone in a single process)."""
    return f"cuda:{ctx.local_rank}" if ctx.enabled else "cuda"
