"""Running under ``torchrun``: one process per device, DistributedDataParallel, gloo on CPUs.

Without torchrun's environment (WORLD_SIZE unset or 1) everything here is a no-op and the
training runs in one process.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistEnv:
    """rank / world: this process and how many there are; device: where it computes."""

    rank: int
    world: int
    device: torch.device

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device: torch.device) -> DistEnv:
    """Join the process group torchrun set up (NCCL on CUDA, gloo on CPU); each process takes the
    GPU of its LOCAL_RANK. ``device`` is the resolved --device choice."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistEnv(0, 1, device)
    rank = int(os.environ["RANK"])
    if device.type == "cuda":
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend, timeout=datetime.timedelta(minutes=60))
    return DistEnv(rank, world, device)


def shutdown(env: DistEnv) -> None:
    if env.enabled and dist.is_initialized():
        dist.destroy_process_group()


def barrier(env: DistEnv) -> None:
    if env.enabled:
        dist.barrier()


def all_gather_objects(env: DistEnv, obj: Any) -> list[Any]:
    """Every process's ``obj`` (pickled; for small things such as pseudo-label updates)."""
    if not env.enabled:
        return [obj]
    out: list[Any] = [None] * env.world
    dist.all_gather_object(out, obj)
    return out


def mean_over_processes(env: DistEnv, values: dict[str, float]) -> dict[str, float]:
    """Average scalar logs over the processes (same keys everywhere)."""
    if not env.enabled or not values:
        return values
    keys = sorted(values)
    tensor = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64)
    dist.all_reduce(tensor)
    return {k: float(v) / env.world for k, v in zip(keys, tensor.tolist())}
