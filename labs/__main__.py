"""`python -m labs`: list the labs, or run one.

    python -m labs list [--json]
    python -m labs run NAME [--param k=v ...] [--device auto|cpu|cuda|mps] [--seed N] [--json]
    python -m labs check EXERCISE FILE [--seed N] [--time-limit S] [--json]

With --json, stdout carries one JSON event per line and nothing else (the app
reads it); without, rich draws the events for a person. Under torchrun only
rank 0 writes events; the other processes write nothing to stdout. Bad input
prints one line, `labs: error: ...`, on stderr and exits with status 2; a run
that fails exits with 1. argparse rather than typer: `list` must start fast
and never import torch.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, NoReturn, TextIO

from labs import catalog
from labs.catalog import ParamError
from labs.events import Event, Failed, to_json

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad input in one line instead of usage plus message."""

    def error(self, message: str) -> NoReturn:
        _fail(message)


def _say_error(message: str) -> None:
    # One write of the whole line: under torchrun every process shares the
    # same stderr unbuffered, and print's two writes (text, then newline)
    # would interleave with the other ranks' lines.
    sys.stderr.write(f"labs: error: {message}\n")
    sys.stderr.flush()


def _fail(message: str) -> NoReturn:
    _say_error(message)
    raise SystemExit(EXIT_BAD_INPUT)


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be 0 or more")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="labs", description="Run the companion's PyTorch labs.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    list_cmd = commands.add_parser("list", help="list the labs and their parameters")
    list_cmd.add_argument("--json", action="store_true", help="print the catalog as JSON")

    run_cmd = commands.add_parser("run", help="run a lab")
    run_cmd.add_argument("name", help="the lab's name (see `python -m labs list`)")
    run_cmd.add_argument("--param", "-p", action="append", default=[], metavar="NAME=VALUE",
                         help="set a parameter; repeat for several")
    run_cmd.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"),
                         help="where to run (auto: CUDA, then MPS, then CPU)")
    run_cmd.add_argument("--seed", type=_seed, default=0, help="random seed (default 0)")
    run_cmd.add_argument("--json", action="store_true",
                         help="one JSON event per line on stdout, nothing else")
    run_cmd.add_argument("--traceback", action="store_true",
                         help="print the full traceback of a failed run on stderr")
    check_cmd = commands.add_parser("check", help="check an exercise's solution")
    check_cmd.add_argument("name", help="the exercise's name")
    check_cmd.add_argument("file", help="the Python file holding the learner's function")
    check_cmd.add_argument("--seed", type=_seed, default=0, help="random cases' seed")
    check_cmd.add_argument("--time-limit", type=float, default=20.0,
                           help="seconds the learner's code may run over all the cases")
    check_cmd.add_argument("--json", action="store_true",
                           help="one JSON event per line on stdout, nothing else")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from labs import installed

    if installed.missing() is not None:
        print(f"python -m labs: {installed.HINT}", file=sys.stderr)
        return 2
    if args.command == "list":
        return _list(args.json)
    if args.command == "check":
        return _check(args)
    return _run(args)


def _check(args: argparse.Namespace) -> int:
    """Exit 0 when every check passes, 1 when one fails, 2 for bad input."""
    from labs.exercises import UnknownExercise, get

    try:
        spec = get(args.name)
    except UnknownExercise as exc:
        _fail(str(exc))
    if not os.path.isfile(args.file):
        _fail(f"{args.file}: no such file")
    if not (0 < args.time_limit <= 3600):
        _fail(f"--time-limit {args.time_limit:g}: expected seconds between 0 and 3600")
    from labs.context import LabContext
    from labs.events import Result, Started
    from labs.exercises.checking import check

    if args.json:
        out = sys.stdout
        sys.stdout = sys.stderr
        emit: Any = _JsonWriter(out)
    else:
        from labs.render import RichRenderer

        emit = RichRenderer()
    emit(Started(lab=f"exercise {spec.name}", params={"file": args.file}, device="cpu",
                 seed=args.seed))
    summary = check(spec, os.path.abspath(args.file), LabContext("cpu", args.seed, emit),
                    args.time_limit)
    emit(Result(summary=summary))
    emit.close()
    return 0 if summary["failed"] == 0 else 1


