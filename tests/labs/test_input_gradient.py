"""The input-gradient lab's numbers against independent references:
closed forms, torch.autograd.gradcheck, numpy's least squares and Captum."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from labs.catalog import get
from labs.context import LabContext
from labs.data import load_digits_split
from labs.events import Heatmap, Metric, Table, Text, from_json, to_json
from labs.experiments import input_gradient as lab


@pytest.fixture(scope="module")
def captum_attr():
    return pytest.importorskip("captum.attr")


@pytest.fixture(scope="module")
def captum_robust():
    return pytest.importorskip("captum.robust")


# --- part 1: linear regression --------------------------------------------


@pytest.fixture(scope="module")
def regression64():
    x, y = lab.make_regression_data(50, seed=3, dtype=torch.float64)
    return x, y


def test_input_gradient_matches_closed_form(regression64):
    x, y = regression64
    w, b = 1.3, -0.7
    auto = lab.input_gradient(x, y, w, b)
    by_hand = 2.0 / len(x) * (w * x + b - y) * w  # (2/N)(ŷ − y)·w written out again
    assert torch.allclose(auto, by_hand, rtol=0, atol=1e-14)
    assert torch.allclose(lab.input_gradient_closed_form(x, y, w, b), by_hand, rtol=0, atol=1e-15)
    assert auto.abs().max() > 1e-3  # not trivially zero


def test_input_gradient_passes_gradcheck(regression64):
    x, y = regression64
    x = x.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda v: lab.loss_as_function_of_input(v, y, 1.3, -0.7), (x,))


def test_loss_surface_is_the_mse_at_every_grid_point(regression64):
    x, y = regression64
    ws = torch.linspace(-1, 3, 5, dtype=torch.float64)
    bs = torch.linspace(-2, 1, 4, dtype=torch.float64)
    surface = lab.loss_surface(x, y, ws, bs)
    assert surface.shape == (4, 5)
    for i, b in enumerate(bs):
        for j, w in enumerate(ws):
            direct = float(np.mean((y.numpy() - (float(w) * x.numpy() + float(b))) ** 2))
            assert surface[i, j].item() == pytest.approx(direct, abs=1e-12)


def test_full_batch_descent_reaches_least_squares_and_minibatch_wanders(regression64):
    x, y = regression64
    slope, intercept = np.polyfit(x.numpy(), y.numpy(), 1)
    assert lab.least_squares(x, y) == pytest.approx((slope, intercept), abs=1e-10)
    full = lab.descent_path(x, y, (-1.0, 2.0), lr=0.1, steps=300, batch_size=50, seed=0)
    assert len(full) == 301 and full[0] == (-1.0, 2.0)
    assert full[-1] == pytest.approx((slope, intercept), abs=1e-6)
    mini = lab.descent_path(x, y, (-1.0, 2.0), lr=0.1, steps=300, batch_size=5, seed=0)
    # Near the bottom the minibatch path still moves: its last steps are not all equal.
    assert max(abs(a[0] - b[0]) for a, b in zip(mini[-10:], mini[-11:-1])) > 1e-4


def test_descending_the_inputs_quarters_the_loss_each_step(regression64):
    x, y = regression64
    losses = lab.descend_inputs(x, y, 1.3, -0.7, steps=5)
    ratios = [b / a for a, b in zip(losses, losses[1:])]
    assert ratios == pytest.approx([0.25] * 5, rel=1e-9)


# --- part 2: a frozen digits classifier, against Captum ---------------------


@pytest.fixture(scope="module")
def digits_model():
    torch.manual_seed(0)
    split = load_digits_split(0)
    model = lab.make_classifier(hidden=32)
    lab.train_classifier(model, split.x_train, split.y_train, epochs=4, seed=0)
    model = model.double()
    x = split.x_test[:16].double()
    y = split.y_test[:16]
    return model, x, y, split


def test_classifier_is_frozen_and_learned_something(digits_model):
    model, _, _, split = digits_model
    assert not any(p.requires_grad for p in model.parameters())
    assert lab.accuracy(model, split.x_test.double(), split.y_test) > 0.8


def test_saliency_matches_captum(digits_model, captum_attr):
    model, x, y, _ = digits_model
    ours = lab.saliency(model, x, y)
    theirs = captum_attr.Saliency(model).attribute(x.clone().requires_grad_(), target=y, abs=True)
    assert ours.shape == x.shape
    assert torch.allclose(ours, theirs, rtol=0, atol=1e-12)
    assert ours.max() > 0


def test_integrated_gradients_match_captum_and_are_complete(digits_model, captum_attr):
    model, x, y, _ = digits_model
    ours = lab.integrated_gradients(model, x, y, steps=20)
    theirs, delta = captum_attr.IntegratedGradients(model).attribute(
        x.clone(), baselines=torch.zeros_like(x), target=y, n_steps=20,
        method="riemann_middle", return_convergence_delta=True,
    )
    # Captum builds its α grid with float32 linspace, so its path points are
    # off by ~1e-8; everything else is float64. Hence 5e-7, not 1e-12.
    assert torch.allclose(ours, theirs, rtol=0, atol=5e-7)
    gap = lab.completeness_gap(model, x, y, ours)
    assert torch.allclose(gap, delta, rtol=0, atol=5e-7)
    assert gap.abs().max() > 1e-5  # 20 steps are visibly not exact
    # Completeness in the limit: with many steps the attributions add up to
    # score(x) − score(black) up to a small fraction of that difference.
    fine = lab.integrated_gradients(model, x, y, steps=400)
    with torch.no_grad():
        change = lab.class_score(model, x, y) - lab.class_score(model, torch.zeros_like(x), y)
    fine_gap = lab.completeness_gap(model, x, y, fine)
    assert (fine_gap.abs() <= 1e-3 * change.abs() + 1e-6).all()


def test_fgsm_matches_captum(digits_model, captum_robust):
    model, x, y, _ = digits_model
    attack = captum_robust.FGSM(
        model, loss_func=lambda out, t: F.cross_entropy(out, t, reduction="none"),
        lower_bound=0.0, upper_bound=1.0,
    )
    attack.zero_thresh = 0.0  # Captum skips |grad| ≤ 1e-6 by default; sign() does not
    for eps in (0.05, 0.2):
        ours = lab.fgsm(model, x, y, eps)
        theirs = attack.perturb(x.clone().requires_grad_(), epsilon=eps, target=y).detach()
        assert torch.allclose(ours, theirs, rtol=0, atol=1e-12)
        assert ours.min() >= 0 and ours.max() <= 1
        assert (ours - x).abs().max() <= eps + 1e-12


def test_fgsm_hurts_accuracy_more_as_epsilon_grows(digits_model):
    model, _, _, split = digits_model
    x, y = split.x_test.double(), split.y_test
    accs = lab.fgsm_accuracies(model, x, y, [0.0, 0.1, 0.3])
    assert accs[0] == pytest.approx(lab.accuracy(model, x, y))
    assert accs[0] > accs[1] > accs[2]


def test_total_variation_of_a_checkerboard():
    board = (torch.arange(8)[:, None] + torch.arange(8)[None, :]) % 2
    # 7 vertical and 7 horizontal differences of 1 in each of 8 rows/columns.
    assert lab.total_variation(board.double().flatten()).item() == 2 * 8 * 7
    assert lab.total_variation(torch.full((64,), 0.3)).item() == 0


@pytest.mark.parametrize("target", [3, 7])
def test_activation_maximisation_raises_the_target_score(digits_model, target):
    model, _, _, _ = digits_model
    model = model.float()
    try:
        image, scores = lab.activation_maximisation(model, target, steps=100, seed=1)
        with torch.no_grad():
            final = lab.class_score(model, image[None], torch.tensor([target]))
    finally:
        model.double()
    assert image.shape == (64,) and image.min() >= 0 and image.max() <= 1
    assert len(scores) == 101
    assert scores[-1] > scores[0] + 1.0
    assert final.item() == pytest.approx(scores[-1], abs=1e-5)


# --- the whole run ------------------------------------------------------------


def test_run_emits_the_expected_events():
    spec = get("input-gradient")
    params = spec.resolve({"epochs": "2", "ig_steps": "4", "epsilons": "0,10"})
    events: list = []
    summary = lab.run(params, LabContext(device="cpu", seed=1, emit=events.append))

    for event in events:  # every event survives the JSON trip to the app
        assert from_json(to_json(event)) == event
    json.dumps(summary)

    heatmaps = [e for e in events if isinstance(e, Heatmap)]
    surface = heatmaps[0]
    assert surface.title.startswith("MSE loss over (w, b)")
    assert len(surface.values) == len(surface.row_labels)
    assert len(surface.values[0]) == len(surface.col_labels)
    titles = " | ".join(h.title for h in heatmaps)
    for expected in ("saliency", "integrated gradients", "activation maximisation"):
        assert expected in titles
    for h in heatmaps[1:]:
        assert len(h.values) == 8 and all(len(row) == 8 for row in h.values)

    texts = " ".join(e.markdown for e in events if isinstance(e, Text))
    assert "bias" in texts and "single number" in texts

    paths = {e.series for e in events if isinstance(e, Metric) and e.chart == "descent path"}
    assert paths == {"full batch", "minibatch of 8"}
    fgsm_points = [e for e in events if isinstance(e, Metric) and "FGSM" in e.chart]
    assert [p.x for p in fgsm_points] == [0.0, 0.1]
    tables = {e.title.split(":")[0]: e for e in events if isinstance(e, Table)}
    assert "FGSM" in tables and len(tables["FGSM"].rows) == 2
    # the attack again with a float64 gradient: the same digits but for sign noise
    assert tables["FGSM"].columns[2] == "with the gradient in float64"
    assert all(abs(row[1] - row[2]) <= 3 / 540 for row in tables["FGSM"].rows)
    assert "score* is its logit" in texts

    assert summary["fgsm_accuracy"]["0"] == summary["test_accuracy"]
    assert summary["regression"]["input_gradient_max_abs_diff"] < 1e-6
    assert summary["activation_max_logit_gain"] > 0
