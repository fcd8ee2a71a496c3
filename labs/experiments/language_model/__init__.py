"""Language models work for reasons: a small causal transformer trained in the lab.

The diary: a model that fills "John opens his suitcase and ___ it with clothes"
with *fills* has learned some grammar; one that resolves "it" in "the trophy
doesn't fit in the suitcase because it is too big" has learned something about
sizes; and the N400, the brain's response to an unexpected word ("He locked the
door using his *elephant*"), tracks how improbable the word is.

The lab makes each of these happen on a corpus it generates from its own
grammar (labs/experiments/language_model/grammar.py, deterministic from the seed):

* The model is the transformer-trace lab's layer, stacked: its `embed`,
  `positional_encoding`, `self_attention` with `causal_mask`, `layer_norm` and
  `feed_forward`, pre-norm, with a final layer norm and the output tied to the
  embedding, its `Weights` tensors made trainable and trained with Adam on
  next-word cross-entropy. No library model.
* The baselines: a bigram model (counts of each word after each word, add-α
  smoothed) and, for agreement, the nearest-noun heuristic (the verb agrees
  with the closest noun before it), as in Linzen et al. (2016).
* It shows the training loss against the bigram's on the same batches, the
  next-word probabilities for the diary's suitcase sentence, agreement
  accuracy with and without attractors, the sizes questions, and surprisal,
  −log₂ p(word | the words before), word by word for "he locked the door using
  his key" against "... his elephant" (Kutas & Federmeier 2011; Frank et al.
  2015 found N400 size grows with a word's surprisal under a language model).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from labs.catalog import head_size
from labs.context import LabContext
from labs.events import Metric, Table, Text
from labs.experiments.language_model import grammar
from labs.experiments.transformer_trace import (
    Weights,
    causal_mask,
    embed,
    feed_forward,
    layer_norm,
    make_weights,
    positional_encoding,
    self_attention,
)

VOCABULARY = grammar.vocabulary()
INDEX = {word: i for i, word in enumerate(VOCABULARY)}
BOS_ID, PAD_ID = INDEX[grammar.BOS], INDEX[grammar.PAD]
IGNORE = -100  # F.cross_entropy's ignore_index: padding is never a target

# Add-α smoothing of the bigram, so that a pair never seen (his → elephant) has a
# finite surprisal; α = 0.1 of a count spread over every word that can follow.
BIGRAM_ALPHA = 0.1

# The diary's sentences, in the grammar's words.
SUITCASE_PREFIXES = (("john", "opens", "his", "suitcase", "and"),
                     ("john", "and", "kate", "open", "their", "suitcase", "and"))
EXPECTED = ("he", "locked", "the", "door", "using", "his", "key", ".")
UNEXPECTED = ("he", "locked", "the", "door", "using", "his", "elephant", ".")
REFERENT = ("the", "trophy", "does", "not", "fit", "in", "the", "suitcase", "because")

AGREEMENT_ITEMS = 300  # test sentences per condition (with / without attractors)
# p(big | ... the trophy is too) and p(small | ... the suitcase is too) both at least
# this before the lab says the model has the referent (agreement's bar too)
REFERENT_BAR = 0.9


def encode(words: Sequence[str]) -> list[int]:
    """BOS then each word's id (KeyError for a word outside the grammar)."""
    return [BOS_ID] + [INDEX[w] for w in words]


def batch_tensor(sentences: Sequence[Sequence[str]]) -> torch.Tensor:
    """(sentences, longest + 1) token ids, BOS first, PAD after each sentence's end."""
    ids = [encode(s) for s in sentences]
    width = max(len(i) for i in ids)
    return torch.tensor([i + [PAD_ID] * (width - len(i)) for i in ids], dtype=torch.long)


# ---------------------------------------------------------------------------
# The model: transformer-trace's functions, a stack of pre-norm layers.
# ---------------------------------------------------------------------------


