"""The learner's process: import their file, call their function on each case,
hand back what it returned. Started by labs.exercises.checking, never imported
by it:

    python -m labs.exercises.sandbox FILE FUNCTION INPUTS OUTPUTS MEMORY_BYTES \
        WRITTEN_BYTES CPU_SECONDS CHECKER_PID

INPUTS is a torch.save'd list of (args, kwargs), one per case. OUTPUTS gets a
torch.save'd list, one entry per case: ("ok", value) with every tensor in the
value detached and moved to the CPU, ("raised", "TypeError: ...") or
("unreadable", "a list") when the value holds something that is not a tensor,
a number or a tuple/list of them. Nothing here decides whether a case passed:
the checker does, in its own process, from these values alone.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import Any


def _die_with(checker: int) -> None:
    """Killed when the checker that started it ends, however it ends (Ctrl-C, a
    closed terminal, companion's own timeout): the sandbox is in a session of its
    own, which the terminal's signals don't reach. Linux only; elsewhere the CPU
    limit bounds what is left."""
    import ctypes
    import signal

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return
    if prctl(1, int(signal.SIGKILL), 0, 0, 0) == 0 and os.getppid() != checker:
        os._exit(1)  # the checker was gone before the signal was asked for


def _limit(memory: int, written: int, cpu_seconds: int) -> None:
    """Bounds on the address space, on any file the learner's code writes (its
    stderr is one: a file that prints for ever fills no disk) and on the CPU time
    of each process (one it forked and set free of the session still stops)."""
    try:
        import resource
        import signal
    except ImportError:
        return  # no such limits here (not POSIX): the checker's time limit still holds
    # Python ignores SIGXFSZ, so that a write past the limit is an OSError the
    # learner's code could catch and go on from: the default ends the process.
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
    for which, limit in ((resource.RLIMIT_AS, memory), (resource.RLIMIT_FSIZE, written),
                         (resource.RLIMIT_CPU, cpu_seconds), (resource.RLIMIT_CORE, 0)):
        if limit > 0 or which == resource.RLIMIT_CORE:  # no core file from those signals
            try:
                resource.setrlimit(which, (limit, limit))
            except (ValueError, OSError):
                pass


def _plain(value: Any, torch: Any) -> Any:
    """The value with tensors detached to the CPU; a TypeError for anything else."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu").clone()
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, tuple | list):
        return tuple(_plain(v, torch) for v in value)
    raise TypeError(type(value).__name__)


def main(argv: list[str]) -> int:
    path, function, inputs, outputs, memory, written, cpu_seconds, checker = argv
    _die_with(int(checker))
    import torch

    from labs.exercises.models import unpack  # a model sent as its layers, built back

    cases = [(tuple(unpack(a) for a in args), {k: unpack(v) for k, v in kwargs.items()})
             for args, kwargs in torch.load(inputs, weights_only=True)]
    _limit(int(memory), int(written), int(cpu_seconds))
    torch.manual_seed(0)
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    spec = importlib.util.spec_from_file_location("exercise_attempt", path)
    if spec is None or spec.loader is None:
        print(f"cannot import {path}", file=sys.stderr)
        return 3
    module = importlib.util.module_from_spec(spec)
    sys.modules["exercise_attempt"] = module
    spec.loader.exec_module(module)
    fn = getattr(module, function, None)
    if not callable(fn):
        print(f"{path} defines no function {function}()", file=sys.stderr)
        return 4
    results: list[tuple[str, Any]] = []
    for args, kwargs in cases:
        try:
            value = fn(*args, **kwargs)
        except MemoryError:
            results.append(("raised", "MemoryError: ran out of memory"))
            continue
        except Exception as exc:  # the learner's bug is a result, not a crash
            results.append(("raised", f"{type(exc).__name__}: {exc}"[:500]))
            continue
        try:
            results.append(("ok", _plain(value, torch)))
        except TypeError as exc:
            results.append(("unreadable", str(exc)))
    torch.save(results, outputs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
