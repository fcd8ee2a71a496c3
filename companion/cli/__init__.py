"""The command line: `commands` is the click group (parse, call, print),
`line_review` the line-mode session, `tables` what the commands print.

`companion` alone opens the full-screen app without loading the click group
(click and a thousand lines of commands: about 30 ms of a start that draws
Home in well under half a second)."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from companion.cli.commands import app

__all__ = ["app", "main"]

# Shell completion runs `companion` with no arguments and this set: click's.
COMPLETE_VAR = "_COMPANION_COMPLETE"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args and COMPLETE_VAR not in os.environ:
        return full_screen()
    from companion.cli.commands import main as commands_main

    return commands_main(args)


def full_screen() -> int:
    """`companion` with no command: what the click group would do for it (run
    the app; an error a learner can cause is one line and status 2, ctrl+c
    before the app is up 130), without the group.

    The cycle collector is off from here to Home's first frame, which turns
    it back on (`CompanionApp.first_frame_drawn`): the start makes few cycles
    to collect (some 2,500 objects), but a full collection while it imports
    and mounts scans everything it has made so far (30 ms or more)."""
    import gc

    gc.disable()
    try:
        from companion.tui.app import run

        return run(collector_paused=True)
    except (KeyboardInterrupt, EOFError):  # as click's Abort
        print(file=sys.stderr)
        return 130
    except Exception as exc:
        from companion.cli.commands import handle_error

        code = handle_error(exc)
        if code is None:
            raise
        return code
    finally:
        gc.enable()  # when the app quit before its first frame


def __getattr__(name: str) -> Any:
    if name == "app":  # the click group, loaded when asked for
        from companion.cli.commands import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
