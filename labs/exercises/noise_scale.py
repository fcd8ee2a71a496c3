"""noise-scale: |G|², tr(Σ) and B_simple from squared gradient norms at two batch
sizes (McCandlish et al. 2018, appendix A.1).

The reference is the closed form, written here from E|G_B|² = |G|² + tr(Σ)/B
solved for the two unknowns with exact rationals per draw (fractions), then
averaged over the draws and divided: the ratio of the means.
"""

from __future__ import annotations

from fractions import Fraction

import torch

from labs.exercises.checking import Case, Mistake

OUTPUTS = ("|G|²", "tr(Σ)", "B_simple")


def reference(g_small_sq: torch.Tensor, g_big_sq: torch.Tensor, b_small: int,
              b_big: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    lead = g_small_sq.shape[:-1]
    small = g_small_sq.reshape(-1, g_small_sq.shape[-1]).tolist()
    big = g_big_sq.reshape(-1, g_big_sq.shape[-1]).tolist()
    g2s, traces, ratios = [], [], []
    for row_small, row_big in zip(small, big):
        g2 = trace = Fraction(0)
        for s, b in zip(row_small, row_big):
            # two equations, s = |G|² + tr/B_small and b = |G|² + tr/B_big, solved exactly
            tr = (Fraction(s) - Fraction(b)) / (Fraction(1, b_small) - Fraction(1, b_big))
            trace += tr
            g2 += Fraction(b) - tr / b_big
        g2, trace = g2 / len(row_small), trace / len(row_small)
        g2s.append(float(g2))
        traces.append(float(trace))
        ratios.append(float(trace / g2) if g2 else float("inf"))

    def shaped(values: list[float]) -> torch.Tensor:
        return torch.tensor(values, dtype=g_small_sq.dtype).reshape(lead)

    return shaped(g2s), shaped(traces), shaped(ratios)


def _variant(g_small_sq: torch.Tensor, g_big_sq: torch.Tensor, b_small: float,
             b_big: float, how: str = "") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g2 = (b_big * g_big_sq - b_small * g_small_sq) / (b_big - b_small)
    trace = (g_small_sq - g_big_sq) / (1.0 / b_small - 1.0 / b_big)
    if how == "factor":
        trace = (g_small_sq - g_big_sq) / (b_big - b_small)
    if how == "ratios":
        return g2.mean(-1), trace.mean(-1), (trace / g2).mean(-1)
    return g2.mean(-1), trace.mean(-1), trace.mean(-1) / g2.mean(-1)


MISTAKES = [
    Mistake("batch sizes swapped", "|G_small|² goes with B_small and |G_big|² with B_big: "
            "the smaller batch has the noisier (larger) squared norm; your batch sizes are "
            "the other way round",
            lambda s, b, b_small, b_big: _variant(s, b, b_big, b_small)),
    Mistake("a mean of ratios", "B_simple is the ratio of the means, mean tr(Σ) / mean |G|², "
            "not the mean of each draw's ratio (one draw's |G|² can be near zero or negative)",
            lambda s, b, b_small, b_big: _variant(s, b, b_small, b_big, "ratios")),
    Mistake("the factor B_small·B_big missing", "tr(Σ) = (|G_small|² − |G_big|²) / "
            "(1/B_small − 1/B_big) = B_small·B_big (|G_small|² − |G_big|²) / (B_big − B_small): "
            "the factor B_small·B_big is missing",
            lambda s, b, b_small, b_big: _variant(s, b, b_small, b_big, "factor")),
]


def _draws(gen: torch.Generator, lead: tuple[int, ...], k: int, g2: float, trace: float,
           b_small: int, b_big: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Squared norms as measured: their expectations plus noise of their own size."""
    def at(batch: int) -> torch.Tensor:
        mean = g2 + trace / batch
        return mean * (1 + 0.3 * torch.randn(*lead, k, generator=gen, dtype=torch.float64))

    return at(b_small).to(dtype), at(b_big).to(dtype)


def cases(seed: int) -> list[Case]:
    gen = torch.Generator().manual_seed(seed)
    f64 = torch.float64
    out = [Case("the worked example", (torch.tensor([5.0], dtype=f64),
                                       torch.tensor([2.0], dtype=f64), 10, 100))]
    for lead, k, g2, trace, b_small, b_big, dtype in (
            ((), 8, 0.5, 40.0, 16, 256, f64), ((), 32, 2.0, 300.0, 32, 1024, torch.float32),
            ((3,), 5, 1.0, 100.0, 8, 128, f64), ((2, 4), 16, 0.1, 5.0, 4, 64, torch.float32)):
        s, b = _draws(gen, lead, k, g2, trace, b_small, b_big, dtype)
        out.append(Case(f"{k} draws, batch dims {lead}, B = {b_small} and {b_big}, "
                        f"{str(dtype).removeprefix('torch.')}", (s, b, b_small, b_big)))
    exact = torch.tensor([[1.0 + 50.0 / 10, 1.0 + 50.0 / 10]], dtype=f64)
    out.append(Case("noise-free norms: |G|² = 1, tr(Σ) = 50, B_simple = 50",
                    (exact, torch.full((1, 2), 1.0 + 50.0 / 1000, dtype=f64), 10, 1000)))
    return out
