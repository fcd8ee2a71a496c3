"""Descend a gradient with respect to the input, not the weights.

The diary's picture of gradient descent is a loss surface over two weights
with a ball rolling down it. The same loss is also a function of the data:
hold the weights fixed and ask how the loss (or any number the network
computes) changes when the *input* moves. Autograd does not care which leaf
it differentiates with respect to, so one `backward()` gives both.

The lab reads top to bottom in two parts.

1. A linear regression ŷ = w·x + b with mean squared error. We draw the
   loss surface over (w, b), roll down it with full-batch and minibatch
   gradient descent, and then freeze (w, b) and take the gradient with
   respect to x instead, which has the closed form (2/N)(ŷ − y)·w.
2. A small classifier of scikit-learn's 8×8 digits. With its weights frozen,
   gradients with respect to the pixels give saliency maps, integrated
   gradients, an image that maximises a class, and adversarial examples (FGSM).

Each step is a small function that the tests check against an independent
reference: a closed form, `torch.autograd.gradcheck`, or Captum.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from labs.context import LabContext
from labs.data import load_digits_split
from labs.events import Heatmap, Metric, Table, Text

# ---------------------------------------------------------------------------
# Part 1 — a really shallow network: linear regression with two parameters.
# ---------------------------------------------------------------------------

# The data we make up: y = 1.5·x − 0.5 plus noise. Known true parameters let
# the learner see where the bottom of the bowl should be.
TRUE_W = 1.5
TRUE_B = -0.5
NOISE = 0.5


def make_regression_data(
    n: int, seed: int, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32
) -> tuple[torch.Tensor, torch.Tensor]:
    """N examples of one feature x ∈ [−2, 2] and a noisy target y.

    Drawn on the CPU from a seeded generator and then moved, so every device
    sees the same numbers.
    """
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n, generator=gen, dtype=torch.float64) * 4 - 2
    y = TRUE_W * x + TRUE_B + NOISE * torch.randn(n, generator=gen, dtype=torch.float64)
    return x.to(device=device, dtype=dtype), y.to(device=device, dtype=dtype)


def predict(x: torch.Tensor, w: torch.Tensor | float, b: torch.Tensor | float) -> torch.Tensor:
    """ŷ = w·x + b.

    The bias b is ONE number. Xw already has one entry per example, and adding
    the scalar b adds it to every one of them (broadcasting). The diary's
    "2×1 bias vector" could not even be added to an N×1 prediction.
    """
    return w * x + b


def mse(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """L = (1/N) Σ (y_i − ŷ_i)², the diary's loss."""
    return ((y_hat - y) ** 2).mean()


def loss_surface(
    x: torch.Tensor, y: torch.Tensor, ws: torch.Tensor, bs: torch.Tensor
) -> torch.Tensor:
    """The loss at every (w, b) on a grid: rows are b, columns are w.

    Broadcasting evaluates the whole grid at once: predictions have shape
    (len(bs), len(ws), N) and the mean runs over the examples.
    """
    y_hat = ws[None, :, None] * x[None, None, :] + bs[:, None, None]
    return ((y_hat - y) ** 2).mean(dim=-1)