class Model:
    """`layers` pre-norm decoder layers of transformer-trace, trainable.

    Layer i's weights come from transformer_trace.make_weights(seed + i); the
    embedding of layer 0 is the model's (input and, tied, output); the other
    layers' embeddings are not used, nor are layers' final_gain/bias but the last's.
    """

    def __init__(self, d_model: int, heads: int, layers: int, seed: int,
                 device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32):
        head_size(d_model, heads)
        self.heads = heads
        self.layers: list[Weights] = [
            make_weights(len(VOCABULARY), d_model, seed + i, dtype, device) for i in range(layers)
        ]
        self.embedding = self.layers[0].embedding
        # positional_encoding builds on the CPU and copies to the device: once per
        # length here, not once per step
        self._encodings: dict[int, torch.Tensor] = {}
        for t in self.parameters():
            t.requires_grad_(True)

    def parameters(self) -> list[torch.Tensor]:
        out = [self.embedding]
        for i, w in enumerate(self.layers):
            out += [w.w_q, w.b_q, w.w_k, w.b_k, w.w_v, w.b_v, w.w_o, w.b_o, w.norm1_gain,
                    w.norm1_bias, w.w_1, w.b_1, w.w_2, w.b_2, w.norm2_gain, w.norm2_bias]
            if i == len(self.layers) - 1:
                out += [w.final_gain, w.final_bias]
        return out

    def logits(self, ids: torch.Tensor) -> torch.Tensor:
        """(batch, n) token ids → (batch, n, vocab) next-word logits; position t sees ≤ t."""
        n = ids.shape[1]
        d_model = self.embedding.shape[1]
        mask = causal_mask(n, ids.device)
        if n not in self._encodings:
            self._encodings[n] = positional_encoding(n, d_model, self.embedding.dtype,
                                                     ids.device)
        x = embed(ids, self.embedding) + self._encodings[n]
        for w in self.layers:
            normed = layer_norm(x, w.norm1_gain, w.norm1_bias)
            x = x + self_attention(normed, w, self.heads, mask)["out"]
            x = x + feed_forward(layer_norm(x, w.norm2_gain, w.norm2_bias), w)[1]
        last = self.layers[-1]
        return layer_norm(x, last.final_gain, last.final_bias) @ self.embedding.T


