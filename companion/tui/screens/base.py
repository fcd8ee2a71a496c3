"""The one base class of companion's screens: the typed app, the title and
intro F1 shows, leaving with escape, and the rule for workers' results.

A screen's keys live in `companion.tui.bindings` (`BINDINGS = [*bindings.STATS]`),
where the keymap checker finds them without importing the screen.

Workers and stale results: a screen asks for data with a numbered request
(`new_request(HomeLoaded)`, on the UI thread) and hands the number to its
worker. The worker posts its result with `reply`, which drops it if the worker
was cancelled meanwhile (`exclusive=True` cancels the older worker, but a
thread can't be interrupted, so it still gets to the end). The handler draws a
result only if `is_latest(message)`: one that a newer request superseded while
it waited in the queue is dropped too, never drawn.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, ClassVar, TypeVar

from textual import getters
from textual.screen import Screen
from textual.worker import get_current_worker

from companion.tui.app import CompanionApp
from companion.tui.messages import Reply

if TYPE_CHECKING:
    from companion.store import ReadStore, Store

ResultType = TypeVar("ResultType")


class CompanionScreen(Screen[ResultType]):
    """A screen of companion's (Home, Review, Browse, Stats, Settings, Labs)."""

    app = getters.app(CompanionApp)  # `self.app.store`, `.settings`, `.clock`, typed

    SCREEN_TITLE: ClassVar[str] = "companion"
    """The screen's name, on top of its F1 key list."""
    KEYS_INTRO: ClassVar[str] = ""
    """How the screen works, in a sentence or two, above its F1 key list."""

    def __init__(self, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.latest_requests: dict[type[Reply], int] = {}

    def action_leave(self) -> None:
        """escape (`back_binding`): back to the screen underneath."""
        self.dismiss()

    # -- the store and workers ---------------------------------------------

    @property
    def store(self) -> Store:
        """The app's store. Screens that use it are opened only once it is open."""
        store = self.app.store
        if store is None:
            raise RuntimeError("the database is not open yet")
        return store

    def reader(self) -> AbstractContextManager[ReadStore]:
        """For a worker: a read-only connection of its thread's own to the store."""
        from companion.store import open_reader

        return open_reader(self.store.path)

    def new_request(self, kind: type[Reply]) -> int:
        """On the UI thread: the number of a new request for a `kind` result.
        Every earlier request of that kind is superseded from now on."""
        number = self.latest_requests.get(kind, 0) + 1
        self.latest_requests[kind] = number
        return number

    def reply(self, message: Reply) -> None:
        """From a worker's thread: post its result, unless the worker was cancelled."""
        if not get_current_worker().is_cancelled:
            self.post_message(message)

    def is_latest(self, message: Reply) -> bool:
        """On the UI thread: does `message` answer the newest request of its kind?"""
        return self.latest_requests.get(type(message)) == message.request
