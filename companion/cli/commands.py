"""`companion`: the command line. Without a command it opens the full-screen app.

Every error a learner can cause (a wrong flag, a missing file, a bad deck or
setting, an unusable database) is one line on stderr and exit status 2.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from companion import __version__

if TYPE_CHECKING:
    from companion.store import Store

CONTEXT = {"help_option_names": ["-h", "--help"]}


class UserError(Exception):
    """A problem with what the learner asked for; printed as one line, exit status 2."""


def _err(message: str) -> None:
    from companion.cardtext import neutralise

    print(f"companion: error: {neutralise(message)}", file=sys.stderr)


def _warn(message: object) -> None:
    from companion.cardtext import neutralise

    print(f"companion: warning: {neutralise(message)}", file=sys.stderr)


def _open(sync: bool = True, quiet: bool = False):
    """Settings, store, and decks synced from their files (deck problems are warnings here)."""
    from companion import paths
    from companion.settings import load
    from companion.store import open_store

    settings = load(paths.settings_path())
    store = open_store()
    if warning := store.daily_backup_warning():
        _warn(warning)
    store.mark_abandoned_runs()
    from companion.replay import catch_up

    if replayed := catch_up(store, settings):
        print(f"companion: note: replayed {replayed} review(s) into every card's state "
              "(new scheduling rules or FSRS parameters)", file=sys.stderr)
    if sync:
        from companion.deck_sync import sync_decks

        report = sync_decks(store)
        if quiet:  # a status line: deck problems are for `companion decks check`
            return settings, store
        for note in report.notes:
            from companion.cardtext import neutralise

            print(f"companion: note: {neutralise(note)}", file=sys.stderr)
        for error in report.errors:
            _warn(error)
    return settings, store


def _check_deck(store: "Store", deck: str) -> None:
    """--deck names a live deck, or a one-line error that lists them."""
    if not store.deck_exists(deck):
        from difflib import get_close_matches

        known = sorted(store.live_deck_ids())
        close = get_close_matches(deck, known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise UserError(f"--deck {deck[:60]}: no such deck ({hint}decks: "
                        f"{', '.join(known) or 'none'})")


def _version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        print(f"companion {__version__}")
        ctx.exit()


@click.group(invoke_without_command=True, context_settings=CONTEXT)
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_version,
              help="Print the version and exit.")
@click.pass_context
def app(ctx: click.Context) -> None:
    """A terminal learning companion for deep learning: FSRS flashcards and PyTorch labs.

    Without a command: the full-screen app."""
    if ctx.invoked_subcommand is None:
        from companion.tui.app import run

        raise click.exceptions.Exit(run())


@app.group("decks", context_settings=CONTEXT, no_args_is_help=True)
def decks_app() -> None:
    """Check, list and create decks."""


@app.command(context_settings=CONTEXT)
@click.option("--plain", is_flag=True, help="Line mode for any terminal or a pipe.")
@click.option("--deck", default=None, help="Study only this deck (its id).")
@click.option("--limit", type=click.IntRange(min=0), default=0,
              help="Stop after this many cards (0: no limit); a line-mode session.")
@click.option("--tag", default=None, metavar="TAG",
              help="Only cards with this tag: today's learning, due and new cards of it, "
                   "within the daily limits (with --ahead or --forgotten: only theirs).")
@click.option("--ahead", "ahead", type=int, default=None, metavar="DAYS",
              help="Custom study: review ahead the cards due in the next DAYS days, soonest "
                   "first, answered early (the scheduler takes them as early reviews).")
@click.option("--forgotten", type=int, default=None, metavar="DAYS",
              help="Custom study: the cards you answered Again in the last DAYS days "
                   "(1-30, today is the first), in random order.")
@click.option("--extra-new", type=int, default=0, metavar="N",
              help="Raise today's new-card limit by N for the rest of this day, then study.")
@click.option("--extra-reviews", type=int, default=0, metavar="N",
              help="Raise today's review limit by N for the rest of this day, then study.")
def review(plain: bool, deck: str | None, limit: int, tag: str | None, ahead: int | None,
           forgotten: int | None, extra_new: int, extra_reviews: int) -> None:
    """Study the cards due today: Enter reveals, 1-4 grade, u undoes, q quits.

    In a terminal this opens the full-screen review; with --plain, or when input
    or output is a pipe, it is a line-mode session.

    Custom study, as Anki's: --tag, --ahead and --forgotten choose what to study
    (--ahead and --forgotten are two studies, not one); --extra-new and
    --extra-reviews raise today's limits, which stay raised until the day ends.
    Every answer goes through the scheduler as usual; no other card is touched."""
    if sys.stdin is None or sys.stdout is None:
        raise UserError("review: standard input or output is closed; run it in a terminal "
                        "or give it a pipe")
    if limit or not (sys.stdin.isatty() and sys.stdout.isatty()):
        plain = True
    for flag, value in (("--ahead", ahead), ("--forgotten", forgotten)):
        if value is not None and value < 1:
            raise UserError(f"{flag} {value}: give a number of days of 1 or more")
    for flag, value in (("--extra-new", extra_new), ("--extra-reviews", extra_reviews)):
        if value < 0:
            raise UserError(f"{flag} {value}: give a number of cards of 0 or more")
    if ahead is not None and forgotten is not None:
        raise UserError("--ahead and --forgotten are two custom studies: choose one")
    settings, store = _open()
    if deck is not None:
        _check_deck(store, deck)
    from companion.session import ReviewSession, SelectionError, check_selection
    from companion.store import now_ms

    flags = {"tag": "--tag", "ahead": "--ahead", "forgotten": "--forgotten",
             "extra_new": "--extra-new", "extra_reviews": "--extra-reviews"}
    try:
        selection = check_selection(store, tag, ahead or 0, forgotten or 0, extra_new,
                                    extra_reviews, built_at=now_ms())
    except SelectionError as exc:
        raise UserError(f"{flags[exc.field]}: {exc}") from None
    if extra_new or extra_reviews:
        new_limit, review_limit = ReviewSession(store, settings).extend_today(extra_new,
                                                                              extra_reviews)
        print(f"Today's limits: {new_limit} new, {review_limit} reviews (until the day ends).",
              file=sys.stderr)
    if not plain:
        from companion.tui.app import run

        store.close()
        raise click.exceptions.Exit(run(start_review=True, deck_id=deck, selection=selection))
    from companion.cli.line_review import run_plain_review

    settings = _auto_sync(store, settings)
    run_plain_review(store, settings, deck_id=deck, limit=limit, selection=selection)
    _auto_sync(store, settings)


@app.command(context_settings=CONTEXT)
@click.option("--deck", default=None, help="Only this deck and its subdecks (its id).")
@click.option("--json", "as_json", is_flag=True,
              help="The same numbers as one JSON object, for scripts.")
@click.option("--short", is_flag=True,
              help="One line for a shell prompt or a status bar (\"12 due · 3 new\"); "
                   "nothing when nothing is left today.")
def due(deck: str | None, as_json: bool, short: bool) -> None:
    """How many cards are new, in learning and due today, per deck."""
    from companion.session import ReviewSession
    from companion.stats import deck_rows

    if as_json and short:
        raise UserError("--json and --short are two outputs: choose one")
    settings, store = _open(quiet=as_json or short)
    if deck is not None:
        _check_deck(store, deck)
    session = ReviewSession(store, settings, deck_id=deck)
    by_deck, total = session.overview()
    rows = [row for row in deck_rows(store, by_deck)
            if deck is None or row.id in set(session.studied_decks())]
    if short:
        parts = [f"{n} {what}" for n, what in ((total.review, "due"),
                                               (total.learning, "learning"),
                                               (total.new, "new")) if n]
        if parts:
            print(" · ".join(parts))
        return
    if as_json:
        import json

        parents = store.deck_parents()
        print(json.dumps({
            "day": session.day.day_of(session.clock()).isoformat(),
            "total": {"new": total.new, "learning": total.learning, "review": total.review},
            "decks": [{"id": row.id, "name": row.name, "parent": parents.get(row.id),
                       "new": row.counts.new, "learning": row.counts.learning,
                       "review": row.counts.review} for row in rows]}, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from companion.cardtext import shown

    table = Table(title="Due today", title_justify="left")
    table.add_column("Deck")
    for name in ("New", "Learning", "Due"):
        table.add_column(name, justify="right")
    for row in rows:
        counts = row.counts
        table.add_row(Text.assemble("  " * row.depth, shown(f"{row.name} ({row.id})")),
                      *map(str, (counts.new, counts.learning, counts.review)))
    table.add_section()
    table.add_row(f"{'This deck' if deck else 'All decks'}, daily limits applied",
                  str(total.new), str(total.learning), str(total.review))
    Console().print(table)


@app.command(context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True,
              help="Print the same numbers as one JSON object, for scripts.")
def stats(as_json: bool) -> None:
    """True retention (young and mature), recall now, forecast, reviews per day, labs."""
    from companion.stats import overview

    settings, store = _open()
    data = overview(store, settings)
    if as_json:
        from companion.cardtext import terminal_json
        from companion.stats import to_plain

        print(terminal_json(to_plain(data)))
        return
    from rich.console import Console

    from companion.cli.tables import print_stats

    print_stats(data, Console())


@app.command(context_settings=CONTEXT)
@click.argument("section", required=False)
@click.option("--text", "text_file", type=click.Path(path_type=Path, allow_dash=True),
              default=None, metavar="FILE",
              help="Read what you remember from FILE (- for standard input) instead of "
                   "your editor.")
def recall(section: str | None, text_file: Path | None) -> None:
    """Free recall: write down what you remember of a deck section, then see
    which of its ideas you named.

    Without SECTION, lists the sections (a note's first tag) that have cards
    with a Keys: field. With one, $EDITOR opens for you to write in (or the
    text is read from standard input when it is not a terminal, or from
    --text FILE); each idea then shows as named or missed, and in a terminal
    you are offered to study the missed cards at once. Every attempt is
    stored and shown in `companion stats`; no card's schedule changes."""
    from companion import recall as free_recall
    from companion.cardtext import neutralise

    settings, store = _open()
    known = free_recall.load_sections()
    if section is None:
        _list_sections(store, known)
        return
    try:
        chosen = free_recall.find_section(known, section)
        text, from_stdin = _recall_text(free_recall, chosen, text_file)
        text = free_recall.written_text(text)
    except free_recall.RecallError as exc:
        raise UserError(f"recall: {exc}") from None
    from companion.store import now_ms

    result = free_recall.score(chosen, text)
    free_recall.save(store, result, now_ms())
    for item in result.results:
        mark = "✓" if item.recalled else "✗"
        line = f"{mark} {item.idea.note_id}: {item.idea.summary}"
        if item.recalled:
            named = ", ".join(f for f in item.found if f is not None)
            line += f"  (you named: {named})"
        else:
            line += f"  (missing: {', '.join(item.missing)})"
        print(neutralise(line))
    print(neutralise(f"\n{result.headline(named=True)}. Stored; no card's schedule changed."))
    missed = result.missed_cards
    if not missed:
        return
    print(f"Missed: {', '.join(neutralise(r.idea.note_id) for r in result.missed)}")
    # The offer reads its answer from standard input: not when the text came
    # from there, nor when the text came from a pipe the learner can't answer
    can_ask = not from_stdin and sys.stdin is not None and (
        text_file is not None or sys.stdin.isatty())
    if not can_ask:
        print("Study them now from a terminal: run companion recall again there, or press r "
              "on the app's Home.")
        return
    from companion.cardtext import plural

    try:
        study = click.confirm(f"Study the cards of the {plural(len(result.missed), 'missed idea')}"
                              " now?", default=True)
    except click.Abort:  # the input ended (or ctrl+c) before an answer: the attempt is stored
        print("\nNot studied: run companion recall again, or press r on the app's Home.")
        return
    if not study:
        return
    from companion.cli.line_review import run_plain_review
    from companion.session import Selection

    run_plain_review(store, settings, selection=Selection(card_ids=missed, built_at=now_ms()))


def _list_sections(store: "Store", known: list) -> None:
    from companion.cardtext import neutralise
    from companion.stats import percent

    if not known:
        print("No deck section has cards with a Keys: field to recall (see decks/README.md).")
        return
    print("Sections to recall (companion recall SECTION):")
    width = max(len(s.name) for s in known)
    for section in known:
        attempts = store.recall_attempts(section.name)
        last = (f"last {percent(attempts[-1].recalled / attempts[-1].ideas)} "
                f"of {len(attempts)} attempt(s)" if attempts else "not tried yet")
        print(neutralise(f"  {section.name:<{width}}  {len(section.ideas):>3} ideas  {last}"))


def _recall_text(free_recall, section, text_file: Path | None) -> tuple[str, bool]:
    """What the learner wrote, and whether it came from standard input."""
    if text_file is not None and str(text_file) != "-":
        try:
            data = text_file.read_bytes()[:free_recall.MAX_TEXT_CHARS * 4 + 1]
        except OSError as exc:
            raise free_recall.RecallError(f"{text_file}: {exc.strerror or exc}") from None
        return _decoded(free_recall, data, str(text_file)), False
    if text_file is not None or sys.stdin is None or not sys.stdin.isatty():
        if sys.stdin is None:
            raise free_recall.RecallError("standard input is closed; give --text FILE")
        data = sys.stdin.buffer.read(free_recall.MAX_TEXT_CHARS * 4 + 1)
        return _decoded(free_recall, data, "standard input"), True
    import tempfile

    from companion import authoring

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"recall-{section.name}.md"
        path.write_text(free_recall.template(section), encoding="utf-8")
        try:
            authoring.run_editor(path, line=free_recall.template(section).count("\n"))
        except authoring.AuthoringError as exc:
            raise free_recall.RecallError(str(exc)) from None
        text = path.read_text(encoding="utf-8", errors="replace")
    return free_recall.without_template(text), False


def _decoded(free_recall, data: bytes, where: str) -> str:
    if len(data) > free_recall.MAX_TEXT_CHARS * 4:
        raise free_recall.RecallError(f"{where}: more than {free_recall.MAX_TEXT_CHARS:,} "
                                      "characters; an attempt holds at most that")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise free_recall.RecallError(f"{where}: not UTF-8 text ({exc.reason} at byte "
                                      f"{exc.start})") from None


@decks_app.command("check", context_settings=CONTEXT)
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def decks_check(paths: tuple[Path, ...]) -> None:
    """Report every problem in deck files (default: all decks) as file:line: message.

    Exit status 2 when there is any."""
    from companion.deck_sync import deck_dirs
    from companion.decks import deck_files, load_decks

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
    from companion.cardtext import neutralise

    for error in errors:
        print(neutralise(error))
    cards = sum(len(d.cards) for d in decks)
    print(f"{len(files)} file(s), {len(decks)} deck(s), {cards} card(s), "
          f"{len(errors)} problem(s)", file=sys.stderr)
    if errors:
        raise click.exceptions.Exit(2)


@decks_app.command("new", context_settings=CONTEXT)
@click.argument("deck_id")
@click.option("--name", required=True, help="The name the app shows.")
@click.option("--description", default="", help="One sentence about it.")
@click.option("--parent", default=None, help="The id of the deck it is a subdeck of.")
def decks_new(deck_id: str, name: str, description: str, parent: str | None) -> None:
    """Create a deck file of your own (in the data dir's decks folder)."""
    from companion import paths
    from companion.authoring import AuthoringError, new_deck
    from companion.deck_sync import deck_dirs

    try:
        path = new_deck(deck_dirs(), paths.user_decks_dir(), deck_id, name, description, parent)
    except AuthoringError as exc:
        raise UserError(str(exc)) from None
    print(f"Created {path}")


@decks_app.command("list", context_settings=CONTEXT)
def decks_list() -> None:
    """The decks in your collection (subdecks under their parents) with their
    card counts and the preset each is scheduled by."""
    settings, store = _open()
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from companion.cardtext import shown
    from companion.limits import DeckTree

    table = Table()
    for name in ("Id", "Name", "Preset", "Cards", "Reviewed", "Suspended", "File"):
        table.add_column(name)
    listed = {deck.id: deck for deck in store.deck_listing()}
    tree = DeckTree(store.deck_parents())
    for deck_id, depth in tree.in_order({k: d.name for k, d in listed.items()}):
        deck = listed[deck_id]
        table.add_row(Text.assemble("  " * depth, shown(deck.id)),
                      *(shown(v) for v in (deck.name, settings.preset_of(deck.id), deck.cards,
                                           deck.reviewed, deck.suspended, deck.path)))
    Console().print(table)


@app.command(context_settings=CONTEXT)
@click.option("--deck", default=None,
              help="The deck's id (needed when you have several decks).")
@click.option("--front", default=None, help="A basic card's question.")
@click.option("--back", default=None, help="A basic card's answer.")
@click.option("--cloze", default=None,
              help="A cloze card's text, with {{c1::answer}} or {{c1::answer::hint}} gaps.")
@click.option("--tags", multiple=True, help="Tags (repeat the option, or space-separate).")
@click.option("--source", default="", help="Where the claim comes from.")
def add(deck: str | None, front: str | None, back: str | None, cloze: str | None,
        tags: tuple[str, ...], source: str) -> None:
    """Add a card: in your editor, or from --front/--back or --cloze.

    Without --front/--back or --cloze, $EDITOR (then $VISUAL, then nano or vi)
    opens on a card template. The card gets a new stable id and goes into the
    deck's Markdown file; a card for the shipped deck goes into your edits
    file for it (the shipped file is never changed)."""
    from companion import authoring, paths
    from companion.deck_sync import deck_dirs

    if cloze is not None and (front is not None or back is not None):
        raise UserError("--cloze is a card of its own: give it, or --front and --back")
    if (front is None) != (back is None):
        raise UserError("--front and --back go together: give both")
    dirs, user_dir = deck_dirs(), paths.user_decks_dir()
    deck_id = deck or _only_deck(dirs)
    try:
        if front is None and cloze is None:
            text = _edit_template(authoring)
            if text is None:
                print("Nothing added: the template was left as it was.")
                return
        else:
            text = authoring.note_text(front or "", back or "", cloze or "", tags, source)
        written = authoring.add_card(dirs, user_dir, deck_id, text)
    except authoring.AuthoringError as exc:
        raise UserError(str(exc)) from None
    _settings, _store = _open()
    print(f"Added {', '.join(written.card_ids)} to {written.path}:{written.line}")


def _only_deck(dirs: list[Path]) -> str:
    from companion.authoring import all_decks

    decks = sorted(d.id for d in all_decks(dirs))
    if len(decks) == 1:
        return decks[0]
    listed = ", ".join(decks) or "none: create one with `companion decks new ID --name NAME`"
    raise UserError(f"--deck: which deck? ({listed})")


def _edit_template(authoring) -> str | None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "new-card.md"
        path.write_text(authoring.TEMPLATE, encoding="utf-8")
        authoring.run_editor(path, line=authoring.TEMPLATE.count("\n") - 2)
        text = path.read_text(encoding="utf-8")
    return None if authoring.template_unchanged(text) else text


@app.command(context_settings=CONTEXT)
@click.argument("card_id")
def edit(card_id: str) -> None:
    """Open a card in your editor, at its line in its deck file.

    A shipped card is copied first into your edits file for its deck (the
    shipped file is never changed); its id, and so its history, stay."""
    from companion import authoring, paths
    from companion.deck_sync import deck_dirs

    dirs, user_dir = deck_dirs(), paths.user_decks_dir()
    try:
        place = authoring.place_for_edit(dirs, user_dir, card_id)
    except authoring.AuthoringError as exc:
        raise UserError(str(exc)) from None
    path = place.path
    try:
        authoring.run_editor(path, place.line)
    except authoring.AuthoringError as exc:
        authoring.left_as_it_was(place)  # a copy made for this edit goes again
        raise UserError(str(exc)) from None
    if authoring.left_as_it_was(place):
        print(f"Nothing changed: {card_id} is as it was")
        return
    _settings, _store = _open(quiet=True)
    problems = authoring.errors_in(dirs, path)
    for problem in problems:
        _warn(problem)
    if problems:
        print(f"{path}: {len(problems)} problem(s); the cards that no longer read keep their "
              "history and come back once fixed.")
    else:
        print(f"Saved {path}")


@app.command("export", context_settings=CONTEXT)
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "html", "apkg"]),
              required=True, help="json: lossless and importable; csv: the review log for "
              "FSRS tools; html: a report for a browser; apkg: the decks for Anki, with "
              "scheduling and the review log.")
