"""Exercises: every check against a correct solution written as a learner
would (all pass), against each usual mistake (the check fails and names it),
and against files that misbehave (a syntax error, an endless loop,
sys.exit(0), the wrong type, too much memory, torch patched in the file):
each is a failed check with a reason, never a pass and never a traceback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labs.context import LabContext
from labs.exercises import EXERCISES, UnknownExercise, get, starter_text
from labs.exercises.checking import check

FILES = Path(__file__).with_name("exercise_files")


def run_check(name: str, path: Path, time_limit: float = 20.0) -> dict:
    return check(get(name), str(path), LabContext("cpu", 0, lambda e: None), time_limit)


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_a_correct_solution_passes_every_check(name):
    summary = run_check(name, FILES / f"{name.replace('-', '_')}.py")
    assert summary["total"] >= 6
    assert summary["failed"] == 0, [c for c in summary["checks"] if not c["passed"]]


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_the_starter_file_is_the_task_and_fails_every_check(name, tmp_path):
    spec = get(name)
    path = tmp_path / "starter.py"
    path.write_text(starter_text(spec))
    compile(path.read_text(), str(path), "exec")
    assert spec.signature.splitlines()[0] in path.read_text()
    summary = run_check(name, path)
    assert summary["passed"] == 0
    assert all("NotImplementedError" in c["detail"] for c in summary["checks"])


def _mistakes(name: str):
    from labs.exercises.checking import load

    return load(get(name)).MISTAKES


WRONG = {
    ("attention", "no 1/√d_k"): """
import torch
def attention(q, k, v, mask=None):
    s = q @ k.transpose(-2, -1)
    if mask is not None:
        s = s.masked_fill(~mask, float("-inf"))
    w = torch.softmax(s, dim=-1)
    return w @ v, w
""",
    ("attention", "1/d_k"): """
import torch
def attention(q, k, v, mask=None):
    s = q @ k.transpose(-2, -1) / q.shape[-1]
    if mask is not None:
        s = s.masked_fill(~mask, float("-inf"))
    w = torch.softmax(s, dim=-1)
    return w @ v, w
""",
    ("attention", "mask after the softmax"): """
import math, torch
def attention(q, k, v, mask=None):
    w = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1)
    if mask is not None:
        w = w * mask
    return w @ v, w
""",
    ("attention", "mask inverted"): """
import math, torch
def attention(q, k, v, mask=None):
    s = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        s = s.masked_fill(mask, float("-inf"))
    w = torch.softmax(s, dim=-1)
    return w @ v, w
""",
    ("layer-norm", "ε outside the square root"): """
