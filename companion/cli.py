"""`companion`: the command line. Without a command it opens the full-screen app.

Every error a learner can cause (a wrong flag, a missing file, a bad deck or
setting, an unusable database) is one line on stderr and exit status 2.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import List, Optional

import typer

from companion import __version__

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    help="A terminal learning companion for deep learning: FSRS flashcards and PyTorch labs.",
    context_settings={"help_option_names": ["-h", "--help"]},
)
decks_app = typer.Typer(help="Check and list decks.", no_args_is_help=True)
app.add_typer(decks_app, name="decks")


class UserError(Exception):
    """A problem with what the learner asked for; printed as one line, exit status 2."""


def _err(message: str) -> None:
    print(f"companion: error: {message}", file=sys.stderr)


def _open(sync: bool = True):
    """Settings, store, and decks synced from their files (deck problems are warnings here)."""
    from companion import paths
    from companion.settings import load
    from companion.store import open_store

    settings = load(paths.settings_path())
    store = open_store()
    if sync:
        from companion.library import sync_decks

        report = sync_decks(store)
        for error in report.errors:
            print(f"companion: warning: {error}", file=sys.stderr)
    return settings, store


def _version(value: bool) -> None:
    if value:
        print(f"companion {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Without a command: the full-screen app (until it lands: this help)."""
    if ctx.invoked_subcommand is None:
        print(ctx.get_help())


@app.command()
def review(
    plain: bool = typer.Option(False, "--plain", help="Line mode for any terminal or a pipe."),
    deck: Optional[str] = typer.Option(None, "--deck", help="Study only this deck (its id)."),
    limit: int = typer.Option(0, "--limit", min=0, help="Stop after this many cards (0: no limit)."),
) -> None:
    """Study the cards due today: Enter reveals, 1-4 grades, u undoes, q quits."""
    if not plain:
        # The full-screen review lands with the Textual app; line mode works everywhere.
        plain = True
    settings, store = _open()
    if deck is not None and not store.conn.execute(
            "SELECT 1 FROM decks WHERE id = ? AND retired = 0", (deck,)).fetchone():
        known = [r[0] for r in store.conn.execute("SELECT id FROM decks WHERE retired = 0")]
        raise UserError(f"--deck {deck}: no such deck (decks: {', '.join(known) or 'none'})")
    from companion.plain import run_plain_review

    run_plain_review(store, settings, deck_id=deck, limit=limit)


@app.command()
def due() -> None:
    """How many cards are new, in learning and due today, per deck."""
    from companion.session import ReviewSession

    settings, store = _open()
    from rich.console import Console
    from rich.table import Table

    rows = store.conn.execute(
        "SELECT d.id, d.name FROM decks d WHERE d.retired = 0 ORDER BY d.name").fetchall()
    table = Table(title="Due today", title_justify="left")
    for name, justify in (("Deck", "left"), ("New", "right"), ("Learning", "right"),
                          ("Due", "right")):
        table.add_column(name, justify=justify)
    now = int(time.time() * 1000)
    for deck_id, name in rows:
        counts = ReviewSession(store, settings, deck_id=deck_id).counts(now)
        table.add_row(f"{name} ({deck_id})", str(counts.new), str(counts.learning),
                      str(counts.review))
    total = ReviewSession(store, settings).counts(now)
    table.add_section()
    table.add_row("All decks, daily limits applied", str(total.new), str(total.learning),
                  str(total.review))
    Console().print(table)


@decks_app.command("check")
def decks_check(
    paths: List[Path] = typer.Argument(None, help="Deck files or folders (default: all decks)."),
) -> None:
    """Report every problem in deck files as file:line: message (exit status 2 if any)."""
    from companion.decks import deck_files, load_decks
    from companion.library import deck_dirs

    files: list[Path] = []
    for path in paths or []:
        if path.is_dir():
            files.extend(deck_files([path]))
        elif path.exists():
            files.append(path)
        else:
            raise UserError(f"{path}: no such file or folder")
    if not paths:
        files = deck_files(deck_dirs())
    decks, errors = load_decks(files)
    for error in errors:
        print(error)
    cards = sum(len(d.cards) for d in decks)
    print(f"{len(files)} file(s), {len(decks)} deck(s), {cards} card(s), "
          f"{len(errors)} problem(s)", file=sys.stderr)
    if errors:
        raise typer.Exit(2)


@decks_app.command("list")
def decks_list() -> None:
    """The decks in your collection with their card counts."""
    _, store = _open()
    from rich.console import Console
    from rich.table import Table

    table = Table()
    for name in ("Id", "Name", "Cards", "Reviewed", "Suspended", "File"):
        table.add_column(name)
    for row in store.conn.execute(
            "SELECT d.id, d.name, count(c.id), coalesce(sum(c.reps > 0), 0), "
            "coalesce(sum(c.suspended), 0), d.path FROM decks d "
            "LEFT JOIN cards c ON c.deck_id = d.id AND c.retired = 0 "
            "WHERE d.retired = 0 GROUP BY d.id ORDER BY d.name"):
        table.add_row(*(str(v) for v in row))
    Console().print(table)


@app.command()
def doctor(
    rebuild: bool = typer.Option(False, "--rebuild",
                                 help="Replay the review log into every card's memory state."),
) -> None:
    """Check the database: integrity, schema, and that cached states match a replay."""
    from companion.doctor import run_doctor

    settings, store = _open(sync=False)
    raise typer.Exit(run_doctor(store, settings, rebuild=rebuild))


def main(argv: list[str] | None = None) -> int:
    from companion.settings import SettingsError
    from companion.store import StoreError

    command = typer.main.get_command(app)
    args = sys.argv[1:] if argv is None else argv
    try:
        result = command.main(args=args, prog_name="companion", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        print(file=sys.stderr)
        return 130
    except typer.TyperException as exc:  # click's usage errors, vendored by typer
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError":
            print(exc.format_message())
            return 0
        where = ctx.command_path if ctx else "companion"
        message = " ".join(exc.format_message().split())
        _err(f"{message} (see `{where} --help`)")
        return 2
    except (UserError, SettingsError, StoreError) as exc:
        _err(str(exc))
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
