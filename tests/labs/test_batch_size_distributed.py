"""The batch-size lab as several processes: torch.distributed against one process and closed form.

The two-process runs start `torchrun` (as `python -m torch.distributed.run`) with
the gloo backend on the CPU, as CI can.
"""

from __future__ import annotations

import itertools
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from labs import distributed
from labs.catalog import ParamError
from labs.events import Metric, Result, Started, Table, Text, from_json
from labs.experiments import batch_size as lab
from labs.runner import run_lab

ROOT = Path(__file__).resolve().parents[2]

# One batch size that neither divides N = 1257 (a partial last batch of 45 each
# epoch) nor splits evenly over two processes (51 + 50, and 23 + 22 at the end of
# an epoch): the shapes where an unweighted average would go wrong. Two epochs, 26 steps.
B = 101
PARAMS = {"batch_sizes": str(B), "examples": "2514", "noise_draws": "1",
          "noise_batches": "4,16", "hidden": "16"}

# Loss curves: the two runs differ only in the order float32 sums are taken in
# (two shard sums all-reduced instead of one sum over the batch), about 1e-7
# relative per gradient. Over 26 plain SGD steps at lr 0.1 those differences add
# up rather than grow (small steps on a smooth loss are no chaotic map), and the
# test loss moves by at most one float32 ulp (measured: 1.0e-7 relative, one ulp
# of a loss near 2.2). rtol 2e-6 allows about twenty ulps, yet is five times
# tighter than the bug the re-weighting prevents:
# averaging the 51- and 50-example shards' mean gradients alike moves the final
# loss by 1e-5 relative (measured).
LOSS_RTOL = 2e-6


def torchrun(*args: str, nproc: int = 2, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           "--nproc-per-node", str(nproc), "-m", "labs", *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=timeout, check=False)


def _flat(grads) -> torch.Tensor:
    return torch.cat([g.reshape(-1) for g in grads])


def _param_args(params: dict[str, str]) -> list[str]:
    return [arg for name, value in params.items() for arg in ("--param", f"{name}={value}")]


@pytest.fixture(scope="module")
def two_processes() -> list:
    done = torchrun("run", "batch-size", "--json", "--device", "cpu", *_param_args(PARAMS))
    assert done.returncode == 0, done.stderr[-2000:]
    return [from_json(line) for line in done.stdout.splitlines()]  # every line an event


@pytest.fixture(scope="module")
def one_process() -> list:
    events: list = []
    assert run_lab("batch-size", PARAMS, device="cpu", seed=0, emit=events.append) == 0
    return events


def _curve(events: list, chart: str) -> dict[tuple[str, float], float]:
    return {(e.series, e.x): e.y for e in events if isinstance(e, Metric) and e.chart == chart}


# -- splitting a global batch ------------------------------------------------------------


def test_shards_cover_each_batch_in_order_and_differ_by_at_most_one():
    for world in range(1, 6):
        for batch in range(40):
            bounds = [lab.shard_bounds(batch, world, rank) for rank in range(world)]
            assert bounds[0][0] == 0 and bounds[-1][1] == batch
            assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))  # contiguous
            sizes = [stop - start for start, stop in bounds]
            assert max(sizes) - min(sizes) <= 1 and min(sizes) >= 0
    assert [lab.shard_bounds(101, 2, r) for r in (0, 1)] == [(0, 51), (51, 101)]
    assert [lab.shard_bounds(1, 2, r) for r in (0, 1)] == [(0, 1), (1, 1)]  # a rank may idle


@pytest.mark.parametrize("batch, world", [(101, 2), (45, 2), (10, 3), (1, 2), (7, 4)])
def test_rescaled_shard_losses_average_to_the_full_batch_gradient(batch, world):
    """What DDP computes, (1/W)·Σ_ranks ∇(W/B · Σ_shard loss), is the per-example mean
    gradient of the whole batch, for uneven and empty shards too; averaging the shards'
    mean gradients alike (the naive way) is not, once shards differ in size."""
    torch.manual_seed(1)
    model = lab.make_classifier(6, 5, 3).double()
    params = list(model.parameters())
    x, y = torch.randn(batch, 6, dtype=torch.float64), torch.randint(3, (batch,))
    full = _flat(torch.autograd.grad(F.cross_entropy(model(x), y), params))

    ddp, naive = torch.zeros_like(full), []
    for rank in range(world):
        start, stop = lab.shard_bounds(batch, world, rank)
        loss = F.cross_entropy(model(x[start:stop]), y[start:stop], reduction="sum")
        loss = loss * (world / batch)
        ddp += _flat(torch.autograd.grad(loss, params)) / world
        if stop > start:
            naive.append(_flat(torch.autograd.grad(
                F.cross_entropy(model(x[start:stop]), y[start:stop]), params)))
    torch.testing.assert_close(ddp, full, rtol=0, atol=1e-12)
    if batch >= world:  # with an empty shard the naive way has a mean over nothing: NaN
        naive_gap = float((torch.stack(naive).mean(0) - full).norm() / full.norm())
        assert naive_gap > 1e-4 if batch % world else naive_gap < 1e-12


