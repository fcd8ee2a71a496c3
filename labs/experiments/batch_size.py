"""Lab 1: batch size, SGD noise and the partial last batch.

The diary that this lab follows changed one number in the PyTorch CIFAR-10
tutorial, `batch_size` from 4 to 64, and watched performance drop. The diary
says only that the cause was "a typo in how I calculated the loss on the test
data", not which typo; section 3 shows one slip a partial last batch invites,
and how small its effect is. The detour led to McCandlish et al., "An Empirical
Model of Large-Batch Training" (2018).
This file walks the same road, top to bottom:

1. the data, and a small classifier to train on it;
2. the partial last batch: what `N % B` does to a DataLoader;
3. an averaging bug it invites, for losses and for gradients;
4. training at several batch sizes for the same number of examples;
5. steps versus examples to reach a target accuracy;
6. the gradient noise scale B_simple = tr(Σ)/|G|², the batch size past which a
   bigger batch stops buying fewer steps.
7. several processes (torchrun): data-parallel training with PyTorch's
   DistributedDataParallel, and the noise scale it measures for free.

Each section is prose, then a few small functions, then the `_report_...`
function that shows them on this run's data as events (tables, text, curve
points). `_run` at the bottom is the list of those reports, in the order the
learner sees them. The functions are pure enough for the tests in tests/labs/
to check every number against autograd or closed-form math.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from labs.catalog import ParamError, noise_batches
from labs.events import Metric, Table, Text

if TYPE_CHECKING:  # pragma: no cover
    from labs.context import LabContext
    from labs.data import Split

LossFn = Callable[["torch.Tensor", "torch.Tensor"], "torch.Tensor"]

# The charts the training curves are drawn on (section 4), and the noise scale's (section 6).
ACCURACY_VS_EXAMPLES = "test accuracy vs examples"
LOSS_VS_EXAMPLES = "test loss vs examples"
ACCURACY_VS_STEPS = "test accuracy vs steps"
NOISE_VS_EXAMPLES = "gradient noise scale vs examples"


# ---------------------------------------------------------------------------
# 1. The data and the model
# ---------------------------------------------------------------------------
#
# scikit-learn's digits are 1797 images of 8×8 pixels. A stratified 70/30
# split gives N = 1257 training and 540 test images, small enough that one
# batch can hold the whole training set: "full-batch gradient descent" is just
# the batch size 1257. CIFAR-10 (50000 training images of 32×32×3) is there for
# a learner who has its tarball and wants the diary's own dataset.
#
# The classifier is a one-hidden-layer perceptron. It is deliberately small:
# on two CPU cores a step costs a few hundred microseconds whatever the batch
# size up to a few hundred, which is itself the first lesson about batch size:
# small batches are paid for in steps, and steps have a fixed overhead.


def load_data(params: dict, seed: int) -> Split:
    from labs.data import DataError, default_cifar10_path, load_cifar10, load_digits_split

    if params["dataset"] == "cifar10":
        path = params["cifar_path"] or str(default_cifar10_path())
        try:
            return load_cifar10(path)
        except DataError as exc:
            raise ParamError(f"cifar_path: {exc}") from None
    return load_digits_split(seed)


def make_classifier(features: int, hidden: int, classes: int) -> nn.Module:
    return nn.Sequential(nn.Linear(features, hidden), nn.ReLU(), nn.Linear(hidden, classes))


# What the run says first: the data, and the rules of the comparison. A batch
# size bigger than the training set is the training set.


def _batch_sizes(requested: list[int], n: int) -> list[int]:
    """The batch sizes to compare, smallest first, none above the `n` training examples."""
    return sorted({min(b, n) for b in requested})


def _report_data(data: Split, params: dict, ctx: LabContext) -> None:
    """The data's size and shape, and what every batch size holds fixed: examples, their
    order, the initial weights and the learning rate. Under torchrun, a second paragraph
    on how the processes share each batch (section 7)."""
    n_train, n_test = len(data.x_train), len(data.x_test)
    ctx.emit(Text(
        f"## Batch size on {data.name}\n\n"
        f"{n_train} training and {n_test} test examples, {data.features} features, "
        f"{len(data.classes)} classes. Every batch size below sees the same "
        f"{params['examples']} training examples, in the same order, from the same "
        f"initial weights, with SGD at learning rate {params['lr']:g}; only the "
        "grouping into steps differs."
        + (
            f"\n\nBatch sizes above N = {n_train} were cut to {n_train}: a batch cannot "
            "hold more examples than there are."
            if any(b > n_train for b in params["batch_sizes"]) else ""
        )
    ))
    group = ctx.group
    if group is not None:
        ctx.emit(Text(
            f"**Data parallel over {group.world_size} processes** (torch.distributed, "
            f"backend {group.backend}, on {ctx.device}). Each global batch of B examples is "
            f"cut into {group.world_size} shards whose sizes differ by at most one, one per "
            "process, and DistributedDataParallel all-reduces their gradients, each weighted "
            "by its shard's size: every step is the single-process step, up to the order "
            "in which floating-point sums are taken. Each step now also waits for an "
            "all-reduce, a fixed cost that small batches pay most often: see the cost "
            "table. All processes compute the same curves; process 0 reports them."
            + (f"\n\n{group.note}" if group.note else "")
        ))


# ---------------------------------------------------------------------------
# 2. The partial last batch
# ---------------------------------------------------------------------------
#
# A DataLoader cuts N examples into batches of B. Unless B divides N, the last
# batch holds only N % B examples (CIFAR-10 with B = 64: 50000 % 64 = 16).
# `drop_last=True` throws that remainder away instead, so an epoch then has
# N // B batches and skips N % B examples (different ones each epoch when the
# loader shuffles).


def partial_batch_rows(n: int, batch_sizes: list[int]) -> list[list[int]]:
    """[B, N % B, last batch size, len(loader), len(loader with drop_last)] for each B."""
    from torch.utils.data import DataLoader, TensorDataset

    dataset = TensorDataset(torch.arange(n))
    rows = []
    for b in batch_sizes:
        keep = len(DataLoader(dataset, batch_size=b, drop_last=False))
        drop = len(DataLoader(dataset, batch_size=b, drop_last=True))
        last = n % b if n % b else min(b, n)
        rows.append([b, n % b, last, keep, drop])
    return rows


def _report_partial_batch(n: int, batch_sizes: list[int], ctx: LabContext) -> None:
    """The remainder each batch size leaves at the end of an epoch of `n`, with and without
    `drop_last`, so the short batch of the next section is there to see."""
    ctx.emit(Table(
        title=f"The partial last batch (N = {n} training examples)",
        columns=["B", "N % B", "last batch", "len(DataLoader)", "len(DataLoader, drop_last=True)"],
        rows=partial_batch_rows(n, batch_sizes),
    ))
    ctx.emit(Text(
        "When B does not divide N, an epoch ends with a short batch of N % B examples "
        "(CIFAR-10 with B = 64: 50000 % 64 = 16). `drop_last=True` skips it instead, "
        "so the epoch has N // B steps and leaves N % B examples out. Neither is a bug; "
        "averaging over such batches as if they were all full is."
    ))


# ---------------------------------------------------------------------------
# 3. Averaging over batches: a bug the partial last batch invites
# ---------------------------------------------------------------------------
#
# The diary's own slip was "a typo in how I calculated the loss on the test
# data"; it does not say which. This is one such slip, and not a big one: it
# moves the loss by the weight it gives one short batch, far too little to
# explain a dramatic drop on its own.
#
# `F.cross_entropy` returns the mean loss over its batch. Evaluating a test set
# batch by batch and then averaging those batch means treats the short last
# batch as if it held B examples: its examples count B / (N % B) times as much
# as the others. The correct average weights each batch mean by its size,
# which is the same as summing per-example losses and dividing by N. The two
# agree exactly when B divides N, and only then.


def test_loss_two_ways(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int
) -> tuple[float, float]:
    """(mean of per-batch mean losses, correct per-example mean loss) over (x, y) in order."""
    batch_means = []
    sizes = []
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            # (≤ B, features), (≤ B,): the last batch holds N % B when B does not divide N
            xb, yb = x[start : start + batch_size], y[start : start + batch_size]
            batch_means.append(F.cross_entropy(model(xb), yb))  # () the batch's mean loss
            sizes.append(len(xb))
    # Combined in float64 on the CPU (MPS has no float64), so the two ways
    # differ only by how they weight the batches, not by rounding.
    means = torch.stack(batch_means).cpu().double()  # (batches,)
    weights = torch.tensor(sizes, dtype=torch.float64)  # (batches,) examples in each
    buggy = means.mean()
    correct = (means * weights).sum() / weights.sum()
    return float(buggy), float(correct)


# The same trap waits for anyone who accumulates gradients over several
# batches before one optimizer step (to fit a big batch in a small GPU): the
# full-batch gradient is the *example-weighted* mean of the batch gradients.


def accumulated_gradient(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int,
    weighted: bool = True,
    loss_fn: LossFn = F.cross_entropy,
) -> list[torch.Tensor]:
    """The gradient of the mean loss over (x, y), accumulated batch by batch.

    With `weighted=False` each batch counts the same, whatever its size: the
    bug, which differs from the full-batch gradient when the last batch is short.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    total = [torch.zeros_like(p) for p in params]  # one per parameter, of its shape
    n = len(x)
    batches = 0
    for start in range(0, n, batch_size):
        xb, yb = x[start : start + batch_size], y[start : start + batch_size]
        grads = torch.autograd.grad(loss_fn(model(xb), yb), params)
        weight = len(xb) / n if weighted else 1.0
        for acc, g in zip(total, grads):
            acc.add_(g, alpha=weight)
        batches += 1
    if not weighted:
        total = [t / batches for t in total]
    return total


