"""What a running lab gets: its device, its seed, and a way to emit events."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterator

from labs.events import Event, Progress

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from labs.distributed import Group


def resolve_device(requested: str) -> str:
    """`auto` picks CUDA, then MPS, then CPU; an explicit device that is missing is an error."""
    import torch

    if requested == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: no CUDA GPU is visible to PyTorch (try --device cpu)")
    if requested == "mps" and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        raise ValueError("--device mps: Apple's MPS backend is not available (try --device cpu)")
    if requested not in ("cpu", "cuda", "mps"):
        raise ValueError(f"--device {requested}: expected auto, cpu, cuda or mps")
    return requested


@dataclass
class LabContext:
    device: str  # "cpu", "cuda" or "mps", already resolved
    seed: int
    emit: Callable[[Event], None]
    group: "Group | None" = None  # set when this is one of several processes (torchrun)

    @property
    def rank(self) -> int:
        return self.group.rank if self.group else 0

    @property
    def world_size(self) -> int:
        return self.group.world_size if self.group else 1

    @property
    def torch_device(self) -> "torch.device":
        import torch

        if self.group is not None and self.group.device_index is not None:
            return torch.device(self.device, self.group.device_index)
        return torch.device(self.device)

    def seed_everything(self) -> None:
        """Same seed on the same device gives the same numbers."""
        import random

        import numpy as np
        import torch

        random.seed(self.seed)
        np.random.seed(self.seed % (2**32))
        torch.manual_seed(self.seed)
        if self.device == "cuda":
            torch.cuda.manual_seed_all(self.seed)

    def progress(self, done: float, total: float, label: str = "") -> None:
        self.emit(Progress(done=done, total=total, label=label))

    @contextmanager
    def one_cpu_thread(self, small: bool = True) -> Iterator[None]:
        """Run on one CPU thread while inside, when the lab's tensors are `small` and it
        runs on the CPU. Splitting a product of small matrices across threads costs more
        than it saves, and on a busy machine the threads wait for each other (the
        family-trees lab: 3000 sweeps in 0.9 s on one thread, 2.8 s on two, under load).
        The numbers are the same on any number of threads; the old count comes back."""
        import torch

        threads = torch.get_num_threads()
        if small and self.device == "cpu":
            torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(threads)
