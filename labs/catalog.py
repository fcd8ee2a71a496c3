"""The registry of labs: names, titles, explanations and typed parameters.

This module never imports torch, so listing labs and checking a deck's
`Lab:` line stay fast; the lab's code is imported only when it runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class ParamError(ValueError):
    """A parameter that is unknown, of the wrong type or out of range."""


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # "int", "float", "bool", "choice", "int_list", "str"
    default: Any
    help: str
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()

    def parse(self, raw: str) -> Any:
        """Turn the text of `--param name=raw` into a checked value."""
        text = raw.strip()
        try:
            if self.kind == "int":
                value: Any = int(text)
            elif self.kind == "float":
                value = float(text)
            elif self.kind == "bool":
                low = text.lower()
                if low not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError
                value = low in ("true", "1", "yes")
            elif self.kind == "int_list":
                value = [int(part) for part in text.split(",") if part.strip()]
                if not value:
                    raise ValueError
            elif self.kind in ("choice", "str"):
                value = text
            else:  # pragma: no cover - a programming error in this file
                raise AssertionError(self.kind)
        except ValueError:
            raise ParamError(f"{self.name}={raw!r}: expected {self.describe_kind()}") from None
        self.check(value)
        return value

    def check(self, value: Any) -> None:
        if self.kind == "str":
            return
        if self.kind == "choice":
            if value not in self.choices:
                raise ParamError(
                    f"{self.name}={value!r}: expected one of {', '.join(self.choices)}"
                )
            return
        items = value if self.kind == "int_list" else [value]
        for item in items:
            if isinstance(item, float) and not math.isfinite(item):
                # nan passes every range check (each comparison is False), inf any open one
                raise ParamError(f"{self.name}={item!r}: must be a finite number")
            if self.min is not None and item < self.min:
                raise ParamError(f"{self.name}={item!r}: must be at least {self.min:g}")
            if self.max is not None and item > self.max:
                raise ParamError(f"{self.name}={item!r}: must be at most {self.max:g}")

    def describe_kind(self) -> str:
        return {
            "int": "a whole number",
            "float": "a number",
            "bool": "true or false",
            "int_list": "whole numbers separated by commas",
            "choice": "one of " + ", ".join(self.choices),
            "str": "text",
        }[self.kind]

    def limits(self) -> str:
        if self.kind == "choice":
            return " | ".join(self.choices)
        if self.kind == "str":
            return ""
        def text(v: float) -> str:  # whole-number limits in full: 10000000, not 1e+07
            return str(int(v)) if self.kind in ("int", "int_list") else f"{v:g}"

        lo = "" if self.min is None else text(self.min)
        hi = "" if self.max is None else text(self.max)
        return f"{lo}..{hi}" if (lo or hi) else ""


@dataclass(frozen=True)
class LabSpec:
    name: str
    title: str
    explanation: str
    module: str  # imported only when the lab runs
    params: tuple[Param, ...] = field(default_factory=tuple)
    # Whether the lab can run as several processes under torchrun (data parallel).
    # Other labs would only repeat the same work in every process, so they refuse.
    distributed: bool = False
    # Constraints between parameters, each valid alone: called by resolve() with
    # the whole resolved set, raises ParamError. Torch-free, like the rest of this file.
    check: Callable[[dict[str, Any]], None] | None = None

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.params)
        raise ParamError(f"{self.name} has no parameter {name!r} (it has: {known})")

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def resolve(self, raw: dict[str, str]) -> dict[str, Any]:
        """Defaults overridden by `raw` (name -> text), every value checked,
        then the whole set checked against the lab's cross-parameter constraints."""
        values = self.defaults()
        for name, text in raw.items():
            values[name] = self.param(name).parse(text)
        if self.check is not None:
            self.check(values)
        return values


LABS: dict[str, LabSpec] = {}


def register(spec: LabSpec) -> LabSpec:
    LABS[spec.name] = spec
    return spec


def get(name: str) -> LabSpec:
    try:
        return LABS[name]
    except KeyError:
        raise ParamError(f"unknown lab {name!r} (labs: {', '.join(sorted(LABS))})") from None


