"""`companion` with no command: the full-screen app.

The app opens on Home and opens the store, syncs the decks and reads Home's
counts in a worker. Home's first frame waits for that worker a moment
(FIRST_FRAME_WAIT): at a usual start it is done by then and the first frame
is the whole of Home; longer work (the day's backup, deck files to load, a
replay) leaves it saying "Opening your collection…" meanwhile. Other
screens are imported, and their stylesheet parsed, when first needed:
start-up pays only for Home. `companion` starts with the cycle collector off
(`collector_paused`): it is back on after Home's first frame.

For tests everything outside is injectable: the store, the settings (and
where they are saved), the clock, the deck folders, and cursor blinking.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from textual import work
from textual.app import App, SystemCommand
from textual.notifications import SeverityLevel
from textual.reactive import Initialize, Reactive
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from companion.settings import Settings
from companion.tui import bindings
from companion.tui.messages import DecksSynced, StoreFailed, StoreReady, Synced

if TYPE_CHECKING:
    from companion.session import Selection
    from companion.stats import HomeData
    from companion.store import Store

DEFAULT_THEME = "textual-dark"
SCREENS_CSS = Path(__file__).with_name("screens.tcss")  # every screen's rules but Home's
DECK_WATCH_SECONDS = 2.0  # how often the deck files' sizes and times are compared
# How long Home's first frame waits for the store worker: when the store opens
# and the counts are read within it (the usual start), the first frame shows
# them; longer work (the day's backup, deck files to load, a replay, a large
# collection's first read) lets it say "Opening your collection…" meanwhile.
FIRST_FRAME_WAIT = 0.2


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)


class CompanionApp(App[int]):
    """The learner's companion: Home, Review, Browse, Stats, Settings and Labs."""

    # Home's rules (and the shared ones): what the first frame needs. The other
    # screens' rules are parsed after it, in `load_screens_css`.
    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses live elsewhere
    TITLE = "companion"
    ENABLE_COMMAND_PALETTE = True

    BINDINGS = [*bindings.APP]

    def first_theme(self) -> str:
        """The theme the app starts in: the settings', when Textual knows it."""
        name = self.settings.theme
        return name if name in self.available_themes else DEFAULT_THEME

    # The learner's theme is the theme's first value, not a change after
    # start: a change makes Textual parse every stylesheet again (and app.tcss
    # once more when the first screen's widgets add theirs).
    theme: Reactive[str] = Reactive(Initialize(first_theme))


    def __init__(self, store: "Store | None" = None, settings: Settings | None = None,
                 *, settings_path: Path | None = None, clock: Callable[[], int] | None = None,
                 deck_dirs: list[Path] | None = None, sync: bool = True,
                 cursor_blink: bool = True, start_review: bool = False,
                 deck_id: str | None = None, lab_runner: Callable[..., Any] | None = None,
                 selection: "Selection | None" = None, collector_paused: bool = False) -> None:
        if settings_path is None:
            from companion.paths import settings_path as default_settings_path

            settings_path = default_settings_path()
        self.settings_path = settings_path
        if settings is None:
            from companion.settings import load

            settings = load(settings_path)
        self.settings = settings  # before Textual's __init__, which reads the theme
        super().__init__()
        self.set_class(True, f"-theme-{self.theme}", update=False)  # as a theme change sets
        self.store: Store | None = store
        self._owns_store = store is None
        self.clock: Callable[[], int] = clock or _now_ms
        self.deck_dirs = deck_dirs
        self.sync = sync
        self.cursor_blink = cursor_blink
        self.start_review = start_review
        self.start_deck = deck_id
        self.start_selection = selection
        self._lab_runner = lab_runner
        self.keymap: dict[str, str] = {}  # the learner's keys in force (binding id -> keys)
        self._deck_signature = ""  # the deck files as last loaded (the watcher's)
        self._opened = threading.Event()  # the store worker is done, one way or the other
        self._first_ready: StoreReady | None = None  # what it found, once done
        self._store_taken: StoreReady | None = None  # the StoreReady already acted on
        # The cycle collector was turned off for the start (`companion.cli.full_screen`):
        # it is turned back on once Home's first frame is drawn and the store
        # worker is done, whichever comes last (`start_step_done`).
        self.collector_paused = collector_paused
        self._start_steps = 2  # the first frame, the store worker
        self._start_lock = threading.Lock()

    @property
    def lab_runner(self) -> Callable[..., Any]:
        """Makes a run: `LabRun(store, lab=, params=, device=, seed=, card_id=[, nproc=])`."""
        if self._lab_runner is None:
            from companion.labrunner import LabRun

            self._lab_runner = LabRun
        return self._lab_runner

    # -- start-up ----------------------------------------------------------

    def apply_theme(self, name: str) -> bool:
        if name in self.available_themes:
            self.theme = name
            return True
        self.theme = DEFAULT_THEME
        return False

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        """Every notification, from any screen: its text may quote a deck, a file
        name or an error from outside, so it is neutralised and never markup."""
        from companion.cardtext import neutralise

        super().notify(neutralise(message), title=neutralise(title), severity=severity,
                       timeout=timeout, markup=False)

    def get_default_screen(self) -> Screen:
        from companion.tui.screens.home import HomeScreen

        return HomeScreen()

    def load_screens_css(self) -> None:
        """The other screens' stylesheet, parsed once: just after Home's first
        frame, or before a screen is opened, whichever comes first. No rule of
        it styles Home, so nothing drawn needs its styles worked out again."""
        if not self.stylesheet.has_source(str(SCREENS_CSS)):
            self.stylesheet.read(SCREENS_CSS)
            self.stylesheet.parse()

    def first_frame_drawn(self) -> None:
        """Just after Home's first frame: the other screens' rules are parsed."""
        self.load_screens_css()
        self.start_step_done()

    def start_step_done(self) -> None:
        """Home's first frame is drawn, or the store worker is done (from its
        thread): after both, a cycle collector paused for the start is turned
        back on, with everything start-up made and keeps (modules, styles,
        Home's widgets) frozen first, out of every later collection (else the
        first one would scan it all, some 30 ms). Not before the worker is
        done: a replay it runs keeps the collector off as it found it."""
        with self._start_lock:
            self._start_steps -= 1
            last = self._start_steps == 0
        if last and self.collector_paused:
            import gc

            self.collector_paused = False
            gc.freeze()
            gc.enable()

    def push_screen(self, screen: Any, *args: Any, **kwargs: Any) -> Any:
        self.load_screens_css()  # before the screen's widgets take their styles
        return super().push_screen(screen, *args, **kwargs)

    def on_mount(self) -> None:
        self.call_after_refresh(self.first_frame_drawn)
        if self.settings.theme not in self.available_themes:
            self.notify(f"theme {self.settings.theme!r} is unknown; using {DEFAULT_THEME}",
                        severity="warning")
        if self.settings.keymap:
            self.apply_keymap(self.settings.keymap)
        self.open_store()

    def apply_keymap(self, keymap: dict[str, str]) -> None:
        """The learner's `[keymap]`: what can be applied is, the rest is named."""
        from companion.tui.keymap import check_keymap

        good, problems = check_keymap(keymap)
        self.keymap = good
        self.set_keymap(good)
        if problems:
            self.notify("\n".join(problems), title=f"keymap in {self.settings_path.name}: "
                        "left out", severity="warning", timeout=15)

    @work(thread=True, exclusive=True, group="store", exit_on_error=False)
    def open_store(self) -> None:
        try:
            self._open_store()
        finally:
            self._opened.set()
            self.start_step_done()

    def _open_store(self) -> None:
        """The store worker's body: open, catch up, back up, load the decks,
        sync, and read Home's first counts; the result is `StoreReady`."""
        from companion.deck_sync import sync_decks
        from companion.store import StoreError, open_store

        try:
            store = self.store if self.store is not None else open_store()
        except StoreError as exc:
            self.post_message(StoreFailed(str(exc)))
            return
        from companion.replay import catch_up

        try:
            store.mark_abandoned_runs()
            catch_up(store, self.settings)
        except StoreError as exc:  # locked past the busy timeout, a full disk, a bad log
            # Else the worker's error leaves Home saying "Opening…" for good.
            if self.store is None:
                store.close()
            self.post_message(StoreFailed(str(exc)))
            return
        if warning := store.daily_backup_warning():
            self.call_from_thread(self.notify, warning, title="Backup", severity="warning",
                                  timeout=10)
        warnings: list[str] = []
        if self.sync:
            try:
                report = sync_decks(store, self.deck_dirs)
            except Exception as exc:  # a database that can't take the decks: say which and why
                self.post_message(StoreFailed(f"{store.path}: cannot load the decks: {exc}"))
                return
            warnings = [*report.notes, *(str(error) for error in report.errors)]
        if self.settings.sync_dir:  # before the first screen uses the store or the settings
            from companion.interop.sync_folder import sync_if_set

            outcome = sync_if_set(store, self.settings, self.settings_path)
            self.post_message(Synced(outcome.summary, outcome.warnings, outcome.settings))
            home = None  # read after the sync's settings are the app's (Home reloads)
        else:
            home = self._first_home(store)
        ready = StoreReady(store, warnings, home)
        self._first_ready = ready
        self.post_message(ready)

    def _first_home(self, store: "Store") -> "HomeData | None":
        """Home's counts, read in the store worker so the first frame can show
        them; None when that fails (Home's own load then says why)."""
        from companion.stats import home_data

        try:
            return home_data(store, self.settings, self.clock())
        except Exception:  # noqa: BLE001 - reported by Home's own load, on the UI thread
            return None

    def take_store_within(self, seconds: float) -> None:
        """For Home, about to draw its first frame: wait up to `seconds` for
        the store worker and, when it is done, act on its result now (the
        message it posted is then not acted on twice). The wait blocks the UI
        thread before anything is drawn, so the worker runs unhindered."""
        if self._opened.wait(seconds) and self._first_ready is not None:
            self.on_store_ready(self._first_ready)

    def on_synced(self, message: Synced) -> None:
        if message.settings is not None:
            self.settings = message.settings
        if message.summary:
            self.notify("\n".join(message.summary), title="Synced", timeout=6)
        if message.warnings:
            shown = message.warnings[:3]
            more = len(message.warnings) - len(shown)
            self.notify("\n".join(shown) + (f"\n… and {more} more (companion sync)"
                                            if more else ""),
                        title="Sync folder", severity="warning", timeout=12)
        if self.store is not None and message.summary:
            self._decks_reloaded()

    def on_store_ready(self, message: StoreReady) -> None:
        if message is self._store_taken:  # Home took it before its first frame
            return
        self._store_taken = message
        self.store = message.store
        if message.warnings:
            shown = message.warnings[:5]
            more = len(message.warnings) - len(shown)
            text = "\n".join(shown)
            if more:
                text += f"\n… and {more} more (companion decks check)"
            self.notify(text, title="Deck problems", severity="warning", timeout=10)
        from companion.tui.screens.home import HomeScreen

        home = self.screen_stack[0]
        if isinstance(home, HomeScreen):
            if message.home is not None:
                home.show_first(message.home)
            else:
                home.reload()
        if self.start_review:
            self.start_review = False
            self.action_study(self.start_deck, self.start_selection)
        if self.sync:
            from companion.deck_sync import decks_signature

            self._deck_signature = decks_signature(self.deck_folders)
            self.set_interval(DECK_WATCH_SECONDS, self.watch_decks, name="deck watch")

    # -- deck files: watched, added to, edited -------------------------------

    @property
    def deck_folders(self) -> list[Path]:
        """The folders decks are read from: the shipped one and the learner's."""
        if self.deck_dirs is not None:
            return self.deck_dirs
        from companion.deck_sync import deck_dirs

        return deck_dirs()

    @property
    def user_deck_folder(self) -> Path:
        """Where the learner's own deck files (and edits of shipped ones) go."""
        return self.deck_folders[-1]

    def watch_decks(self) -> None:
        """A deck file changed (in an editor, a git pull): load the decks
        again, without a restart. Comparing sizes and times is cheap; the
        sync itself runs in a worker."""
        from companion.deck_sync import decks_signature

        signature = decks_signature(self.deck_folders)
        if self.store is not None and signature != self._deck_signature:
            self._deck_signature = signature
            self.sync_decks_again()

    @work(thread=True, exclusive=True, group="decks", exit_on_error=False)
    def sync_decks_again(self) -> None:
        from companion.deck_sync import sync_decks
        from companion.store import Store

        if self.store is None:
            return
        store = Store(self.store.path)  # this thread's own connection
        try:
            report = sync_decks(store, self.deck_folders)
        finally:
            store.close()
        if report.skipped:
            return
        parts = []
        if report.added:
            parts.append(f"{report.added} card(s) added")
        if report.retired:
            parts.append(f"{report.retired} retired")
        self.post_message(DecksSynced(", ".join(parts),
                                      [*report.notes, *(str(e) for e in report.errors)]))

    def on_decks_synced(self, message: DecksSynced) -> None:
        if message.summary:
            self.notify(f"Deck files changed: {message.summary}", timeout=4)
        if message.warnings:
            self.notify("\n".join(message.warnings[:5]), title="Deck problems",
                        severity="warning", timeout=10)
        self._decks_reloaded()

    def run_editor(self, path: Path, line: int | None = None) -> bool:
        """The learner's editor on a file, the app suspended while it runs (a
        terminal that can't suspend, as under tests, runs it directly). False,
        after saying why, when it couldn't run or failed."""
        from textual.app import SuspendNotSupported

        from companion.authoring import AuthoringError, run_editor

        try:
            try:
                with self.suspend():
                    run_editor(path, line)
            except SuspendNotSupported:
                run_editor(path, line)
        except AuthoringError as exc:
            self.notify(str(exc), severity="error", timeout=8)
            return False
        return True

    def resync_now(self) -> list[str]:
        """Load the deck files into the store at once (after the learner's
        editor wrote them); the problems found, as lines."""
        from companion.deck_sync import decks_signature, sync_decks

        assert self.store is not None
        report = sync_decks(self.store, self.deck_folders)
        self._deck_signature = decks_signature(self.deck_folders)  # not news to the watcher
        return [*report.notes, *(str(e) for e in report.errors)]

    def action_add_card(self, deck_id: str | None = None) -> None:
        """A new card for a deck, written in the learner's editor."""
        if not self._need_store():
            return
        import tempfile

        from companion import authoring

        folders = self.deck_folders
        if deck_id is None:
            decks = sorted(d.id for d in authoring.all_decks(folders))
            if len(decks) != 1:
                self.notify("Highlight a deck first: the new card goes into it", timeout=4)
                return
            deck_id = decks[0]
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "new-card.md"
            path.write_text(authoring.TEMPLATE, encoding="utf-8")
            if not self.run_editor(path, authoring.TEMPLATE.count("\n") - 2):
                return
            text = path.read_text(encoding="utf-8")
        if authoring.template_unchanged(text):
            self.notify("Nothing added: the template was left as it was", timeout=3)
            return
        try:
            written = authoring.add_card(folders, self.user_deck_folder, deck_id, text)
        except authoring.AuthoringError as exc:
            self.notify(f"Not added: {exc}", severity="error", timeout=10)
            return
        problems = self.resync_now()
        self.notify(f"Added {', '.join(written.card_ids)} to {written.path.name}", timeout=4)
        if problems:
            self.notify("\n".join(problems[:5]), title="Deck problems", severity="warning",
                        timeout=10)
        self._decks_reloaded()

    def action_new_deck(self) -> None:
        """A deck file of the learner's own, asked for in a dialog."""
        from companion import authoring
        from companion.tui.screens.ask import AskScreen

        def attempt(values: dict[str, str]) -> str | None:
            try:
                authoring.new_deck(self.deck_folders, self.user_deck_folder, values["id"],
                                   values["name"], parent=values["parent"] or None)
            except authoring.AuthoringError as exc:
                return str(exc)
            return None

        def made(values: dict[str, str] | None) -> None:
            if values is None:
                return
            self.resync_now()
            self.notify(f"Created deck {values['id']}: a adds its first card", timeout=4)
            self._decks_reloaded()

        self.push_screen(AskScreen("New deck", [
            ("id", "Id", "lowercase letters, digits and -, e.g. rl"),
            ("name", "Name", "e.g. Reinforcement learning"),
            ("parent", "Parent", "optional: the id of the deck it goes under")],
            attempt, ok="Create"), made)

    def action_import_file(self) -> None:
        """An export, a review log or an Anki package, named in a dialog and
        imported in a worker, as `companion import` does."""
        if not self._need_store():
            return
        from companion.tui.screens.ask import AskScreen

        def attempt(values: dict[str, str]) -> str | None:
            path = Path(values["path"]).expanduser()
            if not values["path"]:
                return "give the file's path"
            if not path.is_file():
                return f"{path}: no such file"
            return None

        def chosen(values: dict[str, str] | None) -> None:
            if values is not None:
                self.import_in_worker(Path(values["path"]).expanduser())

        self.push_screen(AskScreen("Import", [
            ("path", "File", "a .json export, a .csv review log, an Anki .apkg or .colpkg")],
            attempt, ok="Import"), chosen)

    @work(thread=True, exclusive=True, group="import", exit_on_error=False)
    def import_in_worker(self, path: Path) -> None:
        from companion.interop import ImportError_, import_file
        from companion.settings import load, save
        from companion.store import Store

        assert self.store is not None
        store = Store(self.store.path)  # this thread's own connection
        try:
            if path.suffix.lower() in (".apkg", ".colpkg"):
                from companion.interop.anki_import import import_anki

                result = import_anki(store, self.settings, path, decks_dir=self.user_deck_folder,
                                     settings_path=self.settings_path)
            else:
                result = import_file(store, self.settings, path,
                                     adopt_settings=not self.settings_path.exists())
                if result.settings is not None:
                    save(result.settings, self.settings_path)
        except ImportError_ as exc:
            self.call_from_thread(self.notify, str(exc), title="Not imported",
                                  severity="error", timeout=15)
            return
        finally:
            store.close()
        settings = load(self.settings_path) if self.settings_path.exists() else self.settings
        added = result.summary()
        self.call_from_thread(self._imported, settings, f"Imported {path.name}: {added}",
                              list(result.notes))

    def _imported(self, settings: Settings, summary: str, notes: list[str]) -> None:
        self.settings = settings
        self.resync_now()
        self.notify("\n".join([summary, *notes[:4]]), timeout=10)
        self._decks_reloaded()

    def action_sync_now(self) -> None:
        """The sync with `sync_dir`, at once (it also runs on start and quit)."""
        if not self._need_store():
            return
        if not self.settings.sync_dir:
            self.notify("No sync folder: set sync_dir in settings.toml, or run `companion "
                        "sync DIR`", timeout=6)
            return
        self.sync_in_worker()

    @work(thread=True, exclusive=True, group="sync", exit_on_error=False)
    def sync_in_worker(self) -> None:
        from companion.interop.sync_folder import sync_if_set
        from companion.store import Store

        assert self.store is not None
        store = Store(self.store.path)
        try:
            outcome = sync_if_set(store, self.settings, self.settings_path)
        finally:
            store.close()
        self.post_message(Synced(outcome.summary, outcome.warnings, outcome.settings))

    def _decks_reloaded(self) -> None:
        """Every open screen that shows cards or counts reads them again."""
        for screen in self.screen_stack:
            reload = getattr(screen, "decks_changed", None)
            if reload is not None:
                reload()

    def edit_card(self, card_id: str) -> bool:
        """The card's note in the learner's editor (a shipped card's copied into
        their edits file first), then the decks loaded again. False when
        nothing was edited."""
        if not self._need_store():
            return False
        from companion import authoring

        folders = self.deck_folders
        try:
            place = authoring.place_for_edit(folders, self.user_deck_folder, card_id)
        except authoring.AuthoringError as exc:
            self.notify(str(exc), severity="error", timeout=8)
            return False
        path = place.path
        ran = self.run_editor(path, place.line)
        if authoring.left_as_it_was(place) or not ran:
            if place.copied:
                self.resync_now()  # the copy, gone again, may have been loaded meanwhile
            if ran:
                self.notify(f"Nothing changed: {card_id} is as it was", timeout=3)
            return False
        problems = [p for p in self.resync_now() if p.startswith(f"{path}:")]
        if problems:
            self.notify("\n".join(problems[:5]) + "\nThe card keeps its history and comes "
                        "back once this is fixed.", title="The edited card doesn't read",
                        severity="warning", timeout=15)
        else:
            self.notify(f"Saved {path.name}", timeout=3)
        return True

    def open_exercise(self, name: str, after: str | None = None) -> Path | None:
        """The learner's attempt at an exercise in their editor (the starter
        file written first, the first time), then `after` (by default: how to
        check it) said; its path, or None after saying why it couldn't open."""
        from companion import exercises

        if not self.labs_ready():
            return None
        path = exercises.attempt_path(name)
        if not path.exists():
            try:
                exercises.start(name)
            except exercises.ExerciseError as exc:
                self.notify(str(exc), severity="error", timeout=8)
                return None
        if not self.run_editor(path):
            return None
        self.notify(after or f"{path}: check it with `companion exercise check {name}`, or c "
                    "on its card", timeout=6)
        return path

    def on_store_failed(self, message: StoreFailed) -> None:
        # After the first screen is up: exiting while it mounts would break its mount.
        self.call_after_refresh(self.exit, return_code=2,
                                message=f"companion: error: {message.error}")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # A query that broke must say so, not leave a screen saying "loading".
        if event.state == WorkerState.ERROR:
            self.notify(f"{event.worker.name}: {event.worker.error}", title="Something failed",
                        severity="error", timeout=10)

    def on_unmount(self) -> None:
        if self._owns_store and self.store is not None:
            self.store.close()

    # -- navigation --------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self.store is not None

    def _need_store(self) -> bool:
        if self.store is None:
            self.notify("Still opening your collection…", timeout=2)
            return False
        return True

    def action_study(self, deck_id: str | None = None,
                     selection: "Selection | None" = None) -> None:
        if not self._need_store():
            return
        from companion.tui.screens.review import ReviewScreen

        self.push_screen(ReviewScreen(deck_id=deck_id or None, selection=selection))

    def action_custom_study(self, deck_id: str | None = None) -> None:
        """The Custom study dialog; what it chooses is then studied."""
        if not self._need_store():
            return
        from companion.tui.screens.custom_study import CustomStudyScreen

        def start(chosen: "Selection | None") -> None:
            if chosen is not None:
                self.action_study(deck_id, chosen)

        self.push_screen(CustomStudyScreen(deck_id=deck_id or None), start)

    def action_recall(self, section: str | None = None) -> None:
        """Free recall of a deck section: write, check, study what was missed."""
        if not self._need_store():
            return
        from companion.tui.screens.recall import RecallScreen

        self.push_screen(RecallScreen(section))

    def action_browse(self, query: str = "") -> None:
        if not self._need_store():
            return
        from companion.tui.screens.browse import BrowseScreen

        self.push_screen(BrowseScreen(query=query))

    def action_stats(self) -> None:
        if not self._need_store():
            return
        from companion.tui.screens.stats import StatsScreen

        self.push_screen(StatsScreen())

    def action_settings(self) -> None:
        from companion.tui.screens.settings import SettingsScreen

        self.push_screen(SettingsScreen())

    def action_labs(self) -> None:
        if not self._need_store():
            return
        from companion.tui.screens.lab import LabListScreen

        self.push_screen(LabListScreen())

    def labs_ready(self) -> bool:
        """Whether the labs' extra is installed; when not, says in one line how
        to add it."""
        from labs import installed

        if installed.missing() is None:
            return True
        self.notify(installed.HINT, severity="warning", timeout=12)
        return False

    def open_lab(self, name: str, params: dict[str, Any] | None = None,
                 card_id: str | None = None) -> None:
        if not self._need_store() or not self.labs_ready():
            return
        from companion.tui.screens.lab import LabScreen

        self.push_screen(LabScreen(name, params or {}, card_id=card_id))

    def action_home(self) -> None:
        while len(self.screen_stack) > 1:
            self.pop_screen()

    def action_help(self) -> None:
        from companion.tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss()
            return
        self.push_screen(HelpScreen(self.screen))

    # -- export --------------------------------------------------------------

    @work(thread=True, exclusive=True, group="export")
    def export(self, fmt: str, folder: Path | None = None) -> Path | None:
        """The same exports as `companion export`, written to the home folder
        (or `folder`) in a thread worker; a notification says where."""
        import time

        from companion.interop import write_export
        from companion.store import Store

        if self.store is None:
            self.call_from_thread(self.notify, "The database is not open yet", severity="warning")
            return None
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(self.clock() / 1000))
        target = (folder or Path.home()) / f"companion-{stamp}.{fmt}"
        try:
            store = Store(self.store.path)  # this thread's own connection
            try:
                write_export(store, self.settings, fmt, target)
            finally:
                store.close()
        except Exception as exc:  # noqa: BLE001 - any failure is the learner's to read
            self.call_from_thread(self.notify, f"Export failed: {exc}", severity="error",
                                  timeout=15)
            return None
        self.call_from_thread(self.notify, f"Wrote {target}", timeout=10)
        return target

    # -- command palette ---------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield SystemCommand("Study", "Study the cards due today, all decks", self.action_study)
        yield SystemCommand("Custom study", "Review ahead, forgotten cards, a tag, or raise "
                            "today's limits", self.action_custom_study)
        yield SystemCommand("Free recall", "Write what you remember of a deck section, see "
                            "which ideas you missed, study them", self.action_recall)
        yield SystemCommand("Browse cards", "Search cards by text, deck, tag and state",
                            self.action_browse)
        yield SystemCommand("Statistics", "Retention, forecast, reviews per day",
                            self.action_stats)
        yield SystemCommand("Labs", "The PyTorch labs and their past runs", self.action_labs)
        yield SystemCommand("Settings", "Presets per deck (retention, limits, steps), day "
                            "start, theme", self.action_settings)
        yield SystemCommand("Home", "Back to the decks", self.action_home)
        yield SystemCommand("Add a card", "Write a new card in your editor", self.action_add_card)
        yield SystemCommand("New deck", "A deck file of your own", self.action_new_deck)
        yield SystemCommand("Import a file", "A companion export, a review log, or an Anki "
                            ".apkg/.colpkg with its scheduling", self.action_import_file)
        yield SystemCommand("Sync now", "Merge your study with your other machines' "
                            "(the sync_dir folder)", self.action_sync_now)
        for fmt, what in (("json", "Everything, lossless (companion import reads it back)"),
                          ("csv", "The review log, for FSRS tools"),
                          ("html", "A progress report to open in a browser"),
                          ("apkg", "The decks with their cards, for Anki")):
            yield SystemCommand(f"Export {fmt}", f"{what}; written to your home folder",
                                lambda fmt=fmt: self.export(fmt))
        # Every key of the current screen, so the palette doubles as a key list.
        seen = set()
        for key, active in screen.active_bindings.items():
            binding = active.binding
            if not active.enabled or not binding.description or binding.action in (
                    "command_palette", "app.command_palette") or binding.action in seen:
                continue
            seen.add(binding.action)
            node = active.node

            def run(node=node, action=binding.action) -> Any:
                return node.run_action(action)

            yield SystemCommand(f"{binding.description} ({self.get_key_display(binding)})",
                                binding.tooltip or binding.description, run, discover=False)
        yield from super().get_system_commands(screen)