import torch
def layer_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(dim=-1, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
    return (x - mean) / (torch.sqrt(var) + eps) * weight + bias
""",
    ("layer-norm", "unbiased variance"): """
import torch
def layer_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(dim=-1, keepdim=True)
    return (x - mean) / torch.sqrt(x.var(dim=-1, keepdim=True) + eps) * weight + bias
""",
    ("layer-norm", "the wrong dimension"): """
import torch
def layer_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(dim=0, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=0, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * weight + bias
""",
    ("noise-scale", "batch sizes swapped"): """
def noise_scale(g_small_sq, g_big_sq, b_small, b_big):
    g2 = (b_small * g_big_sq - b_big * g_small_sq) / (b_small - b_big)
    trace = (g_small_sq - g_big_sq) / (1 / b_big - 1 / b_small)
    g2, trace = g2.mean(dim=-1), trace.mean(dim=-1)
    return g2, trace, trace / g2
""",
    ("noise-scale", "a mean of ratios"): """
def noise_scale(g_small_sq, g_big_sq, b_small, b_big):
    g2 = (b_big * g_big_sq - b_small * g_small_sq) / (b_big - b_small)
    trace = (g_small_sq - g_big_sq) / (1 / b_small - 1 / b_big)
    return g2.mean(dim=-1), trace.mean(dim=-1), (trace / g2).mean(dim=-1)
""",
    ("noise-scale", "the factor B_small·B_big missing"): """
def noise_scale(g_small_sq, g_big_sq, b_small, b_big):
    g2 = (b_big * g_big_sq - b_small * g_small_sq) / (b_big - b_small)
    trace = (g_small_sq - g_big_sq) / (b_big - b_small)
    g2, trace = g2.mean(dim=-1), trace.mean(dim=-1)
    return g2, trace, trace / g2
""",
    ("positional-encoding", "sin and cos swapped"): """
import math, torch
def positional_encoding(length, d_model, dtype=torch.float64):
    pos = torch.arange(length, dtype=dtype)[:, None]
    div = torch.exp(torch.arange(0, d_model, 2, dtype=dtype) * (-math.log(10000.0) / d_model))
    pe = torch.zeros(length, d_model, dtype=dtype)
    pe[:, 0::2] = torch.cos(pos * div)
    pe[:, 1::2] = torch.sin(pos * div)[:, : d_model // 2]
    return pe
""",
    ("positional-encoding", "exponent i/d"): """
import torch
def positional_encoding(length, d_model, dtype=torch.float64):
    pe = torch.zeros(length, d_model, dtype=dtype)
    for pos in range(length):
        for i in range((d_model + 1) // 2):
            angle = torch.tensor(pos / 10000 ** (i / d_model), dtype=torch.float64)
            pe[pos, 2 * i] = torch.sin(angle)
            if 2 * i + 1 < d_model:
                pe[pos, 2 * i + 1] = torch.cos(angle)
    return pe
""",
    ("positional-encoding", "odd d_model crashing"): """
import math, torch
def positional_encoding(length, d_model, dtype=torch.float64):
    pos = torch.arange(length, dtype=dtype)[:, None]
    div = torch.exp(torch.arange(0, d_model, 2, dtype=dtype) * (-math.log(10000.0) / d_model))
    pe = torch.zeros(length, d_model, dtype=dtype)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)
    return pe
""",
    ("fgsm", "no clipping"): """
import torch, torch.nn.functional as F
def fgsm(model, x, y, epsilon, low, high):
    x = x.clone().requires_grad_(True)
    F.cross_entropy(model(x), y).backward()
    return (x + epsilon * x.grad.sign()).detach()
""",
    ("fgsm", "descending"): """
import torch, torch.nn.functional as F
def fgsm(model, x, y, epsilon, low, high):
    x = x.clone().requires_grad_(True)
    F.cross_entropy(model(x), y).backward()
    return (x - epsilon * x.grad.sign()).clamp(low, high).detach()
""",
    ("fgsm", "the gradient, not its sign"): """
import torch, torch.nn.functional as F
def fgsm(model, x, y, epsilon, low, high):
    x = x.clone().requires_grad_(True)
    F.cross_entropy(model(x), y).backward()
    return (x + epsilon * x.grad).clamp(low, high).detach()
""",
    ("fgsm", "the logit's gradient"): """
import torch
def fgsm(model, x, y, epsilon, low, high):
    x = x.clone().requires_grad_(True)
    model(x)[torch.arange(len(y)), y].sum().backward()
    return (x + epsilon * x.grad.sign()).clamp(low, high).detach()
""",
    ("integrated-gradients", "a left Riemann sum"): """
import torch
def integrated_gradients(model, x, baseline, target, steps):
    total = torch.zeros_like(x)
    for k in range(steps):
        point = (baseline + k / steps * (x - baseline)).requires_grad_(True)
        model(point)[torch.arange(len(target)), target].sum().backward()
        total += point.grad
    return (x - baseline) * total / steps
""",
    ("integrated-gradients", "no (x − baseline)"): """
import torch
def integrated_gradients(model, x, baseline, target, steps):
    total = torch.zeros_like(x)
    for k in range(steps):
        point = (baseline + (k + 0.5) / steps * (x - baseline)).requires_grad_(True)
        model(point)[torch.arange(len(target)), target].sum().backward()
        total += point.grad
    return total / steps
""",
    ("integrated-gradients", "the baseline ignored"): """
import torch
def integrated_gradients(model, x, baseline, target, steps):
    total = torch.zeros_like(x)
    for k in range(steps):
        point = ((k + 0.5) / steps * x).requires_grad_(True)
        model(point)[torch.arange(len(target)), target].sum().backward()
        total += point.grad
    return x * total / steps
""",
    ("mse-gradient", "no factor 2"): """
import torch
def mse_gradients(x, w, b, y):
    r = x @ w + b - y
    n = len(y)
    return x.T @ r / n, r.sum() / n, torch.outer(r, w) / n
""",
    ("mse-gradient", "a sum, not a mean"): """
import torch
def mse_gradients(x, w, b, y):
    r = x @ w + b - y
    return 2 * x.T @ r, 2 * r.sum(), 2 * torch.outer(r, w)
""",
    ("mse-gradient", "residual the wrong way"): """
import torch
def mse_gradients(x, w, b, y):
    r = y - (x @ w + b)
    n = len(y)
    return 2 * x.T @ r / n, 2 * r.sum() / n, 2 * torch.outer(r, w) / n
""",
    ("softmax-cross-entropy", "no max subtracted"): """
import torch
def softmax_cross_entropy(logits, targets):
    p = torch.exp(logits) / torch.exp(logits).sum(dim=-1, keepdim=True)
    return -torch.log(p.gather(-1, targets[..., None])).mean()
""",
    ("softmax-cross-entropy", "a sum, not a mean"): """
import torch
def softmax_cross_entropy(logits, targets):
    m = logits.max(dim=-1, keepdim=True).values
    z = m + torch.log(torch.exp(logits - m).sum(dim=-1, keepdim=True))
    return (z - logits.gather(-1, targets[..., None])).sum()
""",
    ("softmax-cross-entropy", "softmax over the batch"): """
import torch
def softmax_cross_entropy(logits, targets):
    m = logits.max(dim=0, keepdim=True).values
    z = m + torch.log(torch.exp(logits - m).sum(dim=0, keepdim=True))
    return (z - logits).gather(-1, targets[..., None]).mean()
""",
}


@pytest.mark.parametrize("name, mistake", sorted(WRONG))
def test_each_usual_mistake_fails_and_is_named(name, mistake, tmp_path):
    [expected] = [m for m in _mistakes(name) if m.name == mistake]
    path = tmp_path / "attempt.py"
    path.write_text(WRONG[(name, mistake)])
    summary = run_check(name, path)
    failed = [c for c in summary["checks"] if not c["passed"]]
    assert failed, f"{mistake} passed every check"
    assert any(c["hint"] == expected.hint for c in failed), failed
    assert all(c["hint"] in ("", expected.hint) for c in failed)


def test_every_recorded_mistake_has_a_wrong_solution_here():
    assert {(n, m.name) for n in EXERCISES for m in _mistakes(n)} == set(WRONG)


HOSTILE = {
    "a syntax error": ("def softmax_cross_entropy(logits, targets)\n    return 0\n",
                       "SyntaxError"),
    "an endless loop": ("def softmax_cross_entropy(logits, targets):\n    while True:\n"
                        "        pass\n", "time limit"),
    "sys.exit(0)": ("import sys\nsys.exit(0)\n", "exited before returning anything"),
    "the wrong type": ("def softmax_cross_entropy(logits, targets):\n    return 'zero'\n",
                       "returned a str"),
    "a list of floats": ("def softmax_cross_entropy(logits, targets):\n    return [0.1]\n",
                         "expected a tensor"),
    "too much memory": ("import torch\ndef softmax_cross_entropy(logits, targets):\n"
                        "    return torch.empty(1 << 40)\n", "memory"),
    "torch patched in the file": (
        "import torch, torch.nn.functional as F\n"
        "torch.allclose = lambda *a, **k: True\n"
        "F.cross_entropy = lambda *a, **k: torch.tensor(0.0)\n"
        "def softmax_cross_entropy(logits, targets):\n    return torch.tensor(0.0)\n",
        "the loss: "),  # its values (or dtype) judged here, whatever it patched there
    "no such function": ("def something_else():\n    pass\n", "no function"),
    "stderr written for ever": (
        "import sys\ndef softmax_cross_entropy(logits, targets):\n    while True:\n"
        "        sys.stderr.write('x' * 65536)\n", "wrote more than 256 MB"),  # its bound
    "stderr flooded where the error can't be caught": (
        "import sys\nwhile True:\n    try:\n        sys.stderr.write('x' * 65536)\n"
        "    except OSError:\n        pass\n", "wrote more than 256 MB"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_file_that_misbehaves_is_a_failed_check_with_a_reason(case, tmp_path):
    text, reason = HOSTILE[case]
    path = tmp_path / "attempt.py"
    path.write_text(text)
    summary = run_check("softmax-cross-entropy", path, time_limit=5.0)
    failed = [c for c in summary["checks"] if not c["passed"]]
    # never a pass; a constant answer may still be right where the loss is 0 (one class)
    assert len(failed) >= summary["total"] - 1 and failed
    assert all(reason in c["detail"] for c in failed), failed[0]


def test_a_file_that_prints_for_ever_costs_the_checker_no_memory(tmp_path):
    path = tmp_path / "attempt.py"
    path.write_text("import sys\ndef softmax_cross_entropy(logits, targets):\n"
                    "    while True:\n        sys.stdout.write('x' * 65536)\n")
    # in a fresh process, so that the high-water mark of its memory is this check's own
    script = (
        "import json, resource, sys\n"
        "from labs.catalog import get_exercise\n"
        "from labs.context import LabContext\n"
        "from labs.exercises.checking import check\n"
        "summary = check(get_exercise('softmax-cross-entropy'), sys.argv[1],\n"
        "                LabContext('cpu', 0, lambda e: None), 3.0)\n"
        "print(json.dumps([summary['checks'][0]['detail'],\n"
        "                  resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024]))\n")
    done = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True,
                          text=True, timeout=120)
    detail, peak_mb = json.loads(done.stdout.strip().splitlines()[-1])
    assert "time limit" in detail
    assert peak_mb < 800  # its output was read whole into the checker: 1.9 GB in 3 s


def test_a_process_the_file_starts_goes_with_the_check(tmp_path):
    pid_file = tmp_path / "child.pid"
    path = tmp_path / "attempt.py"
    path.write_text("import os\ndef softmax_cross_entropy(logits, targets):\n"
                    "    if os.fork() == 0:\n"
                    f"        open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
                    "        while True:\n            pass\n"
                    "    while True:\n        pass\n")
    summary = run_check("softmax-cross-entropy", path, time_limit=3.0)
    assert "time limit" in summary["checks"][0]["detail"]
    stat = Path(f"/proc/{pid_file.read_text()}/stat")

    def running() -> bool:  # gone, or a zombie nobody has reaped yet, is not running
        try:
            return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False

    deadline = time.monotonic() + 5  # a SIGKILL lands a moment after it is sent
    while running() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not running()  # not a loop left burning a core after the check


def test_a_check_that_is_killed_takes_the_learners_process_with_it(tmp_path):
    """Ctrl-C, a closed terminal or companion's own timeout ends the checker; the
    sandbox, in a session of its own that the terminal's signals don't reach,
    must not go on burning a core with nothing left to stop it."""
    path = tmp_path / "attempt.py"
    path.write_text("def softmax_cross_entropy(logits, targets):\n    while True:\n"
                    "        pass\n")
    script = ("import sys\n"
              "from labs.catalog import get_exercise\n"
              "from labs.context import LabContext\n"
              "from labs.exercises.checking import check\n"
              "check(get_exercise('softmax-cross-entropy'), sys.argv[1],\n"
              "      LabContext('cpu', 0, lambda e: None), 120.0)\n")
    checker = subprocess.Popen([sys.executable, "-c", script, str(path)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children = Path(f"/proc/{checker.pid}/task/{checker.pid}/children")
    try:
        deadline = time.monotonic() + 60
        sandbox: list[str] = []
        while not sandbox and time.monotonic() < deadline:
            sandbox = children.read_text().split()
            time.sleep(0.05)
        assert len(sandbox) == 1
        time.sleep(3)  # into the learner's loop, past the import of torch
        checker.kill()
        checker.wait()
        stat = Path(f"/proc/{sandbox[0]}/stat")

        def running() -> bool:
            try:
                return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
            except OSError:
                return False

        deadline = time.monotonic() + 5
        while running() and time.monotonic() < deadline:
            time.sleep(0.05)
        left = running()
        if left:
            os.kill(int(sandbox[0]), signal.SIGKILL)
        assert not left
    finally:
        if checker.poll() is None:
            checker.kill()
            checker.wait()


def test_the_command_line_exits_0_1_and_2(tmp_path):
    good = subprocess.run([sys.executable, "-m", "labs", "check", "attention",
                           str(FILES / "attention.py"), "--json"], capture_output=True,
                          text=True)
    assert good.returncode == 0, good.stderr
    assert '"type":"result"' in good.stdout.splitlines()[-1]
    bad = tmp_path / "bad.py"
    bad.write_text(WRONG[("attention", "mask inverted")])
    assert subprocess.run([sys.executable, "-m", "labs", "check", "attention", str(bad)],
                          capture_output=True, text=True).returncode == 1
    for args, message in ((["nope", str(bad)], "unknown exercise 'nope'"),
                          (["atention", str(bad)], "did you mean 'attention'"),
                          (["attention", str(tmp_path / "missing.py")], "no such file")):
        done = subprocess.run([sys.executable, "-m", "labs", "check", *args],
                              capture_output=True, text=True)
        assert done.returncode == 2 and message in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1


def test_an_unknown_exercise_says_which_exist():
    with pytest.raises(UnknownExercise, match="exercises: attention"):
        get("nope")
