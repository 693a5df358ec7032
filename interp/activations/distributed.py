"""Several processes caching into one store: ranks, barriers and a shared verdict.

Under `torchrun --nproc_per_node N` each rank runs the same `cache_activations` call. If the
caller has not initialised `torch.distributed`, it is initialised here (gloo) from the
environment torchrun sets, and torn down again at the end of the call.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ranks:
    """This process's place among the caching processes."""

    rank: int = 0
    world: int = 1
    owns_group: bool = False  # initialised here, so destroyed here

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def all_ok(self, ok: bool) -> bool:
        """True when every rank reports `ok` (a collective: every rank must call it)."""
        if self.world == 1:
            return ok
        device = "cuda" if dist.get_backend() == "nccl" else "cpu"  # NCCL reduces GPU tensors
        flag = torch.tensor([1 if ok else 0], dtype=torch.int32, device=device)
        dist.all_reduce(flag, op=dist.ReduceOp.MIN)
        return bool(flag.item())

    def close(self) -> None:
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()


def current_ranks() -> Ranks:
    """The running ranks: from an initialised process group, else from torchrun's variables."""
    if not dist.is_available():
        return Ranks()
    if dist.is_initialized():
        return Ranks(dist.get_rank(), dist.get_world_size())
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and "RANK" in os.environ and "MASTER_ADDR" in os.environ:
        dist.init_process_group(backend="gloo")
        logger.info("initialised torch.distributed (gloo): rank %d of %d", dist.get_rank(), world)
        return Ranks(dist.get_rank(), dist.get_world_size(), owns_group=True)
    return Ranks()
