"""softmax-cross-entropy: the mean −log softmax(logits)[target], stable at ±1000.

The reference is torch.nn.functional.cross_entropy over the flattened positions.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from labs.exercises.checking import Case, Mistake

OUTPUTS = ("the loss",)


def reference(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def _naive(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    probs = torch.exp(logits) / torch.exp(logits).sum(dim=-1, keepdim=True)
    return -torch.log(probs.gather(-1, targets[..., None])).mean()


def _summed(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return reference(logits, targets) * targets.numel()


def _first_dim(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    logp = logits - torch.logsumexp(logits, dim=0, keepdim=True)
    return -logp.gather(-1, targets[..., None]).mean()


MISTAKES = [
    Mistake("no max subtracted", "exp(1000) overflows to inf: subtract each row's max before "
            "exponentiating (log-sum-exp)", _naive),
    Mistake("a sum, not a mean", "the loss is the mean over the positions, not their sum",
            _summed),
    Mistake("softmax over the batch", "the softmax runs over the classes, the last dimension, "
            "not over the batch", _first_dim),
]


def cases(seed: int) -> list[Case]:
    gen = torch.Generator().manual_seed(seed)
    out = [Case("the worked example", (torch.tensor([[2.0, 0.0]]), torch.tensor([0])))]
    for shape, classes, dtype in (((4,), 3, torch.float64), ((16,), 10, torch.float32),
                                  ((2, 5), 7, torch.float64), ((3, 2, 4), 6, torch.float32)):
        logits = torch.randn(*shape, classes, generator=gen, dtype=dtype) * 3
        targets = torch.randint(classes, shape, generator=gen)
        out.append(Case(f"logits {tuple(logits.shape)}, {str(dtype).removeprefix('torch.')}",
                        (logits, targets)))
    big = torch.tensor([[1000.0, 0.0, -1000.0], [-1000.0, 1000.0, 999.0]], dtype=torch.float64)
    out.append(Case("logits of ±1000", (big, torch.tensor([0, 2]))))
    out.append(Case("logits of ±1000, float32", (big.float(), torch.tensor([2, 1]))))
    out.append(Case("one class", (torch.randn(5, 1, generator=gen, dtype=torch.float64),
                                  torch.zeros(5, dtype=torch.int64))))
    return out
