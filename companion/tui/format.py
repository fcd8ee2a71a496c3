"""Small text formatting shared by the screens."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from companion.cardtext import plural

__all__ = ["local_time", "plural"]


def local_time(ms: int | None, settings: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A UTC time in ms as the learner's local time (their settings' zone)."""
    if not ms:
        return ""
    from companion.scheduler import LearnerDay

    tz = LearnerDay(settings).tz
    moment = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return (moment.astimezone(tz) if tz else moment.astimezone()).strftime(fmt)
