"""The hand-traced transformer layer against PyTorch's own modules and the
closed-form positional encoding, all in float64."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn

from labs import catalog
from labs.catalog import ParamError, get
from labs.context import LabContext
from labs.events import Heatmap, Table, Text, TraceStep, from_json, to_json
from labs.experiments import transformer_trace as lab

D_MODEL, HEADS = 8, 2
SENTENCE = "the cat sat on the mat"


def traced(norm: str, causal: bool, d_model: int = D_MODEL, heads: int = HEADS, seed: int = 5):
    ids = lab.tokenize(SENTENCE)
    weights = lab.make_weights(len(lab.VOCABULARY), d_model, seed)
    steps = lab.trace(ids, weights, heads, norm, causal)
    return ids, weights, {s.name: s.tensors for s in steps}, steps


def load_attention(mha: nn.MultiheadAttention, w: lab.Weights) -> None:
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([w.w_q, w.w_k, w.w_v]))
        mha.in_proj_bias.copy_(torch.cat([w.b_q, w.b_k, w.b_v]))
        mha.out_proj.weight.copy_(w.w_o)
        mha.out_proj.bias.copy_(w.b_o)


def reference_layer(w: lab.Weights, heads: int, norm_first: bool) -> nn.TransformerEncoderLayer:
    layer = nn.TransformerEncoderLayer(
        w.d_model, heads, dim_feedforward=w.w_1.shape[0], dropout=0.0, activation="relu",
        batch_first=True, norm_first=norm_first, dtype=torch.float64,
    )
    load_attention(layer.self_attn, w)
    with torch.no_grad():
        layer.linear1.weight.copy_(w.w_1)
        layer.linear1.bias.copy_(w.b_1)
        layer.linear2.weight.copy_(w.w_2)
        layer.linear2.bias.copy_(w.b_2)
        layer.norm1.weight.copy_(w.norm1_gain)
        layer.norm1.bias.copy_(w.norm1_bias)
        layer.norm2.weight.copy_(w.norm2_gain)
        layer.norm2.bias.copy_(w.norm2_bias)
    return layer.eval()


def max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max())


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("norm", ["post", "pre"])
def test_attention_equals_nn_multihead_attention(norm, causal):
    _, w, t, _ = traced(norm, causal)
    if norm == "post":
        attention_input = t["add positional encoding"]["x"]
    else:
        attention_input = t["layer norm 1"]["normed"]
    mha = nn.MultiheadAttention(D_MODEL, HEADS, dropout=0.0, batch_first=True, dtype=torch.float64)
    load_attention(mha, w)
    mha.eval()
    n = attention_input.shape[0]
    mask = lab.causal_mask(n) if causal else None
    x = attention_input[None]
    with torch.no_grad():
        out, pattern = mha(x, x, x, attn_mask=mask, need_weights=True, average_attn_weights=False)
    assert max_diff(t["concat heads + output projection"]["attention_out"], out[0]) < 1e-10
    assert max_diff(t["attention pattern"]["pattern"], pattern[0]) < 1e-10


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("norm", ["post", "pre"])
def test_layer_equals_nn_transformer_encoder_layer(norm, causal):
    _, w, t, _ = traced(norm, causal)
    layer = reference_layer(w, HEADS, norm_first=(norm == "pre"))
    x = t["add positional encoding"]["x"]
    mask = lab.causal_mask(x.shape[0]) if causal else None
    with torch.no_grad():
        expected = layer(x[None], src_mask=mask)[0]
    ours = t["residual + layer norm 2"]["x"] if norm == "post" else t["residual 2"]["x"]
    assert max_diff(ours, expected) < 1e-10
    if norm == "pre":  # the closing LayerNorm of the Annotated Transformer's Encoder
        final = nn.LayerNorm(D_MODEL, dtype=torch.float64)
        with torch.no_grad():
            final.weight.copy_(w.final_gain)
            final.bias.copy_(w.final_bias)
            assert max_diff(t["final layer norm"]["x"], final(expected)) < 1e-10


def test_intermediate_steps_against_torch_functions():
    ids, w, t, _ = traced("post", True)
    emb = nn.functional.embedding(torch.tensor(ids), w.embedding) * math.sqrt(D_MODEL)
    assert max_diff(t["embeddings"]["embeddings"], emb) == 0
    x = t["add positional encoding"]["x"]
    assert max_diff(x, emb + t["positional encoding"]["pe"]) == 0
    # Q via a single nn.Linear, then heads as contiguous column blocks.
    q_full = nn.functional.linear(x, w.w_q, w.b_q)
    q = t["queries, keys, values"]["q"]
    assert q.shape == (HEADS, 6, D_MODEL // HEADS)
    for h in range(HEADS):
        block = q_full[:, h * 4 : (h + 1) * 4]
        assert max_diff(q[h], block) == 0
    # Scores: QKᵀ/√d_k; softmax of them equals PyTorch's scaled_dot_product_attention weights.
    k, v = t["queries, keys, values"]["k"], t["queries, keys, values"]["v"]
    expected = nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    assert max_diff(t["weighted sum of values"]["weighted"], expected) < 1e-12
    post = t["residual + layer norm 1"]
    ln = nn.functional.layer_norm(post["residual"], (D_MODEL,), w.norm1_gain, w.norm1_bias, 1e-5)
    assert max_diff(post["x"], ln) < 1e-12
    logits = t["output logits"]["logits"]
    assert max_diff(logits, t["residual + layer norm 2"]["x"] @ w.embedding.T) < 1e-12
    assert max_diff(t["next-token probabilities"]["probs"], torch.softmax(logits, -1)) < 1e-15


def test_positional_encoding_matches_the_closed_form():
    for d_model in (8, 7):
        pe = lab.positional_encoding(20, d_model)
        for pos in range(20):
            for j in range(d_model):
                angle = pos / 10000 ** ((j - j % 2) / d_model)
                expected = math.sin(angle) if j % 2 == 0 else math.cos(angle)
                assert pe[pos, j].item() == pytest.approx(expected, abs=1e-12)


def test_attention_rows_sum_to_one_and_masked_entries_are_zero():
    _, _, t, _ = traced("post", True)
    pattern = t["attention pattern"]["pattern"]
    scores = t["attention scores"]["scores"]
    assert torch.allclose(pattern.sum(-1), torch.ones(HEADS, 6, dtype=torch.float64), atol=1e-15)
    above = torch.ones(6, 6, dtype=torch.bool).triu(1)
    assert (pattern[:, above] == 0).all() and (pattern[:, ~above] > 0).all()
    assert torch.isneginf(scores[:, above]).all() and torch.isfinite(scores[:, ~above]).all()
    _, _, unmasked, _ = traced("post", False)
    assert (unmasked["attention pattern"]["pattern"] > 0).all()


def test_attention_without_position_is_permutation_equivariant():
    ids, w, t, _ = traced("post", False)
    assert lab.permutation_gap(t["embeddings"]["embeddings"], w, HEADS, seed=1) < 1e-12
    # With the positional encoding added the same shuffle is no longer a mere reordering.
    perm = torch.tensor([1, 0, 2, 3, 4, 5])  # swap "the" and "cat"
    x = t["embeddings"]["embeddings"]
    pe = t["positional encoding"]["pe"]
    out = lab.self_attention(x + pe, w, HEADS, None)["out"]
    out_swapped = lab.self_attention(x[perm] + pe, w, HEADS, None)["out"]
    assert max_diff(out_swapped, out[perm]) > 1e-3


@pytest.mark.parametrize("norm", ["post", "pre"])
def test_steps_come_in_order_with_shapes_matching_values(norm):
    spec = get("transformer-trace")
    events: list = []
    params = spec.resolve({"norm": norm})
    summary = lab.run(params, LabContext(device="cpu", seed=0, emit=events.append))
    json.dumps(summary)
    for event in events:
        assert from_json(to_json(event)) == event

    steps = [e for e in events if isinstance(e, TraceStep)]
    expected = [
        "token ids", "embeddings", "positional encoding", "add positional encoding",
        *(["layer norm 1"] if norm == "pre" else []),
        "queries, keys, values", "attention scores", "attention pattern",
        "weighted sum of values", "concat heads + output projection",
        *(["residual + layer norm 1", "feed-forward", "residual + layer norm 2"]
          if norm == "post" else
          ["residual 1", "layer norm 2", "feed-forward", "residual 2", "final layer norm"]),
        "output logits", "next-token probabilities",
    ]
    assert [s.name for s in steps] == expected
    assert [s.index for s in steps] == list(range(1, len(expected) + 1))
    assert summary["steps"] == len(expected)

    def shape_of(value):
        return [len(value), *shape_of(value[0])] if isinstance(value, list) else []

    for s in steps:
        assert s.description and s.values and set(s.shapes) == set(s.values)
        for key, value in s.values.items():
            assert shape_of(value) == s.shapes[key], (s.name, key)
    by_name = {s.name: s for s in steps}
    assert by_name["token ids"].values["token_ids"] == [0, 1, 2, 3, 0, 4]
    assert by_name["queries, keys, values"].shapes["q"] == [2, 6, 4]
    assert by_name["output logits"].shapes["logits"] == [6, len(lab.VOCABULARY)]
    assert all(
        len(str(v).split(".")[-1]) <= 4
        for row in by_name["embeddings"].values["embeddings"] for v in row
    )

    heatmaps = [e for e in events if isinstance(e, Heatmap)]
    assert any("positional encoding" in h.title for h in heatmaps)
    heads = [h for h in heatmaps if h.title.startswith("attention pattern")]
    assert len(heads) == 2 and heads[0].row_labels == SENTENCE.split()
    texts = " ".join(e.markdown for e in events if isinstance(e, Text))
    assert "permutation" in texts and "RNN" in texts
    if norm == "pre":
        assert "final LayerNorm" in texts
    table = [e for e in events if isinstance(e, Table)][-1]
    assert len(table.rows) == 5 and "mat" in table.title
    probs = by_name["next-token probabilities"].values["probs"][-1]
    assert table.rows[0][2] == pytest.approx(max(probs), abs=1e-4)
    assert [r[1] for r in table.rows] == [name for name, _ in summary["top_next"]]


def test_same_seed_same_numbers_other_seed_other_numbers():
    a = lab.make_weights(12, 8, seed=3)
    b = lab.make_weights(12, 8, seed=3)
    c = lab.make_weights(12, 8, seed=4)
    assert torch.equal(a.w_q, b.w_q) and not torch.equal(a.w_q, c.w_q)


def test_unknown_word_names_the_word_and_the_vocabulary():
    # ParamError (a ValueError): the runner reports it as bad input, exit status 2.
    with pytest.raises(ParamError, match=r"unknown word 'elephant'.*the cat sat on mat"):
        lab.tokenize("the elephant sat")
    with pytest.raises(ParamError, match="empty"):
        lab.tokenize("   ")
    with pytest.raises(ParamError, match="'ate'"):  # the catalog checks it first
        get("transformer-trace").resolve({"sentence": "the cat ate"})
    params = {**get("transformer-trace").defaults(), "sentence": "the cat ate"}
    with pytest.raises(ParamError, match="'ate'"):  # and the lab, called directly, too
        lab.run(params, LabContext(device="cpu", seed=0, emit=lambda e: None))


def test_heads_must_divide_d_model():
    with pytest.raises(ParamError, match="heads=3 must divide d_model=8"):
        get("transformer-trace").resolve({"d_model": "8", "heads": "3"})  # the catalog's check
    params = {**get("transformer-trace").defaults(), "d_model": 8, "heads": 3}  # the lab, direct
    events: list = []
    with pytest.raises(ParamError, match="heads=3 must divide d_model=8"):
        lab.run(params, LabContext(device="cpu", seed=0, emit=events.append))
    assert events == []  # failed before doing anything


def test_the_lab_s_rules_are_its_spec_s_written_once():
    assert lab.head_size is catalog.head_size and lab.tokenize is catalog.tokenize
    assert lab.VOCABULARY is catalog.TRACE_VOCABULARY
    _, w, _, _ = traced("post", True)
    with pytest.raises(ParamError, match="norm='sideways': expected one of post, pre"):
        lab.trace([0, 1], w, HEADS, norm="sideways")  # the spec's choices, not a second list


def test_other_sizes_still_match_pytorch():
    _, w, t, _ = traced("post", True, d_model=12, heads=3)
    layer = reference_layer(w, 3, norm_first=False)
    x = t["add positional encoding"]["x"]
    with torch.no_grad():
        expected = layer(x[None], src_mask=lab.causal_mask(6))[0]
    assert max_diff(t["residual + layer norm 2"]["x"], expected) < 1e-10
