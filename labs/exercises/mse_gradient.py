"""mse-gradient: ∂L/∂w, ∂L/∂b and ∂L/∂X of the mean squared error of ŷ = Xw + b.

The reference is autograd's (torch.autograd.grad of the loss), so the closed
form the learner writes is checked against the derivative itself.
"""

from __future__ import annotations

import torch

from labs.exercises.checking import Case, Mistake

OUTPUTS = ("∂L/∂w", "∂L/∂b", "∂L/∂X")


def reference(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor,
              y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    x, w, b = (t.detach().clone().requires_grad_(True) for t in (x, w, b))
    loss = ((x @ w + b - y) ** 2).mean()
    gw, gb, gx = torch.autograd.grad(loss, (w, b, x))
    return gw, gb, gx


def _closed(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, y: torch.Tensor,
            scale: float, sign: float = 1.0) -> tuple[torch.Tensor, ...]:
    r = sign * (x @ w + b - y)
    return scale * x.T @ r, scale * r.sum(), scale * torch.outer(r, w)


MISTAKES = [
    Mistake("no factor 2", "the derivative of (ŷ − y)² is 2(ŷ − y): the factor 2 is missing",
            lambda x, w, b, y: _closed(x, w, b, y, 1.0 / len(y))),
    Mistake("a sum, not a mean", "L is the *mean* over the N examples: divide by N",
            lambda x, w, b, y: _closed(x, w, b, y, 2.0)),
    Mistake("residual the wrong way", "the residual is ŷ − y, not y − ŷ (the sign is flipped)",
            lambda x, w, b, y: _closed(x, w, b, y, 2.0 / len(y), -1.0)),
]


def cases(seed: int) -> list[Case]:
    gen = torch.Generator().manual_seed(seed)
    out = [Case("the worked example", (torch.tensor([[1.0, 2.0]]), torch.tensor([0.5, -1.0]),
                                       torch.tensor(0.0), torch.tensor([1.0])))]
    for n, d, dtype in ((1, 1, torch.float64), (5, 3, torch.float64), (64, 10, torch.float32),
                        (200, 1, torch.float32), (7, 32, torch.float64)):
        x = torch.randn(n, d, generator=gen, dtype=dtype)
        w = torch.randn(d, generator=gen, dtype=dtype)
        b = torch.randn((), generator=gen, dtype=dtype)
        y = torch.randn(n, generator=gen, dtype=dtype)
        out.append(Case(f"N={n}, D={d}, {str(dtype).removeprefix('torch.')}", (x, w, b, y)))
    x = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    w = torch.randn(3, generator=gen, dtype=torch.float64)
    out.append(Case("a perfect fit: every gradient zero",
                    (x, w, torch.tensor(0.5, dtype=torch.float64), x @ w + 0.5)))
    return out