@click.option("-o", "--output", type=click.Path(path_type=Path, allow_dash=True),
              required=True, help="The file to write; - for standard output.")
def export_cmd(fmt: str, output: Path) -> None:
    """Export your progress or your decks (-o - writes to standard output)."""
    from companion.interop import OutputError, output_target, write_export

    try:
        if str(output) != "-":
            output_target(output)  # refused before the database is even opened
        settings, store = _open()
        written = write_export(store, settings, fmt, output)
    except OutputError as exc:
        raise UserError(f"-o {exc}") from None
    except OSError as exc:
        raise UserError(f"-o {output}: {exc.strerror or exc}") from None
    if written is not None:
        from companion.cardtext import neutralise

        print(f"wrote {neutralise(output)} ({fmt})")


@app.command("import", context_settings=CONTEXT)
@click.argument("path", type=click.Path(path_type=Path))
def import_cmd(path: Path) -> None:
    """Import a companion .json export (merged: the union of reviews), a .csv review log
    (card_id, review_time, review_rating, review_duration) from Anki or FSRS tools, or an
    Anki .apkg/.colpkg (decks, presets, media and the review log with scheduling; needs
    the anki extra)."""
    from companion import paths
    from companion.interop import ImportError_, import_file
    from companion.settings import save

    settings, store = _open()
    adopt = not paths.settings_path().exists()
    try:
        result = import_file(store, settings, path, adopt_settings=adopt)
    except ImportError_ as exc:
        raise UserError(str(exc)) from None
    if result.settings is not None:
        save(result.settings, paths.settings_path())
    added = result.summary()
    nothing = not any(result.added.values())
    print(f"imported: {added}" + (" (everything in it was already here)" if nothing else ""))
    if result.notes:
        from companion.cardtext import neutralise

        for note in result.notes:
            print(f"  {neutralise(note)}")


