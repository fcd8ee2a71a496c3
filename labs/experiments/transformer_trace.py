"""A transformer forward pass, one step at a time.

The diary's first stumbling block was the transformer diagram. This lab walks
one transformer layer of "Attention Is All You Need" (Vaswani et al., 2017)
over a six-word sentence: by default with the causal mask, which makes it a
decoder-style layer (a GPT-style language model's: each word sees only the
words before it, and the last one's output predicts the next word); with
`causal=false` it is the paper's encoder layer, every word seeing every word.
The model is small enough (d_model = 8, two heads) that every number fits
on the screen, and the lab emits each intermediate tensor as a trace step:

    token ids → embeddings × √d_model → + positional encoding
    → Q, K, V per head → scores QKᵀ/√d_k (+ causal mask) → softmax
    → weighted sum of V → concat heads → output projection
    → residual + layer norm → feed-forward → residual + layer norm
    → logits (tied to the embedding) → next-token probabilities

The weights are random (drawn from the seed), so the "prediction" at the end
says nothing about English; what the lab shows is the arithmetic and the
shapes. The tests load the same weights into torch.nn.MultiheadAttention and
torch.nn.TransformerEncoderLayer and check that every number agrees.

Everything is computed in float64 (except on Apple's MPS, which has no
float64): the model is tiny and double precision lets the tests compare with
PyTorch's modules to 1e-10.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

# The lab's rules live with its spec, torch-free, so `lab run` and a deck's Lab:
# line are checked before any process starts; the lab calls the same functions:
# tokenize (words in, ids out, from the tiny vocabulary) and head_size (d_k, and
# "heads must divide d_model").
from labs.catalog import TRACE_VOCABULARY as VOCABULARY
from labs.catalog import get, head_size, tokenize
from labs.context import LabContext
from labs.events import Heatmap, Table, Text, TraceStep

# The feed-forward block is 4× wider than the model, as in the paper
# (d_model 512, d_ff 2048).
FF_MULTIPLIER = 4

# nn.LayerNorm's default. (The Annotated Transformer's own LayerNorm divides by
# the unbiased std + 1e-6 instead; we follow nn.LayerNorm so that PyTorch's
# modules can serve as the reference.)
LAYER_NORM_EPS = 1e-5


# ---------------------------------------------------------------------------
# The weights: random, but the same for the same seed on every device.
# ---------------------------------------------------------------------------


@dataclass
class Weights:
    """One layer (self-attention and feed-forward) plus the embedding.
    Matrices use nn.Linear's layout (out_features × in_features, y = x Wᵀ + b)
    so they load into PyTorch's modules as they are."""

    embedding: torch.Tensor  # (vocab, d_model), also the output projection (tied)
    w_q: torch.Tensor  # (d_model, d_model): all heads' query projections stacked
    b_q: torch.Tensor
    w_k: torch.Tensor
    b_k: torch.Tensor
    w_v: torch.Tensor
    b_v: torch.Tensor
    w_o: torch.Tensor  # (d_model, d_model): mixes the concatenated heads
    b_o: torch.Tensor
    norm1_gain: torch.Tensor
    norm1_bias: torch.Tensor
    w_1: torch.Tensor  # (d_ff, d_model)
    b_1: torch.Tensor
    w_2: torch.Tensor  # (d_model, d_ff)
    b_2: torch.Tensor
    norm2_gain: torch.Tensor
    norm2_bias: torch.Tensor
    final_gain: torch.Tensor  # the pre-norm stack's closing LayerNorm
    final_bias: torch.Tensor

    @property
    def d_model(self) -> int:
        return int(self.embedding.shape[1])


