"""Training on several processes at once: `torchrun --nproc-per-node N darncodec train ...`.

torchrun starts N copies of the command with RANK, LOCAL_RANK and WORLD_SIZE in their environment;
`join` connects them (gloo on CPUs, nccl on GPUs, one GPU per process), and the model is wrapped in
DistributedDataParallel, which averages the gradients of the processes after every backward pass.
Each process computes the cost of its own share of every batch (what torch's DistributedSampler
does, but cut batch by batch so that N processes see exactly the batches of one process). Process 0
decides what the others cannot see (files that exist, checkpoints) and writes every file.
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

T = TypeVar("T")

# A DARN's buffers (masks, neighbour indices) never change: no need to send them at every step.
# torch 2.13 renamed the option; older versions know only the first name.
_CONSTANT_BUFFERS = ({"forward_sync_buffers": False}
                     if "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters
                     else {"broadcast_buffers": False})


@dataclass(frozen=True)
class Team:
    """The processes of one training run: this one's rank, how many there are, its device."""

    rank: int
    size: int
    device: torch.device

    @property
    def leader(self) -> bool:
        return self.rank == 0

    def share(self, n: int) -> slice:
        """This process's contiguous share of n items; shares differ in size by at most one item."""
        return slice(n * self.rank // self.size, n * (self.rank + 1) // self.size)

    def wrap(self, module: nn.Module) -> nn.Module:
        """``module`` with its gradients averaged over the processes (its weights are process 0's
        from here on); the module itself when there is one process."""
        if self.size == 1:
            return module
        devices = [self.device] if self.device.type == "cuda" else None
        return DistributedDataParallel(module, device_ids=devices, **_CONSTANT_BUFFERS)

    def total(self, value: float) -> float:
        """The sum of ``value`` over the processes (each process gets the same sum)."""
        if self.size == 1:
            return value
        summed = torch.tensor(value, dtype=torch.float64, device=self.device)
        dist.all_reduce(summed)
        return float(summed.item())

    def agree(self, decide: Callable[[], T]) -> T:
        """``decide()`` on process 0, its result handed to every process. If it raises, process 0
        raises the error (one message) and the others leave quietly with exit status 1."""
        if self.size == 1:
            return decide()
        outcome: list = [None]
        failure: BaseException | None = None
        if self.leader:
            try:
                outcome = [("ok", decide())]
            except Exception as err:  # re-raised below, once every process knows
                failure, outcome = err, [("failed", None)]
        dist.broadcast_object_list(outcome, src=0)
        if failure is not None:
            raise failure
        status, value = outcome[0]
        if status != "ok":
            raise SystemExit(1)
        return value


@contextmanager
def join(device: str) -> Iterator[Team]:
    """The team this process belongs to: itself alone, or (under torchrun) WORLD_SIZE processes
    connected for the duration of the block. On GPUs each process takes the GPU of its LOCAL_RANK."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    where = torch.device(device)
    if size == 1:
        yield Team(0, 1, where)
        return
    if where.type == "cuda":
        where = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        torch.cuda.set_device(where)
    dist.init_process_group("nccl" if where.type == "cuda" else "gloo")
    try:
        yield Team(dist.get_rank(), dist.get_world_size(), where)
        dist.barrier()   # every process done with its collectives before any tears the group down (without
                         # it, a process that finished first sometimes aborted in gloo: SIGABRT at exit)
    finally:
        dist.destroy_process_group()


def leave(team: Team) -> None:
    """End this process of a team of several once its work is done and written, without the
    interpreter's and the C++ libraries' teardown (a team of one returns). At exit, after the final
    barrier and the group's destruction, torch's gloo sometimes aborts ("terminate called without an
    active exception", SIGABRT, no Python frame left: a C++ thread still joinable as its owner is
    destroyed; gloo issue 155 describes the same race): measured with another process loading the
    second core, the second process of a two-process run did so in 2 of 5 runs, failing a command
    whose model was already written."""
    if team.size == 1:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
