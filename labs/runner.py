"""Run one lab: check its parameters, pick the device, and turn the outcome into events.

Every run's events start with `Started` and end with exactly one `Result` or
`Failed`, whatever the lab does: an exception, running out of GPU memory and
Ctrl-C all become a `Failed` event with a `kind` the app can act on.

Bad input (unknown lab, bad parameter, a device that is not there) raises
`ParamError` before anything runs, so the caller can say so in one line and
exit with status 2.

Under torchrun (WORLD_SIZE > 1) each process joins PyTorch's process group
before the lab starts and leaves it when the lab ends (labs/distributed.py);
the lab reads its rank and world size from the context.
"""

from __future__ import annotations

import importlib
import os
import traceback
from collections.abc import Callable

from labs import catalog
from labs.catalog import ParamError
from labs.events import Event, Failed, Result, Started

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


def _discard(_event: Event) -> None:
    pass


def run_lab(
    name: str,
    raw_params: dict[str, str],
    device: str = "auto",
    seed: int = 0,
    emit: Callable[[Event], None] = _discard,
    on_error: Callable[[BaseException], None] | None = None,
) -> int:
    """Run lab `name` with `--param` texts `raw_params`; return the exit status (0 or 1).

    Raises ParamError for bad input, before torch is imported or any event emitted
    (except that checking the device needs torch). `on_error` sees the exception of
    a run that failed with one (the CLI's --traceback prints it).
    """
    spec = catalog.get(name)
    params = spec.resolve(raw_params)
    if not isinstance(seed, int) or seed < 0:
        raise ParamError(f"--seed {seed!r}: expected a whole number >= 0")

    from labs import distributed

    try:
        launch = distributed.launch_from_env()
    except ValueError as exc:
        raise ParamError(str(exc)) from None
    if launch is not None and not spec.distributed:
        raise ParamError(
            f"{name} runs in one process, but torchrun started {launch.world_size}; "
            f"only {', '.join(n for n, s in catalog.LABS.items() if s.distributed)} "
            "trains data-parallel"
        )

    from labs.context import LabContext, resolve_device

    try:
        resolved = resolve_device(device)
        if launch is not None:
            distributed.check_device(resolved)
    except ValueError as exc:
        raise ParamError(str(exc)) from None

    ctx = LabContext(device=resolved, seed=seed, emit=emit)
    try:
        emit(Started(lab=name, params=params, device=resolved, seed=seed))
        if launch is not None:
            # Inside the try: a process group that cannot form is a failed run, not a hang.
            ctx.group = distributed.start(launch, resolved)
        ctx.seed_everything()
        module = importlib.import_module(spec.module)
        summary = module.run(dict(params), ctx)
        emit(Result(summary=dict(summary or {})))
        return EXIT_OK
    except KeyboardInterrupt:
        _emit_failed(emit, "cancelled", f"{name} was cancelled (Ctrl-C)")
        return EXIT_FAILED
    except ParamError as exc:
        # Input that only the lab can judge (say, a cifar_path that is no CIFAR-10
        # tarball), found by the lab itself: still the learner's input, so status 2.
        _emit_failed(emit, "exception", f"bad parameter: {exc}")
        return EXIT_BAD_INPUT
    except Exception as exc:  # every failure must end the event stream
        if on_error is not None:
            on_error(exc)
        if is_out_of_memory(exc):
            _emit_failed(emit, "oom", oom_message(name, resolved, exc))
        else:
            _emit_failed(emit, "exception", exception_message(exc))
        return EXIT_FAILED
    finally:
        if launch is not None:
            distributed.stop()


def is_out_of_memory(exc: BaseException) -> bool:
    """torch.OutOfMemoryError, or the RuntimeError CUDA/MPS raise for the same thing."""
    import torch

    oom_types = tuple(
        t
        for t in (
            getattr(torch, "OutOfMemoryError", None),
            getattr(getattr(torch, "cuda", None), "OutOfMemoryError", None),
        )
        if isinstance(t, type)
    )
    if oom_types and isinstance(exc, oom_types):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def oom_message(name: str, device: str, exc: BaseException) -> str:
    first_line = (str(exc).strip().splitlines() or [""])[0]
    hint = "a smaller batch size (for example --param batch_sizes=...)"
    if name != "batch-size":
        hint = "smaller parameters"
    advice = f"try {hint}" + (" or --device cpu" if device != "cpu" else "")
    return f"{name} ran out of memory on {device}: {advice}. ({first_line})"


def exception_message(exc: BaseException) -> str:
    """`ExcType: message (at file:line in function)`, the frame where it was raised."""
    text = f"{type(exc).__name__}: {exc}".rstrip(": ")
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        last = frames[-1]
        text += f" (at {_short_path(last.filename)}:{last.lineno} in {last.name})"
    return text


def _short_path(filename: str) -> str:
    """Paths inside this checkout relative to it; others as they are."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        rel = os.path.relpath(filename, root)
    except ValueError:  # another drive on Windows
        return filename
    return filename if rel.startswith("..") else rel


def _emit_failed(emit: Callable[[Event], None], kind: str, message: str) -> None:
    try:
        emit(Failed(kind=kind, message=message))
    except Exception:  # the reader is gone; there is no one left to tell
        pass