def make_weights(
    vocab_size: int,
    d_model: int,
    seed: int,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str = "cpu",
) -> Weights:
    """Gaussian weights from a seeded CPU generator, then moved to the device.

    Matrices get std 1/√fan_in so activations keep roughly unit size. The
    embedding gets std 1/√d_model: multiplied by √d_model in the forward pass
    its entries have size ~1, the same as the positional encoding's sines, so
    neither drowns the other. Biases and layer-norm gains are nudged away from
    0 and 1 so that a test which forgot to load them would fail.
    """
    gen = torch.Generator().manual_seed(seed)
    d_ff = FF_MULTIPLIER * d_model

    def normal(*shape: int, std: float, mean: float = 0.0) -> torch.Tensor:
        t = mean + std * torch.randn(*shape, generator=gen, dtype=torch.float64)
        return t.to(device=device, dtype=dtype)

    return Weights(
        embedding=normal(vocab_size, d_model, std=d_model**-0.5),
        w_q=normal(d_model, d_model, std=d_model**-0.5),
        b_q=normal(d_model, std=0.1),
        w_k=normal(d_model, d_model, std=d_model**-0.5),
        b_k=normal(d_model, std=0.1),
        w_v=normal(d_model, d_model, std=d_model**-0.5),
        b_v=normal(d_model, std=0.1),
        w_o=normal(d_model, d_model, std=d_model**-0.5),
        b_o=normal(d_model, std=0.1),
        norm1_gain=normal(d_model, std=0.1, mean=1.0),
        norm1_bias=normal(d_model, std=0.1),
        w_1=normal(d_ff, d_model, std=d_model**-0.5),
        b_1=normal(d_ff, std=0.1),
        w_2=normal(d_model, d_ff, std=d_ff**-0.5),
        b_2=normal(d_model, std=0.1),
        norm2_gain=normal(d_model, std=0.1, mean=1.0),
        norm2_bias=normal(d_model, std=0.1),
        final_gain=normal(d_model, std=0.1, mean=1.0),
        final_bias=normal(d_model, std=0.1),
    )


# ---------------------------------------------------------------------------
# The pieces of the forward pass, each a small function.
# ---------------------------------------------------------------------------


