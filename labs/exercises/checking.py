"""Checking an exercise: the learner's function against the reference.

`check(spec, path, ctx)` writes the cases' inputs to a file, runs the
learner's function on them in a child process (labs.exercises.sandbox) under
a time and a memory limit, reads back only the values it returned (torch.load
with weights_only: no code of theirs runs here), and compares each with the
reference computed in this process. Each case is a result: passed, or what
differs (the output, expected vs got shape, the largest absolute and relative
error and where), with a hint when the values match a usual mistake (the
exercise module's `MISTAKES`, each a wrong implementation whose output it
recognises). Emits the lab events every face draws, and a Result whose
summary is {exercise, passed, failed, total, checks: [...]}.

An exercise module holds:
    reference(*args, **kwargs)   the right answer
    cases(seed) -> list[Case]    fixed edge cases and seeded random ones
    MISTAKES: list[Mistake]      wrong versions, each with the hint it earns
    OUTPUTS: tuple of names      what each returned value is, for the messages
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from labs.context import LabContext
from labs.events import Table, Text
from labs.exercises import ExerciseSpec
from labs.exercises.models import describe, pack

TIME_LIMIT_S = 20.0  # the learner's whole run over every case
MEMORY_LIMIT_BYTES = 4 << 30  # address space of the learner's process
OUTPUT_LIMIT_BYTES = 256 << 20  # any one file it writes, its stderr and results among them
TOLERANCE = {torch.float64: (1e-9, 1e-7), torch.float32: (1e-5, 1e-4)}  # (abs, rel)


@dataclass(frozen=True)
class Case:
    name: str  # what it checks, in a few words ("logits of ±1000")
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Mistake:
    name: str
    hint: str
    fn: Callable[..., Any]


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    detail: str = ""  # what differs
    hint: str = ""  # the usual mistake the values match, if any

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "detail": self.detail,
                "hint": self.hint}


def load(spec: ExerciseSpec) -> Any:
    return importlib.import_module(spec.module)


# -- comparing -------------------------------------------------------------------


def _as_tuple(value: Any) -> tuple[Any, ...]:
    return value if isinstance(value, tuple) else (value,)


def _describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)} ({str(value.dtype).removeprefix('torch.')})"
    if isinstance(value, tuple):
        return f"a tuple of {len(value)}"
    return type(value).__name__


def _small(t: torch.Tensor) -> str:
    flat = t.detach().flatten()
    shown = ", ".join(f"{float(v):.4g}" for v in flat[:6])
    return f"[{shown}{', …' if flat.numel() > 6 else ''}]"


def difference(expected: Any, got: Any, names: Sequence[str]) -> str:
    """'' when `got` is `expected` to the tolerance of its dtype, else what differs."""
    want, have = _as_tuple(expected), _as_tuple(got)
    if len(want) != len(have):
        return (f"expected {len(want)} value{'s' if len(want) != 1 else ''} "
                f"({', '.join(names)}), got {_describe(got)}")
    for index, (e, g) in enumerate(zip(want, have)):
        name = names[index] if index < len(names) else f"value {index + 1}"
        if not isinstance(g, torch.Tensor):
            return f"{name}: expected {_describe(e)}, got {_describe(g)}"
        if tuple(g.shape) != tuple(e.shape):
            return f"{name}: expected shape {tuple(e.shape)}, got {tuple(g.shape)}"
        if not (g.is_floating_point() or g.is_complex()):
            g = g.to(e.dtype)
        if g.dtype != e.dtype:
            return (f"{name}: expected dtype {str(e.dtype).removeprefix('torch.')}, got "
                    f"{str(g.dtype).removeprefix('torch.')} (keep the inputs' dtype)")
        atol, rtol = TOLERANCE.get(e.dtype, (1e-5, 1e-4))
        if not torch.isfinite(g).all() and torch.isfinite(e).all():
            where = tuple(int(i) for i in (~torch.isfinite(g)).nonzero()[0])
            return f"{name}: not finite at index {where} (got {g[where].item()})"
        if torch.allclose(g, e, atol=atol, rtol=rtol, equal_nan=True):
            continue
        gap = (g - e).abs()
        flat = int(gap.flatten().argmax())
        where = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), gap.shape)) \
            if gap.dim() else ()
        rel = float(gap.flatten()[flat] / e.abs().flatten()[flat].clamp_min(1e-30))
        return (f"{name}: max abs error {float(gap.max()):.3g}, rel {rel:.3g} at index "
                f"{where}: expected {float(e[where]):.6g}, got {float(g[where]):.6g}"
                + (f" (expected {_small(e)}, got {_small(g)})" if e.numel() <= 6 else ""))
    return ""


def inputs_text(case: Case) -> str:
    """The failing case's inputs, briefly: each tensor's shape and dtype, and
    its values when there are few enough to read."""
    parts = []
    for i, arg in enumerate(case.args):
        if isinstance(arg, torch.Tensor):
            values = f" {_small(arg)}" if arg.numel() <= 6 else ""
            parts.append(f"arg {i + 1}: {tuple(arg.shape)} "
                         f"{str(arg.dtype).removeprefix('torch.')}{values}")
        elif isinstance(arg, torch.nn.Module):
            parts.append(f"arg {i + 1}: {describe(arg)}")
        else:
            parts.append(f"arg {i + 1}: {arg!r}")
    parts += [f"{k}={_describe(v)}" for k, v in case.kwargs.items()]
    return "; ".join(parts)


# -- running the learner's code ----------------------------------------------------


@dataclass
class Returned:
    """What the learner's process handed back: one (kind, value) per case, or
    why there is nothing (it crashed, ran out of time, exited early)."""

    results: list[tuple[str, Any]] | None
    problem: str = ""
    seconds: float = 0.0


def _exited(pid: int, timeout: float) -> bool:
    """Whether the process ended within `timeout` seconds, waited for but not reaped:
    until it is, its pid (the session's id) can't be given to another process, so
    killing the session can't hit a stranger's. Polled rather than blocked on, so
    that Ctrl-C stops the wait at once."""
    deadline = time.monotonic() + timeout
    pause = 0.001
    while True:
        try:
            if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return True
        except ChildProcessError:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def _kill_session(process: subprocess.Popen[bytes]) -> None:
    """The sandbox and everything it started, gone (a file that forked a loop)."""
    import signal

    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # the session is empty already
    process.wait()


def _tail(path: str, size: int = 64 * 1024) -> str:
    """The end of what the learner's process wrote to stderr, where its error is."""
    with open(path, "rb") as handle:
        handle.seek(max(0, os.path.getsize(path) - size))
        return handle.read().decode("utf-8", "replace")


def run_learner(path: str, function: str, cases: list[Case],
                time_limit: float = TIME_LIMIT_S,
                memory_limit: int = MEMORY_LIMIT_BYTES) -> Returned:
    with tempfile.TemporaryDirectory(prefix="companion-exercise-") as work:
        inputs, outputs = os.path.join(work, "in.pt"), os.path.join(work, "out.pt")
        torch.save([(tuple(pack(a) for a in c.args), {k: pack(v) for k, v in c.kwargs.items()})
                    for c in cases], inputs)
        # CPU time: every core busy for the whole time limit, and the import of torch
        cpu_seconds = int(time_limit * (os.cpu_count() or 1)) + 30
        command = [sys.executable, "-m", "labs.exercises.sandbox", path, function, inputs,
                   outputs, str(memory_limit), str(OUTPUT_LIMIT_BYTES), str(cpu_seconds),
                   str(os.getpid())]
        errors = os.path.join(work, "stderr")
        started = time.perf_counter()
        # The learner's output goes nowhere and its stderr to a file (the sandbox bounds
        # the size of what it writes): a pipe read whole would hold a file that prints
        # for ever in this process's memory (3 GB in 5 s). Its own session, killed
        # whole once it ends or runs out of time, takes any process it started with it.
        with open(errors, "wb") as sink:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=sink, cwd=work,
                                       env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
                                       start_new_session=True)
            try:
                if not _exited(process.pid, time_limit):
                    return Returned(None, f"ran past the time limit of {time_limit:g} s and "
                                          "was stopped (an endless loop?)",
                                    time.perf_counter() - started)
            finally:
                _kill_session(process)
            returncode = process.returncode
        seconds = time.perf_counter() - started
        tail = [line for line in _tail(errors).splitlines() if line.strip()]
        last = tail[-1].strip()[:300] if tail else ""
        if returncode < 0:
            import signal

            try:
                how = signal.Signals(-returncode).name
            except ValueError:
                how = f"signal {-returncode}"
            why: dict[int, str] = {
                int(signal.SIGKILL): " (out of memory?)",
                int(signal.SIGXFSZ): f" (it wrote more than {OUTPUT_LIMIT_BYTES >> 20} MB)",
                int(signal.SIGXCPU): f" (it used more than {cpu_seconds} s of CPU time)"}
            return Returned(None, f"was killed by {how}" + why.get(-returncode, ""), seconds)
        if returncode != 0 or not os.path.exists(outputs):
            if "MemoryError" in last:
                return Returned(None, f"ran out of memory (the limit is "
                                      f"{memory_limit >> 30} GB): {last}", seconds)
            if returncode == 0:
                return Returned(None, "exited before returning anything (sys.exit or "
                                      "os._exit in the file?)", seconds)
            return Returned(None, f"stopped with status {returncode}"
                            + (f": {last}" if last else ""), seconds)
        try:
            results = torch.load(outputs, weights_only=True)
        except Exception as exc:  # a file they wrote over ours, or half of one
            return Returned(None, f"handed back something unreadable ({type(exc).__name__})",
                            seconds)
        if not isinstance(results, list) or len(results) != len(cases):
            return Returned(None, "handed back the wrong number of results", seconds)
        return Returned(results, "", seconds)


