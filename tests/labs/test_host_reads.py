"""The labs' training loops leave their numbers on the device between the points
they report.

On a GPU every read of a value back to Python (`float(t)`, `.item()`,
`.tolist()`, `if t:`, ...) waits for all the queued work to finish, so a loop
that reads once a step runs at the speed of the round trip, not of the GPU
(issue 16: the batch-size lab took longer on an H200 than on its host's CPU).
Such a read is the same call on the CPU, so these tests count them here: each
loop may read back at its evaluations or log points, never once a step.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import torch

from labs.experiments import batch_size as sweep_lab
from labs.experiments import family_trees as trees_lab
from labs.experiments import input_gradient as gradient_lab
from labs.experiments import language_model as lm_lab
from labs.experiments.language_model import grammar

# every way a tensor's value reaches Python
READS = ("__float__", "__int__", "__index__", "__bool__", "__format__", "item", "tolist",
         "numpy", "cpu")
# torch.optim keeps each parameter's step count in a CPU tensor unless asked to be
# capturable, and reads it every step (Adam's bias correction): a read of host memory
# on a GPU as well, so not one of the reads these tests count
OPTIM = os.path.dirname(torch.optim.__file__) + os.sep


def host_reads(monkeypatch: pytest.MonkeyPatch, loop: Callable[[], Any]) -> Counter[str]:
    """How many times `loop` read a tensor's value back, by the way it read it."""
    seen: Counter[str] = Counter()
    with monkeypatch.context() as patched:
        for name in READS:
            original = getattr(torch.Tensor, name)

            def counted(self: torch.Tensor, *args: Any, _original: Any = original,
                        _name: str = name, **kwargs: Any) -> Any:
                if not sys._getframe(1).f_code.co_filename.startswith(OPTIM):
                    seen[_name] += 1
                return _original(self, *args, **kwargs)

            patched.setattr(torch.Tensor, name, counted)
        loop()
    return seen


def test_the_counter_sees_a_read_once_a_step(monkeypatch):
    # the loop these tests rule out, so that a counter which saw nothing can't pass them
    x = torch.ones(3)
    reads = host_reads(monkeypatch, lambda: [float(x.sum()) for _ in range(50)])
    assert reads["__float__"] == 50
    # and it leaves out only the optimizer's own host-side step counts
    w = torch.zeros(3, requires_grad=True)
    optimizer = torch.optim.Adam([w])

    def steps() -> None:
        for _ in range(5):
            optimizer.zero_grad()
            (w - 1).square().sum().backward()
            optimizer.step()
            w.sum().item()

    reads = host_reads(monkeypatch, steps)
    assert sum(reads.values()) == reads["item"] == 5


def test_the_batch_size_sweep_reads_back_only_at_its_evaluations(monkeypatch):
    data = sweep_lab.load_data({"dataset": "digits"}, 0)
    torch.manual_seed(0)
    model = sweep_lab.make_classifier(data.features, 32, len(data.classes))
    examples = 3000  # 3000 steps at B = 1
    evaluations = len(sweep_lab.eval_steps(sweep_lab.steps_for_budget(
        len(data.x_train), 1, examples)))
    curves = []
    reads = host_reads(monkeypatch, lambda: curves.append(sweep_lab.train_at_batch_size(
        model, data, 1, examples, 0.05, 0, data.x_test, data.y_test)))
    assert curves[0].steps[-1] == examples
    assert len(curves[0].steps) == evaluations < examples / 10
    assert sum(reads.values()) <= 2 * evaluations  # accuracy and loss, at each evaluation


def test_the_language_model_reads_back_only_at_its_log_points(monkeypatch):
    corpus = grammar.corpus(200, 1)
    model = lm_lab.Model(16, 2, 1, 1)
    logp = lm_lab.bigram_probs(lm_lab.bigram_counts(corpus)).log().float()
    data = lm_lab.batch_tensor(corpus)
    curve = []
    reads = host_reads(monkeypatch, lambda: curve.extend(
        lm_lab.train(model, data, 100, 16, 0.01, 1, logp, log_every=25)))
    assert [step for step, _, _ in curve] == [25, 50, 75, 100]
    assert sum(reads.values()) <= len(curve)


def test_family_trees_learns_without_reading_back(monkeypatch):
    train, _ = trees_lab.split(0, 4)
    data = trees_lab.encode(train)
    net = trees_lab.make_net(0)
    before = [t.clone() for t in net.tensors()]
    reads = host_reads(monkeypatch, lambda: trees_lab.train(net, data, 50, 0.05, 0.9, 0.0))
    assert any(not torch.equal(a, b) for a, b in zip(before, net.tensors()))
    assert sum(reads.values()) == 0


def test_the_digits_classifier_reads_its_loss_back_once_an_epoch(monkeypatch):
    x, y = torch.rand(320, 64), torch.randint(0, 10, (320,))
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(),
                                torch.nn.Linear(32, 10))
    losses = []
    reads = host_reads(monkeypatch, lambda: losses.extend(
        gradient_lab.train_classifier(model, x, y, 3, seed=0)))  # 10 steps an epoch
    assert len(losses) == 3
    assert sum(reads.values()) <= 3


def test_the_epoch_loss_is_the_example_weighted_mean_of_its_batches():
    # what the once-an-epoch read must still give: the mean over examples, the
    # short last batch weighted by its size
    x, y = torch.rand(70, 64), torch.randint(0, 10, (70,))
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 10))
    reference = torch.nn.Sequential(torch.nn.Linear(64, 10))
    reference.load_state_dict(model.state_dict())
    (loss,) = gradient_lab.train_classifier(model, x, y, 1, seed=0, batch_size=32)
    order = torch.randperm(70, generator=torch.Generator().manual_seed(0))
    optimizer = torch.optim.Adam(reference.parameters(), lr=3e-3)
    total = 0.0
    for start in (0, 32, 64):
        idx = order[start:start + 32]
        batch_loss = torch.nn.functional.cross_entropy(reference(x[idx]), y[idx])
        optimizer.zero_grad()
        batch_loss.backward()
        optimizer.step()
        total += batch_loss.item() * len(idx)
    assert loss == pytest.approx(total / 70, rel=1e-12)


def test_the_descent_paths_and_the_ascent_read_back_once(monkeypatch):
    x = torch.linspace(-1, 1, 40, dtype=torch.float64)
    y = 2 * x + 1
    paths = []
    reads = host_reads(monkeypatch, lambda: paths.append(
        gradient_lab.descent_path(x, y, (-1.0, 3.0), 0.1, 60, 8, 0)))
    assert len(paths[0]) == 61 and paths[0][0] == (-1.0, 3.0)
    assert sum(reads.values()) <= 1
    model = torch.nn.Sequential(torch.nn.Linear(64, 10))
    out = []
    reads = host_reads(monkeypatch, lambda: out.append(
        gradient_lab.activation_maximisation(model, 3, steps=40)))
    assert len(out[0][1]) == 41
    assert sum(reads.values()) <= 2  # the shifts, drawn at once on the CPU, and the scores
