"""positional-encoding: the sinusoidal encoding of Vaswani et al. (2017), §3.5.

The reference is computed one entry at a time with math.sin and math.cos in
double precision, from the paper's formula as written (not the lab's own
vectorised transformer_trace.positional_encoding, which tests compare it to).
"""

from __future__ import annotations

import math

import torch

from labs.exercises.checking import Case, Mistake

OUTPUTS = ("the encoding",)


def reference(length: int, d_model: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    rows = []
    for pos in range(length):
        row = []
        for j in range(d_model):
            i = j // 2  # columns 2i and 2i + 1 share the frequency 1/10000^(2i/d_model)
            angle = pos / 10000 ** (2 * i / d_model)
            row.append(math.sin(angle) if j % 2 == 0 else math.cos(angle))
        rows.append(row)
    return torch.tensor(rows, dtype=torch.float64).reshape(length, d_model).to(dtype)


def _variant(length: int, d_model: int, dtype: torch.dtype, exponent: float = 2.0,
             swapped: bool = False, odd_safe: bool = True) -> torch.Tensor:
    pos = torch.arange(length, dtype=torch.float64)[:, None]
    i = torch.arange((d_model + 1) // 2, dtype=torch.float64)
    angles = pos / 10000 ** (exponent * i / d_model)
    first, second = (torch.cos, torch.sin) if swapped else (torch.sin, torch.cos)
    pe = torch.zeros(length, d_model, dtype=torch.float64)
    pe[:, 0::2] = first(angles)
    pe[:, 1::2] = second(angles[:, : d_model // 2] if odd_safe else angles)
    return pe.to(dtype)


MISTAKES = [
    Mistake("sin and cos swapped", "the even columns 2i are sines and the odd columns 2i + 1 "
            "cosines: PE(pos, 2i) = sin(pos / 10000^(2i/d_model))",
            lambda length, d_model, dtype=torch.float64:
            _variant(length, d_model, dtype, swapped=True)),
    Mistake("exponent i/d", "the exponent is 2i/d_model, with i the pair's index (columns 2i "
            "and 2i + 1): i/d_model makes every frequency but the first too high",
            lambda length, d_model, dtype=torch.float64:
            _variant(length, d_model, dtype, exponent=1.0)),
    Mistake("odd d_model crashing", "with an odd d_model there are ⌈d/2⌉ sine columns and "
            "only ⌊d/2⌋ cosine columns: the last column is a sine, so take one fewer angle "
            "for the cosines",
            lambda length, d_model, dtype=torch.float64:
            _variant(length, d_model, dtype, odd_safe=False)),
]


def cases(seed: int) -> list[Case]:
    # no randomness to draw: the encoding is a function of its two sizes
    del seed
    out = [Case("the worked example", (2, 3))]
    for length, d_model, dtype in ((1, 4, torch.float64), (10, 16, torch.float64),
                                   (50, 64, torch.float64), (7, 5, torch.float64),
                                   (16, 8, torch.float32), (12, 11, torch.float32),
                                   (3, 1, torch.float64), (128, 33, torch.float64)):
        out.append(Case(f"T={length}, d_model={d_model}"
                        f"{' (odd)' if d_model % 2 else ''}, "
                        f"{str(dtype).removeprefix('torch.')}", (length, d_model),
                        {"dtype": dtype}))
    return out
