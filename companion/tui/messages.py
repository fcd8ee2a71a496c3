"""Results that workers hand back to the UI thread, one small Message each.

Workers run in threads and never touch widgets; they post one of these and a
handler on the UI thread draws it (Textual's `post_message` is thread-safe).
"""

from __future__ import annotations

from typing import Any

from textual.message import Message


class StoreReady(Message):
    """The store is open and the decks are synced; `warnings` are deck problems."""

    def __init__(self, store: Any, warnings: list[str]) -> None:
        super().__init__()
        self.store = store
        self.warnings = warnings


class StoreFailed(Message):
    """The database could not be opened; the app exits with this one line."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class Loaded(Message):
    """A worker's query result for the screen that asked: `what` says which
    query, `data` is the payload (plain Python values, never widgets)."""

    def __init__(self, what: str, data: Any) -> None:
        super().__init__()
        self.what = what
        self.data = data


class LabEvent(Message):
    """One event of a running lab (a `labs.events` dataclass)."""

    def __init__(self, run_token: int, event: Any) -> None:
        super().__init__()
        self.run_token = run_token
        self.event = event


class LabEnded(Message):
    """The lab's worker has finished: the run is recorded, whatever its end."""

    def __init__(self, run_token: int) -> None:
        super().__init__()
        self.run_token = run_token
