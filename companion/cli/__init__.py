"""The command line: `commands` is the click group (parse, call, print),
`line_review` the line-mode session, `tables` what the commands print."""

from companion.cli.commands import app, main

__all__ = ["app", "main"]