# -- the check ----------------------------------------------------------------------


def _crash_hint(module: Any, case: Case, raised: str) -> str:
    """The hint of a usual mistake that crashes on this case with the same kind of
    error as the learner's code did (an odd d_model a shape mismatch), or ''."""
    kind = raised.split(":", 1)[0]
    for mistake in getattr(module, "MISTAKES", ()):
        try:
            mistake.fn(*case.args, **case.kwargs)
        except Exception as exc:
            if type(exc).__name__ == kind:
                return str(mistake.hint)
    return ""


def judge(module: Any, cases: list[Case], returned: Returned) -> list[CheckResult]:
    names = tuple(getattr(module, "OUTPUTS", ()))
    if returned.results is None:
        return [CheckResult(c.name, False, f"your code {returned.problem}") for c in cases]
    out = []
    for case, (kind, value) in zip(cases, returned.results):
        if kind == "raised":
            out.append(CheckResult(case.name, False, f"raised {value}",
                                   _crash_hint(module, case, str(value))))
            continue
        if kind == "unreadable":
            out.append(CheckResult(case.name, False, f"returned a {value}, not tensors "
                                                     f"({', '.join(names)})"))
            continue
        expected = module.reference(*case.args, **case.kwargs)
        differs = difference(expected, value, names)
        if not differs:
            out.append(CheckResult(case.name, True))
            continue
        hint = ""
        for mistake in getattr(module, "MISTAKES", ()):
            try:
                wrong = mistake.fn(*case.args, **case.kwargs)
            except Exception:
                continue
            # a mistake this case can't tell from the right answer names nothing
            if difference(expected, wrong, names) and not difference(wrong, value, names):
                hint = mistake.hint
                break
        out.append(CheckResult(case.name, False, f"{differs}; inputs: {inputs_text(case)}",
                               hint))
    return out


def check(spec: ExerciseSpec, path: str, ctx: LabContext,
          time_limit: float = TIME_LIMIT_S) -> dict[str, Any]:
    module = load(spec)
    cases = module.cases(ctx.seed)
    ctx.emit(Text(f"## {spec.name}: {spec.title}\n\n{len(cases)} checks of "
                  f"`{spec.function}` from {path}, each against the reference."))
    returned = run_learner(path, spec.function, cases, time_limit)
    results = judge(module, cases, returned)
    passed = sum(r.passed for r in results)
    ctx.emit(Table(title=f"{passed} of {len(results)} checks passed",
                   columns=["check", "result", "what differs"],
                   rows=[[r.name, "passed" if r.passed else "FAILED", r.detail]
                         for r in results]))
    hints = list(dict.fromkeys(r.hint for r in results if r.hint))
    if hints:
        ctx.emit(Text("**Hints**\n\n" + "\n".join(f"- {h}" for h in hints)))
    return {"exercise": spec.name, "passed": passed, "failed": len(results) - passed,
            "total": len(results), "seconds": round(returned.seconds, 3),
            "checks": [r.as_dict() for r in results]}
