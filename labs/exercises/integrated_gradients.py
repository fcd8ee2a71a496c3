"""integrated-gradients: (x − x′) ⊙ the midpoint Riemann sum of ∂F/∂x along the
straight path from the baseline x′ to x (Sundararajan et al. 2017).

The reference walks the path one step at a time, autograd's gradient at each
midpoint; tests compare it with Captum's IntegratedGradients
(method="riemann_middle") and check completeness: the attributions sum to
F(x) − F(x′).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from labs.exercises.checking import Case, Mistake
from labs.exercises.models import small_net

OUTPUTS = ("the attributions",)


def _score(model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return model(x).gather(1, target[:, None]).sum()


def _riemann(model: nn.Module, x: torch.Tensor, baseline: torch.Tensor, target: torch.Tensor,
             steps: int, offset: float) -> torch.Tensor:
    """The mean of ∂F/∂x at baseline + α(x − baseline), α = (k + offset)/steps."""
    total = torch.zeros_like(x)
    for k in range(steps):
        alpha = (k + offset) / steps
        point = (baseline + alpha * (x - baseline)).detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(_score(model, point, target), point)
        total += grad
    return total / steps


def reference(model: nn.Module, x: torch.Tensor, baseline: torch.Tensor, target: torch.Tensor,
              steps: int) -> torch.Tensor:
    return (x - baseline) * _riemann(model, x, baseline, target, steps, 0.5)


MISTAKES = [
    Mistake("a left Riemann sum", "take the gradient at the middle of each step, "
            "α = (k + ½)/m for k = 0 … m − 1, not at its left end k/m",
            lambda model, x, baseline, target, steps:
            (x - baseline) * _riemann(model, x, baseline, target, steps, 0.0)),
    Mistake("no (x − baseline)", "multiply the averaged gradient by (x − baseline), input by "
            "input: an attribution is a gradient times the distance travelled",
            lambda model, x, baseline, target, steps:
            _riemann(model, x, baseline, target, steps, 0.5)),
    Mistake("the baseline ignored", "the path starts at the baseline you are given, "
            "x′ + α(x − x′), and the attributions are (x − x′) ⊙ …: your code assumes x′ = 0",
            lambda model, x, baseline, target, steps:
            reference(model, x, torch.zeros_like(x), target, steps)),
]


def cases(seed: int) -> list[Case]:
    gen = torch.Generator().manual_seed(seed)
    f64 = torch.float64
    linear = nn.Linear(2, 2, dtype=f64)
    with torch.no_grad():
        linear.weight.copy_(torch.tensor([[1.0, 2.0], [0.0, -1.0]]))
        linear.bias.zero_()
    out = [Case("the worked example", (nn.Sequential(linear), torch.tensor([[1.0, 3.0]], dtype=f64),
                                       torch.tensor([[0.0, 1.0]], dtype=f64), torch.tensor([0]),
                                       4))]
    for shape, classes, steps, dtype in (((3, 5), 3, 8, f64), ((4, 2, 3), 4, 20, f64),
                                         ((6, 8), 3, 16, torch.float32),
                                         ((2, 3, 2), 2, 10, torch.float32)):
        model = small_net((math.prod(shape[1:]), 6, classes), dtype, gen, flatten=len(shape) > 2)
        x = torch.randn(*shape, generator=gen, dtype=dtype) * 2
        baseline = torch.randn(*shape, generator=gen, dtype=dtype) * 0.5
        target = torch.randint(classes, shape[:1], generator=gen)
        out.append(Case(f"x {shape}, {steps} steps, {str(dtype).removeprefix('torch.')}",
                        (model, x, baseline, target, steps)))
    model = small_net((4, 6, 3), f64, gen)
    x = torch.randn(3, 4, generator=gen, dtype=f64) * 2
    out.append(Case("a zero baseline", (model, x, torch.zeros_like(x), torch.tensor([0, 1, 2]),
                                        12)))
    out.append(Case("one step: the gradient at the midpoint",
                    (model, x, torch.randn(3, 4, generator=gen, dtype=f64),
                     torch.tensor([2, 2, 0]), 1)))
    out.append(Case("300 steps, where the sum is F(x) − F(baseline) to 1e-5",
                    (model, x, torch.randn(3, 4, generator=gen, dtype=f64) * 0.5,
                     torch.tensor([1, 0, 2]), 300)))
    return out
