"""Implement-it-yourself exercises: the registry, torch-free.

An exercise is one function the learner writes. Its spec here says what to
write (the task, the exact signature, the paper and section, a worked
example) and which module holds its reference and its checks
(`labs.exercises.<module>`, imported only when a check runs, as a lab's
module is). `starter_text` is the file the learner starts from: the task in
its docstring and a body that raises NotImplementedError.

A check never trusts the learner's process: `python -m labs check NAME FILE`
(labs.exercises.checking) runs the learner's function in a child process of
its own (labs.exercises.sandbox) with a time and a memory limit, takes back
only the values it returned, and compares them here, with the reference
computed in the checker's own process. A file that exits early, prints, or
patches torch in its own process changes nothing but its own outputs.
"""

from __future__ import annotations

from dataclasses import dataclass


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


def register(spec: ExerciseSpec) -> ExerciseSpec:
    EXERCISES[spec.name] = spec
    return spec


class UnknownExercise(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def get(name: str) -> ExerciseSpec:
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


register(ExerciseSpec(
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

register(ExerciseSpec(
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

register(ExerciseSpec(
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