def _list(as_json: bool) -> int:
    specs = [catalog.LABS[name] for name in sorted(catalog.LABS)]
    if as_json:
        print(json.dumps([_spec_dict(s) for s in specs], indent=2, ensure_ascii=False))
        return 0
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for spec in specs:
        table = Table(title=f"[bold]{spec.name}[/]  {spec.title}", title_justify="left",
                      caption=spec.explanation, caption_justify="left")
        for column in ("parameter", "type", "default", "range"):
            table.add_column(column, no_wrap=True)
        table.add_column("meaning")
        for p in spec.params:
            default = ",".join(map(str, p.default)) if isinstance(p.default, list) else p.default
            table.add_row(p.name, p.kind, str(default), p.limits(), p.help)
        console.print(table)
        console.print()
    return 0


def _spec_dict(spec: catalog.LabSpec) -> dict:
    return {
        "name": spec.name,
        "title": spec.title,
        "explanation": spec.explanation,
        "params": [
            {"name": p.name, "kind": p.kind, "default": p.default, "help": p.help,
             "min": p.min, "max": p.max, "choices": list(p.choices)}
            for p in spec.params
        ],
    }


def _run(args: argparse.Namespace) -> int:
    import signal

    from labs.runner import run_lab

    # Ctrl-C (or the app's SIGINT) must reach the lab as KeyboardInterrupt, so it can
    # end with a "cancelled" event, even when a parent started us with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)

    try:
        raw = catalog.parse_assignments(args.param)
    except ParamError as exc:
        _fail(str(exc))

    from labs.distributed import launch_from_env

    try:
        launch = launch_from_env()
    except ValueError as exc:
        _fail(str(exc))

    failed: list[Failed] = []
    if launch is not None and launch.rank != 0:
        # One of several processes under torchrun, not the first: rank 0 speaks for
        # all of them, so the reader sees each event once. This one keeps stdout
        # clean and says only how it failed, if it does, on stderr.
        sys.stdout = sys.stderr
        rank = launch.rank

        def emit(event: Event) -> None:
            if isinstance(event, Failed):
                failed.append(event)
                sys.stderr.write(f"labs: rank {rank}: {event.kind}: {event.message}\n")
                sys.stderr.flush()

        def close() -> None:
            pass
    elif args.json:
        out = sys.stdout
        # Anything a library prints must not corrupt the event stream.
        sys.stdout = sys.stderr
        writer = _JsonWriter(out)

        def emit(event: Event) -> None:
            if isinstance(event, Failed):
                failed.append(event)
            writer(event)

        close = writer.close
    else:
        from labs.render import RichRenderer

        renderer = RichRenderer()

        def emit(event: Event) -> None:
            if isinstance(event, Failed):
                failed.append(event)
            renderer(event)

        close = renderer.close

    def on_error(exc: BaseException) -> None:
        if args.traceback:
            import traceback

            traceback.print_exception(exc, file=sys.stderr)

    try:
        status = run_lab(args.name, raw, device=args.device, seed=args.seed, emit=emit,
                         on_error=on_error)
    except ParamError as exc:  # raised before the lab starts, and before torch for parameters
        close()
        _fail(str(exc))
    close()
    if status == EXIT_BAD_INPUT and failed:
        _say_error(failed[-1].message)
    return status


class _JsonWriter:
    """Writes each event as one line and flushes it, so a reader sees it at once."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.broken = False

    def __call__(self, event: Event) -> None:
        if self.broken:
            raise BrokenPipeError("the reader of the event stream has gone")
        try:
            self.out.write(to_json(event) + "\n")
            self.out.flush()
        except BrokenPipeError:
            self.broken = True
            # Point stdout at /dev/null so Python's own flush at exit stays quiet.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.out.fileno())
            raise

    def close(self) -> None:
        pass


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl-C before the lab started: nothing to report
        sys.exit(130)