def param_text(value: Any) -> str:
    """A parameter value as it is typed after `--param name=` or in a deck's Lab: line."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def parse_assignments(items: list[str]) -> dict[str, str]:
    """`["k=v", ...]` -> {k: v}; a malformed item is a ParamError."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ParamError(f"{item!r}: expected name=value")
        out[name.strip()] = value
    return out


def noise_batches(values: list[int]) -> tuple[int, int]:
    """batch-size's (B_small, B_big) for the two-batch noise-scale estimator."""
    if len(values) != 2 or not (1 <= values[0] < values[1]):
        raise ParamError(
            f"noise_batches={','.join(map(str, values))}: expected two sizes B_small,B_big "
            "with B_small < B_big"
        )
    return values[0], values[1]


def _check_batch_size(values: dict[str, Any]) -> None:
    noise_batches(values["noise_batches"])


# transformer-trace's vocabulary, small enough to read in full; a word's
# position is its token id. Here, torch-free, so a deck's Lab: line and
# `lab run` check a sentence before any process starts.
TRACE_VOCABULARY: tuple[str, ...] = (
    "the", "cat", "sat", "on", "mat", "a", "dog", "ran", "under", "rug", "and", "big",
)


def tokenize(sentence: str, vocabulary: tuple[str, ...] = TRACE_VOCABULARY) -> list[int]:
    """Lower-cased, split on whitespace, each word looked up in the vocabulary.

    A real model would split unknown words into sub-word pieces; this one has
    twelve words and says so.
    """
    words = sentence.lower().split()
    if not words:
        raise ParamError(f"sentence is empty; use words from: {' '.join(vocabulary)}")
    ids = []
    for word in words:
        if word not in vocabulary:
            raise ParamError(
                f"sentence: unknown word {word!r}; the vocabulary is: {' '.join(vocabulary)}"
            )
        ids.append(vocabulary.index(word))
    return ids


def head_size(d_model: int, heads: int) -> int:
    """transformer-trace's d_k = d_model / heads: the heads split the model width between them.

    The one statement of "heads must divide d_model": the spec's check below and
    the lab's forward pass (labs/experiments/transformer_trace.py) both call it.
    """
    if heads < 1 or d_model % heads:
        raise ParamError(
            f"heads={heads} must divide d_model={d_model}: each head gets d_model/heads "
            "dimensions of every token vector"
        )
    return d_model // heads


def pe_pairs(d_model: int) -> int:
    """positional-encoding's (sin, cos) pairs: d_model must be even, since the
    lab's rotation turns each pair, and an odd last dimension has no partner."""
    if d_model < 2 or d_model % 2:
        raise ParamError(f"d_model={d_model} must be even: the encoding's dimensions come in "
                         "(sin, cos) pairs, and each pair is one rotation")
    return d_model // 2


def _check_positional_encoding(values: dict[str, Any]) -> None:
    pe_pairs(values["d_model"])
    head_size(values["d_model"], values["heads"])
    tokenize(values["sentence"])
    if values["offset"] >= values["positions"]:
        raise ParamError(f"offset={values['offset']} must be less than "
                         f"positions={values['positions']}: the rotation is measured where "
                         "p + offset is still a position")


def _check_transformer_trace(values: dict[str, Any]) -> None:
    """The heads split d_model between them, and every word of the sentence is in the vocabulary."""
    head_size(values["d_model"], values["heads"])
    tokenize(values["sentence"])


register(
    LabSpec(
        name="batch-size",
        title="Batch size, SGD noise and the partial last batch",
        explanation=(
            "Trains the same small classifier on scikit-learn's digits (or CIFAR-10 "
            "when you have its python tarball) at several batch sizes for the same "
            "number of examples, shows the partial last batch and the loss-averaging "
            "bug it invites, and measures the gradient noise scale B_simple = "
            "tr(Σ)/|G|² of McCandlish et al. (2018), the batch size past which "
            "bigger batches stop buying fewer steps. Runs data-parallel with "
            "torch.distributed under torchrun (`companion lab run batch-size --nproc N`)."
        ),
        module="labs.experiments.batch_size",
        distributed=True,
        check=_check_batch_size,
        params=(
            Param("batch_sizes", "int_list", [1, 4, 16, 64, 256, 1257],
                  "batch sizes to compare (1257 = the whole digits training set)", 1, 65536),
            Param("examples", "int", 20000,
                  "training examples seen per batch size (the same for all)", 100, 10_000_000),
            Param("lr", "float", 0.1, "SGD learning rate (the same for every batch size)",
                  1e-6, 10.0),
            Param("hidden", "int", 64, "hidden units of the classifier", 1, 4096),
            Param("dataset", "choice", "digits", "which data to train on",
                  choices=("digits", "cifar10")),
            Param("cifar_path", "str", "",
                  "path to cifar-10-python.tar.gz (empty: <data dir>/cifar-10-python.tar.gz)"),
            Param("target", "float", 0.9,
                  "test accuracy whose steps and examples to reach are compared", 0.0, 1.0),
            Param("noise_batches", "int_list", [32, 1024],
                  "B_small,B_big of the two-batch gradient noise scale estimator", 1, 65536),
            Param("noise_draws", "int", 64,
                  "pairs of batches averaged per noise scale estimate", 1, 100_000),
        ),
    )
)

