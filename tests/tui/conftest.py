"""Fixtures for the Textual app: a temp COMPANION_HOME with a small deck, a
frozen clock, and helpers to wait for workers without sleeping blindly."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import pytest

from companion.scheduler import to_ms
from companion.settings import Settings

from ..conftest import write_deck

# A Wednesday afternoon, UTC; the learner's day runs 04:00-04:00 UTC.
T0 = to_ms(datetime(2026, 3, 4, 15, 0, tzinfo=timezone.utc))
MIN, DAY = 60_000, 86_400_000

# The TUI's own copy of a small deck (the snapshots must not move when other
# tests' decks change).
SMALL_DECK = """
## alpha
Q: What is alpha?
A: The first letter.
Source: The alphabet
Tags: letters

## beta
Q: What is beta?
A: The second letter.
Lab: batch-size batch_sizes=16,256

## gamma
Cloze: {{c1::Gamma}} comes after {{c2::beta::a letter}}.
Tags: letters

## delta
Q: What is delta?
A: The fourth letter, $\\Delta$.
"""

SECOND_DECK = """
## epsilon
Q: What is epsilon?
A: The fifth letter, $\\varepsilon$.
Tags: letters greek

## zeta
Q: What is zeta?
A: The sixth letter.
Tags: greek
"""


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: int = T0):
        self.now = now

    def __call__(self) -> int:
        return self.now


def run(coro_fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run an async test body with asyncio (no plugin needed)."""
    import functools

    @functools.wraps(coro_fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return asyncio.run(coro_fn(*args, **kwargs))

    return wrapper


_EMPTY_DB: dict[str, Path] = {}


@pytest.fixture
def tui_home(tmp_path, tmp_path_factory, monkeypatch) -> Path:
    """COMPANION_HOME with two small decks and a database already created (a
    copy of one made once: creating the schema costs more than a test)."""
    home = tmp_path / "home"
    monkeypatch.setenv("COMPANION_HOME", str(home))
    write_deck(home / "decks", "test.md", SMALL_DECK)
    write_deck(home / "decks", "greek.md", SECOND_DECK, deck_id="greek", deck_name="Greek")
    if "db" not in _EMPTY_DB:
        from companion.store import Store

        path = tmp_path_factory.mktemp("empty") / "companion.db"
        Store(path).close()
        _EMPTY_DB["db"] = path
    shutil.copy(_EMPTY_DB["db"], home / "companion.db")
    return home


def make_app(home: Path, clock: Clock | None = None, **kwargs: Any):
    from companion.tui.app import CompanionApp

    # A fixed theme, so the snapshots don't depend on the default one.
    kwargs.setdefault("settings", Settings(timezone="UTC", theme="textual-dark"))
    kwargs.setdefault("settings_path", home / "settings.toml")
    kwargs.setdefault("deck_dirs", [home / "decks"])
    kwargs.setdefault("cursor_blink", False)
    app = CompanionApp(clock=clock or Clock(), **kwargs)
    app.animation_level = "none"
    record_notifications(app)
    return app


def record_notifications(app: Any) -> None:
    """`app.said`: every notification the app gave, in order, gone from the
    screen or not (Textual keeps those on screen only, and privately)."""
    from textual.notifications import Notification

    notify = app.notify
    app.said = []

    def recording(message: str, *, title: str = "", severity: Any = "information",
                  **kwargs: Any) -> None:
        app.said.append(Notification(message, title, severity))
        notify(message, title=title, severity=severity, **kwargs)

    app.notify = recording


async def browse_search(pilot: Any, text: str) -> list[str]:
    """Type `text` into Browse's search box; the ids of the cards it finds."""
    screen = pilot.app.screen
    screen.query_one("#search").value = text
    await settle(pilot)
    return list(screen.result_ids)


async def wait_for(pilot: Any, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Pump the app until `predicate()` holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        await pilot.pause()
        if predicate():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {predicate}")
        await asyncio.sleep(0.01)


def markdown_settled(screen: Any) -> bool:
    from textual.widgets import Markdown

    return all(not md.lock.is_locked for md in screen.query(Markdown))


async def settle(pilot: Any) -> None:
    """Until no worker runs and every Markdown has finished updating."""
    app = pilot.app
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()
    await wait_for(pilot, lambda: not any(w.is_running for w in app.workers)
                   and markdown_settled(app.screen))
    await pilot.pause()


async def ready(pilot: Any) -> None:
    """The store is open, the decks synced and Home drawn."""
    app = pilot.app
    await wait_for(pilot, lambda: app.store is not None
                   and getattr(app.screen_stack[0], "data", None) is not None)
    await settle(pilot)


def db_reviews(home: Path) -> list[tuple]:
    import sqlite3

    conn = sqlite3.connect(home / "companion.db")
    try:
        return conn.execute("SELECT card_id, rating FROM reviews ORDER BY rowid").fetchall()
    finally:
        conn.close()


# -- a learner with a history -----------------------------------------------


def _build_history(home: Path) -> None:
    """Forty days of daily study of both decks, ratings from a fixed pattern."""
    from companion.deck_sync import sync_decks
    from companion.session import ReviewSession
    from companion.store import Store

    store = Store(home / "companion.db")
    sync_decks(store, [home / "decks"])
    clock = Clock(T0 - 40 * DAY)
    session = ReviewSession(store, Settings(timezone="UTC"), clock=clock)
    pattern = [3, 3, 1, 3, 4, 3, 2, 3, 3, 1, 3, 3]
    n = 0
    for day in range(40):
        clock.now = T0 - (40 - day) * DAY
        if day % 9 == 4:
            continue  # a day off now and then
        for _ in range(30):
            card = session.next_card()
            if card is None:
                break
            session.answer(card.id, pattern[n % len(pattern)], 4000 + 500 * (n % 7))
            n += 1
            clock.now += 2 * MIN
    store.close()


_TEMPLATE: dict[str, Path] = {}
_TEMPLATE_LOCK = threading.Lock()


@pytest.fixture
def history_home(tui_home, tmp_path_factory) -> Path:
    """tui_home with forty days of reviews (built once, copied per test)."""
    with _TEMPLATE_LOCK:
        if "db" not in _TEMPLATE:
            base = tmp_path_factory.mktemp("history")
            write_deck(base / "decks", "test.md", SMALL_DECK)
            write_deck(base / "decks", "greek.md", SECOND_DECK, deck_id="greek",
                       deck_name="Greek")
            _build_history(base)
            _TEMPLATE["db"] = base / "companion.db"
    shutil.copy(_TEMPLATE["db"], tui_home / "companion.db")
    return tui_home


# -- labs without torch -------------------------------------------------------


def demo_lab():
    """A lab spec of the tests' own, so lab snapshots don't move with the catalog."""
    from labs.catalog import LabSpec, Param

    return LabSpec(
        name="demo", title="A demonstration lab", module="labs.demo",
        explanation="Trains nothing at all: it shows how a lab's events are drawn.",
        params=(Param("batch_sizes", "int_list", [16, 256], "batch sizes to compare", 1, 4096),
                Param("lr", "float", 0.1, "learning rate", 1e-6, 10.0),
                Param("norm", "choice", "post", "where the layer norm goes",
                      choices=("post", "pre")),
                Param("causal", "bool", True, "mask later tokens")))


class FakeRun:
    """Stands in for companion.labrunner.LabRun: yields scripted events, records
    itself in lab_runs like the real runner, and can be cancelled."""

    instances: list["FakeRun"] = []

    def __init__(self, store: Any, lab: str, params: dict[str, str] | None = None,
                 device: str = "auto", seed: int = 0, card_id: str | None = None,
                 prediction: str | None = None, script: list[Any] | None = None,
                 block: bool = False, nproc: int = 1):
        from labs.catalog import get

        self.spec = get(lab)
        self.params = self.spec.resolve(dict(params or {}))
        self.raw = dict(params or {})
        self.store_path = store.path
        self.device, self.seed, self.card_id, self.prediction = device, seed, card_id, prediction
        self.nproc = nproc
        self.script = script if script is not None else default_script(lab)
        self.block = block
        self.cancelled = threading.Event()
        FakeRun.instances.append(self)

    def events(self):
        import json
        import sqlite3

        from labs.events import Failed, Result

        conn = sqlite3.connect(self.store_path)
        with conn:
            run_id = conn.execute(
                "INSERT INTO lab_runs(lab, params, device, seed, card_id, started_at, status, "
                "prediction) VALUES (?, ?, ?, ?, ?, ?, 'running', ?)",
                (self.spec.name, json.dumps(self.params), self.device, self.seed, self.card_id,
                 T0, self.prediction)).lastrowid
        outcome = None
        for event in self.script:
            if isinstance(event, Result | Failed):
                outcome = event
                break
            yield event
        if self.block:
            self.cancelled.wait(10)
        if self.cancelled.is_set():
            outcome = Failed("cancelled", f"{self.spec.name} was cancelled")
        outcome = outcome or Failed("crash", "no result")
        if isinstance(outcome, Result) and self.nproc > 1:  # as the real lab reports it
            outcome = Result({**outcome.summary, "world_size": self.nproc})
        with conn:
            conn.execute(
                "UPDATE lab_runs SET ended_at = ?, status = ?, error = ?, summary = ? "
                "WHERE id = ?",
                (T0 + 2500, "ok" if isinstance(outcome, Result) else outcome.kind,
                 None if isinstance(outcome, Result) else outcome.message,
                 json.dumps(outcome.summary) if isinstance(outcome, Result) else None, run_id))
        conn.close()
        yield outcome

    def cancel(self) -> None:
        self.cancelled.set()


def default_script(lab: str) -> list[Any]:
    from labs import events as ev

    steps = [ev.TraceStep(i, name, f"Step {name}.", {"x": [2, 3]},
                          {"x": [[i, 0.5, -1.0], [0.25, 2.0, float("-inf")]]})
             for i, name in enumerate(["embed", "attend", "project"], start=1)]
    return [
        ev.Started(lab, {"batch_sizes": [16, 256]}, "cpu", 0),
        ev.Text("## What this shows\n\nBigger batches, **fewer** steps."),
        ev.Progress(1, 4, "batch size 16"),
        *[ev.Metric("test accuracy", "B=16", x, 0.5 + x / 100, "examples", "accuracy")
          for x in (10, 20, 40)],
        *[ev.Metric("test accuracy", "B=256", x, 0.4 + x / 80, "examples", "accuracy")
          for x in (10, 20, 40)],
        ev.Progress(4, 4, "done"),
        ev.Table("steps to 90%", ["batch", "steps"], [[16, 120], [256, 14]]),
        ev.Heatmap("attention, head 1", [[1.0, 0.0], [0.3, 0.7]], ["the", "cat"], ["the", "cat"]),
        *steps,
        ev.Result({"final_accuracy": {"16": 0.91, "256": 0.88}, "steps": 3}),
    ]


def text_of(widget: Any, width: int = 100) -> str:
    """What a Static shows, as plain text."""
    import io

    from rich.console import Console

    content = widget.content
    if isinstance(content, str):
        return content
    if hasattr(content, "plain"):
        return content.plain
    console = Console(width=width, file=io.StringIO(), color_system=None, legacy_windows=False)
    with console.capture() as capture:
        console.print(content)
    return capture.get()