def run(**kwargs: Any) -> int:
    """Run the app in this terminal; returns its exit status. With `sync_dir`
    set, the app syncs with it once more as it quits, after the screen is
    given back to the terminal (nothing to keep responsive then)."""
    app = CompanionApp(**kwargs)
    app.run()
    code = app.return_code or 0
    if code == 0 and app.ready and app.settings.sync_dir:
        sync_on_quit(app.settings, app.settings_path)
    return code


def sync_on_quit(settings: Settings, settings_path: Path) -> None:
    """One sync with `sync_dir`; its summary and warnings on stderr."""
    import sys

    from companion.cardtext import neutralise
    from companion.interop.sync_folder import sync_if_set
    from companion.store import StoreError, open_store

    print(f"companion: syncing with {neutralise(settings.sync_dir)}…", file=sys.stderr)
    try:
        store = open_store()
    except StoreError as exc:
        print(f"companion: warning: sync_dir: {neutralise(exc)}", file=sys.stderr)
        return
    try:
        outcome = sync_if_set(store, settings, settings_path)
    finally:
        store.close()
    for warning in outcome.warnings:
        print(f"companion: warning: {neutralise(warning)}", file=sys.stderr)
    for line in outcome.summary:
        print(f"companion: note: {neutralise(line)}", file=sys.stderr)
