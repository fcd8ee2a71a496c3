"""A learner's correct sinusoidal positional encoding, odd d_model included."""
import math

import torch


def positional_encoding(length, d_model, dtype=torch.float64):
    pos = torch.arange(length, dtype=dtype)[:, None]
    div = torch.exp(torch.arange(0, d_model, 2, dtype=dtype) * (-math.log(10000.0) / d_model))
    pe = torch.zeros(length, d_model, dtype=dtype)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)[:, : d_model // 2]
    return pe