@app.command("sync", context_settings=CONTEXT)
@click.argument("folder", required=False, type=click.Path(path_type=Path))
@click.option("--join", is_flag=True,
              help="Take this folder's collection, for a machine that synced with another "
                   "folder before (its warnings say when).")
def sync_cmd(folder: Path | None, join: bool) -> None:
    """Merge your study with your other machines' through a folder they share.

    FOLDER is any folder a sync tool (Syncthing, Dropbox, ...) or a git
    repository shares between your machines (default: sync_dir in
    settings.toml). Each machine adds its reviews, suspensions, burials,
    reschedules, forgets and settings changes to its own file there and
    merges every other machine's: the union of the reviews, then a replay.
    Prints one line per machine merged and a summary; a file there that is
    not a machine's whole log is named in a warning and left alone."""
    from companion import paths
    from companion.interop.sync_folder import SyncError, sync_folder

    settings, store = _open()
    if folder is None:
        if not settings.sync_dir:
            raise UserError("sync: name the folder to sync with (companion sync FOLDER), or "
                            f"set sync_dir in {paths.settings_path()}")
        folder = Path(settings.sync_dir)
    try:
        report = sync_folder(store, settings, folder, paths.settings_path(), join=join)
    except SyncError as exc:
        raise UserError(str(exc)) from None
    from companion.cardtext import neutralise

    for warning in report.warnings:
        _warn(warning)
    for line in report.lines():
        print(neutralise(line))


