"""The exercises' references against a second route: torch.nn.LayerNorm's
module for layer-norm, the lab's own formulas for positional-encoding and
noise-scale, Captum (and the lab's own) for fgsm and integrated-gradients, and
each worked example's numbers as the task states them."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from labs.exercises import fgsm, integrated_gradients, layer_norm, noise_scale, positional_encoding


@pytest.mark.parametrize("case", layer_norm.cases(0), ids=lambda c: c.name)
def test_layer_norm_reference_is_torch_nn_layernorm(case):
    x, weight, bias = case.args
    module = torch.nn.LayerNorm(x.shape[-1], eps=case.kwargs.get("eps", 1e-5), dtype=x.dtype)
    with torch.no_grad():
        module.weight.copy_(weight)
        module.bias.copy_(bias)
        torch.testing.assert_close(layer_norm.reference(*case.args, **case.kwargs), module(x))


def test_layer_norm_worked_example():
    got = layer_norm.reference(*layer_norm.cases(0)[0].args)
    torch.testing.assert_close(got, torch.tensor([-2.44948, 0.0, 1.72474], dtype=torch.float64),
                               atol=1e-5, rtol=0)


@pytest.mark.parametrize("case", noise_scale.cases(0), ids=lambda c: c.name)
def test_noise_scale_reference_is_the_labs_closed_form(case):
    from labs.experiments.batch_size import two_batch_estimates

    s, b, b_small, b_big = case.args
    g2, trace = two_batch_estimates(s.double(), b.double(), b_small, b_big)
    want = (g2.mean(-1), trace.mean(-1), trace.mean(-1) / g2.mean(-1))
    for got, expected in zip(noise_scale.reference(*case.args), want):
        torch.testing.assert_close(got.double(), expected, rtol=1e-6 if s.dtype == torch.float32
                                   else 1e-12, atol=0)


def test_noise_scale_worked_example_and_noise_free_case():
    cases = noise_scale.cases(0)
    g2, trace, b_simple = noise_scale.reference(*cases[0].args)
    assert (float(g2), float(trace), float(b_simple)) == pytest.approx((5 / 3, 100 / 3, 20.0))
    g2, trace, b_simple = noise_scale.reference(*cases[-1].args)
    assert (float(g2), float(trace), float(b_simple)) == pytest.approx((1.0, 50.0, 50.0))


@pytest.mark.parametrize("case", positional_encoding.cases(0), ids=lambda c: c.name)
def test_positional_encoding_reference_is_the_labs_own(case):
    from labs.experiments.transformer_trace import positional_encoding as labs_own

    got = positional_encoding.reference(*case.args, **case.kwargs)
    want = labs_own(*case.args, dtype=case.kwargs.get("dtype", torch.float64))
    assert got.dtype == want.dtype
    torch.testing.assert_close(got, want, atol=1e-12, rtol=0)


def test_positional_encoding_worked_example():
    want = torch.tensor([[0.0, 1.0, 0.0], [0.84147, 0.54030, 0.0021544]], dtype=torch.float64)
    torch.testing.assert_close(positional_encoding.reference(2, 3), want, atol=1e-5, rtol=0)


@pytest.mark.parametrize("case", fgsm.cases(0), ids=lambda c: c.name)
def test_fgsm_reference_is_captums_and_the_labs(case):
    robust = pytest.importorskip("captum.robust")
    from labs.experiments.input_gradient import fgsm as labs_own

    model, x, y, epsilon, low, high = case.args
    got = fgsm.reference(*case.args)
    attack = robust.FGSM(model, loss_func=lambda out, t: F.cross_entropy(out, t, reduction="none"),
                         lower_bound=low, upper_bound=high)
    attack.zero_thresh = 0.0  # Captum skips |grad| ≤ 1e-6 by default; sign() does not
    theirs = attack.perturb(x.clone().requires_grad_(), epsilon, y).detach()
    torch.testing.assert_close(got, theirs, atol=0, rtol=0)
    assert float(got.min()) >= low and float(got.max()) <= high
    if (low, high) == (0.0, 1.0):
        torch.testing.assert_close(got, labs_own(model, x, y, epsilon), atol=0, rtol=0)


def test_fgsm_worked_example():
    got = fgsm.reference(*fgsm.cases(0)[0].args)
    torch.testing.assert_close(got, torch.tensor([[1.0, 0.6]], dtype=torch.float64))


# Captum takes 2 steps or more
@pytest.mark.parametrize("case", [c for c in integrated_gradients.cases(0) if c.args[4] > 1],
                         ids=lambda c: c.name)
def test_integrated_gradients_reference_is_captums(case):
    attr = pytest.importorskip("captum.attr")
    model, x, baseline, target, steps = case.args
    theirs = attr.IntegratedGradients(model).attribute(
        x, baselines=baseline, target=target, n_steps=steps, method="riemann_middle")
    # Captum's sum differs from the step-by-step one by up to 2e-8 in float64
    tol = 1e-5 if x.dtype == torch.float32 else 1e-7
    torch.testing.assert_close(integrated_gradients.reference(*case.args), theirs,
                               atol=tol, rtol=tol)


def test_integrated_gradients_are_complete_and_the_worked_example():
    cases = integrated_gradients.cases(0)
    model, x, baseline, target, steps = cases[-1].args
    assert steps == 300
    got = integrated_gradients.reference(*cases[-1].args)
    with torch.no_grad():
        delta = (model(x).gather(1, target[:, None]) - model(baseline).gather(1, target[:, None]))
    torch.testing.assert_close(got.sum(dim=1), delta.squeeze(1), atol=1e-5, rtol=0)
    worked = integrated_gradients.reference(*cases[0].args)
    torch.testing.assert_close(worked, torch.tensor([[1.0, 4.0]], dtype=torch.float64))