def least_squares(x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """The bottom of the bowl, in closed form (the normal equations)."""
    design = torch.stack([x, torch.ones_like(x)], dim=1).cpu().double()
    solution = torch.linalg.lstsq(design, y.cpu().double()[:, None]).solution
    return float(solution[0, 0]), float(solution[1, 0])


def descent_path(
    x: torch.Tensor,
    y: torch.Tensor,
    start: tuple[float, float],
    lr: float,
    steps: int,
    batch_size: int,
    seed: int,
) -> list[tuple[float, float]]:
    """(w, b) after each of `steps` gradient-descent updates, the start included.

    With batch_size = N every step sees all the data and follows the true
    gradient downhill. With a smaller batch each step follows the gradient of
    a random handful of examples: an unbiased but noisy estimate, so the path
    wobbles around the full-batch one and keeps jittering near the bottom.
    """
    n = x.shape[0]
    w = torch.tensor(start[0], dtype=x.dtype, device=x.device, requires_grad=True)
    b = torch.tensor(start[1], dtype=x.dtype, device=x.device, requires_grad=True)
    gen = torch.Generator().manual_seed(seed)
    # Each epoch's order goes to the device once, and the path stays there until the
    # end: on a GPU, reading a value back each step would stall it once per step.
    order = torch.randperm(n, generator=gen).to(x.device)
    cursor = 0
    path = [torch.stack([w, b]).detach()]  # (2,) each
    for _ in range(steps):
        if cursor + batch_size > n:  # a fresh shuffle each epoch
            order = torch.randperm(n, generator=gen).to(x.device)
            cursor = 0
        idx = order[cursor : cursor + batch_size]
        cursor += batch_size
        loss = mse(predict(x[idx], w, b), y[idx])
        grad_w, grad_b = torch.autograd.grad(loss, (w, b))
        with torch.no_grad():
            w -= lr * grad_w
            b -= lr * grad_b
        path.append(torch.stack([w, b]).detach())
    return [(w_t, b_t) for w_t, b_t in torch.stack(path).tolist()]


# Now turn the picture upside down: (w, b) are fixed, and the loss is a
# function of the inputs x. Nothing about the loss changed, only which
# variable we differentiate with respect to.


def loss_as_function_of_input(
    x: torch.Tensor, y: torch.Tensor, w: float, b: float
) -> torch.Tensor:
    return mse(predict(x, w, b), y)


def input_gradient(x: torch.Tensor, y: torch.Tensor, w: float, b: float) -> torch.Tensor:
    """∂L/∂x by autograd: x becomes the leaf that requires a gradient."""
    x = x.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(loss_as_function_of_input(x, y, w, b), x)
    return grad


def input_gradient_closed_form(
    x: torch.Tensor, y: torch.Tensor, w: float, b: float
) -> torch.Tensor:
    """∂L/∂x_i = (2/N)(ŷ_i − y_i)·w, by the chain rule through ŷ_i = w·x_i + b.

    Each example's gradient depends only on its own residual: the loss pushes
    x_i along w's direction until w·x_i + b lands on y_i.
    """
    n = x.shape[0]
    return (2.0 / n) * (predict(x, w, b) - y) * w


def descend_inputs(
    x: torch.Tensor, y: torch.Tensor, w: float, b: float, steps: int
) -> list[float]:
    """The loss after each gradient-descent step taken on x, with (w, b) frozen.

    The loss is a sum of independent parabolas in each x_i, each with
    curvature 2w²/N. A step size of N/(4w²) multiplies every residual by ½,
    so the loss falls by a factor of 4 per step, down to zero: any target can
    be "explained" by moving the data, which is exactly what adversarial
    examples exploit.
    """
    n = x.shape[0]
    lr = n / (4 * w * w)
    x = x.detach().clone()
    losses = [float(loss_as_function_of_input(x, y, w, b))]
    for _ in range(steps):
        x = x - lr * input_gradient(x, y, w, b)
        losses.append(float(loss_as_function_of_input(x, y, w, b)))
    return losses


# ---------------------------------------------------------------------------
# Part 2 — a digits classifier, with its weights frozen.
#
# The data are scikit-learn's 8×8 digits (labs.data.load_digits_split: they
# ship in the wheel, pixels scaled to 0..1), so the lab runs offline.
# ---------------------------------------------------------------------------


def make_classifier(hidden: int = 64) -> nn.Sequential:
    """64 pixels → `hidden` ReLU units → 10 class scores (logits)."""
    return nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10))


def train_classifier(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    epochs: int,
    seed: int,
    batch_size: int = 32,
    lr: float = 3e-3,
    on_epoch: Any = None,
) -> list[float]:
    """Adam on the cross-entropy; returns the mean training loss of each epoch.

    This is the ordinary direction: gradients with respect to the weights.
    Everything after it freezes the weights and differentiates the input.
    """
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    losses = []
    model.train()
    for epoch in range(epochs):
        order = torch.randperm(x.shape[0], generator=gen).to(x.device)
        batch_losses, sizes = [], []  # read back once an epoch, not once a step
        for start in range(0, x.shape[0], batch_size):
            idx = order[start : start + batch_size]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            batch_losses.append(loss.detach())
            sizes.append(idx.shape[0])
        total = 0.0
        for batch_loss, size in zip(torch.stack(batch_losses).tolist(), sizes):
            total += batch_loss * size
        losses.append(total / x.shape[0])
        if on_epoch is not None:
            on_epoch(epoch + 1, losses[-1])
    model.eval()
    for p in model.parameters():  # frozen from here on: only inputs get gradients
        p.requires_grad_(False)
    return losses


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return float((model(x).argmax(dim=1) == y).float().mean())


