"""The batch-size lab's numbers, each against an independent reference."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from labs.catalog import ParamError
from labs.context import LabContext
from labs.events import Metric, Result, Table, Text
from labs.experiments import batch_size as lab
from labs.runner import run_lab

TINY = {"batch_sizes": "8,64,2000", "examples": "1500", "noise_draws": "4", "hidden": "16"}


def _flat(grads) -> torch.Tensor:
    return torch.cat([g.reshape(-1) for g in grads])


# -- gradients over batches ----------------------------------------------------


@pytest.mark.parametrize("n, b", [(103, 10), (103, 64), (100, 10), (7, 1), (50, 80)])
def test_full_batch_gradient_is_the_example_weighted_mean_of_batch_gradients(n, b):
    torch.manual_seed(0)
    model = lab.make_classifier(6, 5, 3).double()
    x = torch.randn(n, 6, dtype=torch.float64)
    y = torch.randint(3, (n,))
    reference = torch.autograd.grad(F.cross_entropy(model(x), y), list(model.parameters()))

    weighted = lab.accumulated_gradient(model, x, y, b, weighted=True)
    torch.testing.assert_close(_flat(weighted), _flat(reference), rtol=0, atol=1e-12)

    unweighted = _flat(lab.accumulated_gradient(model, x, y, b, weighted=False))
    gap = (unweighted - _flat(reference)).norm() / _flat(reference).norm()
    if n % b and n > b:
        assert gap > 1e-3  # a short last batch counted as a full one moves the gradient
    else:
        assert gap < 1e-12


# -- the gradient noise scale ----------------------------------------------------


def test_two_batch_estimates_invert_the_expected_batch_gradient_norm():
    # E|G_B|² = |G|² + tr(Σ)/B; feeding the expectations in must give |G|² and tr(Σ) back.
    g2, trace = 0.37, 11.0
    for b_small, b_big in [(1, 2), (4, 64), (32, 1024)]:
        est_g2, est_trace = lab.two_batch_estimates(
            g2 + trace / b_small, g2 + trace / b_big, b_small, b_big
        )
        assert est_g2 == pytest.approx(g2, rel=1e-12)
        assert est_trace == pytest.approx(trace, rel=1e-12)


def test_noise_scale_estimates_match_exact_values_on_linear_regression():
    """On linear regression the per-example gradients have a closed form, so |G|² and
    tr(Σ) over the training set are known exactly; the lab's sampled estimator must
    agree with them on average.

    Tolerance: each estimate is a mean of `draws` independent per-draw estimates,
    so by the central limit theorem it is within 5 standard errors of its
    expectation except with probability about 6e-7. A miss therefore means bias,
    not bad luck. The test also requires that standard error to be under 3% of
    the exact value, so the band (at most ±15%) is narrow enough to catch a wrong
    factor, a swapped batch size or sampling without replacement.
    """
    gen = torch.Generator().manual_seed(0)
    n, d = 200, 5
    x = torch.randn(n, d, generator=gen, dtype=torch.float64)
    y = (x @ torch.randn(d, 1, generator=gen, dtype=torch.float64)
         + 0.5 * torch.randn(n, 1, generator=gen, dtype=torch.float64))
    model = nn.Linear(d, 1).double()
    with torch.no_grad():  # away from the optimum, so the mean gradient is not zero
        model.weight.fill_(0.3)
        model.bias.fill_(-0.2)

    # Closed form: loss_i = (w·x_i + b - y_i)², so ∇_w = 2 r_i x_i and ∇_b = 2 r_i.
    with torch.no_grad():
        r = (x @ model.weight.T + model.bias - y).squeeze(1)
    per_example = torch.cat([2 * r[:, None] * x, 2 * r[:, None]], dim=1)
    g = per_example.mean(0)
    exact_g2 = float(g @ g)
    exact_trace = float(((per_example - g) ** 2).sum(1).mean())

    draws = 5000
    est = lab.measure_noise_scale(model, x, y, 4, 64, draws,
                                  torch.Generator().manual_seed(1), loss_fn=F.mse_loss)
    g2_draws = torch.tensor(est.g2_draws, dtype=torch.float64)
    trace_draws = torch.tensor(est.trace_draws, dtype=torch.float64)
    assert est.g2 == pytest.approx(float(g2_draws.mean()))
    assert est.trace == pytest.approx(float(trace_draws.mean()))
    se_g2 = float(g2_draws.std()) / math.sqrt(draws)
    se_trace = float(trace_draws.std()) / math.sqrt(draws)
    assert se_g2 < 0.03 * exact_g2 and se_trace < 0.03 * exact_trace
    assert abs(est.g2 - exact_g2) < 5 * se_g2
    assert abs(est.trace - exact_trace) < 5 * se_trace
    assert est.b_simple == pytest.approx(est.trace / est.g2)
    assert est.b_simple == pytest.approx(exact_trace / exact_g2, rel=0.2)


def test_batch_gradient_norm_is_the_norm_of_the_autograd_gradient():
    torch.manual_seed(3)
    model = lab.make_classifier(4, 3, 2).double()
    x, y = torch.randn(9, 4, dtype=torch.float64), torch.randint(2, (9,))
    grads = torch.autograd.grad(F.cross_entropy(model(x), y), list(model.parameters()))
    expected = float(_flat(grads).pow(2).sum())
    assert lab.batch_gradient_sq_norm(model, x, y) == pytest.approx(expected)


# -- the partial last batch and the averaging bug ------------------------------------


@pytest.mark.parametrize("n", [1257, 540, 10])
def test_partial_batch_table_matches_what_a_dataloader_yields(n):
    sizes = [1, 4, 7, 64, 256, n, n + 5]
    dataset = TensorDataset(torch.arange(n))
    for b, remainder, last, keep, drop in lab.partial_batch_rows(n, sizes):
        kept = [len(batch[0]) for batch in DataLoader(dataset, batch_size=b)]
        dropped = [len(batch[0]) for batch in DataLoader(dataset, batch_size=b, drop_last=True)]
        assert remainder == n - (n // b) * b
        assert keep == len(kept) and drop == len(dropped)
        assert last == kept[-1]
        assert sum(dropped) == n - remainder
        assert (keep - drop == 1) == (remainder != 0)


def _cross_entropy_by_hand(logits: list[float], label: int) -> float:
    return math.log(sum(math.exp(v) for v in logits)) - logits[label]


@pytest.mark.parametrize("b", [1, 4, 16, 64, 540, 1000])
def test_buggy_and_correct_test_loss_match_closed_form(b):
    gen = torch.Generator().manual_seed(2)
    n = 540
    logits = 3 * torch.randn(n, 10, generator=gen, dtype=torch.float64)
    labels = torch.randint(10, (n,), generator=gen)
    losses = [_cross_entropy_by_hand(row.tolist(), int(c)) for row, c in zip(logits, labels)]
    batches = [losses[i : i + b] for i in range(0, n, b)]
    buggy_expected = sum(sum(bt) / len(bt) for bt in batches) / len(batches)
    correct_expected = sum(losses) / n

    # nn.Identity makes the inputs the logits, so the lab's own batching is what is tested.
    buggy, correct = lab.test_loss_two_ways(nn.Identity(), logits, labels, b)
    assert correct == pytest.approx(correct_expected, rel=1e-12)
    assert buggy == pytest.approx(buggy_expected, rel=1e-12)
    if n % b and b < n:
        assert abs(buggy - correct) > 1e-4
    else:
        assert buggy == pytest.approx(correct, rel=1e-12)


# -- training, steps and the trade-off fit -------------------------------------------


def test_every_batch_size_sees_exactly_the_budget_and_evaluates_often_enough():
    from labs.data import load_digits_split

    data = load_digits_split(0)
    x_eval, y_eval = data.x_test, data.y_test
    for b, examples in [(1, 150), (64, 1500), (1257, 2600), (100, 1257)]:
        torch.manual_seed(0)
        model = lab.make_classifier(64, 8, 10)
        curve = lab.train_at_batch_size(model, data, b, examples, 0.1, 0, x_eval, y_eval)
        assert curve.examples[-1] == examples
        assert curve.steps[-1] == lab.steps_for_budget(1257, b, examples)
        # Evaluations at most 2.5% of the steps apart (or at consecutive steps).
        for earlier, later in zip(curve.steps, curve.steps[1:]):
            assert later <= max(earlier + 1, math.ceil(earlier * 1.025))
        # The last evaluation is the model as it ends.
        assert curve.accuracy[-1] == pytest.approx(lab.evaluate(model, x_eval, y_eval)[0])


def test_sgd_step_is_torch_optim_sgd():
    torch.manual_seed(4)
    model = lab.make_classifier(5, 4, 3).double()
    twin = lab.make_classifier(5, 4, 3).double()
    twin.load_state_dict(model.state_dict())
    optimizer = torch.optim.SGD(twin.parameters(), lr=0.3)
    for _ in range(5):
        x, y = torch.randn(7, 5, dtype=torch.float64), torch.randint(3, (7,))
        lab.sgd_step(list(model.parameters()), F.cross_entropy(model(x), y), 0.3)
        optimizer.zero_grad()
        F.cross_entropy(twin(x), y).backward()
        optimizer.step()
    for mine, theirs in zip(model.parameters(), twin.parameters()):
        torch.testing.assert_close(mine, theirs, rtol=0, atol=1e-14)


def test_steps_for_budget_counts_partial_batches():
    assert lab.steps_for_budget(1257, 64, 1257) == 20  # 19 full batches and one of 41
    assert lab.steps_for_budget(1257, 64, 2514) == 40
    assert lab.steps_for_budget(1257, 64, 1300) == 21  # then 43 more examples: one batch
    assert lab.steps_for_budget(1257, 1, 20000) == 20000


def test_trade_off_fit_recovers_s_min_and_e_min_from_exact_points():
    s_min, e_min = 120.0, 900.0
    points = []
    for b in (1, 4, 16, 64, 256):
        steps = s_min + e_min / b
        points.append((steps, steps * b))
    fit = lab.fit_steps_examples(points)
    assert fit is not None
    assert fit.s_min == pytest.approx(s_min) and fit.e_min == pytest.approx(e_min)
    assert fit.b_crit == pytest.approx(7.5) and fit.max_relative_error < 1e-9
    # (S/S_min - 1)(E/E_min - 1) = 1 along the fitted curve.
    for b in (2.0, 30.0):
        s = fit.steps(b)
        assert (s / fit.s_min - 1) * (s * b / fit.e_min - 1) == pytest.approx(1.0)


def test_trade_off_fit_refuses_too_few_or_nonsensical_points():
    assert lab.fit_steps_examples([(100, 100), (60, 240)]) is None
    # More steps for bigger batches: no positive E_min explains that.
    assert lab.fit_steps_examples([(10, 10), (40, 160), (200, 3200)]) is None


# -- the whole lab ---------------------------------------------------------------


def _run(params: dict[str, str], seed: int = 0) -> tuple[int, list]:
    events: list = []
    status = run_lab("batch-size", params, device="cpu", seed=seed, emit=events.append)
    return status, events


def test_same_seed_gives_the_same_summary_and_another_seed_does_not():
    status, first = _run(TINY)
    _, second = _run(TINY)
    _, other = _run(TINY, seed=1)
    assert status == 0
    a, b, c = (ev[-1].summary for ev in (first, second, other))
    for s in (a, b, c):
        s.pop("seconds")
    assert a == b
    assert a != c
    # The curves too, not only the summary.
    def points(evs):
        return [(e.chart, e.series, e.x, e.y) for e in evs if isinstance(e, Metric)]

    assert points(first) == points(second)


def test_summary_and_tables_describe_the_run():
    status, events = _run(TINY)
    assert status == 0 and isinstance(events[-1], Result)
    summary = events[-1].summary
    # A batch bigger than the training set is the training set.
    assert set(summary["final_test_accuracy"]) == {"8", "64", "1257"}
    assert summary["n_train"] == 1257 and summary["n_test"] == 540
    assert summary["device"] == "cpu"
    assert all(0 <= v <= 1 for v in summary["final_test_accuracy"].values())
    for key in ("b_simple", "b_simple_start", "b_simple_end"):
        assert summary[key] is None or summary[key] > 0
    tables = {e.title: e for e in events if isinstance(e, Table)}
    partial = next(t for title, t in tables.items() if title.startswith("The partial last batch"))
    assert partial.rows == lab.partial_batch_rows(1257, [8, 64, 1257])
    charts = {e.chart for e in events if isinstance(e, Metric)}
    assert {lab.ACCURACY_VS_EXAMPLES, lab.LOSS_VS_EXAMPLES, lab.ACCURACY_VS_STEPS} <= charts
    series = {e.series for e in events
              if isinstance(e, Metric) and e.chart == lab.ACCURACY_VS_STEPS}
    assert series == {"B=8", "B=64", "B=1257"}
    # Same examples for every B: each accuracy-vs-examples series ends at the budget.
    ends = {}
    for e in events:
        if isinstance(e, Metric) and e.chart == lab.ACCURACY_VS_EXAMPLES:
            ends[e.series] = e.x
    assert set(ends.values()) == {1500}


def test_the_averaging_text_quotes_the_diary_and_sizes_the_shift_from_its_own_table():
    status, events = _run(TINY)
    assert status == 0
    table = next(e for e in events if isinstance(e, Table) and "averaged two ways" in e.title)
    texts = [e.markdown for e in events if isinstance(e, Text)]
    said = next(t for t in texts if "batch means" in t)
    # the diary names no typo: the lab says what the diary says, and no more
    assert "a typo in how I calculated the loss on the test data" in said
    assert "the diary's bug" not in " ".join(texts)
    # the share it quotes is the table's largest |difference| / per-example mean
    worst = max(abs(r[5]) / r[4] for r in table.rows)
    assert f"{worst:.1%} of the loss" in said


def test_bad_noise_batches_and_missing_cifar_are_bad_input(tmp_path):
    with pytest.raises(ParamError, match="noise_batches=64,32: expected two sizes"):
        _run({**TINY, "noise_batches": "64,32"})  # the catalog's check: before any event

    missing = tmp_path / "nowhere.tar.gz"
    status, events = _run({**TINY, "dataset": "cifar10", "cifar_path": str(missing)})
    assert status == 2 and str(missing) in events[-1].message


def test_lab_leaves_the_thread_count_as_it_found_it():
    before = torch.get_num_threads()
    ctx = LabContext(device="cpu", seed=0, emit=lambda e: None)
    with pytest.raises(ParamError):
        lab.run({**lab_defaults(), "noise_batches": [5]}, ctx)
    assert torch.get_num_threads() == before


def lab_defaults() -> dict:
    from labs.catalog import get

    return get("batch-size").defaults()


def test_the_lab_runs_on_a_cifar10_tarball(tmp_path):
    import numpy as np

    from tests.labs.test_data import _batch, _write_tarball

    rng = np.random.default_rng(5)
    batches = {f"data_batch_{i}": _batch(rng, 20, i) for i in range(1, 6)}
    batches["test_batch"] = _batch(rng, 30, 0)
    path = tmp_path / "cifar-10-python.tar.gz"
    _write_tarball(path, batches)
    status, events = _run({"dataset": "cifar10", "cifar_path": str(path), "batch_sizes": "8,500",
                           "examples": "300", "noise_batches": "4,16", "noise_draws": "3",
                           "hidden": "8"})
    assert status == 0, events[-1]
    summary = events[-1].summary
    assert summary["dataset"] == "cifar10"
    assert (summary["n_train"], summary["n_test"]) == (100, 30)
    assert set(summary["final_test_accuracy"]) == {"8", "100"}  # 500 > N is cut to N


def test_the_noise_scales_interval_is_the_bootstrap_of_its_draws():
    """With |G|² fixed at 1, B_simple is the mean of the tr(Σ) draws, and its 90 %
    bootstrap interval is the normal one, mean ± 1.645 σ/√n, to sampling error."""
    from labs.experiments.batch_size import NoiseScale

    gen = torch.Generator().manual_seed(0)
    trace = (100 + 10 * torch.randn(400, generator=gen, dtype=torch.float64)).tolist()
    noise = NoiseScale(g2=1.0, trace=sum(trace) / len(trace), g2_draws=[1.0] * len(trace),
                       trace_draws=trace)
    low, high = noise.interval()
    sd = float(torch.tensor(trace).std())
    half = 1.645 * sd / len(trace) ** 0.5
    assert low < noise.b_simple < high
    assert low == pytest.approx(noise.b_simple - half, rel=0.01)
    assert high == pytest.approx(noise.b_simple + half, rel=0.01)
    # a |G|² estimate that does not clear zero has no interval
    unresolved = NoiseScale(g2=0.01, trace=5.0, g2_draws=[1.0, -0.98] * 20,
                            trace_draws=[5.0] * 40)
    assert unresolved.interval() is None


def _shipped_card(note_id: str):
    from companion.deck_sync import deck_dirs
    from companion.decks import deck_files, load_decks

    decks, _ = load_decks(deck_files(deck_dirs()[:1]))
    return next(c for d in decks for c in d.cards if c.note_id == note_id)


@pytest.mark.parametrize("note_id, quoted", [
    # the steps to 90 % each card quotes, at the batch sizes in that order
    ("optimal-step-vs-batch", "{b4}, {b16} and {b64} steps for batch sizes 4, 16 and 64"),
    ("critical-batch-regimes", "({b1} → {b16})"),
    ("predict-steps-to-target", "{b4} steps against {b64}"),
])
def test_the_steps_a_card_quotes_are_what_the_lab_it_opens_measures(note_id, quoted):
    card = _shipped_card(note_id)
    assert card.lab == "batch-size"
    status, events = _run(card.lab_params)  # the card's own parameters, the default seed
    assert status == 0
    steps = events[-1].summary["steps_to_target"]
    text = " ".join(card.back.split() + card.extra.split())
    assert quoted.format(**{f"b{b}": n for b, n in steps.items()}) in text


def test_the_noise_scale_gap_a_card_quotes_is_what_the_lab_it_opens_measures():
    card = _shipped_card("critical-batch-predictor")
    status, events = _run(card.lab_params)
    assert status == 0
    summary = events[-1].summary
    text = " ".join(card.extra.split())
    assert f"{summary['b_simple'] / summary['b_crit']:.0f} times" in text
    assert f"\\approx {summary['b_simple']:.0f}$" in text


def test_a_run_reaches_the_target_where_it_holds_it_not_at_a_lucky_evaluation():
    curve = lab.Curve(batch_size=4, steps=[10, 20, 30, 40, 50, 60, 70],
                      examples=[40, 80, 120, 160, 200, 240, 280],
                      accuracy=[0.5, 0.91, 0.85, 0.90, 0.93, 0.92, 0.95], loss=[0.0] * 7)
    assert lab.first_reaching(curve, 0.9) == (40, 160)  # not the lone 0.91 at step 20
    assert lab.first_reaching(curve, 0.9, sustain=1) == (20, 80)
    # a crossing in the last evaluations counts: training ended holding it
    late = lab.Curve(batch_size=4, steps=[10, 20, 30], examples=[40, 80, 120],
                     accuracy=[0.5, 0.6, 0.95], loss=[0.0] * 3)
    assert lab.first_reaching(late, 0.9) == (30, 120)
    assert lab.first_reaching(late, 0.99) is None
