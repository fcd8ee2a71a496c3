"""A learner's correct FGSM."""
import torch.nn.functional as F


def fgsm(model, x, y, epsilon, low, high):
    x = x.clone().requires_grad_(True)
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    return (x + epsilon * x.grad.sign()).clamp(low, high).detach()
