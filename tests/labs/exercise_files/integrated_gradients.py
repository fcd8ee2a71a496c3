"""A learner's correct integrated gradients: every midpoint in one batch."""
import torch


def integrated_gradients(model, x, baseline, target, steps):
    alphas = (torch.arange(steps, dtype=x.dtype) + 0.5) / steps
    shape = (steps,) + (1,) * x.dim()
    path = baseline + alphas.reshape(shape) * (x - baseline)  # (steps, N, ...)
    path = path.reshape(steps * x.shape[0], *x.shape[1:]).requires_grad_(True)
    scores = model(path).gather(1, target.repeat(steps)[:, None]).sum()
    (grads,) = torch.autograd.grad(scores, path)
    return (x - baseline) * grads.reshape(steps, *x.shape).mean(dim=0)