def _auto_sync(store: "Store", settings):
    """The sync `sync_dir` asks for around a line-mode review: its summary and
    warnings on stderr, never a reason to stop studying. Returns the settings
    in force after it."""
    from companion import paths
    from companion.interop.sync_folder import sync_if_set

    outcome = sync_if_set(store, settings, paths.settings_path())
    for warning in outcome.warnings:
        _warn(warning)
    if outcome.summary:
        from companion.cardtext import neutralise

        for line in outcome.summary:
            print(f"companion: note: {neutralise(line)}", file=sys.stderr)
    return outcome.settings or settings


def _require_labs() -> None:
    """Stop with the one line that says how to add labs, when they're not installed."""
    from labs import installed

    if installed.missing() is not None:
        raise UserError(installed.HINT)


@app.group("lab", context_settings=CONTEXT, no_args_is_help=True)
def lab_app() -> None:
    """List and run the labs (each runs in its own process)."""


@lab_app.command("list", context_settings=CONTEXT)
def lab_list() -> None:
    """The labs with their parameters, defaults and limits."""
    _require_labs()
    from rich.console import Console
    from rich.table import Table

    from labs.catalog import LABS, param_text

    console = Console()
    for spec in LABS.values():
        table = Table(title=f"{spec.name}: {spec.title}", title_justify="left",
                      caption=spec.explanation, caption_justify="left")
        for column in ("Parameter", "Default", "Limits", "Help"):
            table.add_column(column)
        for p in spec.params:
            table.add_row(p.name, param_text(p.default), p.limits(), p.help)
        console.print(table)
        console.print()


