"""A learner's correct, stable softmax cross-entropy."""
import torch


def softmax_cross_entropy(logits, targets):
    m = logits.max(dim=-1, keepdim=True).values
    log_z = m + torch.log(torch.exp(logits - m).sum(dim=-1, keepdim=True))
    picked = logits.gather(-1, targets[..., None])
    return (log_z - picked).mean()
