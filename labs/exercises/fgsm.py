"""fgsm: the fast gradient sign method, x + ε·sign(∇ₓ L), clipped to the input range.

The reference takes ∇ₓ L from autograd (the cross-entropy of model(x) against
y); tests compare it with Captum's FGSM and the input-gradient lab's own.
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn

from labs.exercises.checking import Case, Mistake
from labs.exercises.models import small_net

OUTPUTS = ("the adversarial x",)


def _grad(model: nn.Module, x: torch.Tensor, y: torch.Tensor, of_logit: bool = False
          ) -> torch.Tensor:
    x = x.detach().clone().requires_grad_(True)
    out = model(x)
    value = out.gather(1, y[:, None]).sum() if of_logit else F.cross_entropy(out, y)
    (grad,) = torch.autograd.grad(value, x)
    return grad


def reference(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epsilon: float,
              low: float, high: float) -> torch.Tensor:
    return (x + epsilon * _grad(model, x, y).sign()).clamp(low, high)


MISTAKES = [
    Mistake("no clipping", "clip the result to the valid input range [low, high] "
            "(torch.clamp): a step of ε can leave it",
            lambda model, x, y, epsilon, low, high: x + epsilon * _grad(model, x, y).sign()),
    Mistake("descending", "FGSM steps *up* the loss, x + ε·sign(∇ₓL): your step goes down "
            "it, which helps the model",
            lambda model, x, y, epsilon, low, high:
            (x - epsilon * _grad(model, x, y).sign()).clamp(low, high)),
    Mistake("the gradient, not its sign", "every input moves by exactly ε: take the "
            "gradient's sign, ε·sign(∇ₓL), not ε·∇ₓL",
            lambda model, x, y, epsilon, low, high:
            (x + epsilon * _grad(model, x, y)).clamp(low, high)),
    Mistake("the logit's gradient", "the gradient is of the loss, the cross-entropy of "
            "model(x) against y, not of the true class's logit",
            lambda model, x, y, epsilon, low, high:
            (x + epsilon * _grad(model, x, y, of_logit=True).sign()).clamp(low, high)),
]


def _clear_signs(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> bool:
    """No gradient component so near 0 that float32 rounding could flip its sign."""
    grad = _grad(copy.deepcopy(model).double(), x.double(), y).abs()
    return bool((grad > 1e-4 * grad.max()).all())


def cases(seed: int) -> list[Case]:
    gen = torch.Generator().manual_seed(seed)
    linear = nn.Linear(2, 2, dtype=torch.float64)
    with torch.no_grad():
        linear.weight.copy_(torch.tensor([[1.0, -2.0], [2.0, 1.0]]))
        linear.bias.zero_()
    out = [Case("the worked example", (nn.Sequential(linear),
                                       torch.tensor([[0.95, 0.5]], dtype=torch.float64),
                                       torch.tensor([0]), 0.1, 0.0, 1.0))]
    for shape, classes, epsilon, (low, high), dtype in (
            ((4, 6), 3, 0.1, (0.0, 1.0), torch.float64),
            ((8, 10), 4, 0.05, (0.0, 1.0), torch.float32),
            ((3, 2, 3, 3), 5, 0.2, (-1.0, 1.0), torch.float64),
            ((5, 12), 3, 0.3, (0.0, 1.0), torch.float32),
            ((2, 4), 3, 0.0, (0.0, 1.0), torch.float64)):
        d = math.prod(shape[1:])
        while True:
            model = small_net((d, 8, classes), dtype, gen, flatten=len(shape) > 2)
            x = low + (high - low) * torch.rand(*shape, generator=gen, dtype=dtype)
            # some inputs on the range's edges, where the clipping shows
            x.view(-1)[::5] = low
            x.view(-1)[1::7] = high
            y = torch.randint(classes, shape[:1], generator=gen)
            if _clear_signs(model, x, y):
                break
        name = f"x {shape}, ε = {epsilon:g}, range [{low:g}, {high:g}], " \
               f"{str(dtype).removeprefix('torch.')}"
        out.append(Case(name, (model, x, y, epsilon, low, high)))
    return out