@lab_app.command("run", context_settings=CONTEXT)
@click.argument("name")
@click.option("--param", "-p", "params", multiple=True, metavar="NAME=VALUE",
              help="Set a parameter (repeatable); see `companion lab list`.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda", "mps"]), default="auto",
              show_default=True, help="Where to run: auto picks CUDA, then MPS, then CPU.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="The random seed: the same seed gives the same run.")
@click.option("--timeout", type=click.FloatRange(min=1), default=None,
              help="Stop the lab after this many seconds.")
@click.option("--card", default=None, help="Record the run against this card id.")
@click.option("--json", "as_json", is_flag=True, help="Print the events as JSON lines.")
@click.option("--nproc", type=click.IntRange(min=1), default=1, show_default=True,
              help="Train data-parallel in this many processes with torch.distributed "
                   "(torchrun; batch-size only).")
def lab_run(name: str, params: tuple[str, ...], device: str, seed: int,
            timeout: float | None, card: str | None, as_json: bool, nproc: int) -> None:
    """Run a lab in its own process, show its events, and record the run."""
    _require_labs()
    from companion.labrunner import LabRun
    from labs.catalog import ParamError, parse_assignments
    from labs.events import Failed

    _, store = _open(sync=False)
    try:
        run = LabRun(store, name, parse_assignments(list(params)), device=device, seed=seed,
                     card_id=card, timeout_s=timeout, nproc=nproc)
    except ParamError as exc:
        raise UserError(f"lab {name}: {exc}") from None
    if as_json:
        from labs.events import to_json

        def show(event) -> None:
            print(to_json(event), flush=True)
        close = None
    else:
        from labs.render import RichRenderer

        show = RichRenderer()
        close = show.close
    stream = run.events()
    try:
        while True:
            try:
                show(next(stream))
            except StopIteration:
                break
            except KeyboardInterrupt:  # the lab gets Ctrl-C; its last events still show
                run.cancel()
    finally:
        if close:
            close()
    outcome = run.outcome
    if isinstance(outcome, Failed):
        if outcome.kind == "bad-input":
            raise UserError(f"lab {name}: {outcome.message}")
        _err(f"lab {name} {outcome.kind}: {outcome.message}")
        raise click.exceptions.Exit(1)