def _relative_difference(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    diff = math.sqrt(sum(float((u - v).pow(2).sum()) for u, v in zip(a, b)))
    norm = math.sqrt(sum(float(v.pow(2).sum()) for v in b))
    return diff / norm if norm > 0 else diff


# The lab shows the bug on a trained model (the reference run of section 4),
# so the losses are those of a model worth evaluating: first its test loss
# averaged both ways at every evaluation batch size, then its training-set
# gradient accumulated both ways against the full-batch gradient.


def _averaging_shift_text(loss_rows: list[list[float]]) -> str:
    """How far the mean of batch means strayed from the per-example mean, as a
    share of the loss, and what the diary itself says of its slip."""
    worst = max(loss_rows, key=lambda r: abs(r[5]) / r[4] if r[4] else 0.0)
    share = abs(worst[5]) / worst[4] if worst[4] else 0.0
    return (
        f"The largest shift here is {share:.1%} of the loss (eval B = {worst[0]}, a last "
        f"batch of {worst[1]}), and it moves only the reported loss, never a prediction or the "
        "accuracy: on its own it cannot explain a dramatic drop in performance. The diary "
        "says only that its drop came from \"a typo in how I calculated the loss on the "
        "test data\", not which typo; this is one slip a partial last batch invites."
    )


def _report_averaging(
    model: nn.Module, data: Split, batch_sizes: list[int], reference: int, ctx: LabContext
) -> None:
    """Two tables: the test loss of the B=`reference` model as the mean of batch means and
    as the per-example mean, for each evaluation batch size; and how far the weighted and
    unweighted accumulated gradients are from the full-batch gradient."""
    n_train, n_test = len(data.x_train), len(data.x_test)
    loss_rows = []
    # a batch bigger than the test set is the whole test set, one batch: its row
    # says so (B = N), once
    for b in dict.fromkeys(min(b, n_test) for b in batch_sizes):
        buggy, correct = test_loss_two_ways(model, data.x_test, data.y_test, b)
        loss_rows.append([b, n_test % b, math.ceil(n_test / b),
                          round(buggy, 6), round(correct, 6), round(buggy - correct, 6)])
    ctx.emit(Table(
        title=f"Test loss of the B={reference} model, averaged two ways (N = {n_test})",
        columns=["eval B", "N % B", "batches", "mean of batch means", "per-example mean",
                 "difference"],
        rows=loss_rows,
    ))
    ctx.emit(Text(
        "The left column averages `F.cross_entropy` batch means, so each example of a "
        "short last batch counts B / (N % B) times as much as the others, and the "
        "number moves with the evaluation batch size although the model did not "
        "change. The per-example mean (sum the losses, divide by N, or weight each "
        "batch mean by its size) is the same for every B. "
        + _averaging_shift_text(loss_rows)
    ))

    grad_rows = []
    full = accumulated_gradient(model, data.x_train, data.y_train, n_train)
    for b in batch_sizes:
        weighted = accumulated_gradient(model, data.x_train, data.y_train, b, True)
        unweighted = accumulated_gradient(model, data.x_train, data.y_train, b, False)
        grad_rows.append([b, n_train % b, _relative_difference(weighted, full),
                          _relative_difference(unweighted, full)])
    ctx.emit(Table(
        title="Accumulating batch gradients: |accumulated - full| / |full|",
        columns=["B", "N % B", "weighted by batch size", "every batch alike"],
        rows=[[b, r, float(f"{w:.3g}"), float(f"{u:.3g}")] for b, r, w, u in grad_rows],
    ))


# ---------------------------------------------------------------------------
# 4. Training at each batch size for the same number of examples
# ---------------------------------------------------------------------------
#
# A fair comparison gives every batch size the same budget of *examples*, the
# same initial weights, the same learning rate and the same order of examples;
# only how the examples are grouped into steps differs. So B = 1 takes 20000
# steps where B = 1257 takes 16: each of its steps is noisier, but it takes
# many more of them.
#
# Like a DataLoader with shuffle=True and drop_last=False, each epoch is a fresh
# permutation cut into batches, the last one short. To keep the hot loop free
# of DataLoader overhead (a real cost at B = 1) we permute the tensors once per
# epoch and slice them.
#
# The update itself is plain SGD, w ← w - lr·∇L, written out: it is exactly what
# torch.optim.SGD does without momentum (a test checks that), and at B = 1 the
# optimizer object's own bookkeeping would cost more than the arithmetic.
#
# We evaluate on a geometric grid of steps (every step at first, then every 5%
# more steps), which resolves "steps to reach a target" to within 5% for every
# batch size at a small, fixed cost.


def sgd_step(params: Sequence[torch.Tensor], loss: torch.Tensor, lr: float) -> None:
    grads = torch.autograd.grad(loss, list(params))
    with torch.no_grad():
        for p, g in zip(params, grads):
            p.sub_(g, alpha=lr)


def steps_for_budget(n: int, batch_size: int, examples: int) -> int:
    """Optimizer steps needed to see `examples` examples in epochs of `n` cut into batches."""
    full_epochs, rest = divmod(examples, n)
    return full_epochs * math.ceil(n / batch_size) + math.ceil(rest / batch_size)


# Evaluations are at most 2.5 % of the steps apart (consecutive steps early
# on), so a crossing is placed to within 2.5 %; and since test accuracy is
# noisy (one lucky evaluation can touch the target long before the run holds
# it), a run "reaches" the target at the first of SUSTAIN evaluations in a row
# at or above it (or of those left, at the very end of training).
EVAL_RATIO = 1.025
SUSTAIN = 3


def eval_steps(total_steps: int, ratio: float = EVAL_RATIO) -> list[int]:
    """Steps after which to evaluate: 1, 2, 3, ... then about `ratio` apart, and the last."""
    steps, s = [], 1
    while s < total_steps:
        steps.append(s)
        s = max(s + 1, math.ceil(s * ratio))
    steps.append(total_steps)
    return steps


@dataclass
class Curve:
    """What one batch size's training run measured, at each evaluation."""

    batch_size: int
    steps: list[int] = field(default_factory=list)
    examples: list[int] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    train_seconds: float = 0.0  # training steps only, evaluation excluded


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """(accuracy, per-example mean cross-entropy) over the whole of (x, y) at once."""
    with torch.no_grad():
        logits = model(x)  # (N, classes)
        loss = F.cross_entropy(logits, y)
        accuracy = (logits.argmax(dim=1) == y).float().mean()
    return float(accuracy), float(loss)


def _sync(device: torch.device) -> None:
    # CUDA and MPS run asynchronously: without a barrier the clock would stop before the
    # GPU does.
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def train_at_batch_size(
    model: nn.Module,
    data: Split,
    batch_size: int,
    examples: int,
    lr: float,
    order_seed: int,
    x_eval: torch.Tensor,
    y_eval: torch.Tensor,
    on_eval: Callable[[Curve], None] = lambda curve: None,
    parallel: DataParallelSGD | None = None,
) -> Curve:
    """Plain SGD on mean cross-entropy until `examples` examples were seen.

    With `parallel` (one of several processes, section 7) each step trains this
    process's shard of the batch, and the processes make the same update together.
    """
    device = data.x_train.device
    n = len(data.x_train)
    total_steps = steps_for_budget(n, batch_size, examples)
    evaluate_at = set(eval_steps(total_steps))
    params = [p for p in model.parameters() if p.requires_grad]
    # The same seed for every batch size: all runs see the examples in the same order.
    order = torch.Generator().manual_seed(order_seed)
    curve = Curve(batch_size)
    seen = step = 0
    _sync(device)
    started = time.perf_counter()
    while seen < examples:
        perm = torch.randperm(n, generator=order).to(device)  # (N,) this epoch's order
        x_epoch, y_epoch = data.x_train[perm], data.y_train[perm]  # (N, features), (N,)
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n, start + examples - seen)
            if parallel is None:
                loss = F.cross_entropy(model(x_epoch[start:stop]), y_epoch[start:stop])
                sgd_step(params, loss, lr)
            else:
                parallel.step(x_epoch[start:stop], y_epoch[start:stop], lr)
            seen += stop - start
            step += 1
            if step in evaluate_at:
                _sync(device)
                curve.train_seconds += time.perf_counter() - started
                accuracy, test_loss = evaluate(model, x_eval, y_eval)
                curve.steps.append(step)
                curve.examples.append(seen)
                curve.accuracy.append(accuracy)
                curve.loss.append(test_loss)
                on_eval(curve)
                started = time.perf_counter()
            if seen >= examples:
                break
    return curve


