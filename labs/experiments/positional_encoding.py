"""The "squiggly" thing in the transformer diagram: sinusoidal positional encoding.

The diary met it as a wavy symbol beside the embeddings in Fig. 1 of
"Attention Is All You Need" (Vaswani et al., 2017). Section 3.5 defines it:

    PE(p, 2i)   = sin(p / 10000^(2i/d_model))
    PE(p, 2i+1) = cos(p / 10000^(2i/d_model))

This lab shows four things about it, each measured, not asserted:

1. The encoding itself, positions by dimensions (a heatmap): fast clocks in
   the first dimensions, slow ones in the last.
2. Each (sin, cos) pair is a point on a circle turning at its own frequency
   ω_i = 1/10000^(2i/d_model), so moving k positions is a fixed rotation:
   PE(p + k) = R_k · PE(p) with R_k block-diagonal, one 2×2 rotation by ω_i·k
   per pair, the same for every p. This is the paper's reason for choosing it
   ("for any fixed offset k, PE_{pos+k} can be represented as a linear function
   of PE_pos"). The lab builds R_k and measures max |PE(p+k) − R_k PE(p)|.
3. PE(p)·PE(q) = Σ_i cos(ω_i (p − q)): a function of the distance |p − q|
   alone (measured over every p), largest at 0 and falling off with distance.
4. Why it is needed: a self-attention layer (the transformer-trace lab's
   layer, no mask) is permutation-equivariant: shuffle the tokens and its
   outputs come out shuffled the same way, up to rounding. With the encoding
   added, the same shuffle changes the outputs: order now matters.

Computed in float64, except the attention layer, which runs in float32 as a
model would (its rounding is the ~1e-7 the equivariance shows).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from labs.catalog import TRACE_VOCABULARY, head_size, pe_pairs, tokenize
from labs.context import LabContext
from labs.events import Heatmap, Metric, Table, Text
from labs.experiments.transformer_trace import (
    embed,
    make_weights,
    positional_encoding,
    self_attention,
)


def frequencies(d_model: int) -> torch.Tensor:
    """ω_i = 1 / 10000^(2i/d_model), one per (sin, cos) pair."""
    two_i = torch.arange(0, d_model, 2, dtype=torch.float64)
    return 1.0 / torch.pow(10000.0, two_i / d_model)


def rotation(k: int, d_model: int) -> torch.Tensor:
    """R_k: block-diagonal, one 2×2 block per pair turning (sin a, cos a) into
    (sin(a + ω k), cos(a + ω k)): [[cos ωk, sin ωk], [−sin ωk, cos ωk]]."""
    r = torch.zeros(d_model, d_model, dtype=torch.float64)
    for i, omega in enumerate(frequencies(d_model).tolist()):
        c, s = math.cos(omega * k), math.sin(omega * k)
        r[2 * i, 2 * i], r[2 * i, 2 * i + 1] = c, s
        r[2 * i + 1, 2 * i], r[2 * i + 1, 2 * i + 1] = -s, c
    return r


def rotation_errors(pe: torch.Tensor, k: int) -> torch.Tensor:
    """Per pair, max over p of |PE(p+k) − R_k PE(p)| (only p with p + k in range)."""
    r = rotation(k, pe.shape[1])
    shifted = pe[:-k] @ r.T if k else pe
    gap = (pe[k:] - shifted).abs()
    return gap.view(gap.shape[0], -1, 2).amax(dim=(0, 2))


def dot_products(pe: torch.Tensor) -> torch.Tensor:
    """The Gram matrix PE(p)·PE(q) over every pair of positions."""
    return pe @ pe.T


def shift_spread(gram: torch.Tensor) -> tuple[torch.Tensor, float]:
    """The dot product as a function of Δ = q − p (from p = 0), and the largest
    difference from it found at any other p: ~0 when it depends on Δ alone."""
    n = gram.shape[0]
    by_offset = gram[0].clone()
    spread = 0.0
    for delta in range(n):
        diagonal = torch.diagonal(gram, offset=delta)
        spread = max(spread, float((diagonal - by_offset[delta]).abs().max()))
    return by_offset, spread


def equivariance_error(x: torch.Tensor, weights: Any, heads: int, perm: torch.Tensor,
                       pe: torch.Tensor | None) -> float:
    """max |f(P·x + PE) − P·f(x + PE)| for the unmasked attention layer f (PE
    left out when None): the same positions get the same encoding, the tokens
    move."""
    add = pe if pe is not None else torch.zeros_like(x)
    out = self_attention(x + add, weights, heads, None)["out"]
    out_of_permuted = self_attention(x[perm] + add, weights, heads, None)["out"]
    return float((out_of_permuted - out[perm]).abs().max())


def run(params: dict[str, Any], ctx: LabContext) -> dict[str, Any]:
    positions, d_model, k = int(params["positions"]), int(params["d_model"]), int(params["offset"])
    heads = int(params["heads"])
    pe_pairs(d_model)
    head_size(d_model, heads)
    ids = tokenize(params["sentence"])
    words = [TRACE_VOCABULARY[i] for i in ids]
    ctx.seed_everything()
    device = ctx.torch_device

    pe = positional_encoding(positions, d_model)  # float64 on the CPU: the exact picture
    omegas = frequencies(d_model)
    ctx.emit(Text(
        "## The squiggles: sinusoidal positional encoding\n\n"
        "Vaswani et al. (2017), §3.5: PE(p, 2i) = sin(p / 10000^(2i/d)), "
        "PE(p, 2i+1) = cos(p / 10000^(2i/d)). Each pair of dimensions is a clock: "
        f"pair 0 turns once every 2π ≈ 6.3 positions, pair {d_model // 2 - 1} once every "
        f"{2 * math.pi / float(omegas[-1]):,.0f}. The encoding is *added* to the token "
        "embeddings (scaled by √d_model), so every position gets its own pattern."
    ))
    ctx.emit(Heatmap(
        title=f"positional encoding of positions 0-{positions - 1} (rows) by dimension "
              "(columns)",
        values=[[round(v, 4) for v in row] for row in pe.tolist()],
        row_labels=[str(p) for p in range(positions)],
        col_labels=[f"{'sin' if j % 2 == 0 else 'cos'} {j // 2}" for j in range(d_model)],
    ))
    ctx.progress(1, 4, "encoding")

    per_pair = rotation_errors(pe, k)
    rotation_error = float(per_pair.max())
    ctx.emit(Text(
        f"### Moving {k} positions is a rotation\n\n"
        "Each pair (sin a, cos a) is a point on the unit circle; adding k positions adds "
        "ω·k to its angle. So PE(p + k) = R_k · PE(p), where R_k holds one 2×2 rotation by "
        "ω_i·k per pair and is the *same for every p*: a fixed linear map a layer can "
        "learn, which is why the paper chose sinusoids. Measured over every p: "
        f"max |PE(p+{k}) − R_{k}·PE(p)| = {rotation_error:.1e} (float64 rounding)."
    ))
    ctx.emit(Table(
        title=f"each pair's clock, and its rotation for an offset of {k}",
        columns=["pair", "ω (radians per position)", "one turn every (positions)",
                 f"angle turned by {k} (radians)", "max error"],
        # period and angle unrounded: the column shows them with one count of
        # decimals, which would pad a 4-digit rounding with zeros never measured
        rows=[[i, float(f"{float(w):.4g}"), 2 * math.pi / float(w),
               float(w) * k, float(f"{float(e):.1e}")]
              for i, (w, e) in enumerate(zip(omegas, per_pair))],
    ))
    ctx.progress(2, 4, "rotation")

    by_offset, spread = shift_spread(dot_products(pe))
    for delta, value in enumerate(by_offset.tolist()):
        ctx.emit(Metric(chart="PE(p)·PE(p+Δ)", series=f"d_model {d_model}", x=delta,
                        y=round(value, 6), x_label="Δ (positions apart)",
                        y_label="dot product"))
    ctx.emit(Text(
        "### Closeness is a function of distance\n\n"
        "PE(p)·PE(q) = Σ_i cos(ω_i (p − q)): it depends on p − q alone, is largest "
        f"(= d_model/2 = {d_model // 2}) at Δ = 0, and falls off, wobbling, with distance. "
        f"Measured over every p: the largest difference from the curve is {spread:.1e}."
    ))
    ctx.progress(3, 4, "dot products")

    # The attention layer as a model runs it: float32, on the lab's device.
    dtype = torch.float32
    weights = make_weights(len(TRACE_VOCABULARY), d_model, ctx.seed, dtype, device)
    x = embed(torch.tensor(ids, device=device), weights.embedding)
    perm = torch.randperm(len(ids), generator=torch.Generator().manual_seed(ctx.seed))
    if len(ids) > 1 and bool((perm == torch.arange(len(ids))).all()):
        perm = torch.roll(perm, 1)  # a shuffle that moves something
    perm = perm.to(device)
    sentence_pe = positional_encoding(len(ids), d_model, dtype, device)
    without = equivariance_error(x, weights, heads, perm, None)
    with_pe = equivariance_error(x, weights, heads, perm, sentence_pe)
    shuffled = [words[i] for i in perm.tolist()]
    ctx.emit(Text(
        "### Why add it at all\n\n"
        "A self-attention layer (the transformer-trace lab's, no mask) treats its input as "
        f"a set. Shuffle *{' '.join(words)}* into *{' '.join(shuffled)}*: without positional "
        "encoding its outputs come out shuffled the same way and nothing else changes, "
        f"max |f(P·x) − P·f(x)| = {without:.1e} (float32 rounding). With the encoding added "
        f"(position 0 keeps its encoding whichever word lands there) the gap is {with_pe:.3f}: "
        "the layer now sees where each word is."
    ))
    ctx.emit(Table(
        title="shuffle the tokens: do the outputs just shuffle along?",
        columns=["input", "max |f(P·x) − P·f(x)|", "equivariant"],
        rows=[["embeddings alone", float(f"{without:.2e}"), "yes" if without < 1e-4 else "no"],
              ["embeddings + PE", round(with_pe, 4), "yes" if with_pe < 1e-4 else "no"]],
    ))
    ctx.progress(4, 4, "equivariance")
    return {
        "positions": positions,
        "d_model": d_model,
        "offset": k,
        "rotation_max_error": float(f"{rotation_error:.3e}"),
        "dot_product_shift_error": float(f"{spread:.3e}"),
        "equivariance_error_without_pe": float(f"{without:.3e}"),
        "equivariance_error_with_pe": round(with_pe, 6),
        "permutation": perm.tolist(),
    }
