"""A small model as it travels to the learner's process: its layers, as tensors.

The learner's process reads its inputs with torch.load(weights_only=True),
which loads tensors and plain values but no module, so an exercise that hands
the learner a model (fgsm, integrated-gradients) sends it as {"model": layers},
each layer ("flatten",), ("tanh",) or ("linear", weight, bias), and the
learner's process builds the same nn.Sequential back. Imports torch.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

MARK = "companion model"


def small_net(sizes: tuple[int, ...], dtype: torch.dtype, gen: torch.Generator,
              flatten: bool = False) -> nn.Sequential:
    """Linear layers of the given sizes with tanh between them (smooth, so no
    gradient component is exactly 0, as a ReLU's often is)."""
    layers: list[nn.Module] = [nn.Flatten()] if flatten else []
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        linear = nn.Linear(n_in, n_out, dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.randn(n_out, n_in, generator=gen, dtype=dtype)
                                / n_in ** 0.5)
            linear.bias.copy_(torch.randn(n_out, generator=gen, dtype=dtype) * 0.1)
        layers.append(linear)
        if i < len(sizes) - 2:
            layers.append(nn.Tanh())
    return nn.Sequential(*layers)


def pack(value: Any) -> Any:
    if not isinstance(value, nn.Sequential):
        return value
    layers: list[tuple[Any, ...]] = []
    for layer in value:
        if isinstance(layer, nn.Linear):
            layers.append(("linear", layer.weight.detach().clone(), layer.bias.detach().clone()))
        elif isinstance(layer, nn.Tanh | nn.Flatten):
            layers.append((type(layer).__name__.lower(),))
        else:
            raise TypeError(f"cannot send a {type(layer).__name__} layer")
    return {MARK: layers}


def unpack(value: Any) -> Any:
    if not (isinstance(value, dict) and set(value) == {MARK}):
        return value
    layers: list[nn.Module] = []
    for kind, *tensors in value[MARK]:
        if kind == "linear":
            weight, bias = tensors
            linear = nn.Linear(weight.shape[1], weight.shape[0], dtype=weight.dtype)
            with torch.no_grad():
                linear.weight.copy_(weight)
                linear.bias.copy_(bias)
            layers.append(linear)
        else:
            layers.append(nn.Tanh() if kind == "tanh" else nn.Flatten())
    return nn.Sequential(*layers)


def describe(model: nn.Module) -> str:
    """'a model: Flatten → Linear(12→8) → Tanh → Linear(8→3), float64'."""
    parts = []
    for layer in model.children():
        if isinstance(layer, nn.Linear):
            parts.append(f"Linear({layer.in_features}→{layer.out_features})")
        else:
            parts.append(type(layer).__name__)
    dtype = next(model.parameters()).dtype
    return f"a model: {' → '.join(parts)}, {str(dtype).removeprefix('torch.')}"