# -- the noise scale from shards of training batches --------------------------------------


@pytest.mark.parametrize("n, batch, world", [(40, 12, 2), (40, 13, 3), (40, 40, 2), (40, 5, 4)])
def test_without_replacement_estimates_are_unbiased(n, batch, world):
    """Per-example gradients are fixed vectors here, so |G|² and tr(Σ) over the n examples
    are exact; the estimator applied to a shuffled batch split into shards, as in training,
    must agree with them on average (and the uncorrected one must not).

    Tolerance as in test_batch_size.py: within 5 standard errors of the exact value
    (a miss by chance has probability about 6e-7), with a standard error small enough
    (under 3%) that the band catches a wrong factor.
    """
    gen = torch.Generator().manual_seed(2)
    grads = torch.randn(n, 7, generator=gen, dtype=torch.float64) + 0.4  # nonzero mean
    exact_g2 = float(grads.mean(0).pow(2).sum())
    exact_trace = float((grads - grads.mean(0)).pow(2).sum(1).mean())

    draws = 20000
    batches = torch.argsort(torch.rand(draws, n, generator=gen), dim=1)[:, :batch]
    shards = [lab.shard_bounds(batch, world, r) for r in range(world)]
    shards = [(a, b) for a, b in shards if b > a]
    local_sq = sum(grads[batches[:, a:b]].mean(1).pow(2).sum(1) for a, b in shards) / len(shards)
    global_sq = grads[batches].mean(1).pow(2).sum(1)
    b_small = len(shards) / sum(1 / (b - a) for a, b in shards)

    g2, trace = lab.without_replacement_estimates(local_sq, global_sq, b_small, batch, n)
    for est, exact in ((g2, exact_g2), (trace, exact_trace)):
        se = float(est.std()) / math.sqrt(draws)
        assert se < 0.03 * exact
        # (+ rounding: with the whole set as the big batch, |G|² comes out exact every draw.)
        assert abs(float(est.mean()) - exact) < 5 * se + 1e-12 * exact
    plain_g2, _ = lab.two_batch_estimates(local_sq, global_sq, b_small, batch)
    bias = exact_trace / (n - 1)  # what the plain formula misses: |G|² - tr(Σ)/(N - 1)
    assert float(plain_g2.mean()) == pytest.approx(exact_g2 - bias, abs=5 * float(
        plain_g2.std()) / math.sqrt(draws))


# -- two processes against one ------------------------------------------------------------


def test_two_processes_report_every_event_once(two_processes, one_process):
    events = two_processes
    assert isinstance(events[0], Started) and isinstance(events[-1], Result)
    assert sum(isinstance(e, Started) for e in events) == 1
    assert sum(isinstance(e, Result) for e in events) == 1
    points = [(e.chart, e.series, e.x) for e in events if isinstance(e, Metric)]
    assert len(points) == len(set(points))
    titles = [e.title for e in events if isinstance(e, Table)]
    assert len(titles) == len(set(titles))
    # Every curve of the one-process run is there, point for point, plus the free estimate.
    single = {(e.chart, e.series, e.x) for e in one_process if isinstance(e, Metric)}
    assert single <= set(points)
    assert {s for _, s, _ in set(points) - single} == {f"B={B}, data-parallel"}
    texts = " ".join(e.markdown for e in events if isinstance(e, Text))
    assert "Data parallel over 2 processes" in texts and "backend gloo" in texts


def test_two_processes_follow_the_single_process_loss_curve(two_processes, one_process):
    loss_two = _curve(two_processes, lab.LOSS_VS_EXAMPLES)
    loss_one = _curve(one_process, lab.LOSS_VS_EXAMPLES)
    assert loss_two.keys() == loss_one.keys() and len(loss_one) == len(lab.eval_steps(26))
    for key, value in loss_one.items():
        assert loss_two[key] == pytest.approx(value, rel=LOSS_RTOL), key
    # Accuracy counts argmaxes, so a logit tie within rounding could flip one test example.
    acc_two = _curve(two_processes, lab.ACCURACY_VS_EXAMPLES)
    for key, value in _curve(one_process, lab.ACCURACY_VS_EXAMPLES).items():
        assert abs(acc_two[key] - value) <= 1 / 540 + 1e-9, key

    two, one = two_processes[-1].summary, one_process[-1].summary
    assert (two["world_size"], two["backend"], one["world_size"]) == (2, "gloo", 1)
    assert two["final_test_accuracy"] == one["final_test_accuracy"]
    assert two["steps_to_target"] == one["steps_to_target"]