register(
    LabSpec(
        name="input-gradient",
        title="Descending a gradient with respect to the input",
        explanation=(
            "Starts from a two-weight linear regression with mean squared error: "
            "the loss surface over (w, b) with gradient-descent paths, then the same "
            "loss as a function of the input x. Then a small digits classifier: "
            "saliency maps, integrated gradients, activation maximisation and FGSM "
            "adversarial examples, all from gradients taken with respect to the input "
            "while the weights stay fixed."
        ),
        module="labs.experiments.input_gradient",
        params=(
            Param("epsilons", "int_list", [0, 5, 10, 20, 30],
                  "FGSM step sizes in hundredths of the pixel range", 0, 100),
            Param("ig_steps", "int", 50,
                  "integration steps (midpoint Riemann sum) for integrated gradients", 2, 1000),
            Param("epochs", "int", 30, "training epochs of the digits classifier", 1, 1000),
        ),
    )
)

register(
    LabSpec(
        name="transformer-trace",
        title="A transformer forward pass, one step at a time",
        explanation=(
            "Token ids become embeddings scaled by √d_model, get sinusoidal positional "
            "encodings added, pass through multi-head self-attention (Q, K, V, scores, "
            "mask, softmax, weighted sum, output projection), a residual connection and "
            "layer norm, a feed-forward block and another residual + layer norm, and end "
            "as next-token probabilities. With the causal mask (the default) a decoder-style "
            "layer, a language model's; without it the paper's encoder layer. Small enough "
            "to read every number."
        ),
        module="labs.experiments.transformer_trace",
        check=_check_transformer_trace,
        params=(
            Param("d_model", "int", 8, "width of every token vector", 2, 512),
            Param("heads", "int", 2, "attention heads (must divide d_model)", 1, 64),
            Param("norm", "choice", "post", "post-norm (the paper) or pre-norm "
                  "(the Annotated Transformer)", choices=("post", "pre")),
            Param("causal", "bool", True, "mask attention to later tokens (a decoder-style "
                  "layer; false: the paper's encoder layer)"),
            Param("sentence", "str", "the cat sat on the mat",
                  "the words to trace, from the lab's tiny vocabulary"),
        ),
    )
)

register(
    LabSpec(
        name="positional-encoding",
        title="The squiggles: sinusoidal positional encoding",
        explanation=(
            "The encoding of Vaswani et al. (2017) §3.5 as a heatmap; each (sin, cos) pair "
            "as a clock, so that moving k positions is one fixed rotation R_k of the whole "
            "vector (measured: max |PE(p+k) − R_k·PE(p)|); the dot product PE(p)·PE(q) as a "
            "function of the distance alone; and why a transformer needs it: a self-attention "
            "layer without it is permutation-equivariant (shuffle the tokens, the outputs "
            "shuffle along), with it, it is not."
        ),
        module="labs.experiments.positional_encoding",
        check=_check_positional_encoding,
        params=(
            Param("positions", "int", 50, "positions to encode", 2, 2048),
            Param("d_model", "int", 16, "dimensions of the encoding (even)", 2, 1024),
            Param("offset", "int", 5, "the shift k whose rotation R_k is measured", 0, 2047),
            Param("heads", "int", 2, "attention heads of the layer shuffled (must divide "
                  "d_model)", 1, 64),
            Param("sentence", "str", "the cat sat on the mat",
                  "the words shuffled, from transformer-trace's tiny vocabulary"),
        ),
    )
)