# The sweep runs the batch sizes one after another from one set of initial
# weights and reports each evaluation as it happens: three curves (accuracy
# and loss against examples seen, accuracy against steps) and a progress bar
# over all the runs' steps. The middle batch size is the reference: section 3
# shows the averaging bug on its model, and section 6 measures the noise
# scale along its run, while it trains.


@dataclass
class Sweep:
    """What training at every batch size produced, for the sections that report on it."""

    batch_sizes: list[int]
    reference: int  # the middle batch size
    noise: NoiseTrack  # measured along the reference run
    curves: list[Curve] = field(default_factory=list)
    models: dict[int, nn.Module] = field(default_factory=dict)
    # (accuracy, loss) of each batch size's trained model on the whole test set
    final: dict[int, tuple[float, float]] = field(default_factory=dict)


def _train_sweep(
    data: Split, batch_sizes: list[int], params: dict, ctx: LabContext, b_small: int, b_big: int
) -> Sweep:
    """Train a classifier at each batch size on the same budget of examples, emitting every
    evaluation as three curve points, and the noise scale along the reference run."""
    device, group = ctx.torch_device, ctx.group
    n_train, budget = len(data.x_train), params["examples"]  # examples for each batch size
    torch.manual_seed(ctx.seed)
    initial = make_classifier(data.features, params["hidden"], len(data.classes)).to(device)
    initial_state = copy.deepcopy(initial.state_dict())

    # Curves are drawn on a fixed slice of the test set, at most 2000 examples,
    # so that frequent evaluation stays cheap on CIFAR-10; final numbers use all of it.
    x_eval, y_eval = data.x_test[:2000], data.y_test[:2000]  # (≤ 2000, features), (≤ 2000,)
    total_steps = sum(steps_for_budget(n_train, b, budget) for b in batch_sizes)

    reference = batch_sizes[(len(batch_sizes) - 1) // 2]
    noise = NoiseTrack.along(reference, n_train, budget, params["target"], b_small, b_big,
                             params["noise_draws"], ctx.seed)
    sweep = Sweep(batch_sizes, reference, noise)
    steps_before = 0
    for b in batch_sizes:
        model = make_classifier(data.features, params["hidden"], len(data.classes)).to(device)
        model.load_state_dict(initial_state)
        series = f"B={b}"
        parallel = None if group is None else DataParallelSGD(
            model, group, n_train, measure_noise=(b == reference))

        def on_eval(
            curve: Curve, series: str = series, offset: int = steps_before, model=model,
            parallel: DataParallelSGD | None = parallel,
        ) -> None:
            steps, examples = curve.steps[-1], curve.examples[-1]
            ctx.emit(Metric(ACCURACY_VS_EXAMPLES, series, examples, curve.accuracy[-1],
                            "examples seen", "test accuracy"))
            ctx.emit(Metric(LOSS_VS_EXAMPLES, series, examples, curve.loss[-1],
                            "examples seen", "test loss"))
            ctx.emit(Metric(ACCURACY_VS_STEPS, series, steps, curve.accuracy[-1],
                            "steps", "test accuracy"))
            if curve.batch_size == reference:
                noise.look(model, data, curve, series, ctx, parallel)
            ctx.progress(offset + steps, total_steps, f"training {series}")

        curve = train_at_batch_size(
            model, data, b, budget, params["lr"], ctx.seed, x_eval, y_eval, on_eval, parallel,
        )
        sweep.curves.append(curve)
        sweep.models[b] = model
        steps_before += curve.steps[-1]

    sweep.final = {b: evaluate(sweep.models[b], data.x_test, data.y_test) for b in batch_sizes}
    return sweep


# What the steps cost: wall time per epoch and per step at each batch size,
# beside what they bought. A step's cost is nearly flat in B up to some size,
# and the text after the table says where that flat region ends on this machine.


def _report_cost(sweep: Sweep, n: int, examples: int, ctx: LabContext) -> None:
    """Training time (evaluation left out) per run, per epoch and per step, with each
    model's final test accuracy and loss; then where a step stops costing the same."""
    epochs = examples / n
    group = ctx.group
    final = sweep.final
    ctx.emit(Table(
        title=f"Training cost per batch size on {ctx.device}"
              + (f" × {group.world_size} processes" if group else "")
              + " (evaluation not counted)",
        columns=["B", "steps", "epochs", "train s", "s / epoch", "ms / step",
                 "test accuracy", "test loss"],
        rows=[
            [c.batch_size, c.steps[-1], round(epochs, 2), round(c.train_seconds, 3),
             round(c.train_seconds / epochs, 4), round(1000 * c.train_seconds / c.steps[-1], 3),
             round(final[c.batch_size][0], 4), round(final[c.batch_size][1], 4)]
            for c in sweep.curves
        ],
    ))
    ctx.emit(Text(_cost_text(sweep.curves)))


def _cost_text(curves: list[Curve]) -> str:
    per_step = {c.batch_size: c.train_seconds / c.steps[-1] for c in curves}
    smallest = min(per_step)
    flat = [b for b, t in per_step.items() if t <= 2 * per_step[smallest]]
    return (
        f"A step at B = {max(flat)} took {1000 * per_step[max(flat)]:.2f} ms, no more than "
        f"twice the {1000 * per_step[smallest]:.2f} ms of a step at B = {smallest}: up to "
        "there, most of a step's cost is fixed overhead (Python, kernel launches, "
        "autograd's bookkeeping), not arithmetic, so a bigger batch is nearly free per "
        "step. Small batches pay in steps, hence in wall time, even when they need fewer "
        "examples. On a GPU that flat region reaches much larger batches."
    )


# ---------------------------------------------------------------------------
# 5. Steps and examples to a target
# ---------------------------------------------------------------------------
#
# McCandlish et al. find that, across batch sizes, the steps S and examples E
# needed to reach a given loss trade off along a hyperbola
#
#     (S / S_min - 1) (E / E_min - 1) = 1,
#
# where S_min is the fewest steps any batch size can do it in (infinitely large
# batches) and E_min the fewest examples (batch size 1, tiny steps). With
# E = B S this says S = S_min + E_min / B: a straight line in 1/B. The critical
# batch size B_crit = E_min / S_min is where both costs are twice their minimum.
#
# We fit that line to the runs that reached the target, by least squares on
# the *relative* error of S (a run of 5000 steps and one of 20 steps should
# count alike), using each run's mean batch size E/S. The paper tunes the
# learning rate for every batch size; we keep one learning rate for all, so
# read the fit as a description of these runs, not as the paper's law.


def first_reaching(curve: Curve, target: float,
                   sustain: int = SUSTAIN) -> tuple[int, int] | None:
    """(steps, examples) at the first evaluation that starts `sustain` in a row
    with accuracy >= target (fewer when training ends first), if any."""
    acc = curve.accuracy
    for i, (steps, examples) in enumerate(zip(curve.steps, curve.examples)):
        if all(a >= target for a in acc[i:i + sustain]):
            return steps, examples
    return None


@dataclass
class TradeOffFit:
    s_min: float
    e_min: float
    max_relative_error: float

    @property
    def b_crit(self) -> float:
        return self.e_min / self.s_min

    def steps(self, batch_size: float) -> float:
        return self.s_min + self.e_min / batch_size


def fit_steps_examples(reached: list[tuple[int, int]]) -> TradeOffFit | None:
    """Fit S = S_min + E_min / B to (steps, examples) pairs; None when it cannot be done honestly.

    Needs three runs or more (two fix a line exactly and test nothing), and
    both constants must come out positive.
    """
    if len(reached) < 3:
        return None
    s = torch.tensor([float(st) for st, _ in reached], dtype=torch.float64)
    e = torch.tensor([float(ex) for _, ex in reached], dtype=torch.float64)
    inv_b = s / e  # (runs,) 1 / mean batch size
    # Rows [1/S, (1/B)/S] · [S_min, E_min] ≈ 1 is "relative error of S" least squares.
    design = torch.stack([1.0 / s, inv_b / s], dim=1)  # (runs, 2)
    solution = torch.linalg.lstsq(design, torch.ones_like(s).unsqueeze(1)).solution.squeeze(1)
    s_min, e_min = float(solution[0]), float(solution[1])
    if not (s_min > 0 and e_min > 0):
        return None
    predicted = s_min + e_min * inv_b
    max_rel = float(((predicted - s) / s).abs().max())
    return TradeOffFit(s_min, e_min, max_rel)


# The report comes after section 6's, since its text weighs the fitted B_crit
# against the B_simple measured there.


def _report_steps(
    sweep: Sweep, target: float, examples: int, ctx: LabContext
) -> tuple[dict[int, tuple[int, int] | None], TradeOffFit | None]:
    """Steps and examples each batch size took to first reach `target`, what the fitted
    hyperbola says they should be, and what the fit's B_crit means beside B_simple.

    Returns each batch size's (steps, examples), None where it never got there, and the fit.
    """
    reached = {c.batch_size: first_reaching(c, target) for c in sweep.curves}
    hits = [r for r in reached.values() if r is not None]
    fit = fit_steps_examples(hits)
    trade_rows = []
    for c in sweep.curves:
        hit = reached[c.batch_size]
        mean_batch = hit[1] / hit[0] if hit else c.batch_size
        trade_rows.append([
            c.batch_size,
            hit[0] if hit else None,
            hit[1] if hit else None,
            round(fit.steps(mean_batch)) if fit else None,
            round(fit.steps(mean_batch) * mean_batch) if fit else None,
        ])
    ctx.emit(Table(
        title=f"Steps and examples to reach {target:.0%} test accuracy",
        columns=["B", "steps", "examples", "fit: steps", "fit: examples"],
        rows=trade_rows,
    ))
    noise = sweep.noise
    ctx.emit(Text(_trade_off_text(target, examples, hits, fit, noise.at_target, sweep.reference,
                                  noise.target_step is not None, noise.target_step)))
    return reached, fit


def _trade_off_text(
    target: float,
    examples: int,
    hits: list[tuple[int, int]],
    fit: TradeOffFit | None,
    noise: NoiseScale,
    reference: int,
    noise_at_target: bool,
    step: int | None = None,
) -> str:
    b_simple = noise.b_simple
    parts = [
        f"Small batches reach {target:.0%} in few examples but many steps; large ones in "
        "few steps but many examples, or not at all within the budget. A run reaches the "
        f"target at the first of {SUSTAIN} evaluations in a row at or above it "
        "(evaluations are at most 2.5% of the steps apart): test accuracy is noisy, and "
        "one lucky evaluation can touch the target long before the run holds it."
    ]
    if fit is None:
        parts.append(
            f"Only {len(hits)} batch size(s) reached the target within {examples} examples, "
            "too few to fit S = S_min + E_min/B honestly; the table is as measured."
            if len(hits) < 3
            else "The measured points do not fit S = S_min + E_min/B with positive "
            "constants, so there is no S_min/E_min to report; the table is as measured."
        )
    else:
        parts.append(
            f"Fitting S = S_min + E_min/B to the {len(hits)} runs that reached it gives "
            f"S_min ≈ {fit.s_min:.0f} steps and E_min ≈ {fit.e_min:.0f} examples, so "
            f"B_crit = E_min/S_min ≈ {fit.b_crit:.1f} (the fit misses the measured steps "
            f"by up to {fit.max_relative_error:.0%})."
        )
    if b_simple is None:
        parts.append(
            f"Along the B = {reference} run the |G|² estimate did not clear zero, so "
            "B_simple is not resolved: raise noise_draws."
        )
        return " ".join(parts)
    spread = noise.interval()
    parts.append(
        f"Measured along the B = {reference} run "
        + (f"once it held the target (step {step})" if noise_at_target and step is not None
           else "once it held the target" if noise_at_target else "at its end")
        + f", the gradient noise scale is **B_simple ≈ {b_simple:.0f}**"
        + (f" (90 % bootstrap interval {spread[0]:.0f}–{spread[1]:.0f} over its "
           f"{len(noise.g2_draws)} draws; it also moves as training goes on, see the table "
           "of the noise scale along the run)." if spread is not None else ".")
    )
    if fit is not None:
        ratio = b_simple / fit.b_crit
        if 1 / 3 <= ratio <= 3:
            parts.append(
                f"B_crit and B_simple agree within a factor of {max(ratio, 1 / ratio):.1f}, "
                "as McCandlish et al. predict: below that batch size, doubling the batch "
                "nearly halves the steps; above it, it mostly doubles the examples."
            )
        elif ratio > 3:
            parts.append(
                f"B_crit comes out {ratio:.0f}× smaller than B_simple. McCandlish et al.'s "
                "B_crit ≈ B_simple holds when the learning rate is tuned for each batch "
                "size; here one learning rate serves all. At a fixed, small learning rate a "
                "big batch's step is limited by the learning rate rather than by gradient "
                "noise, so the steps stop falling long before B reaches B_simple. Raise lr "
                "(try lr=0.5 with batch_sizes=4,16,64,256,1257; B = 1 diverges there) and "
                "watch B_crit climb towards B_simple."
            )
        else:
            parts.append(
                f"B_crit comes out {1 / ratio:.0f}× larger than B_simple, which the simple "
                "theory does not expect; with noisy first crossings and few batch sizes "
                "the fit is loose, so try more batch sizes or another seed."
            )
    return " ".join(parts)


# ---------------------------------------------------------------------------
# 6. The gradient noise scale
# ---------------------------------------------------------------------------
#
# A batch of B examples drawn at random estimates the true gradient G with a
# noise whose covariance is Σ / B, where Σ is the covariance of one example's
# gradient. So the squared norm of a batch gradient is, on average,
#
#     E |G_B|² = |G|² + tr(Σ) / B.
#
# The simple noise scale B_simple = tr(Σ) / |G|² is the batch size at which the
# noise term equals the signal: far below it, doubling B nearly halves the
# steps; far above it, a bigger batch mostly averages away noise that was
# already small. McCandlish et al. (appendix A.1) turn the equation above into
# unbiased estimates of |G|² and tr(Σ) from the gradient norms at two batch
# sizes, B_small and B_big:
#
#     |G|²   ≈ (B_big |G_big|² - B_small |G_small|²) / (B_big - B_small)
#     tr(Σ)  ≈ (|G_small|² - |G_big|²) / (1/B_small - 1/B_big)
#
# Each draw of the two batches gives a noisy estimate of both. The paper
# advises averaging the |G|² and tr(Σ) estimates separately over many draws and
# dividing only at the end: the mean of ratios would be biased, and a single
# |G|² estimate near zero would blow it up. Batches are drawn with replacement,
# which is what makes the identity above exact for the training set.


def two_batch_estimates(g_small_sq, g_big_sq, b_small: float, b_big: float):
    """Unbiased (|G|², tr(Σ)) from squared gradient norms at batch sizes b_small < b_big.

    Works elementwise on floats, numpy arrays or tensors.
    """
    g2 = (b_big * g_big_sq - b_small * g_small_sq) / (b_big - b_small)
    trace = (g_small_sq - g_big_sq) / (1.0 / b_small - 1.0 / b_big)
    return g2, trace


def batch_gradient_sq_norm(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn: LossFn = F.cross_entropy
) -> float:
    """|∇ mean loss over (x, y)|², over all trainable parameters."""
    params = [p for p in model.parameters() if p.requires_grad]
    grads = torch.autograd.grad(loss_fn(model(x), y), params)
    return sum(float(g.pow(2).sum()) for g in grads)


@dataclass
class NoiseScale:
    g2: float  # mean of the |G|² estimates
    trace: float  # mean of the tr(Σ) estimates
    g2_draws: list[float]
    trace_draws: list[float]

    @property
    def b_simple(self) -> float | None:
        """tr(Σ)/|G|², or None when |G|² is not yet resolved above zero (take more draws)."""
        return self.trace / self.g2 if self.g2 > 0 else None

    def interval(self, level: float = 0.9, rounds: int = 2000,
                 seed: int = 0) -> tuple[float, float] | None:
        """A bootstrap interval for B_simple: the draws resampled with replacement
        `rounds` times, each resample's mean tr(Σ) over its mean |G|², and the
        central `level` share of those ratios. None when too few resamples
        resolve |G|² above zero."""
        g2 = torch.tensor(self.g2_draws, dtype=torch.float64)
        trace = torch.tensor(self.trace_draws, dtype=torch.float64)
        if len(g2) < 2:
            return None
        gen = torch.Generator().manual_seed(seed)
        picks = torch.randint(len(g2), (rounds, len(g2)), generator=gen)
        g2_means, trace_means = g2[picks].mean(dim=1), trace[picks].mean(dim=1)
        resolved = g2_means > 0
        if float(resolved.double().mean()) < level:
            return None
        ratios = torch.where(resolved, trace_means / g2_means,
                             torch.full_like(g2_means, float("inf")))
        tail = (1 - level) / 2
        low, high = torch.quantile(ratios, torch.tensor([tail, 1 - tail], dtype=torch.float64))
        return float(low), float(high)


def measure_noise_scale(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    b_small: int,
    b_big: int,
    draws: int,
    generator: torch.Generator,
    loss_fn: LossFn = F.cross_entropy,
) -> NoiseScale:
    """Average the two-batch estimates over `draws` pairs of batches drawn with replacement."""
    n = len(x)
    g2_draws, trace_draws = [], []
    for _ in range(draws):
        # (B_small,) and (B_big,) row indices into the training set, drawn with replacement
        small = torch.randint(n, (b_small,), generator=generator).to(x.device)
        big = torch.randint(n, (b_big,), generator=generator).to(x.device)
        g_small_sq = batch_gradient_sq_norm(model, x[small], y[small], loss_fn)
        g_big_sq = batch_gradient_sq_norm(model, x[big], y[big], loss_fn)
        g2, trace = two_batch_estimates(g_small_sq, g_big_sq, b_small, b_big)
        g2_draws.append(g2)
        trace_draws.append(trace)
    return NoiseScale(
        g2=sum(g2_draws) / draws,
        trace=sum(trace_draws) / draws,
        g2_draws=g2_draws,
        trace_draws=trace_draws,
    )


# The lab measures B_simple along one run, the reference batch size's: at
# about eight steps spread geometrically over training, and at the step where
# the run first reaches the target accuracy, where section 5 compares it with
# B_crit. Measuring takes gradients with torch.autograd.grad and its own random
# generator, so it changes neither the weights nor the order of examples: the
# run is the same as if nobody had looked.


@dataclass
class NoiseTrack:
    """The noise scale measured along one training run, keyed by the step it was taken at."""

    checkpoints: set[int]
    target: float
    b_small: int
    b_big: int
    draws: int
    generator: torch.Generator
    sampled: dict[int, NoiseScale] = field(default_factory=dict)
    examples: dict[int, int] = field(default_factory=dict)  # examples seen by that step
    # With several processes, the free estimate from the training steps themselves
    # (section 7), averaged over the steps since the previous checkpoint.
    free: dict[int, NoiseScale | None] = field(default_factory=dict)
    target_step: int | None = None  # the step at which the run first reached the target

    @classmethod
    def along(
        cls, batch_size: int, n: int, examples: int, target: float, b_small: int, b_big: int,
        draws: int, seed: int,
    ) -> NoiseTrack:
        """For the run at `batch_size` over `examples` examples of `n`."""
        checkpoints = set(_spread(eval_steps(steps_for_budget(n, batch_size, examples)), 8))
        return cls(checkpoints, target, b_small, b_big, draws,
                   torch.Generator().manual_seed(seed + 1))

    def look(
        self, model: nn.Module, data: Split, curve: Curve, series: str, ctx: LabContext,
        parallel: DataParallelSGD | None,
    ) -> None:
        """Called at each evaluation: measure at a checkpoint, and where it first hits target."""
        steps, examples = curve.steps[-1], curve.examples[-1]
        # the run holds the target once SUSTAIN evaluations in a row reach it:
        # measured there, as soon as that is known
        recent = curve.accuracy[-SUSTAIN:]
        first_hit = (self.target_step is None and len(recent) == SUSTAIN
                     and all(a >= self.target for a in recent))
        if first_hit:
            self.target_step = steps
        if not (steps in self.checkpoints or first_hit):
            return
        est = measure_noise_scale(model, data.x_train, data.y_train,
                                  self.b_small, self.b_big, self.draws, self.generator)
        self.sampled[steps], self.examples[steps] = est, examples
        if est.b_simple is not None:
            ctx.emit(Metric(NOISE_VS_EXAMPLES, series, examples, est.b_simple,
                            "examples seen", "B_simple"))
        if parallel is not None:
            free = self.free[steps] = parallel.noise_since_last()
            if free is not None and free.b_simple is not None:
                ctx.emit(Metric(NOISE_VS_EXAMPLES, f"{series}, data-parallel", examples,
                                free.b_simple, "examples seen", "B_simple"))

    @property
    def first(self) -> NoiseScale:
        return self.sampled[min(self.sampled)]

    @property
    def last(self) -> NoiseScale:
        return self.sampled[max(self.sampled)]

    @property
    def at_target(self) -> NoiseScale:
        """Where the run first reached the target, or at its end if it never did."""
        return self.sampled[self.target_step] if self.target_step is not None else self.last

    @property
    def free_at_target(self) -> NoiseScale | None:
        """Section 7's free estimate at the same step as `at_target`, if there is one."""
        step = self.target_step if self.target_step is not None else max(self.sampled)
        return self.free.get(step)


def _spread(items: list[int], count: int) -> list[int]:
    """About `count` items spread geometrically over `items` (first and last included)."""
    if len(items) <= count:
        return list(items)
    picks = {items[round((len(items) - 1) * i / (count - 1))] for i in range(count)}
    return sorted(picks)


def _report_noise_scale(sweep: Sweep, ctx: LabContext) -> None:
    """|G|², tr(Σ) and B_simple at each step measured along the reference run; under
    torchrun also section 7's free estimate beside them, and a text comparing the two."""
    noise, group, reference = sweep.noise, ctx.group, sweep.reference
    columns = ["step", "examples", "|G|²", "tr(Σ)", "B_simple", "90 % interval"]
    if group is not None:
        columns += ["steps averaged", "B_simple, data-parallel"]
    rows = []
    for s, e in sorted(noise.sampled.items()):
        spread = e.interval()
        row = [s, noise.examples[s], float(f"{e.g2:.4g}"), float(f"{e.trace:.4g}"),
               _round1(e.b_simple),
               f"{spread[0]:.0f}–{spread[1]:.0f}" if spread is not None else "unresolved"]
        if group is not None:
            free = noise.free.get(s)
            row += [len(free.g2_draws) if free else 0, _round1(free.b_simple if free else None)]
        rows.append(row)
    ctx.emit(Table(
        title=f"Gradient noise scale along the B={reference} run "
              f"(B_small={noise.b_small}, B_big={noise.b_big}, {noise.draws} draws each)",
        columns=columns,
        rows=rows,
    ))
    if group is not None:
        ctx.emit(Text(_data_parallel_noise_text(group.world_size, reference, noise.at_target,
                                                noise.free_at_target,
                                                noise.target_step is not None)))


# ---------------------------------------------------------------------------
# 7. Beyond one process: data parallel with torch.distributed
# ---------------------------------------------------------------------------
#
# Large batches are where a learner outgrows one machine. Under torchrun the lab
# runs as W processes ("ranks"), each with the whole model and the whole
# training set, and each running this file top to bottom. Every rank draws the
# same permutation (same seed) and cuts it into the same global batches as a
# single process would, then trains on its own shard of each batch. PyTorch's
# DistributedDataParallel (DDP) all-reduces the gradients during backward(),
# so every rank makes the same update and the weights stay identical without
# ever being sent again. Only rank 0 reports (labs/__main__.py).
#
# Two details decide whether that update *is* the single-process update.
#
# The shards. torch.utils.data.distributed.DistributedSampler splits the
# dataset W ways and, unless told to drop the tail, pads it with repeated
# examples to a multiple of W; each rank then batches its own part. That gives
# the same global batches only when W divides every batch, and the partial last
# batch gets examples counted twice. We split each *global batch* instead, into
# W contiguous shards whose sizes differ by at most one: 101 examples on 2 ranks
# are 51 + 50, and a last batch of a single example is 1 + 0 (a rank can have
# nothing to train on in a step; it still joins the all-reduce, with a zero
# gradient).
#
# The average. DDP averages the W local gradients with equal weights, which is
# the mean over examples only when all shards are the same size: section 3's
# averaging bug, one level up. So each rank's loss is the *sum* of its
# examples' losses times W/B; DDP's (1/W)·Σ over ranks then gives
# (1/B)·Σ over examples, the single-process per-example mean, whatever the
# shard sizes. The two runs differ only in the order floating-point sums are
# taken in (tests/labs/test_batch_size_distributed.py holds them to that).


def shard_bounds(batch_len: int, world_size: int, rank: int) -> tuple[int, int]:
    """[start, stop) of `rank`'s contiguous shard of a batch; shard sizes differ by at most one."""
    base, extra = divmod(batch_len, world_size)
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


# The gradient noise scale comes for free. In every step each rank holds the
# gradient of its shard, a small batch of b ≈ B/W examples, and the all-reduce
# turns them into the gradient of the whole batch of B: the two batch sizes of
# section 6's estimator (McCandlish et al., appendix A.1, measure B_simple this
# way in their data-parallel runs). A DDP communication hook sees each bucket
# of local gradients just before it is all-reduced; ours appends the local
# |g_r|² to the bucket, so it travels in the same all-reduce, with no extra
# message. With unequal shards the mean over ranks of |g_r|² has expectation
# |G|² + tr(Σ)·mean(1/b_r), so B_small is the harmonic mean of the shard sizes.
#
# Unlike section 6's draws, training batches are drawn *without* replacement
# from the N training examples, which shrinks the noise of a batch of b by
# (N - b)/(N - 1) (a full batch has none). Carried through the estimator, the
# plain formulas then return tr(Σ)·N/(N - 1) and |G|² - tr(Σ)/(N - 1);
# `without_replacement_estimates` undoes both. The second one matters on a
# training set as small as the digits: it makes |G|² low by B_simple/(N - 1) of
# itself, 10% at N = 1257 and B_simple ≈ 130.
#
# Each step gives one noisy estimate. As in section 6, |G|² and tr(Σ) are
# averaged separately, here over the steps between two noise checkpoints, and
# divided only at the end.


def without_replacement_estimates(g_small_sq, g_big_sq, b_small: float, b_big: float, n: int):
    """Unbiased (|G|², tr(Σ)) from batches of b_small < b_big drawn without replacement from n.

    tr(Σ) is that of the n examples' gradients (covariance divided by n), as in section 6.
    """
    g2, trace = two_batch_estimates(g_small_sq, g_big_sq, b_small, b_big)
    return g2 + trace / n, trace * (n - 1) / n


class DataParallelSGD:
    """One rank's part of plain SGD under DistributedDataParallel, and the free noise scale."""

    def __init__(self, model: nn.Module, group, n_train: int, measure_noise: bool) -> None:
        from torch.nn.parallel import DistributedDataParallel

        self.rank, self.world_size = group.rank, group.world_size
        self.n_train = n_train
        self.measure_noise = measure_noise
        self.params = [p for p in model.parameters() if p.requires_grad]
        ids = None if group.device_index is None else [group.device_index]
        # Wrapping broadcasts rank 0's weights; they are already equal (same seed).
        self.ddp = DistributedDataParallel(model, device_ids=ids, output_device=None)
        self.ddp.register_comm_hook(None, self._all_reduce)
        self._local_scale = 0.0
        self._local_sq: list[torch.Tensor] = []  # Σ over ranks of |g_r|², one per bucket
        self._g2: list[torch.Tensor] = []  # per-step estimates since the last checkpoint
        self._trace: list[torch.Tensor] = []

    def step(self, x: torch.Tensor, y: torch.Tensor, lr: float) -> None:
        """One SGD step on the global batch (x, y), of which this rank trains its shard."""
        batch = len(x)
        start, stop = shard_bounds(batch, self.world_size, self.rank)
        shard = stop - start
        # The bucket will hold ∇(W/B · Σ_shard loss) = (W·b_r/B)·g_r, where g_r is the
        # gradient of the shard's mean loss, the small batch of section 6.
        self._local_scale = batch / (self.world_size * shard) if shard else 0.0
        logits = self.ddp(x[start:stop])  # (b_r, classes): this rank's shard only
        loss = F.cross_entropy(logits, y[start:stop], reduction="sum") * (self.world_size / batch)
        loss.backward()  # DDP's hooks all-reduce: p.grad is now the whole batch's mean gradient
        with torch.no_grad():
            if self.measure_noise:
                self._record(batch)
            for p in self.params:
                p.sub_(p.grad, alpha=lr)  # type: ignore[arg-type]  # backward() filled p.grad
                p.grad = None

    # No annotations here: DDP checks a hook's, and this file's are strings (`from __future__`).
    def _all_reduce(self, _state, bucket):
        """DDP's default all-reduce hook, plus this rank's |g_r|² riding along when measuring."""
        import torch.distributed as dist

        local = bucket.buffer()
        if not self.measure_noise:
            return dist.all_reduce(local, async_op=True).get_future().then(
                lambda fut: fut.value()[0].div_(self.world_size))
        sq = local.pow(2).sum().mul_(self._local_scale**2).reshape(1)

        def unpack(fut):
            total = fut.value()[0]
            self._local_sq.append(total[-1])
            return total[:-1].div_(self.world_size)

        packed = torch.cat([local, sq])
        return dist.all_reduce(packed, async_op=True).get_future().then(unpack)

    def _record(self, batch: int) -> None:
        local_sq = torch.stack(self._local_sq).sum().double()
        self._local_sq.clear()
        shards = [hi - lo for lo, hi in (shard_bounds(batch, self.world_size, r)
                                         for r in range(self.world_size)) if hi > lo]
        if len(shards) < 2:  # the whole batch on one rank: only one batch size this step
            return
        b_small = len(shards) / sum(1 / s for s in shards)  # harmonic mean
        global_sq = sum(p.grad.double().pow(2).sum()  # type: ignore[union-attr,misc]  # filled
                        for p in self.params)  # by backward() before this is called
        g2, trace = without_replacement_estimates(local_sq / len(shards), global_sq,
                                                  b_small, batch, self.n_train)
        self._g2.append(g2)
        self._trace.append(trace)

    def noise_since_last(self) -> NoiseScale | None:
        """|G|² and tr(Σ) averaged over the steps since the last call; None if there were none."""
        if not self._g2:
            return None
        g2_steps, trace_steps = torch.stack(
            [torch.stack(self._g2), torch.stack(self._trace)]).cpu().tolist()
        self._g2.clear()
        self._trace.clear()
        return NoiseScale(g2=sum(g2_steps) / len(g2_steps),
                          trace=sum(trace_steps) / len(trace_steps),
                          g2_draws=g2_steps, trace_draws=trace_steps)


def _data_parallel_noise_text(
    world_size: int,
    reference: int,
    sampled: NoiseScale,
    free: NoiseScale | None,
    at_target: bool,
) -> str:
    when = "once it held the target" if at_target else "at its end"
    head = (
        f"The last column needs no extra gradients: in each training step of the "
        f"B = {reference} run every process's shard gradient is a small batch of about "
        f"{reference / world_size:g} examples and the all-reduced gradient is the batch of "
        f"{reference}, so the two-batch estimator runs on what training computes anyway "
        "(McCandlish et al., appendix A.1), corrected for batches drawn without "
        "replacement and averaged over the steps since the previous row."
    )
    if free is None or free.b_simple is None:
        why = (
            f"a batch of {reference} cannot be split between {world_size} processes"
            if reference < world_size else
            "its |G|² estimate did not clear zero over so few steps"
        )
        return head + f" Along this run it is not resolved {when}: {why}."
    text = head + f" {when.capitalize()} it gives **B_simple ≈ {free.b_simple:.0f}**"
    if sampled.b_simple is not None:
        text += f", against {sampled.b_simple:.0f} from the sampled estimate above"
    steps = len(free.g2_draws)
    return text + (
        f". They measure different things. The sampled one is the noise scale at the weights "
        f"of that step; the free one is a window average, the ratio of |G|² and tr(Σ) "
        f"averaged over the {steps} step{'s' if steps != 1 else ''} since the previous row "
        "while the weights moved, so where the noise scale changes quickly the two part "
        "ways. And the free one runs low on average (about 8 % on this model): a training "
        "batch comes from the part of the epoch not yet seen rather than from the whole "
        "training set, while with the weights frozen the same estimator shows no bias."
    )


# ---------------------------------------------------------------------------
# Putting it together
# ---------------------------------------------------------------------------
#
# The run, section by section. Training comes before the sections that need a
# trained model, so the order on screen is: the data (1), the partial last
# batch (2), the training curves and their cost (4), the averaging bug on the
# reference model (3), the noise scale (6), and the steps-versus-examples
# trade-off that compares its B_crit with that noise scale (5).


def run(params: dict, ctx: LabContext) -> dict:
    # The digits model is small enough that one CPU thread is faster, and steadier
    # to time; MNIST's matrices are large enough to share out.
    with ctx.one_cpu_thread(small=params["dataset"] == "digits"):
        return _run(params, ctx)


def _run(params: dict, ctx: LabContext) -> dict:
    wall_started = time.perf_counter()
    b_small, b_big = noise_batches(params["noise_batches"])
    data = load_data(params, ctx.seed).to(ctx.torch_device)
    n_train = len(data.x_train)
    batch_sizes = _batch_sizes(params["batch_sizes"], n_train)

    _report_data(data, params, ctx)
    _report_partial_batch(n_train, batch_sizes, ctx)
    sweep = _train_sweep(data, batch_sizes, params, ctx, b_small, b_big)
    _report_cost(sweep, n_train, params["examples"], ctx)
    _report_averaging(sweep.models[sweep.reference], data, batch_sizes, sweep.reference, ctx)
    _report_noise_scale(sweep, ctx)
    reached, fit = _report_steps(sweep, params["target"], params["examples"], ctx)
    return _summary(params, data, sweep, reached, fit, ctx, wall_started)


def _summary(
    params: dict,
    data: Split,
    sweep: Sweep,
    reached: dict[int, tuple[int, int] | None],
    fit: TradeOffFit | None,
    ctx: LabContext,
    wall_started: float,
) -> dict:
    """The numbers stored with the run: what each batch size reached, the noise scale, the fit."""
    batch_sizes, final, noise = sweep.batch_sizes, sweep.final, sweep.noise
    summary = {
        "dataset": data.name,
        "n_train": len(data.x_train),
        "n_test": len(data.x_test),
        "examples": params["examples"],
        "target_accuracy": params["target"],
        "final_test_accuracy": {str(b): round(final[b][0], 4) for b in batch_sizes},
        "steps_to_target": {str(b): (r[0] if (r := reached[b]) else None) for b in batch_sizes},
        "examples_to_target": {str(b): (r[1] if (r := reached[b]) else None) for b in batch_sizes},
        "b_simple": _round(noise.at_target.b_simple),
        "b_simple_interval": ([_round(v) for v in spread] if (spread := noise.at_target.interval())
                              else None),
        "b_simple_step": noise.target_step if noise.target_step is not None
        else max(noise.sampled),
        "b_simple_start": _round(noise.first.b_simple),
        "b_simple_end": _round(noise.last.b_simple),
        "s_min": _round(fit.s_min) if fit else None,
        "e_min": _round(fit.e_min) if fit else None,
        "b_crit": _round(fit.b_crit) if fit else None,
        "device": ctx.device,
        "world_size": ctx.world_size,
        "seconds": round(time.perf_counter() - wall_started, 2),
    }
    if ctx.group is not None:
        summary["backend"] = ctx.group.backend
        free = noise.free_at_target
        summary["b_simple_ddp"] = _round(free.b_simple if free else None)
    return summary


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else float(f"{value:.{digits}g}")


def _round1(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