def class_score(model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The logit of each example's target class: the "downstream value" we
    differentiate. Logits, not probabilities, so that a class's score does not
    go up merely because another class's went down."""
    return model(x).gather(1, target[:, None]).squeeze(1)


def saliency(model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """|∂ score_c / ∂x| (Simonyan et al., 2013): which pixels, nudged, would
    change the class score most. One backward pass, the absolute value of the
    gradient."""
    x = x.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(class_score(model, x, target).sum(), x)
    return grad.abs()


def integrated_gradients(
    model: nn.Module,
    x: torch.Tensor,
    target: torch.Tensor,
    baseline: torch.Tensor | None = None,
    steps: int = 50,
) -> torch.Tensor:
    """(x − x₀) ⊙ ∫₀¹ ∂score/∂x at x₀ + α(x − x₀) dα (Sundararajan et al., 2017).

    A single gradient only says what happens for a tiny nudge; a ReLU network
    can be saturated at x. Integrating the gradient along the straight line
    from a baseline x₀ (here a black image) adds up every nudge on the way,
    so the attributions sum to score(x) − score(x₀): "completeness". The
    integral is a midpoint Riemann sum over `steps` points, so the sum is
    exact only up to that discretisation; the lab reports the gap.
    """
    if baseline is None:
        baseline = torch.zeros_like(x)
    alphas = (torch.arange(steps, dtype=x.dtype, device=x.device) + 0.5) / steps
    # Every point on every path in one batch: shape (steps, B, 64) -> (steps·B, 64).
    path = baseline[None] + alphas[:, None, None] * (x - baseline)[None]
    path = path.reshape(-1, x.shape[-1]).detach().requires_grad_(True)
    targets = target.repeat(steps)
    (grads,) = torch.autograd.grad(class_score(model, path, targets).sum(), path)
    mean_grad = grads.reshape(steps, *x.shape).mean(dim=0)
    return (x - baseline) * mean_grad


@torch.no_grad()
def completeness_gap(
    model: nn.Module,
    x: torch.Tensor,
    target: torch.Tensor,
    attributions: torch.Tensor,
    baseline: torch.Tensor | None = None,
) -> torch.Tensor:
    """Σ attributions − (score(x) − score(baseline)), per example; 0 in the limit."""
    if baseline is None:
        baseline = torch.zeros_like(x)
    delta = class_score(model, x, target) - class_score(model, baseline, target)
    return attributions.sum(dim=1) - delta


def total_variation(image: torch.Tensor) -> torch.Tensor:
    """Σ of squared differences between neighbouring pixels of an 8×8 image:
    large for speckle, small for smooth strokes."""
    img = image.reshape(8, 8)
    return ((img[1:, :] - img[:-1, :]) ** 2).sum() + ((img[:, 1:] - img[:, :-1]) ** 2).sum()


def activation_maximisation(
    model: nn.Module,
    target: int,
    steps: int = 200,
    lr: float = 0.05,
    tv_weight: float = 0.3,
    l2_weight: float = 0.05,
    jitter: int = 1,
    seed: int = 0,
) -> tuple[torch.Tensor, list[float]]:
    """Gradient ASCENT on the input: the image that most excites class `target`.

    Left alone, ascent on the pixels finds high-frequency speckle that the
    network likes but no human reads as a digit. Three regularisers keep it
    readable: a total-variation penalty (neighbouring pixels should agree),
    an L2 penalty (no pixel louder than it needs to be), and jitter (the image
    is shifted by up to `jitter` pixels at random each step, so a pattern only
    survives if it works wherever it lands). Pixels stay in [0, 1].

    Returns the image (64 pixels) and the target's logit after each step.
    """
    device = next(model.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    image = (0.5 + 0.01 * torch.randn(64, generator=gen)).to(device)
    label = torch.tensor([target], device=device)
    # the scores stay on the device until the end: no read back (a GPU stall) per step
    scores = [class_score(model, image[None], label).detach()]
    # every step's shift drawn at once (the same draws as two a step)
    shifts = (torch.randint(-jitter, jitter + 1, (steps, 2), generator=gen).tolist()
              if jitter else [])
    for step in range(steps):
        image = image.detach().requires_grad_(True)
        shifted = image.reshape(8, 8)
        if jitter:
            dy, dx = shifts[step]
            shifted = torch.roll(shifted, shifts=(dy, dx), dims=(0, 1))
        objective = (
            class_score(model, shifted.reshape(1, 64), label).sum()
            - tv_weight * total_variation(image)
            - l2_weight * (image**2).sum()
        )
        (grad,) = torch.autograd.grad(objective, image)
        with torch.no_grad():
            image = (image + lr * grad).clamp(0.0, 1.0)
        scores.append(class_score(model, image[None], label).detach())
    return image.detach(), torch.cat(scores).tolist()


def fgsm(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epsilon: float) -> torch.Tensor:
    """x' = clip(x + ε·sign(∇ₓ L(x, y)), 0, 1) (Goodfellow et al., 2014).

    One step UP the loss, with every pixel moved by exactly ε in whichever
    direction hurts. The loss is summed over the batch so each example's
    gradient is its own (a mean would only rescale it; the sign is the same).
    """
    x = x.detach().clone().requires_grad_(True)
    loss = F.cross_entropy(model(x), y, reduction="sum")
    (grad,) = torch.autograd.grad(loss, x)
    return (x + epsilon * grad.sign()).clamp(0.0, 1.0).detach()


def fgsm_accuracies(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, epsilons: list[float]
) -> list[float]:
    return [accuracy(model, fgsm(model, x, y, eps), y) for eps in epsilons]


# ---------------------------------------------------------------------------
# The run: the functions above, in order, as events.
# ---------------------------------------------------------------------------


def _grid(values: torch.Tensor, decimals: int = 4) -> list[list[float]]:
    return [[round(float(v), decimals) for v in row] for row in values.detach().cpu()]


def _image(pixels: torch.Tensor) -> list[list[float]]:
    return _grid(pixels.reshape(8, 8))


def _run_regression(ctx: LabContext, n: int = 200, steps: int = 40) -> dict[str, Any]:
    device = ctx.torch_device
    x, y = make_regression_data(n, ctx.seed, device)
    ctx.emit(
        Text(
            "## A really shallow network\n\n"
            f"{n} made-up examples of one feature x with y = {TRUE_W}·x {TRUE_B:+} plus noise, "
            "fitted by ŷ = w·x + b with the mean squared error "
            "L = (1/N) Σ (yᵢ − ŷᵢ)². The two axes of the diary's bowl are the two "
            "parameters, w and b.\n\n"
            "A correction to the diary: with X of shape N×2 and w of shape 2×1, Xw has "
            "one prediction per example (N×1), so the bias cannot be a 2×1 vector. "
            "It is a **single number**, broadcast: the same b is added to every "
            "example's prediction. (In a layer with k outputs the bias has k "
            "entries, one per output unit, never one per input feature.)"
        )
    )

    ws = torch.linspace(TRUE_W - 3, TRUE_W + 3, 25, device=device)
    bs = torch.linspace(TRUE_B - 3, TRUE_B + 3, 25, device=device)
    surface = loss_surface(x, y, ws, bs)
    ctx.emit(
        Heatmap(
            title="MSE loss over (w, b): rows b, columns w",
            values=_grid(surface),
            row_labels=[f"b={float(v):.2f}" for v in bs],
            col_labels=[f"w={float(v):.2f}" for v in ws],
        )
    )

    start = (TRUE_W - 2.5, TRUE_B + 2.5)
    lr = 0.1
    batch = 8
    full = descent_path(x, y, start, lr, steps, batch_size=n, seed=ctx.seed)
    mini = descent_path(x, y, start, lr, steps, batch_size=batch, seed=ctx.seed)
    for series, path in (("full batch", full), (f"minibatch of {batch}", mini)):
        for w_val, b_val in path:
            ctx.emit(Metric("descent path", series, w_val, b_val, x_label="w", y_label="b"))
    w_ls, b_ls = least_squares(x, y)
    ctx.emit(
        Table(
            title=f"Where {steps} steps of gradient descent (lr {lr}) end",
            columns=["path", "w", "b", "loss"],
            rows=[
                [name, round(p[-1][0], 4), round(p[-1][1], 4),
                 round(float(mse(predict(x, p[-1][0], p[-1][1]), y)), 4)]
                for name, p in (("full batch", full), (f"minibatch of {batch}", mini))
            ]
            + [["least squares (closed form)", round(w_ls, 4), round(b_ls, 4),
                round(float(mse(predict(x, w_ls, b_ls), y)), 4)]],
        )
    )

    ctx.emit(
        Text(
            "## Now hold w and b fixed and move the input\n\n"
            f"With (w, b) frozen at the least-squares fit ({w_ls:.3f}, {b_ls:.3f}) the loss "
            "is a function of the data x. By the chain rule through ŷᵢ = w·xᵢ + b, "
            "∂L/∂xᵢ = (2/N)(ŷᵢ − yᵢ)·w: each input is pushed along w until its "
            "prediction lands on its label. Below, the loss as one input x₀ sweeps "
            "while the others stay put, autograd against the closed form, and "
            "gradient descent on the inputs themselves."
        )
    )
    x0_values = torch.linspace(-3, 3, 31, device=device)
    for x0 in x0_values:
        moved = x.clone()
        moved[0] = x0
        loss = loss_as_function_of_input(moved, y, w_ls, b_ls)
        grad = input_gradient(moved, y, w_ls, b_ls)[0]
        chart = "loss as a function of the input x₀"
        ctx.emit(Metric(chart, "L", float(x0), float(loss), x_label="x₀", y_label="L"))
        ctx.emit(Metric(chart, "∂L/∂x₀", float(x0), float(grad), x_label="x₀", y_label="L"))

    auto = input_gradient(x, y, w_ls, b_ls)
    closed = input_gradient_closed_form(x, y, w_ls, b_ls)
    ctx.emit(
        Table(
            title="∂L/∂x: autograd against (2/N)(ŷ − y)·w, first 5 examples",
            columns=["i", "x", "y", "ŷ", "autograd", "closed form"],
            rows=[
                [i, round(float(x[i]), 4), round(float(y[i]), 4),
                 round(float(predict(x[i], w_ls, b_ls)), 4),
                 float(f"{float(auto[i]):.6g}"), float(f"{float(closed[i]):.6g}")]
                for i in range(5)
            ],
        )
    )
    losses = descend_inputs(x, y, w_ls, b_ls, steps=8)
    for step, value in enumerate(losses):
        ctx.emit(Metric("descending the inputs, weights frozen", "MSE", step, value,
                        x_label="step on x", y_label="MSE"))
    return {
        "least_squares": [round(w_ls, 4), round(b_ls, 4)],
        "full_batch_end": [round(full[-1][0], 4), round(full[-1][1], 4)],
        "minibatch_end": [round(mini[-1][0], 4), round(mini[-1][1], 4)],
        "input_gradient_max_abs_diff": float((auto - closed).abs().max()),
        "input_descent_loss": [round(losses[0], 6), round(losses[-1], 6)],
    }


def run(params: dict[str, Any], ctx: LabContext) -> dict[str, Any]:
    ctx.seed_everything()
    device = ctx.torch_device
    summary: dict[str, Any] = {"regression": _run_regression(ctx)}

    # --- the classifier, trained the ordinary way -------------------------
    split = load_digits_split(ctx.seed).to(device)
    x_train, y_train, x_test, y_test = split.x_train, split.y_train, split.x_test, split.y_test
    model = make_classifier().to(device)
    epochs = int(params["epochs"])

    def on_epoch(epoch: int, loss: float) -> None:
        ctx.progress(epoch, epochs, "training the digits classifier")
        ctx.emit(Metric("digits training loss", "train", epoch, loss,
                        x_label="epoch", y_label="cross-entropy"))

    train_classifier(model, x_train, y_train, epochs, seed=ctx.seed, on_epoch=on_epoch)
    test_acc = accuracy(model, x_test, y_test)
    summary["test_accuracy"] = round(test_acc, 4)
    ctx.emit(
        Text(
            "## A digits classifier, frozen\n\n"
            f"A 64→64→10 ReLU network trained for {epochs} epochs reaches "
            f"{test_acc:.1%} on {x_test.shape[0]} held-out digits. From here on its "
            "weights never change; every gradient is taken with respect to the pixels."
        )
    )

    # --- saliency and integrated gradients on one test digit -------------
    with torch.no_grad():
        predictions = model(x_test).argmax(dim=1)
    correct = (predictions == y_test).nonzero().flatten()
    i = int(correct[0]) if correct.numel() else 0
    x_one, y_one = x_test[i : i + 1], y_test[i : i + 1]
    digit = int(y_one)
    ctx.emit(Heatmap(f"test digit #{i} (a {digit})", _image(x_one)))
    sal = saliency(model, x_one, y_one)
    ctx.emit(Heatmap(f"saliency |∂score_{digit}/∂x|", _image(sal)))
    ig = integrated_gradients(model, x_one, y_one, steps=int(params["ig_steps"]))
    gap = float(completeness_gap(model, x_one, y_one, ig)[0])
    ctx.emit(Heatmap(f"integrated gradients for class {digit} (black baseline)", _image(ig)))
    with torch.no_grad():
        score_x = float(class_score(model, x_one, y_one))
        score_0 = float(class_score(model, torch.zeros_like(x_one), y_one))
    ctx.emit(
        Table(
            title="Completeness: integrated gradients add up to the change in score",
            columns=["score(x)", "score(black)", "difference", "Σ attributions", "gap"],
            rows=[[round(score_x, 4), round(score_0, 4), round(score_x - score_0, 4),
                   round(float(ig.sum()), 4), float(f"{gap:.3g}")]],
        )
    )
    ctx.emit(
        Text(
            f"Here a class's *score* is its logit, the network's output for that class "
            f"before the softmax; score_{digit} is the true class's. "
            "Saliency is the size of the gradient at the image: where a tiny change "
            "matters. Integrated gradients accumulate the gradient along the straight "
            f"line from a black image to this one ({params['ig_steps']} steps), so the "
            "attributions are signed and sum to score(x) − score(black); the gap above "
            "is the error of the Riemann sum and shrinks as ig_steps grows."
        )
    )
    # to 3 significant digits: past them it is float rounding, and changes
    # with the number of threads
    summary["ig_completeness_gap"] = float(f"{gap:.3g}")

    # --- activation maximisation: ascend the input ------------------------
    rows = []
    for target in range(10):
        image, scores = activation_maximisation(model, target, seed=ctx.seed + target)
        with torch.no_grad():
            prob = float(F.softmax(model(image[None]), dim=1)[0, target])
        ctx.emit(Heatmap(f"activation maximisation: the input that most says {target}",
                         _image(image)))
        rows.append([target, round(scores[0], 3), round(scores[-1], 3), round(prob, 4)])
        ctx.progress(target + 1, 10, "activation maximisation")
    ctx.emit(
        Table(
            title="Gradient ascent on the input, per class (TV + L2 penalty, jitter)",
            columns=["class", "logit at start", "logit at end", "P(class) at end"],
            rows=rows,
        )
    )
    summary["activation_max_logit_gain"] = round(
        sum(r[2] - r[1] for r in rows) / len(rows), 3
    )

    # --- FGSM: one signed step up the loss --------------------------------
    epsilons = [e / 100 for e in params["epsilons"]]
    accs = fgsm_accuracies(model, x_test, y_test, epsilons)
    for eps, acc in zip(epsilons, accs):
        ctx.emit(Metric("test accuracy under FGSM", "accuracy", eps, acc,
                        x_label="ε", y_label="accuracy"))
    # The same attack with the gradient in float64: for a digit the model is
    # very sure of, ∇ₓL is ~1e-7 and some of its float32 signs are rounding
    # noise, so a digit or two may differ (between float32 and float64, or
    # between a CPU and a GPU run).
    model64 = copy.deepcopy(model).to(dtype=torch.float64)
    accs64 = fgsm_accuracies(model64, x_test.double(), y_test, epsilons)
    ctx.emit(
        Table(
            title="FGSM: x' = clip(x + ε·sign(∇ₓL), 0, 1)",
            columns=["ε", "test accuracy", "with the gradient in float64"],
            rows=[[eps, round(acc, 4), round(acc64, 4)]
                  for eps, acc, acc64 in zip(epsilons, accs, accs64)],
        )
    )
    differ = max(round(abs(a - b) * x_test.shape[0]) for a, b in zip(accs, accs64))
    ctx.emit(Text(
        "The float64 column repeats the attack with the gradient computed in double "
        "precision: for a digit the model is very sure of, the loss's gradient with respect "
        "to the pixels is around 1e-7, and in float32 some of its signs are rounding noise. "
        + (f"Here the two differ by at most {differ} digit{'s' if differ != 1 else ''}; the "
           "same can happen between a CPU and a GPU run." if differ else
           "Here they agree on every digit; on another device or seed one may differ.")))
    # Show the smallest ε that flips our example digit, if any does.
    for eps in sorted(e for e in epsilons if e > 0):
        adv = fgsm(model, x_one, y_one, eps)
        with torch.no_grad():
            new = int(model(adv).argmax(dim=1))
        if new != digit:
            ctx.emit(Heatmap(f"the {digit} after FGSM with ε={eps:g}: now read as {new}",
                             _image(adv)))
            break
    # Keyed by ε in hundredths, as the `epsilons` parameter is, so a deck's
    # Reveal: can name one (fgsm_accuracy.10 is ε = 0.1).
    summary["fgsm_accuracy"] = {
        str(e): round(acc, 4) for e, acc in zip(params["epsilons"], accs)
    }
    return summary