@app.group("exercise", context_settings=CONTEXT, no_args_is_help=True)
def exercise_app() -> None:
    """Implement it yourself: write a function, check it against the reference."""


@exercise_app.command("list", context_settings=CONTEXT)
def exercise_list() -> None:
    """Each exercise, the card it belongs to, and your last result."""
    _require_labs()
    from rich.console import Console
    from rich.table import Table

    from companion.exercises import listing

    _, store = _open()
    console = Console()
    rows = listing(store)
    if console.width < 120:
        # Four columns don't fit: the card ids (needed whole, for `companion edit`)
        # and the concept were cut to a few characters a line. One block each.
        import textwrap

        from rich.text import Text

        console.print("Exercises (`companion exercise start NAME`)", style="bold")
        width = max(40, console.width) - 2
        for row in rows:
            console.print(Text.assemble(("\n" + row.name, "bold"), f"  {row.title}"))
            for text in (row.concept, "cards: " + (", ".join(row.cards) or "—"),
                         "last check: " + (row.last or "not tried yet")):
                for line in textwrap.wrap(text, width, break_on_hyphens=False):
                    console.print(Text("  " + line), soft_wrap=True)
        return
    table = Table(title="Exercises (`companion exercise start NAME`)", title_justify="left")
    for column in ("Exercise", "What it teaches", "Card", "Last check"):
        table.add_column(column)
    for row in rows:
        table.add_row(row.name, f"{row.title}: {row.concept}", "\n".join(row.cards) or "—",
                      row.last or "not tried yet")
    console.print(table)


@exercise_app.command("start", context_settings=CONTEXT)
@click.argument("name")
@click.option("--dir", "folder", type=click.Path(path_type=Path, file_okay=False),
              default=None, help="Where to write NAME.py (default: exercises/ in the data dir).")
@click.option("--force", is_flag=True, help="Start over: replace an attempt already there.")
def exercise_start(name: str, folder: Path | None, force: bool) -> None:
    """Write the starter file (the task, the signature, a body to replace) and,
    in a terminal, open it in $EDITOR."""
    _require_labs()
    from companion import authoring
    from companion.exercises import ExerciseError, start

    try:
        path = start(name, folder, force)
    except ExerciseError as exc:
        raise UserError(f"exercise: {exc}") from None
    print(path)
    if sys.stdin.isatty() and sys.stdout.isatty():
        try:
            authoring.run_editor(path)
        except authoring.AuthoringError as exc:
            _err(f"exercise: {exc} (the file is written: {path})")


