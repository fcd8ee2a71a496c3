"""The positional-encoding lab against references written from the paper's
formula with Python's math module, and its equivariance claim against
PyTorch's own nn.MultiheadAttention."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn

from labs.catalog import ParamError, get
from labs.context import LabContext
from labs.events import Heatmap, Metric, Table, from_json, to_json
from labs.experiments import positional_encoding as lab


def closed_form(p: int, d_model: int) -> list[float]:
    """Vaswani et al. (2017) §3.5, one position, element by element."""
    out = []
    for j in range(d_model):
        angle = p / 10000 ** ((j - j % 2) / d_model)
        out.append(math.sin(angle) if j % 2 == 0 else math.cos(angle))
    return out


def run(**params):
    spec = get("positional-encoding")
    values = spec.resolve({k: str(v) for k, v in params.items()})
    events = []
    summary = lab.run(values, LabContext(device="cpu", seed=0, emit=events.append))
    return summary, events


def test_the_heatmap_is_the_papers_formula():
    summary, events = run(positions=12, d_model=6, offset=3)
    [heatmap] = [e for e in events if isinstance(e, Heatmap)]
    assert len(heatmap.values) == 12 and len(heatmap.values[0]) == 6
    for p, row in enumerate(heatmap.values):
        assert row == pytest.approx(closed_form(p, 6), abs=5e-5)
    assert heatmap.col_labels[:2] == ["sin 0", "cos 0"]


@pytest.mark.parametrize("k", [1, 7, 30])
def test_a_shift_is_one_fixed_rotation_of_every_position(k):
    d_model = 10
    r = lab.rotation(k, d_model).tolist()
    for p in range(0, 40):
        here, there = closed_form(p, d_model), closed_form(p + k, d_model)
        turned = [sum(r[i][j] * here[j] for j in range(d_model)) for i in range(d_model)]
        assert turned == pytest.approx(there, abs=1e-12)
    # each block is a rotation: orthogonal, determinant 1
    block = torch.tensor(r, dtype=torch.float64)[:2, :2]
    assert torch.allclose(block @ block.T, torch.eye(2, dtype=torch.float64))
    assert float(torch.linalg.det(block)) == pytest.approx(1.0)
    pe = lab.positional_encoding(50, d_model)
    assert float(lab.rotation_errors(pe, k).max()) < 1e-12
    # and it is no identity: the shift does move the vector
    assert float((pe[k:] - pe[:-k]).abs().max()) > 0.1


def test_the_dot_product_depends_on_the_distance_alone():
    summary, events = run(positions=40, d_model=8)
    curve = {e.x: e.y for e in events if isinstance(e, Metric)}
    assert len(curve) == 40
    for delta, value in curve.items():
        expected = sum(math.cos(delta / 10000 ** (2 * i / 8)) for i in range(4))
        assert value == pytest.approx(expected, abs=1e-6)
    assert curve[0] == pytest.approx(4.0) and max(curve.values()) == curve[0]
    assert summary["dot_product_shift_error"] < 1e-12


def test_attention_without_position_is_permutation_equivariant_and_with_it_is_not():
    summary, events = run()
    assert summary["equivariance_error_without_pe"] < 1e-5
    assert summary["equivariance_error_with_pe"] > 1e-2
    assert summary["rotation_max_error"] < 1e-12
    [table] = [e for e in events if isinstance(e, Table) and "shuffle" in e.title]
    assert [row[2] for row in table.rows] == ["yes", "no"]
    perm = summary["permutation"]
    assert sorted(perm) == list(range(6)) and perm != list(range(6))


def test_the_claim_holds_for_pytorchs_own_attention_layer():
    """The independent reference: nn.MultiheadAttention, its own weights."""
    torch.manual_seed(3)
    mha = nn.MultiheadAttention(16, 2, batch_first=True).eval()
    x = torch.randn(1, 6, 16)
    perm = torch.tensor([2, 5, 3, 0, 1, 4])
    pe = lab.positional_encoding(6, 16, torch.float32)[None]
    with torch.no_grad():
        out = mha(x, x, x, need_weights=False)[0]
        out_p = mha(x[:, perm], x[:, perm], x[:, perm], need_weights=False)[0]
        assert float((out_p - out[:, perm]).abs().max()) < 1e-5
        y, y_p = x + pe, x[:, perm] + pe
        out = mha(y, y, y, need_weights=False)[0]
        out_p = mha(y_p, y_p, y_p, need_weights=False)[0]
        assert float((out_p - out[:, perm]).abs().max()) > 1e-2


def test_every_event_survives_json_and_the_summary_has_the_named_fields():
    summary, events = run()
    for event in events:
        assert from_json(to_json(event)) == event
    assert {"rotation_max_error", "equivariance_error_without_pe",
            "equivariance_error_with_pe"} <= set(summary)
    json.dumps(summary)


@pytest.mark.parametrize("raw, message", [
    ({"d_model": "7"}, "d_model=7 must be even"),
    ({"d_model": "6", "heads": "4"}, "heads=4 must divide d_model=6"),
    ({"positions": "5", "offset": "5"}, "offset=5 must be less than positions=5"),
    ({"sentence": "the zebra"}, "unknown word 'zebra'"),
])
def test_bad_parameters_are_one_line(raw, message):
    with pytest.raises(ParamError, match=message):
        get("positional-encoding").resolve(raw)


def test_each_clock_reads_its_true_period_and_angle_to_every_digit_shown():
    # The table's columns are shown with one count of decimals each; numbers
    # rounded to 4 digits first read padded with zeros that were never measured
    # (pair 1's angle 1.581000 for 1.581139, pair 7's period 19870.000 beside
    # the text's 19,869).
    from labs.render import column_texts

    summary, events = run(d_model=16, offset=5)
    [table] = [e for e in events if isinstance(e, Table) and "clock" in e.title]
    for pair, text in enumerate(column_texts(table.rows)):
        omega = 1 / 10000 ** (2 * pair / 16)
        for shown, true in ((text[2], 2 * math.pi / omega), (text[3], 5 * omega)):
            shown = shown.strip()  # padded so that the decimal points line up
            decimals = len(shown.split(".")[1]) if "." in shown else 0
            assert float(shown) == pytest.approx(round(true, decimals), abs=10 ** -decimals / 2)
