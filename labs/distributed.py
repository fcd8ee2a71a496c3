"""Running a lab as one of several processes: torchrun's environment and the process group.

`torchrun --nproc-per-node N -m labs run batch-size ...` (or `companion lab run
batch-size --nproc N`, which runs exactly that) starts N copies of
`python -m labs run`. torchrun tells each copy who it is through environment
variables: WORLD_SIZE (how many processes in all, over every machine), RANK
(this one's number, 0..WORLD_SIZE-1), LOCAL_RANK and LOCAL_WORLD_SIZE (the same
on this machine), and MASTER_ADDR/MASTER_PORT (where rank 0's rendezvous
store listens). `launch_from_env` reads them without importing torch;
`start` opens PyTorch's own process group over them and `stop` closes it.

Every process runs the whole lab; only rank 0 emits events (`labs.__main__`
keeps the others quiet), so the app reads one event stream whatever N is.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

# How long a collective waits for the other processes before it fails. Every
# process runs the same code, so in a healthy run they are never more than an
# evaluation apart; the limit is there so that a process that is stuck (not
# dead: torchrun ends the others as soon as one exits) turns into an error
# instead of a run that hangs for PyTorch's default 10 to 30 minutes.
COLLECTIVE_TIMEOUT = timedelta(seconds=120)


@dataclass(frozen=True)
class Launch:
    """Who this process is among the processes torchrun started."""

    rank: int
    world_size: int
    local_rank: int
    local_world_size: int


def launch_from_env(environ: Mapping[str, str] = os.environ) -> Launch | None:
    """This process's place in a torchrun launch, or None when it runs alone (WORLD_SIZE <= 1)."""
    try:
        world = int(environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return None
        rank = int(environ["RANK"])
        local_rank = int(environ.get("LOCAL_RANK", rank))
        local_world = int(environ.get("LOCAL_WORLD_SIZE", world))
    except (KeyError, ValueError) as exc:
        raise ValueError(
            f"WORLD_SIZE={environ.get('WORLD_SIZE')!r} says this is one of several processes, "
            f"but RANK/LOCAL_RANK/LOCAL_WORLD_SIZE are missing or not numbers ({exc}); "
            "start several processes with torchrun"
        ) from None
    if not 0 <= rank < world or not 0 <= local_rank < local_world:
        raise ValueError(f"RANK={rank} of WORLD_SIZE={world} (LOCAL_RANK={local_rank} of "
                         f"LOCAL_WORLD_SIZE={local_world}) is out of range")
    return Launch(rank, world, local_rank, local_world)


@dataclass(frozen=True)
class Group:
    """An open torch.distributed process group, as the lab sees it."""

    rank: int
    world_size: int
    backend: str  # "gloo" or "nccl"
    device_index: int | None  # the CUDA device this process trains on
    note: str = ""  # why the backend is not the usual one for the device, if it is not


def check_device(device: str) -> None:
    """A ValueError for a device torch.distributed cannot all-reduce on (Apple's MPS)."""
    if device not in ("cpu", "cuda"):
        raise ValueError(f"--device {device}: torch.distributed has no backend for it; "
                         "under torchrun use --device cpu or cuda")


def choose_backend(device: str, local_world_size: int, gpus: int) -> tuple[str, str]:
    """(backend, note): gloo on the CPU, NCCL on CUDA, gloo when processes must share a GPU.

    NCCL is the fast path between GPUs, but it refuses two ranks on one GPU
    ("Duplicate GPU detected"), which is what a learner with one GPU and
    `--nproc 2` asks for. gloo can all-reduce CUDA tensors too, through host
    memory: slower, but it runs, and the numbers are the same.
    """
    check_device(device)
    if device == "cpu":
        return "gloo", ""
    if local_world_size > gpus:
        return "gloo", (
            f"{local_world_size} processes share {gpus} GPU(s) on this machine, and NCCL "
            "refuses two processes on one GPU, so they all-reduce through gloo instead "
            "(via host memory: slower than NCCL, the same numbers)."
        )
    return "nccl", ""


def start(launch: Launch, device: str) -> Group:
    """Join the process group that torchrun's environment describes."""
    import torch
    import torch.distributed as dist

    exit_with_launcher()
    index = None
    gpus = torch.cuda.device_count() if device == "cuda" else 0
    backend, note = choose_backend(device, launch.local_world_size, gpus)
    options: dict = {}
    if device == "cuda":
        # Processes on one machine take its GPUs in turn, sharing them when there are fewer.
        index = launch.local_rank % gpus
        torch.cuda.set_device(index)
        if backend == "nccl":
            options["device_id"] = torch.device("cuda", index)
    dist.init_process_group(backend, timeout=COLLECTIVE_TIMEOUT, **options)
    return Group(dist.get_rank(), dist.get_world_size(), backend, index, note)


def stop() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def exit_with_launcher(poll_s: float = 0.2) -> None:
    """End this process when the torchrun that started it is gone.

    torchrun starts each process in a session of its own, so a signal to
    torchrun's process group (the app's cancel, time limit or kill) does not
    reach them. When torchrun stops normally it stops them itself; when it is
    killed outright they would live on as orphans, holding the app's pipe open.
    Watching for the parent to change is the portable way to notice.
    """
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_s)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-launcher", daemon=True).start()
