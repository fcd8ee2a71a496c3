"""layer-norm: (x − mean) / √(var + ε) · gain + bias over the last dimension.

The reference is PyTorch's own F.layer_norm (what torch.nn.LayerNorm runs).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from labs.exercises.checking import Case, Mistake

OUTPUTS = ("the normalised x",)


def reference(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
              eps: float = 1e-5) -> torch.Tensor:
    return F.layer_norm(x, (x.shape[-1],), weight, bias, eps)


def _variant(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float,
             dim: int = -1, unbiased: bool = False, outside: bool = False) -> torch.Tensor:
    mean = x.mean(dim=dim, keepdim=True)
    var = x.var(dim=dim, keepdim=True, unbiased=unbiased)
    scale = var.sqrt() + eps if outside else (var + eps).sqrt()
    return (x - mean) / scale * weight + bias


MISTAKES = [
    Mistake("ε outside the square root", "ε goes inside the square root: "
            "(x − μ) / √(σ² + ε), not (x − μ) / (√σ² + ε)",
            lambda x, weight, bias, eps=1e-5: _variant(x, weight, bias, eps, outside=True)),
    Mistake("unbiased variance", "layer norm uses the biased variance, the mean of "
            "(x − μ)² over the D features (divide by D, not D − 1; unbiased=False)",
            lambda x, weight, bias, eps=1e-5: _variant(x, weight, bias, eps, unbiased=True)),
    Mistake("the wrong dimension", "normalise each example over its last dimension (its "
            "features), not over the first dimension (the batch, as batch norm does)",
            lambda x, weight, bias, eps=1e-5: _variant(x, weight, bias, eps, dim=0)),
]


def cases(seed: int) -> list[Case]:
    gen = torch.Generator().manual_seed(seed)
    f64 = torch.float64
    out = [Case("the worked example", (torch.tensor([1.0, 2.0, 3.0], dtype=f64),
                                       torch.tensor([2.0, 1.0, 1.0], dtype=f64),
                                       torch.tensor([0.0, 0.0, 0.5], dtype=f64)))]
    for shape, dtype in (((4, 6), f64), ((2, 3, 8), f64), ((16, 32), torch.float32),
                         ((2, 2, 3, 5), torch.float32)):
        x = torch.randn(*shape, generator=gen, dtype=dtype) * 3 + 1
        weight = torch.randn(shape[-1], generator=gen, dtype=dtype)
        bias = torch.randn(shape[-1], generator=gen, dtype=dtype)
        out.append(Case(f"x {shape}, {str(dtype).removeprefix('torch.')}", (x, weight, bias)))
    d = 6
    ones, zeros = torch.ones(d, dtype=f64), torch.zeros(d, dtype=f64)
    small = torch.randn(3, d, generator=gen, dtype=f64) * 1e-3
    out.append(Case("a small variance, where ε matters", (small, ones, zeros)))
    out.append(Case("ε = 0.1", (torch.randn(4, d, generator=gen, dtype=f64), ones, zeros),
                    {"eps": 0.1}))
    const = torch.full((2, d), 7.0, dtype=f64)
    out.append(Case("a constant row: the output is the bias", (const, ones,
                                                               torch.arange(d, dtype=f64))))
    return out