register(
    LabSpec(
        name="family-trees",
        title="Interpretability in 1986: Hinton's family trees",
        explanation=(
            "Two isomorphic family trees (English and Italian, 12 people each) and 12 "
            "relationships, as in Rumelhart, Hinton & Williams (1986) and Hinton (1986): a "
            "person (24) → 6 and a relationship (12) → 6, a central 12, → 6 → 24 people, "
            "learned by back-propagation on 100 of the 104 questions and tested on the 4 "
            "left out. Then Fig. 4: the 6 person units' weights as heatmaps, English and "
            "Italian in the same tree positions, and for each unit the measured correlation "
            "with nationality, generation and branch of the family."
        ),
        module="labs.experiments.family_trees",
        params=(
            Param("sweeps", "int", 3000, "full-batch learning sweeps (the paper: 1500)", 1,
                  1_000_000),
            Param("lr", "float", 0.05, "learning rate ε, the same for every sweep (the "
                  "paper: 0.005 for the first 20 sweeps, then 0.01)", 1e-6, 10.0),
            Param("momentum", "float", 0.9, "momentum α after the first 20 sweeps (0.5 "
                  "before, as in the paper)", 0.0, 0.999),
            Param("weight_decay", "float", 0.0005, "share each weight shrinks by after a "
                  "sweep (the paper: 0.002)", 0.0, 0.5),
            Param("held_out", "int", 4, "questions left out of training and tested", 1, 52),
        ),
    )
)


def _check_language_model(values: dict[str, Any]) -> None:
    """The heads split d_model between them (the layers are transformer-trace's)."""
    head_size(values["d_model"], values["heads"])


register(
    LabSpec(
        name="language-model",
        title="Language models work for reasons: agreement, sizes and the N400",
        explanation=(
            "A small causal transformer, built from the transformer-trace lab's layer, "
            "trained in the lab on sentences from a grammar it ships: subject–verb "
            "agreement with attractors (the key to the cabinets is), the diary's suitcase "
            "(john opens his suitcase and fills it with clothes), objects with sizes (the "
            "trophy does not fit in the suitcase) and tools (he locked the door using his "
            "key). Shows its loss against a bigram model's, p(fills) against p(fill), "
            "agreement accuracy with and without attractors against the bigram and "
            "nearest-noun baselines (Linzen et al. 2016), and surprisal, −log₂ p, word by "
            "word for ... his key against ... his elephant, the quantity the N400 tracks."
        ),
        module="labs.experiments.language_model",
        check=_check_language_model,
        params=(
            Param("steps", "int", 600, "Adam steps", 1, 1_000_000),
            Param("batch", "int", 64, "sentences per step", 1, 65536),
            Param("lr", "float", 0.003, "Adam learning rate", 1e-6, 1.0),
            Param("sentences", "int", 4000, "sentences in the generated corpus", 10,
                  10_000_000),
            Param("d_model", "int", 32, "width of every token vector", 2, 512),
            Param("heads", "int", 4, "attention heads (must divide d_model)", 1, 64),
            Param("layers", "int", 2, "transformer layers", 1, 12),
        ),
    )
)

# -- exercises ---------------------------------------------------------------------
# An exercise is one function the learner writes. Its spec says what to write
# (the task, the exact signature, the paper and section, a worked example) and
# which module holds its reference and checks (labs.exercises.<module>,
# imported only when a check runs). Which card it belongs to is the deck's to
# say (`Exercise: NAME`).


@dataclass(frozen=True)
class ExerciseSpec:
    name: str
    title: str
    concept: str  # one line: what it teaches
    function: str  # the function the learner writes
    signature: str  # its exact signature, as the starter file has it
    task: str  # the docstring: what to compute, shapes, the paper, a worked example
    module: str  # labs.exercises.<module>: reference, cases, mistakes
    # Which card an exercise belongs to is the deck's to say (`Exercise: NAME`).


EXERCISES: dict[str, ExerciseSpec] = {}


def register_exercise(spec: ExerciseSpec) -> ExerciseSpec:
    EXERCISES[spec.name] = spec
    return spec