def test_free_noise_scale_is_the_two_batch_estimator_on_the_first_batch(two_processes):
    """The first noise checkpoint is step 1, so its data-parallel B_simple comes from the
    first batch alone, at the initial weights: rebuilt here from per-example gradients
    in float64, shards of 51 and 50 as the small batches, the whole 101 as the big one.

    Tolerance: the lab works in float32, so its squared norms are good to about 1e-6
    relative, and the estimator's |G|² subtracts terms about 3x larger than its
    result: agreement to 1e-5 is what float32 allows (measured: 2e-7), and far
    tighter than any slip in the formula (taking 50 or 51 instead of the harmonic
    mean of the shard sizes moves B_simple by 3%).
    """
    from labs.data import load_digits_split

    data = load_digits_split(0)
    torch.manual_seed(0)  # as the lab does just before it builds the initial model
    model = lab.make_classifier(data.features, 16, 10).double()
    params = list(model.parameters())
    order = torch.randperm(len(data.x_train), generator=torch.Generator().manual_seed(0))
    x, y = data.x_train[order[:B]].double(), data.y_train[order[:B]]
    per_example = torch.stack([
        _flat(torch.autograd.grad(F.cross_entropy(model(x[i:i + 1]), y[i:i + 1]), params))
        for i in range(B)
    ])
    shard_sq = [float(per_example[:51].mean(0).pow(2).sum()),
                float(per_example[51:].mean(0).pow(2).sum())]
    small_sq, big_sq = sum(shard_sq) / 2, float(per_example.mean(0).pow(2).sum())
    b_small, n = 2 / (1 / 51 + 1 / 50), len(data.x_train)
    # McCandlish et al. (A.1), then the correction for batches drawn without replacement.
    g2 = (B * big_sq - b_small * small_sq) / (B - b_small)
    trace = (small_sq - big_sq) / (1 / b_small - 1 / B)
    expected = (trace * (n - 1) / n) / (g2 + trace / n)

    free = _curve(two_processes, lab.NOISE_VS_EXAMPLES)[(f"B={B}, data-parallel", B)]
    assert free == pytest.approx(expected, rel=1e-5)
    table = next(e for e in two_processes
                 if isinstance(e, Table) and e.title.startswith("Gradient noise scale"))
    assert table.columns[-2:] == ["steps averaged", "B_simple, data-parallel"]
    assert table.rows[0][0] == 1 and table.rows[0][-2:] == [1, round(free, 1)]
    assert sum(row[-2] for row in table.rows) == 26  # every step counted once
    summary = two_processes[-1].summary
    assert summary["b_simple_ddp"] == pytest.approx(table.rows[-1][-1], rel=1e-3)


# -- where the processes come from ----------------------------------------------------------


def test_launch_is_read_from_torchrun_environment():
    assert distributed.launch_from_env({}) is None
    assert distributed.launch_from_env({"WORLD_SIZE": "1", "RANK": "0"}) is None
    env = {"WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2"}
    assert distributed.launch_from_env(env) == distributed.Launch(3, 4, 1, 2)
    with pytest.raises(ValueError, match="RANK"):
        distributed.launch_from_env({"WORLD_SIZE": "2"})
    with pytest.raises(ValueError, match="out of range"):
        distributed.launch_from_env({"WORLD_SIZE": "2", "RANK": "2"})


def test_backend_is_gloo_on_cpu_nccl_per_gpu_and_gloo_on_a_shared_gpu():
    assert distributed.choose_backend("cpu", 2, 0) == ("gloo", "")
    assert distributed.choose_backend("cuda", 2, 2) == ("nccl", "")
    backend, note = distributed.choose_backend("cuda", 2, 1)
    assert backend == "gloo" and "NCCL refuses" in note
    with pytest.raises(ValueError, match="mps"):
        distributed.choose_backend("mps", 2, 0)


def test_only_the_batch_size_lab_runs_under_torchrun(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(ParamError, match="transformer-trace runs in one process"):
        run_lab("transformer-trace", {}, device="cpu")


def test_bad_input_under_torchrun_is_one_line_per_process_and_no_events_twice(tmp_path):
    missing = tmp_path / "cifar-10-python.tar.gz"  # found out by the lab, in every process
    done = torchrun("run", "batch-size", "--json", "--device", "cpu",
                    *_param_args({**PARAMS, "dataset": "cifar10", "cifar_path": str(missing)}))
    assert done.returncode != 0
    events = [from_json(line) for line in done.stdout.splitlines()]
    assert [e.type for e in events] == ["started", "failed"]  # rank 0's stream only
    assert str(missing) in events[-1].message
    said = [line for line in done.stderr.splitlines() if line.startswith("labs: error: ")]
    assert len(said) == 2  # each process says why it stopped
