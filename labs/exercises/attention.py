"""attention: softmax(QKᵀ/√d_k) V with an optional boolean mask (True takes part).

The reference output is PyTorch's own F.scaled_dot_product_attention (the mask
read as it reads a boolean attn_mask); the reference weights are the softmax
of the masked, scaled scores.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from labs.exercises.checking import Case, Mistake

OUTPUTS = ("output", "weights")


def _scores(q: torch.Tensor, k: torch.Tensor, scale: float) -> torch.Tensor:
    return q @ k.transpose(-2, -1) * scale


def reference(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
              mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    output = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    scores = _scores(q, k, 1 / math.sqrt(q.shape[-1]))
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return output, torch.softmax(scores, dim=-1)


def _variant(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None,
             scale: float, how: str = "before") -> tuple[torch.Tensor, torch.Tensor]:
    scores = _scores(q, k, scale)
    if mask is not None and how == "before":
        scores = scores.masked_fill(~mask, float("-inf"))
    if mask is not None and how == "inverted":
        scores = scores.masked_fill(mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    if mask is not None and how == "after":
        weights = weights * mask
    return weights @ v, weights


def _root(q: torch.Tensor) -> float:
    return 1 / math.sqrt(q.shape[-1])


MISTAKES = [
    Mistake("no 1/√d_k", "the scores are divided by √d_k (the key dimension) before the "
            "softmax (§3.2.1): the scaling is missing",
            lambda q, k, v, mask=None: _variant(q, k, v, mask, 1.0)),
    Mistake("1/d_k", "scale by 1/√d_k, not 1/d_k",
            lambda q, k, v, mask=None: _variant(q, k, v, mask, 1 / q.shape[-1])),
    Mistake("mask after the softmax", "apply the mask to the scores *before* the softmax "
            "(a masked score becomes −inf); zeroing weights afterwards leaves rows that no "
            "longer sum to 1",
            lambda q, k, v, mask=None: _variant(q, k, v, mask, _root(q), "after")),
    Mistake("mask inverted", "in a boolean mask True means *takes part*, as in "
            "F.scaled_dot_product_attention: your mask is the other way round",
            lambda q, k, v, mask=None: _variant(q, k, v, mask, _root(q), "inverted")),
]


def cases(seed: int) -> list[Case]:
    gen = torch.Generator().manual_seed(seed)
    eye = torch.eye(2)
    out = [Case("the worked example", (eye, eye, torch.tensor([[1.0, 2.0], [3.0, 4.0]])))]
    for lead, t_q, t_k, d, d_v, dtype in (((), 3, 3, 4, 4, torch.float64),
                                          ((2,), 5, 7, 8, 3, torch.float64),
                                          ((2, 3), 4, 4, 16, 16, torch.float32)):
        q = torch.randn(*lead, t_q, d, generator=gen, dtype=dtype)
        k = torch.randn(*lead, t_k, d, generator=gen, dtype=dtype)
        v = torch.randn(*lead, t_k, d_v, generator=gen, dtype=dtype)
        out.append(Case(f"q {tuple(q.shape)}, k {tuple(k.shape)}, no mask", (q, k, v)))
    t = 5
    q, k, v = (torch.randn(2, t, 8, generator=gen, dtype=torch.float64) for _ in range(3))
    causal = torch.ones(t, t, dtype=torch.bool).tril()
    out.append(Case("a causal mask", (q, k, v), {"mask": causal}))
    keep = torch.tensor([True, True, True, False, False])[None, None, :]  # (1, 1, T_k)
    out.append(Case("a padding mask, broadcast over the queries", (q, k, v), {"mask": keep}))
    wide = [torch.randn(1, 4, 64, generator=gen, dtype=torch.float64) * 0.3 for _ in range(3)]
    out.append(Case("d_k = 64, where the scaling matters", tuple(wide)))
    return out