class UnknownExercise(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def get_exercise(name: str) -> ExerciseSpec:
    try:
        return EXERCISES[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, EXERCISES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UnknownExercise(f"unknown exercise {name!r}{hint}; exercises: "
                              f"{', '.join(sorted(EXERCISES))}") from None


def starter_text(spec: ExerciseSpec) -> str:
    """The learner's starting file: imports, the task as the docstring, the
    signature, and a body that says it is not written yet."""
    task = spec.task.strip("\n")
    body = "\n".join(f"    {line}" if line.strip() else "" for line in task.splitlines())
    return (
        f'"""Exercise: {spec.name} ({spec.title}).\n\n'
        f"Check it with `companion exercise check {spec.name}`.\n"
        '"""\n\n'
        "import torch\n\n\n"
        f"{spec.signature}\n"
        f'    """\n{body}\n    """\n'
        f'    raise NotImplementedError("write {spec.function} here")\n'
    )


register_exercise(ExerciseSpec(
    name="mse-gradient",
    title="The MSE gradient, for the weights, the bias and the input",
    concept="the gradient with respect to the input is the same chain rule as for the weights",
    function="mse_gradients",
    signature=("def mse_gradients(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor,\n"
               "                  y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, "
               "torch.Tensor]:"),
    task="""
The diary's linear regression: predictions ŷ = X w + b for N examples of D
features, and the mean squared error L = (1/N) Σ_i (ŷ_i − y_i)².

Return (∂L/∂w, ∂L/∂b, ∂L/∂X), by hand (no autograd, no .backward()):
  x: (N, D) inputs, w: (D,) weights, b: () bias (a 0-d tensor), y: (N,) targets;
  ∂L/∂w has shape (D,), ∂L/∂b shape () and ∂L/∂X shape (N, D).

The last one is the gradient with respect to the input (Goodfellow et al.,
Deep Learning, §5.1.4 for the MSE; Simonyan et al. 2014 for input gradients).

Worked example: x = [[1., 2.]], w = [0.5, -1.], b = 0., y = [1.]:
  ŷ = [-1.5], residual r = ŷ − y = [-2.5], and with N = 1
  ∂L/∂w = (2/N) Xᵀ r = [-5., -10.], ∂L/∂b = (2/N) Σ r = -5.,
  ∂L/∂X = (2/N) r wᵀ = [[-2.5, 5.]].
""",
    module="labs.exercises.mse_gradient",
))

register_exercise(ExerciseSpec(
    name="softmax-cross-entropy",
    title="A numerically stable softmax cross-entropy",
    concept="subtract the max before exponentiating: log-sum-exp without overflow",
    function="softmax_cross_entropy",
    signature=("def softmax_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> "
               "torch.Tensor:"),
    task="""
The mean cross-entropy of softmax(logits) against class indices, as
torch.nn.functional.cross_entropy computes it, for logits of any batch shape:
  logits: (..., C) scores, targets: (...) class indices (int64) in [0, C);
  return a 0-d tensor: the mean over every position of −log softmax(logits)[target].

It must survive logits of ±1000: exp(1000) overflows, so compute
log softmax(z)_c = z_c − m − log Σ_j exp(z_j − m) with m = max_j z_j
(the log-sum-exp trick). Don't call F.cross_entropy, F.log_softmax or
torch.logsumexp: write it from torch.exp, torch.log, max and sum.

Worked example: logits = [[2., 0.]], targets = [0]:
  log Σ exp = log(e² + 1) = 2.1269, so the loss is 2.1269 − 2 = 0.1269.
""",
    module="labs.exercises.softmax_cross_entropy",
))

register_exercise(ExerciseSpec(
    name="attention",
    title="Scaled dot-product attention, with a mask",
    concept="softmax(QKᵀ/√d_k) V, the mask applied before the softmax",
    function="attention",
    signature=("def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,\n"
               "              mask: torch.Tensor | None = None) -> tuple[torch.Tensor, "
               "torch.Tensor]:"),
    task="""
Scaled dot-product attention (Vaswani et al. 2017, §3.2.1, eq. 1):
  Attention(Q, K, V) = softmax(Q Kᵀ / √d_k) V.
  q: (..., T_q, d_k), k: (..., T_k, d_k), v: (..., T_k, d_v), any leading batch dims;
  mask: None, or a boolean tensor broadcastable to (..., T_q, T_k) in which True
  means "takes part", as torch.nn.functional.scaled_dot_product_attention reads
  a boolean attn_mask: a False position gets weight 0 (set its score to -inf
  before the softmax).
Return (output (..., T_q, d_v), weights (..., T_q, T_k)); each row of weights
sums to 1. Don't call F.scaled_dot_product_attention.

Worked example: q = k = [[1., 0.], [0., 1.]], v = [[1., 2.], [3., 4.]], no mask:
  scores = [[1, 0], [0, 1]] / √2, weights row 0 = softmax([0.7071, 0]) =
  [0.6698, 0.3302], output row 0 = 0.6698·[1, 2] + 0.3302·[3, 4] = [1.6604, 2.6604].
""",
    module="labs.exercises.attention",
))

register_exercise(ExerciseSpec(
    name="layer-norm",
    title="Layer normalisation over the last dimension",
    concept="each example normalised over its own features, ε inside the square root",
    function="layer_norm",
    signature=("def layer_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,\n"
               "               eps: float = 1e-5) -> torch.Tensor:"),
    task="""
Layer normalisation (Ba, Kiros & Hinton 2016, §3, eq. 4), as torch.nn.LayerNorm
computes it over the last dimension:
  y = (x − μ) / √(σ² + ε) · weight + bias,
  μ and σ² the mean and the *biased* variance (divide by D) over the last
  dimension of each position, ε inside the square root.
  x: (..., D), any leading batch dims; weight (the gain) and bias: (D,);
  return a tensor shaped like x, in x's dtype. Don't call F.layer_norm or
  torch.nn.LayerNorm.

Worked example: x = [1., 2., 3.], weight = [2., 1., 1.], bias = [0., 0., 0.5]:
  μ = 2, σ² = (1 + 0 + 1)/3 = 0.6667, √(σ² + 1e-5) = 0.81650,
  (x − μ)/0.81650 = [-1.22474, 0., 1.22474], so y = [-2.44948, 0., 1.72474].
""",
    module="labs.exercises.layer_norm",
))

register_exercise(ExerciseSpec(
    name="noise-scale",
    title="The simple noise scale B_simple from two batch sizes",
    concept="|G_B|² = |G|² + tr(Σ)/B at two batch sizes: two equations, two unknowns",
    function="noise_scale",
    signature=("def noise_scale(g_small_sq: torch.Tensor, g_big_sq: torch.Tensor, "
               "b_small: int,\n"
               "                b_big: int) -> tuple[torch.Tensor, torch.Tensor, "
               "torch.Tensor]:"),
    task="""
The simple noise scale B_simple = tr(Σ) / |G|² (McCandlish et al. 2018, "An
Empirical Model of Large-Batch Training", appendix A.1). A minibatch gradient
of batch size B has E|G_B|² = |G|² + tr(Σ)/B, so squared gradient norms
measured at two batch sizes B_small < B_big give unbiased estimates
  |G|²  = (B_big |G_big|² − B_small |G_small|²) / (B_big − B_small),
  tr(Σ) = (|G_small|² − |G_big|²) / (1/B_small − 1/B_big).
  g_small_sq, g_big_sq: (..., K): K draws of |G_small|² and |G_big|² (the last
  dimension), any leading batch dims, each an independent estimate;
  b_small, b_big: the two batch sizes (ints).
Return (|G|², tr(Σ), B_simple), each of shape (...): the means over the K draws
of the |G|² and tr(Σ) estimates, and B_simple as the ratio of those means
(as the paper does: average the estimates, then divide), in the inputs' dtype.

Worked example: g_small_sq = [5.], g_big_sq = [2.], b_small = 10, b_big = 100:
  |G|² = (100·2 − 10·5)/90 = 1.6667, tr(Σ) = (5 − 2)/(0.1 − 0.01) = 33.333,
  B_simple = 33.333/1.6667 = 20.
""",
    module="labs.exercises.noise_scale",
))

register_exercise(ExerciseSpec(
    name="positional-encoding",
    title="The transformer's sinusoidal positional encoding",
    concept="each pair of columns a sine and a cosine at its own frequency, 1/10000^(2i/d)",
    function="positional_encoding",
    signature=("def positional_encoding(length: int, d_model: int,\n"
               "                        dtype: torch.dtype = torch.float64) -> torch.Tensor:"),
    task="""
The sinusoidal positional encoding (Vaswani et al. 2017, "Attention Is All You
Need", §3.5):
  PE(pos, 2i)     = sin(pos / 10000^(2i/d_model)),
  PE(pos, 2i + 1) = cos(pos / 10000^(2i/d_model)),
  for positions pos = 0 … length − 1 and column pairs i = 0, 1, ….
Return a (length, d_model) tensor of the given dtype. An odd d_model must
work too: its last column (d_model − 1, an even index) is a sine, with no
cosine after it.

Worked example: length = 2, d_model = 3:
  pos 0: [sin 0, cos 0, sin 0] = [0., 1., 0.];
  pos 1: columns 0, 1 use 1/10000^0 = 1: sin 1 = 0.84147, cos 1 = 0.54030;
  column 2 (i = 1) uses 1/10000^(2/3) = 1/464.16: sin(0.0021544) = 0.0021544;
  so PE = [[0., 1., 0.], [0.84147, 0.54030, 0.0021544]].
""",
    module="labs.exercises.positional_encoding",
))

register_exercise(ExerciseSpec(
    name="fgsm",
    title="The fast gradient sign method",
    concept="one step of size ε up the loss in every input at once, kept in the valid range",
    function="fgsm",
    signature=("def fgsm(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, "
               "epsilon: float,\n"
               "         low: float, high: float) -> torch.Tensor:"),
    task="""
The fast gradient sign method (Goodfellow, Shlens & Szegedy 2015, "Explaining
and Harnessing Adversarial Examples", §4):
  x_adv = clip(x + ε · sign(∇ₓ L(model(x), y)), low, high),
  L the cross-entropy of the model's logits against the true classes y.
  model: maps x to logits (N, C); x: (N, ...) inputs, every value in
  [low, high]; y: (N,) class indices (int64); epsilon, low, high: floats.
Return x_adv, shaped like x, in x's dtype, every value in [low, high].

Worked example: a linear model with logits z = W x, W = [[1., -2.], [2., 1.]],
x = [[0.95, 0.5]], y = [0], ε = 0.1, range [0, 1]: z = [-0.05, 2.4], softmax
p = [0.0794, 0.9206], ∇ₓL = Wᵀ(p − e_y) = [0.9206, 2.7617], its sign [1, 1],
x + ε·sign = [1.05, 0.6], clipped: x_adv = [[1.0, 0.6]].
""",
    module="labs.exercises.fgsm",
))

register_exercise(ExerciseSpec(
    name="integrated-gradients",
    title="Integrated gradients, a midpoint Riemann sum",
    concept="add up the gradient along the path from a baseline: attributions that sum "
            "to F(x) − F(baseline)",
    function="integrated_gradients",
    signature=("def integrated_gradients(model: torch.nn.Module, x: torch.Tensor, "
               "baseline: torch.Tensor,\n"
               "                         target: torch.Tensor, steps: int) -> torch.Tensor:"),
    task="""
Integrated gradients (Sundararajan, Taly & Yan 2017, "Axiomatic Attribution for
Deep Networks", §3 and §5, eq. 3), as a midpoint Riemann sum over m = steps:
  IG(x) = (x − x′) ⊙ (1/m) Σ_{k=0}^{m−1} ∂F/∂x at x′ + α_k (x − x′),
  α_k = (k + ½)/m,
  F(x) the logit model(x)[n, target[n]] of each example's target class.
  model: maps x to logits (N, C); x and baseline x′: (N, ...), the same shape;
  target: (N,) class indices (int64); steps: m, an int ≥ 1.
Return the attributions, shaped like x, in x's dtype. Completeness: their sum
over each example's inputs is F(x) − F(x′), up to the Riemann sum's error.

Worked example: a linear model with logits z = W x, W = [[1., 2.], [0., -1.]],
x = [[1., 3.]], x′ = [[0., 1.]], target = [0], steps = 4: the gradient of z_0 is
[1., 2.] everywhere, so IG = ([1., 3.] − [0., 1.]) ⊙ [1., 2.] = [[1., 4.]],
and 1 + 4 = 5 = F(x) − F(x′) = 7 − 2.
""",
    module="labs.exercises.integrated_gradients",
))