@exercise_app.command("check", context_settings=CONTEXT)
@click.argument("name")
@click.option("--file", "path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="The file to check (default: the one `exercise start` wrote).")
@click.option("--card", "card_id", default=None,
              help="The card to propose a grade for (default: the first that names it).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def exercise_check(name: str, path: Path | None, card_id: str | None, as_json: bool) -> None:
    """Run your function against the reference in a child process; exit 0 when
    every check passes, 1 when one fails. The check proposes a grade for the
    exercise's card (Good: passed at the day's first attempt, Hard: passed
    after failed ones, Again: not passed), which you confirm in a terminal."""
    _require_labs()
    from companion.exercises import ExerciseError, attempt_path, check
    from companion.session import ReviewSession

    settings, store = _open()  # the decks read: which card names the exercise
    session = ReviewSession(store, settings)
    day_start, _ = session.day.bounds(session.clock())
    if card_id is not None and store.card_row(card_id) is None:
        raise UserError(f"exercise: --card {card_id[:80]}: no such card")
    try:
        checked = check(store, name, path or attempt_path(name), card_id=card_id,
                        day_start=day_start)
    except ExerciseError as exc:
        raise UserError(f"exercise: {exc}") from None
    if as_json:
        from companion.exercises import summary_json

        print(summary_json(checked))
    else:
        from labs.render import RichRenderer

        show = RichRenderer()
        for event in checked.events:
            show(event)
        show.close()
    if checked.failure:
        raise UserError(f"exercise {name}: {checked.failure}")
    if not as_json:
        print(f"{checked.summary['passed']} of {checked.summary['total']} checks passed.")
    if checked.proposed is not None and checked.card_id is not None and not as_json:
        _confirm_exercise_grade(session, checked.card_id, checked.proposed)
    if not checked.passed:
        raise click.exceptions.Exit(1)


GRADE_NAMES = {1: "Again", 2: "Hard", 3: "Good", 4: "Easy"}


def _confirm_exercise_grade(session, card_id: str, proposed: int) -> None:
    """The check proposes; the learner grades (Enter takes the proposal)."""
    from companion.cardtext import neutralise

    print(neutralise(f"Proposed grade for {card_id}: {GRADE_NAMES[proposed]} ({proposed})."))
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        print("Grade it in a review, or run this in a terminal to grade it here.")
        return
    try:
        answer = input("Enter takes it, 1-4 picks another, n skips: ").strip().lower()
    except EOFError:
        return
    if answer in ("n", "no", "q"):
        return
    rating = proposed if answer == "" else int(answer) if answer in ("1", "2", "3", "4") else 0
    if not rating:
        print("Not graded.")
        return
    session.answer(card_id, rating, 0)
    print(f"Graded {GRADE_NAMES[rating]}.")


@app.command(context_settings=CONTEXT)
@click.option("--retention", is_flag=True,
              help="Also suggest a desired retention from a simulated year of study.")
@click.option("--dry-run", is_flag=True, help="Fit and report; save and reschedule nothing.")
@click.option("--preset", "preset_name", metavar="NAME", default=None,
              help="Fit only this preset (default: every preset with enough reviews).")
def optimize(retention: bool, dry_run: bool, preset_name: str | None) -> None:
    """Fit the FSRS parameters to your review log; keep them if they predict it better.

    Each preset is fitted to the reviews of its decks' cards, as Anki's
    "Optimize all presets". Prints the log loss and RMSE of the current and
    the fitted parameters on the same history, saves the better ones and
    recomputes every card's memory state."""
    from rich.console import Console

    from companion import paths
    from companion.cli.tables import print_optimize, print_preset_heading
    from companion.optimize import OptimizeError, apply_all, optimize_presets

    settings, store = _open(sync=False)
    names = settings.preset_names()
    if preset_name is not None and preset_name not in names:
        from difflib import get_close_matches

        close = get_close_matches(preset_name, names, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise UserError(f"unknown preset {preset_name[:60]!r} ({hint}presets: "
                        f"{', '.join(names)})")
    console = Console()
    try:
        reports = optimize_presets(store, settings, retention=retention,
                                   presets=None if preset_name is None else [preset_name])
    except OptimizeError as exc:
        raise UserError(str(exc)) from None
    per_preset = bool(settings.presets)
    if per_preset:
        deck_names = store.deck_names()
        live = set(store.live_deck_ids())
        shown_reports = [r for r in reports if r.enough or preset_name is not None]
        for n, report in enumerate(shown_reports):
            if n:
                console.print()
            print_preset_heading(report, deck_names, live, console)
            print_optimize(report, console)
        skipped = [r for r in reports if r not in shown_reports]
        if skipped:
            console.print("Skipped: " + "; ".join(f"{r.preset} ({r.skipped_because})"
                                                  for r in skipped) + ".", highlight=False,
                          soft_wrap=True)
    else:
        print_optimize(reports[0], console)
    kept = [r.preset for r in reports if r.kept == "fitted"]
    if not kept:
        if per_preset:
            console.print("Nothing saved: " + (
                "no preset's fit predicts its reviews better than its current parameters."
                if any(r.fitted is not None for r in reports)
                else "no preset has enough reviews to fit."))
        return
    if dry_run:
        console.print("Dry run: nothing saved.")
        return
    _, moved = apply_all(store, settings, reports, paths.settings_path())
    where = str(paths.settings_path())
    if per_preset:
        where = f"{where} (the parameters of {', '.join(kept)})"
    if settings.reschedule_on_change:
        console.print(f"Saved to {where}; memory states recomputed and "
                      f"{moved} card(s) rescheduled (reschedule_on_change).")
    else:
        console.print(f"Saved to {where}; memory states recomputed, due "
                      "dates kept (`companion reschedule` moves them to the new parameters).")


@app.command(context_settings=CONTEXT)
@click.option("--deck", default=None, help="Only this deck's cards (its id).")
def reschedule(deck: str | None) -> None:
    """Move review cards' due dates to what the current settings give.

    As Anki's "reschedule cards on change": each review card's interval is
    recomputed from its memory state and last review under the current desired
    retention, parameters and maximum interval. Each move is kept in the log."""
    from companion.replay import reschedule as move
    from companion.store import now_ms

    settings, store = _open(sync=False)
    decks = None
    if deck is not None:
        _check_deck(store, deck)
        from companion.limits import DeckTree

        decks = DeckTree(store.deck_parents()).subtree(deck)
    moved = move(store, settings, now_ms(), decks)
    print(f"Rescheduled {moved} card(s).")


@app.command(context_settings=CONTEXT)
@click.argument("card_ids", nargs=-1, required=True)
@click.option("--reset-counts", is_flag=True,
              help="Also set the cards' review and lapse counts back to zero.")
def forget(card_ids: tuple[str, ...], reset_counts: bool) -> None:
    """Put cards back to new, keeping their history (Anki's Forget)."""
    from companion.replay import forget as reset
    from companion.store import now_ms

    settings, store = _open(sync=False)
    try:
        done = reset(store, settings, list(card_ids), now_ms(), reset_counts)
    except KeyError as exc:
        raise UserError(str(exc.args[0])) from None
    print(f"Forgot {len(done)} card(s); {len(card_ids) - len(done)} already new.")


@app.command(context_settings=CONTEXT)
@click.option("--rebuild", is_flag=True,
              help="Replay the review log into every card's memory state.")
@click.option("--restore", metavar="BACKUP",
              help="Put a backup (a path, or `newest`) in place of the database; the "
              "current file is moved aside, never deleted.")
def doctor(rebuild: bool, restore: str | None) -> None:
    """Check the database: integrity, schema, and that cached states match a replay.

    When the database can't be opened, list the backups to restore from."""
    from companion import paths
    from companion.cli.tables import print_doctor
    from companion.doctor import run_doctor
    from companion.settings import load
    from companion.store import StoreError, list_backups, open_store, restore_backup

    database = paths.database_path()
    if restore:
        backups = list_backups(database)
        if restore == "newest":
            if not backups:
                raise UserError(f"--restore newest: no backups in {database.parent / 'backups'}")
            chosen = backups[0]
        else:
            chosen = Path(restore)
            if not chosen.is_file():
                raise UserError(f"--restore {restore}: no such file")
        try:
            aside = restore_backup(database, chosen)
        except StoreError as exc:
            raise UserError(str(exc)) from None
        print(f"restored {chosen} to {database}; the previous file is kept as {aside}")
    settings = load(paths.settings_path())
    try:
        store = open_store()
    except StoreError as exc:
        from companion.cardtext import neutralise

        print(f"database: {neutralise(exc)}")
        backups = list_backups(database)
        if not backups:
            print("backups: none. The file is left as it is.")
        else:
            print("backups, newest first:")
            for b in backups[:5]:
                print(f"  {b}")
            print("restore the newest with: companion doctor --restore newest "
                  "(the current file is moved aside, not deleted)")
        raise click.exceptions.Exit(1)
    report = run_doctor(store, settings, rebuild=rebuild)
    print_doctor(report, sys.stdout)
    raise click.exceptions.Exit(report.status)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        result = app.main(args=args, prog_name="companion", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        print(file=sys.stderr)
        return 130
    except click.exceptions.NoArgsIsHelpError as exc:
        print(exc.format_message())
        return 0
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx else "companion"
        message = " ".join(exc.format_message().split())
        _err(f"{message} (see `{where} --help`)")
        return 2
    except Exception as exc:
        code = handle_error(exc)
        if code is None:
            raise
        return code


def handle_error(exc: Exception) -> int | None:
    """The exit status for an error out of a command (or out of the
    full-screen app): the ones a learner can cause are one line on stderr and
    status 2; None for any other, which the caller raises again."""
    if isinstance(exc, BrokenPipeError):
        return 0
    if isinstance(exc, OSError):
        # Standard output on a full disk, a device that fails: one line, and no
        # second failure when Python flushes stdout on the way out.
        import os

        if exc.filename:
            _err(f"{exc.filename}: {exc.strerror or exc}")
        else:
            _err(f"standard output: cannot write: {exc.strerror or exc}")
        sys.stdout = open(os.devnull, "w")
        return 2
    # Imported here, not at the top: `--version` needs neither module, and an
    # error of theirs can only have been raised once they were loaded.
    from companion.settings import SettingsError
    from companion.store import StoreError

    if isinstance(exc, (UserError, SettingsError, StoreError)):
        _err(str(exc))
        return 2
    return _damaged_log(exc)


def _damaged_log(exc: Exception) -> int | None:
    """A command that broke on a review log row no companion writes (a
    rating of 7, a time in the year 285,200,616: a database another program
    edited) says which row, in one line, status 2; None when the log reads
    (the error is then companion's own, and raised again). Looked for only
    once a command has failed: one pass over the log."""
    from companion import paths
    from companion.store import BAD_ROW_ERRORS, ReadStore

    if not isinstance(exc, BAD_ROW_ERRORS):  # not what a bad row makes: companion's own
        return None
    path = paths.database_path()
    try:
        if not path.is_file():
            return None
        store = ReadStore(path)
        try:
            problem = store.log_problem()
        finally:
            store.close()
    except Exception:  # noqa: BLE001 - the first error is the one to show
        return None
    if problem is None:
        return None
    _err(f"{path}: {problem}, so the review log can't be read ({type(exc).__name__}: {exc}); "
         "nothing was changed (`companion doctor` lists the backups)")
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