def targets_of(batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs (all but the last column) and targets (the next word; PAD → ignored)."""
    inputs, targets = batch[:, :-1], batch[:, 1:].clone()
    targets[targets == PAD_ID] = IGNORE
    return inputs, targets


def surprisals(model: Model, words: Sequence[str]) -> list[float]:
    """−log₂ p(word | the words before it) for each word, under the model."""
    ids = torch.tensor([encode(words)], device=model.embedding.device)
    with torch.no_grad():
        logp = torch.log_softmax(model.logits(ids[:, :-1])[0].double(), dim=-1)
    return [float(-logp[t, ids[0, t + 1]] / math.log(2)) for t in range(len(words))]


def next_word(model: Model, prefix: Sequence[str]) -> torch.Tensor:
    """p(next word | prefix) over the vocabulary."""
    ids = torch.tensor([encode(prefix)], device=model.embedding.device)
    with torch.no_grad():
        return torch.softmax(model.logits(ids)[0, -1].double(), dim=-1).cpu()


# ---------------------------------------------------------------------------
# The baselines.
# ---------------------------------------------------------------------------


def bigram_counts(sentences: Sequence[Sequence[str]]) -> torch.Tensor:
    """(vocab, vocab) counts of word b right after word a (BOS before the first word)."""
    counts = torch.zeros(len(VOCABULARY), len(VOCABULARY), dtype=torch.float64)
    for s in sentences:
        ids = encode(s)
        for a, b in zip(ids, ids[1:]):
            counts[a, b] += 1
    return counts


def bigram_probs(counts: torch.Tensor, alpha: float = BIGRAM_ALPHA) -> torch.Tensor:
    """p(b | a) = (count(a, b) + α) / (count(a) + α·|words that can follow|).

    BOS and PAD never follow anything, so they get probability 0."""
    smoothed = counts + alpha
    smoothed[:, BOS_ID] = 0.0
    smoothed[:, PAD_ID] = 0.0
    return smoothed / smoothed.sum(dim=1, keepdim=True)


def bigram_loss(log_probs: torch.Tensor, inputs: torch.Tensor,
                targets: torch.Tensor) -> torch.Tensor:
    """Mean −ln p_bigram(target | previous word) over the non-padding targets (nats)."""
    keep = targets != IGNORE
    return -log_probs[inputs[keep], targets[keep]].mean()


def nearest_noun_correct(item: grammar.AgreementItem) -> bool:
    """The heuristic: the verb agrees with the closest noun before it."""
    nearest = next(w for w in reversed(item.prefix) if grammar.singular(w) is not None)
    verb = next(v for v in grammar.VERBS if item.correct in v)
    return verb[0 if grammar.singular(nearest) else 1] == item.correct


def agreement_accuracy(probs: Sequence[torch.Tensor],
                       items: Sequence[grammar.AgreementItem]) -> float:
    """Share of items where p(correct verb | prefix) > p(wrong verb | prefix);
    `probs[i]` is p(next word) over the vocabulary after items[i].prefix."""
    right = sum(bool(p[INDEX[item.correct]] > p[INDEX[item.wrong]])
                for p, item in zip(probs, items, strict=True))
    return right / len(items)


def batched_next(model: Model, prefixes: Sequence[Sequence[str]]) -> list[torch.Tensor]:
    """p(next word | prefix) for many prefixes in one batched pass (causal: PAD
    after a short prefix cannot change what its last word's position sees)."""
    batch = batch_tensor(prefixes).to(model.embedding.device)
    last = torch.tensor([len(p) for p in prefixes], device=batch.device)
    with torch.no_grad():
        logits = model.logits(batch)[torch.arange(len(prefixes), device=batch.device), last]
    return list(torch.softmax(logits.double(), dim=-1).cpu())


# ---------------------------------------------------------------------------
# The run.
# ---------------------------------------------------------------------------


def bits(x: float) -> float:
    return float(f"{x:.3g}")


def train(model: Model, data: torch.Tensor, steps: int, batch: int, lr: float, seed: int,
          bigram_logp: torch.Tensor, ctx: LabContext | None = None,
          log_every: int = 25) -> list[tuple[int, float, float]]:
    """Adam on next-word cross-entropy; returns (step, model loss, bigram loss) per
    log window, each the mean over the window's batches, in nats per word. The
    losses stay on the device between log points (no host sync per step)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    device = data.device
    # every step's sentences drawn at once and moved once: no copy to the device per step
    draws = torch.randint(len(data), (steps, batch), generator=gen).to(device)
    curve: list[tuple[int, float, float]] = []
    total = torch.zeros(2, device=device)
    in_window = 0
    for step in range(1, steps + 1):
        inputs, targets = targets_of(data[draws[step - 1]])
        logits = model.logits(inputs)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                               ignore_index=IGNORE)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            total += torch.stack([loss.detach(), bigram_loss(bigram_logp, inputs, targets)
                                  .to(loss.dtype)])
        in_window += 1
        if step % log_every == 0 or step == steps:
            model_loss, bigram = (total / in_window).tolist()
            curve.append((step, model_loss, bigram))
            total.zero_()
            in_window = 0
            if ctx is not None:
                ctx.emit(Metric(chart="training loss (nats per word)", series="transformer",
                                x=step, y=round(model_loss, 4), y_label="cross-entropy"))
                ctx.emit(Metric(chart="training loss (nats per word)", series="bigram",
                                x=step, y=round(bigram, 4), y_label="cross-entropy"))
                ctx.progress(step, steps, "training")
    return curve


def referent_sentence(p_big: float, p_small: float, leans: bool) -> str:
    """What the lab says of the trophy/suitcase referent, from p(*big* | the trophy is
    too) and p(*small* | the suitcase is too), `leans` when each beats the other word.
    Claimed at the bar agreement's claim has (REFERENT_BAR): a preference of 0.54
    against 0.44 (the default run's) is a lean; 1200 steps give 0.99 and 0.97."""
    said = f"*big* after the trophy (p = {p_big:.2f}) and *small* after the suitcase " \
           f"(p = {p_small:.2f})"
    if leans and min(p_big, p_small) >= REFERENT_BAR:
        return f"the model puts {said}. "
    if not leans:
        return "this run's model does not yet tell the trophy's *big* from the suitcase's " \
               "*small*. "
    short = ("too near chance (0.5)" if min(p_big, p_small) < 0.6
             else f"short of the {REFERENT_BAR} bar agreement's claim has")
    return f"the model leans the right way, {said}, but {short} to say it has the " \
           "referent: try more steps. "


def run(params: dict[str, Any], ctx: LabContext) -> dict[str, Any]:
    with ctx.one_cpu_thread():  # 32 wide, 64 sentences of 15 words
        return _run(params, ctx)


def _run(params: dict[str, Any], ctx: LabContext) -> dict[str, Any]:
    d_model, heads, layers = int(params["d_model"]), int(params["heads"]), int(params["layers"])
    steps, batch, lr = int(params["steps"]), int(params["batch"]), float(params["lr"])
    sentences = int(params["sentences"])
    head_size(d_model, heads)
    ctx.seed_everything()
    device = ctx.torch_device

    corpus = grammar.corpus(sentences, ctx.seed)
    counts = bigram_counts(corpus)
    bigram_p = bigram_probs(counts)
    bigram_logp = bigram_p.log().to(device=device, dtype=torch.float32)
    data = batch_tensor(corpus).to(device)
    ctx.emit(Text(
        "## Language models work for reasons\n\n"
        f"A corpus of {sentences} sentences from the lab's grammar ({len(VOCABULARY) - 2} "
        "words): subject–verb agreement with and without attractors (*the key to the "
        "cabinets is*), the diary's suitcase (*john opens his suitcase and fills it with "
        "clothes*), objects with sizes (*does the ring fit in the box ? yes*) and "
        "tools (*he locked the door using his key*). Two examples: "
        + "; ".join(f"*{' '.join(s)}*" for s in corpus[:2]) + ".\n\n"
        f"The model: {layers} pre-norm layer(s) of the transformer-trace lab (d_model = "
        f"{d_model}, {heads} heads, causal mask, output tied to the embedding), trained "
        f"from random weights with Adam (lr {lr:g}) for {steps} steps of {batch} sentences. "
        "The baseline: a bigram model, the counts of each word after each word in the same "
        f"corpus (add-{BIGRAM_ALPHA:g} smoothed), scored on the same batches."
    ))

    model = Model(d_model, heads, layers, ctx.seed, device)
    curve = train(model, data, steps, batch, lr, ctx.seed, bigram_logp, ctx)
    final_loss, final_bigram = curve[-1][1], curve[-1][2]
    ctx.emit(Text(
        f"After {steps} steps the transformer's training loss is {final_loss:.3f} nats per "
        f"word against the bigram's {final_bigram:.3f} on the same batches"
        + (": seeing the whole sentence so far, not just the last word, is worth "
           f"{(final_bigram - final_loss) / math.log(2):.2f} bits per word."
           if final_loss < final_bigram else
           ": not yet better than counting word pairs (try more steps).")
    ))

    # The diary's suitcase: which word comes after "and"?
    rows: list[list[Any]] = []
    for prefix in SUITCASE_PREFIXES:
        p = next_word(model, prefix)
        top = torch.topk(p, 5)
        for form in ("fills", "fill"):
            rows.append([" ".join(prefix) + " ___", form, round(float(p[INDEX[form]]), 4),
                         round(float(bigram_p[INDEX["and"], INDEX[form]]), 4)])
        rows.append([" ".join(prefix) + " ___", "top 5: " + ", ".join(
            f"{VOCABULARY[int(i)]} {float(v):.3f}" for v, i in zip(top.values, top.indices)),
            None, None])
    ctx.emit(Table(title="the diary's suitcase: p(next word)",
                   columns=["sentence", "word", "transformer", "bigram"], rows=rows))
    ctx.progress(1, 4, "suitcase")

    # Agreement (Linzen et al. 2016).
    seen = {tuple(s) for s in corpus}
    items = {attr: grammar.agreement_items(AGREEMENT_ITEMS, ctx.seed + 1, attr, seen)
             for attr in (False, True)}
    accuracy: dict[str, dict[str, float]] = {"model": {}, "bigram": {}, "nearest_noun": {}}
    for attr, group in items.items():
        key = "with_attractors" if attr else "without_attractors"
        accuracy["model"][key] = round(agreement_accuracy(
            batched_next(model, [i.prefix for i in group]), group), 4)
        accuracy["bigram"][key] = round(agreement_accuracy(
            [bigram_p[INDEX[i.prefix[-1]]] for i in group], group), 4)
        accuracy["nearest_noun"][key] = round(
            sum(nearest_noun_correct(i) for i in group) / len(group), 4)
    ctx.emit(Table(
        title="subject–verb agreement: share of new sentences where p(right verb) > "
              "p(wrong verb)",
        columns=["predictor", "without attractors", "with attractors"],
        rows=[[name, acc["without_attractors"], acc["with_attractors"]]
              for name, acc in accuracy.items()]))
    beats = accuracy["model"]["with_attractors"] > max(accuracy["bigram"]["with_attractors"],
                                                       accuracy["nearest_noun"]["with_attractors"])
    ctx.emit(Text(
        f"Tested on {len(items[False])} + {len(items[True])} agreement sentences cut before "
        "the verb (*the key to the cabinets ___*), none of which begins a corpus sentence up "
        "to its verb: with an attractor the "
        "word before the verb and the nearest noun both have the wrong number, so the bigram "
        "and the nearest-noun heuristic fail there by construction, as in Linzen et al. "
        "(2016). The transformer "
        + ("does better than both: it agrees with the head noun, not the nearest one."
           if beats and accuracy["model"]["with_attractors"] >= 0.9 else
           "scores above both, but too near chance (0.5) to say it found the head noun: "
           "try more steps." if beats else
           "does not beat them in this run (try more steps).")
    ))
    ctx.progress(2, 4, "agreement")

    # Sizes: does the X fit in the Y ? yes / no, for every pair of different sizes.
    pairs = [(a, b) for a in sorted(grammar.SIZES) for b in sorted(grammar.SIZES)
             if grammar.SIZES[a] != grammar.SIZES[b]]
    questions = [("does", "the", a, "fit", "in", "the", b, "?") for a, b in pairs]
    asked = {tuple(s[:8]) for s in corpus if s[0] == "does"}
    answers = batched_next(model, questions)
    right = [bool((p[INDEX["yes"]] > p[INDEX["no"]]) == grammar.fits(a, b))
             for p, (a, b) in zip(answers, pairs)]
    unasked = [r for r, q in zip(right, questions) if q not in asked]
    p_trophy = answers[pairs.index(("trophy", "suitcase"))]
    too = [next_word(model, REFERENT + ("the", noun, "is", "too"))
           for noun in ("trophy", "suitcase")]
    it_too = next_word(model, REFERENT + ("it", "is", "too"))
    p_big, p_small = float(too[0][INDEX["big"]]), float(too[1][INDEX["small"]])
    referent_leans = bool(too[0][INDEX["big"]] > too[0][INDEX["small"]]
                          and too[1][INDEX["small"]] > too[1][INDEX["big"]])
    ctx.emit(Table(
        title="the world of sizes: what the transformer says",
        columns=["sentence", "word", "p"],
        rows=[["does the trophy fit in the suitcase ? ___ (never asked in the corpus)", "no",
               round(float(p_trophy[INDEX["no"]]), 4)],
              ["the trophy does not fit in the suitcase because the trophy is too ___", "big",
               round(float(too[0][INDEX["big"]]), 4)],
              ["the trophy does not fit in the suitcase because the suitcase is too ___",
               "small", round(float(too[1][INDEX["small"]]), 4)],
              ["the trophy does not fit in the suitcase because it is too ___", "big",
               round(float(it_too[INDEX["big"]]), 4)],
              [f"does the X fit in the Y ? ___, all {len(pairs)} pairs of different sizes",
               "share right", round(sum(right) / len(pairs), 4)],
              [f"the same, the {len(unasked)} pairs never asked", "share right",
               round(sum(unasked) / len(unasked), 4) if unasked else None]]))
    ctx.emit(Text(
        "The sizes are facts of the grammar's world (coin, ring < book, ball < suitcase, box "
        "< trophy, lamp): no sentence states a size, only which object fits in which and "
        "what is too big or too small. *It is too big* always means the thing that does not "
        "fit, so the referent is learnable; "
        + referent_sentence(p_big, p_small, referent_leans)
        + f"Of the {len(pairs)} yes/no questions {len(pairs) - len(unasked)} "
        "were asked somewhere in the corpus; "
        + (f"of the {len(unasked)} never asked, {sum(unasked)} were answered right."
           if unasked else "so a right answer here is recall of the corpus, not inference.")
    ))
    ctx.progress(3, 4, "sizes")

    # Surprisal and the N400.
    model_bits = {s: surprisals(model, s) for s in (EXPECTED, UNEXPECTED)}
    bigram_bits = {s: [float(-math.log2(bigram_p[a, b]))
                       for a, b in zip(encode(s), encode(s)[1:])] for s in (EXPECTED, UNEXPECTED)}
    rows = [[t, EXPECTED[t], bits(model_bits[EXPECTED][t]), UNEXPECTED[t],
             bits(model_bits[UNEXPECTED][t]), bits(bigram_bits[EXPECTED][t]),
             bits(bigram_bits[UNEXPECTED][t])] for t in range(len(EXPECTED))]
    ctx.emit(Table(
        title="surprisal −log₂ p(word | the words before), in bits",
        columns=["position", "word", "transformer", "word", "transformer", "bigram",
                 "bigram"], rows=rows))
    at = EXPECTED.index("key")
    key_bits, elephant_bits = model_bits[EXPECTED][at], model_bits[UNEXPECTED][at]
    for t, word in enumerate(EXPECTED):
        ctx.emit(Metric(chart="surprisal word by word (bits)", series="... his key", x=t,
                        y=round(model_bits[EXPECTED][t], 4), x_label="word position",
                        y_label="bits"))
        ctx.emit(Metric(chart="surprisal word by word (bits)", series="... his elephant", x=t,
                        y=round(model_bits[UNEXPECTED][t], 4), x_label="word position",
                        y_label="bits"))
    ctx.emit(Text(
        "### The N400\n\nThe two sentences are the same up to *his*, so every word before "
        f"costs the same bits. Then *key* costs {bits(key_bits):g} bits and *elephant* "
        f"{bits(elephant_bits):g}: the corpus has *elephant* only in agreement sentences "
        "(*the elephant is old*, *the key near the elephants*), never after *using his*. "
        "These are one run's figures, and their last digit is not to be trusted: starting "
        "weights a float32 rounding apart move *elephant*'s by about half a bit, another "
        "seed by a few bits; what holds is the gap. "
        "Kutas & Federmeier (2011) review the N400, the EEG wave about 400 ms "
        "after a word that is larger the less expected the word; Frank et al. (2015) found "
        "its size grows with the word's surprisal under a language model."
    ))
    ctx.progress(4, 4, "surprisal")
    return {
        "surprisal": {"key": bits(key_bits), "elephant": bits(elephant_bits)},
        "agreement_accuracy": accuracy,
        "final_loss": round(final_loss, 4),
        "bigram_loss": round(final_bigram, 4),
        "sizes_correct": round(sum(right) / len(pairs), 4),
    }