def embed(ids: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
    """Look up each token's row and scale it by √d_model (section 3.4 of the paper)."""
    return embedding[ids] * math.sqrt(embedding.shape[1])


def positional_encoding(
    positions: int, d_model: int, dtype: torch.dtype = torch.float64,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """The "squiggles": PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(same).

    Each pair of dimensions is a clock at its own speed, from one turn every
    2π positions down to one every 10000·2π, so every position gets a distinct
    pattern and a fixed offset is a rotation the model can learn to read.
    """
    pos = torch.arange(positions, dtype=torch.float64)[:, None]
    two_i = torch.arange(0, d_model, 2, dtype=torch.float64)
    angles = pos / torch.pow(10000.0, two_i / d_model)
    pe = torch.zeros(positions, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(angles)
    pe[:, 1::2] = torch.cos(angles[:, : d_model // 2])  # an odd d_model has one fewer cosine
    return pe.to(device=device, dtype=dtype)


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    return x @ weight.T + bias


def split_heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """(n, d_model) → (heads, n, d_k): head h owns columns h·d_k … (h+1)·d_k − 1.
    Leading batch dimensions pass through: (batch, n, d_model) → (batch, heads, n, d_k)."""
    *lead, n, d_model = x.shape
    return x.reshape(*lead, n, heads, d_model // heads).transpose(-3, -2)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """(heads, n, d_k) → (n, d_model): the heads' outputs side by side ("concat").
    Leading batch dimensions pass through, as in split_heads."""
    *lead, heads, n, d_k = x.shape
    return x.transpose(-3, -2).reshape(*lead, n, heads * d_k)


def causal_mask(n: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """True where query i must not see key j, i.e. j > i (a later token)."""
    return torch.ones(n, n, dtype=torch.bool, device=device).triu(diagonal=1)


def attention_scores(
    q: torch.Tensor, k: torch.Tensor, mask: torch.Tensor | None
) -> torch.Tensor:
    """QKᵀ/√d_k per head, with blocked entries set to −∞.

    Dividing by √d_k keeps the dot products of unit-size vectors at unit size
    whatever the head width, so the softmax does not saturate. −∞ (not a big
    negative number) makes the blocked weights exactly 0 after the softmax.
    """
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(mask, float("-inf"))
    return scores


def layer_norm(
    x: torch.Tensor, gain: torch.Tensor, bias: torch.Tensor, eps: float = LAYER_NORM_EPS
) -> torch.Tensor:
    """Each token vector to mean 0 and variance 1 (biased variance, eps inside
    the square root, as nn.LayerNorm), then a learned per-dimension gain and bias."""
    mean = x.mean(dim=-1, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * gain + bias


def self_attention(
    x: torch.Tensor, w: Weights, heads: int, mask: torch.Tensor | None
) -> dict[str, torch.Tensor]:
    """Multi-head self-attention, returning every intermediate by name."""
    q = split_heads(linear(x, w.w_q, w.b_q), heads)
    k = split_heads(linear(x, w.w_k, w.b_k), heads)
    v = split_heads(linear(x, w.w_v, w.b_v), heads)
    scores = attention_scores(q, k, mask)
    pattern = torch.softmax(scores, dim=-1)
    weighted = pattern @ v
    concat = merge_heads(weighted)
    out = linear(concat, w.w_o, w.b_o)
    return {"q": q, "k": k, "v": v, "scores": scores, "pattern": pattern,
            "weighted": weighted, "concat": concat, "out": out}


def feed_forward(x: torch.Tensor, w: Weights) -> tuple[torch.Tensor, torch.Tensor]:
    """max(0, x W₁ᵀ + b₁) W₂ᵀ + b₂, the same two-layer network at every position.
    Returns the hidden ReLU activations and the output."""
    hidden = torch.relu(linear(x, w.w_1, w.b_1))
    return hidden, linear(hidden, w.w_2, w.b_2)


def permutation_gap(x: torch.Tensor, w: Weights, heads: int, seed: int = 0) -> float:
    """max |f(P·x) − P·f(x)| for unmasked self-attention f and a random permutation P.

    Zero (up to rounding) means attention is permutation-equivariant: shuffle
    the tokens and the outputs are shuffled the same way, with nothing else
    changed. Without positional encoding "cat sat" and "sat cat" would be
    the same bag of vectors.
    """
    perm = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(seed))
    perm = perm.to(x.device)
    out = self_attention(x, w, heads, None)["out"]
    out_of_permuted = self_attention(x[perm], w, heads, None)["out"]
    return float((out_of_permuted - out[perm]).abs().max())


# ---------------------------------------------------------------------------
# The trace: the pieces in order, each result recorded as a step.
# ---------------------------------------------------------------------------


@dataclass
class Step:
    name: str
    description: str
    tensors: dict[str, torch.Tensor]


def step_names(norm: str) -> list[str]:
    """The order of the steps for post-norm and pre-norm."""
    start = ["token ids", "embeddings", "positional encoding", "add positional encoding"]
    attention = ["queries, keys, values", "attention scores", "attention pattern",
                 "weighted sum of values", "concat heads + output projection"]
    end = ["output logits", "next-token probabilities"]
    if norm == "post":
        middle = attention + ["residual + layer norm 1", "feed-forward",
                              "residual + layer norm 2"]
    else:
        middle = (["layer norm 1"] + attention + ["residual 1", "layer norm 2",
                  "feed-forward", "residual 2", "final layer norm"])
    return start + middle + end


def trace(
    ids: list[int], w: Weights, heads: int, norm: str = "post", causal: bool = True
) -> list[Step]:
    """Run one layer over `ids`, recording every intermediate tensor.

    post-norm (the paper):               x = LayerNorm(x + Sublayer(x))
    pre-norm (the Annotated Transformer): x = x + Sublayer(LayerNorm(x)),
    and then one more LayerNorm at the end of the stack, as the Annotated
    Transformer's Encoder does: the residual stream itself is never
    normalised inside a pre-norm layer, so it needs one before the output.
    """
    get("transformer-trace").param("norm").check(norm)  # the spec's choices: post or pre
    d_model = w.d_model
    d_k = head_size(d_model, heads)
    device, dtype = w.embedding.device, w.embedding.dtype
    n = len(ids)
    steps: list[Step] = []

    def record(name: str, description: str, **tensors: torch.Tensor) -> None:
        steps.append(Step(name, description, tensors))

    token_ids = torch.tensor(ids, dtype=torch.long, device=device)
    record("token ids", f"Each of the {n} words becomes its index in the "
           f"{w.embedding.shape[0]}-word vocabulary.", token_ids=token_ids)

    emb = embed(token_ids, w.embedding)
    record("embeddings", f"Each id picks a row of the embedding matrix, scaled by "
           f"√d_model = {math.sqrt(d_model):.3f}.", embeddings=emb)

    pe = positional_encoding(n, d_model, dtype, device)
    record("positional encoding", "Sines and cosines of the position at "
           f"{(d_model + 1) // 2} frequencies, one pattern per position.", pe=pe)

    x = emb + pe
    record("add positional encoding", "Embedding plus position: the only place the "
           "word order enters the model.", x=x)

    mask = causal_mask(n, device) if causal else None

    def attention_steps(inp: torch.Tensor) -> torch.Tensor:
        a = self_attention(inp, w, heads, mask)
        record("queries, keys, values", f"Three linear maps of every token, each split "
               f"into {heads} heads of d_k = {d_k}.", q=a["q"], k=a["k"], v=a["v"])
        record("attention scores", "Each query's dot product with every key, divided by "
               f"√d_k = {math.sqrt(d_k):.3f}"
               + ("; later tokens masked to −∞." if causal else "."), scores=a["scores"])
        record("attention pattern", "Softmax over each row: how much each token attends "
               "to each token it may see; rows sum to 1.", pattern=a["pattern"])
        record("weighted sum of values", "Each token's new vector per head: the values "
               "averaged with its attention weights.", weighted=a["weighted"])
        record("concat heads + output projection", "The heads side by side, mixed by the "
               "output matrix W_O.", concat=a["concat"], attention_out=a["out"])
        return a["out"]

    if norm == "post":
        attn = attention_steps(x)
        residual = x + attn
        x = layer_norm(residual, w.norm1_gain, w.norm1_bias)
        record("residual + layer norm 1", "LayerNorm(x + Attention(x)): add the input "
               "back, then normalise each token vector.", residual=residual, x=x)
        hidden, ff = feed_forward(x, w)
        record("feed-forward", f"Two linear layers with a ReLU between ({d_model} → "
               f"{hidden.shape[1]} → {d_model}), at each position separately.",
               hidden=hidden, ff_out=ff)
        residual = x + ff
        x = layer_norm(residual, w.norm2_gain, w.norm2_bias)
        record("residual + layer norm 2", "LayerNorm(x + FeedForward(x)), the layer's "
               "output.", residual=residual, x=x)
    else:
        normed = layer_norm(x, w.norm1_gain, w.norm1_bias)
        record("layer norm 1", "Pre-norm: normalise a copy of x before attention; x "
               "itself flows on unchanged.", normed=normed)
        x = x + attention_steps(normed)
        record("residual 1", "x + Attention(LayerNorm(x)): the residual stream is not "
               "normalised.", x=x)
        normed = layer_norm(x, w.norm2_gain, w.norm2_bias)
        record("layer norm 2", "Normalise a copy of x before the feed-forward block.",
               normed=normed)
        hidden, ff = feed_forward(normed, w)
        record("feed-forward", f"Two linear layers with a ReLU between ({d_model} → "
               f"{hidden.shape[1]} → {d_model}), at each position separately.",
               hidden=hidden, ff_out=ff)
        x = x + ff
        record("residual 2", "x + FeedForward(LayerNorm(x)), the layer's output.", x=x)
        x = layer_norm(x, w.final_gain, w.final_bias)
        record("final layer norm", "The Annotated Transformer's encoder ends with one "
               "more LayerNorm, since pre-norm never normalised the stream.", x=x)

    logits = x @ w.embedding.T
    record("output logits", "Each position's vector dotted with every word's embedding "
           "(the output projection is tied to the embedding).", logits=logits)
    probs = torch.softmax(logits, dim=-1)
    record("next-token probabilities", "Softmax of the logits: at each position, a "
           "distribution over the next word.", probs=probs)
    return steps


# ---------------------------------------------------------------------------
# From steps to events.
# ---------------------------------------------------------------------------


def rounded(t: torch.Tensor, decimals: int = 4) -> Any:
    """Nested lists of Python numbers; floats rounded, integers kept (−∞ stays −∞)."""
    values = t.detach().cpu().tolist()

    def walk(v: Any) -> Any:
        if isinstance(v, list):
            return [walk(item) for item in v]
        return round(v, decimals) if isinstance(v, float) else v

    return walk(values)


def to_event(index: int, step: Step) -> TraceStep:
    return TraceStep(
        index=index,
        name=step.name,
        description=step.description,
        shapes={key: list(t.shape) for key, t in step.tensors.items()},
        values={key: rounded(t) for key, t in step.tensors.items()},
    )


def run(params: dict[str, Any], ctx: LabContext) -> dict[str, Any]:
    d_model, heads = int(params["d_model"]), int(params["heads"])
    norm, causal = params["norm"], bool(params["causal"])
    # The spec's own checks, for a caller that did not go through the runner: fail
    # before any work.
    head_size(d_model, heads)
    ids = tokenize(params["sentence"])
    words = [VOCABULARY[i] for i in ids]
    ctx.seed_everything()
    device = ctx.torch_device
    dtype = torch.float32 if device.type == "mps" else torch.float64
    weights = make_weights(len(VOCABULARY), d_model, ctx.seed, dtype, device)

    ctx.emit(
        Text(
            ("## One decoder-style layer (causal mask), every number\n\n" if causal else
             "## One encoder layer (no mask), every number\n\n")
            + f"Sentence: *{' '.join(words)}*. d_model = {d_model}, {heads} heads of "
            f"d_k = {d_model // heads}, feed-forward width {FF_MULTIPLIER * d_model}; "
            + (
                "post-norm, as in the paper: LayerNorm(x + Sublayer(x))"
                if norm == "post"
                else "pre-norm, as in the Annotated Transformer: x + Sublayer(LayerNorm(x)), "
                "followed by one final LayerNorm, as its Encoder applies after the last layer"
            )
            + f"; {'causal mask' if causal else 'no mask'}. The weights are random (seed "
            f"{ctx.seed}), so the final probabilities say nothing about English: "
            "watch the shapes and the arithmetic."
            + ("" if dtype == torch.float64 else
               "\n\nMPS has no float64, so this run computes in float32.")
        )
    )

    steps = trace(ids, weights, heads, norm, causal)
    for index, step in enumerate(steps, start=1):
        ctx.emit(to_event(index, step))
        ctx.progress(index, len(steps), step.name)

        if step.name == "positional encoding":
            long_pe = positional_encoding(50, d_model, dtype, device)
            ctx.emit(Heatmap(
                title="positional encoding of positions 0-49 (rows) by dimension (columns)",
                values=rounded(long_pe),
                row_labels=[str(p) for p in range(50)],
                col_labels=[f"{'sin' if j % 2 == 0 else 'cos'} {j // 2}"
                            for j in range(d_model)],
            ))
            without_pe = embed(torch.tensor(ids, device=device), weights.embedding)
            gap = permutation_gap(without_pe, weights, heads, seed=ctx.seed)
            ctx.emit(Text(
                "**Why add position at all?** Self-attention treats its input as a set: "
                "shuffle the tokens and its outputs come out shuffled the same way, "
                "nothing else changes (permutation equivariance; on this sentence "
                f"without positional encoding and without the mask, max |f(Px) − P·f(x)| = "
                f"{gap:.1e}). So *cat sat* and *sat cat* would look alike. An RNN gets "
                "order for free from its recurrence, reading one token after another; "
                "a transformer reads all tokens at once and must be told where each "
                "one is. (A causal mask does leak some order, since each token sees "
                "only its past, but the sinusoids give every position an explicit, "
                "distinct signature.)"
            ))

        if step.name == "attention pattern":
            for h in range(heads):
                ctx.emit(Heatmap(
                    title=f"attention pattern, head {h + 1} (row attends to column)",
                    values=rounded(step.tensors["pattern"][h]),
                    row_labels=words, col_labels=words,
                ))

    probs = steps[-1].tensors["probs"][-1]
    logits = steps[-2].tensors["logits"][-1]
    top = torch.topk(probs, k=min(5, len(VOCABULARY)))
    rows = [[rank + 1, VOCABULARY[int(i)], round(float(p), 4), round(float(logits[i]), 4)]
            for rank, (p, i) in enumerate(zip(top.values, top.indices))]
    ctx.emit(Table(title=f"top {len(rows)} next tokens after '{words[-1]}'",
                   columns=["rank", "token", "probability", "logit"], rows=rows))
    return {
        "tokens": words,
        "norm": norm,
        "causal": causal,
        "steps": len(steps),
        "top_next": [[r[1], r[2]] for r in rows],
    }
