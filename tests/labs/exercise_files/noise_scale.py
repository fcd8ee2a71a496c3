"""A learner's correct B_simple from two batch sizes."""


def noise_scale(g_small_sq, g_big_sq, b_small, b_big):
    g2 = (b_big * g_big_sq - b_small * g_small_sq) / (b_big - b_small)
    trace = (g_small_sq - g_big_sq) / (1 / b_small - 1 / b_big)
    g2, trace = g2.mean(dim=-1), trace.mean(dim=-1)
    return g2, trace, trace / g2
