"""Exercises from companion's side: the starter file, the check (a child
process, `python -m labs check NAME FILE --json`, so torch and the learner's
code stay out of this one), each attempt kept, and the grade a check proposes
for the card the exercise belongs to. One rule for every face.

The grade (the learner confirms or picks another): every check passed at the
first attempt of the learner's day → Good; passed after failed attempts that
day → Hard; not passed → Again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from companion.store import ExerciseAttemptRow, Reads, Store, now_ms
from labs.catalog import EXERCISES, ExerciseSpec, UnknownExercise, get_exercise, starter_text
from labs.events import Event, Failed, Result, from_json

AGAIN, HARD, GOOD = 1, 2, 3
CHECK_TIMEOUT_S = 120.0  # the checker itself: torch's import, the cases, the learner's run


class ExerciseError(ValueError):
    """Bad input (an unknown exercise, no such file, a file there already):
    one line that says what."""


def spec_of(name: str) -> ExerciseSpec:
    try:
        return get_exercise(name)
    except UnknownExercise as exc:
        raise ExerciseError(str(exc)) from None


def default_dir() -> Path:
    from companion.paths import home

    return home() / "exercises"


def attempt_path(name: str, folder: Path | None = None) -> Path:
    return (folder or default_dir()) / f"{name.replace('-', '_')}.py"


def start(name: str, folder: Path | None = None, force: bool = False) -> Path:
    """Write the starter file; an attempt already there stays unless `force`."""
    spec = spec_of(name)
    path = attempt_path(name, folder)
    if path.exists() and not force:
        raise ExerciseError(f"{path}: an attempt is there already (edit it, or start over "
                            "with --force)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(starter_text(spec), encoding="utf-8")
    except OSError as exc:
        raise ExerciseError(f"{path}: cannot write: {exc.strerror or exc}") from None
    return path


@dataclass
class Checked:
    """One check: its events (for a face to draw), the summary, and the grade
    it proposes for the card, if it belongs to one."""

    events: list[Event] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    failure: str = ""  # the checker itself could not run (not the learner's failing)
    proposed: int | None = None
    card_id: str | None = None

    @property
    def passed(self) -> bool:
        return not self.failure and self.summary.get("failed", 1) == 0 and \
            self.summary.get("total", 0) > 0


def proposed_grade(passed: bool, failed_today: int) -> int:
    """Good: all passed at the first attempt of the day; Hard: passed after
    failed attempts that day; Again: not passed."""
    if not passed:
        return AGAIN
    return GOOD if failed_today == 0 else HARD


def check(store: Store, name: str, path: Path, card_id: str | None = None,
          day_start: int | None = None, seed: int = 0,
          timeout_s: float = CHECK_TIMEOUT_S) -> Checked:
    """Run the checker on `path`, keep the attempt, propose the card's grade."""
    from companion.labrunner import neutralised

    spec = spec_of(name)
    if not path.is_file():
        raise ExerciseError(f"{path}: no such file (start it with `companion exercise start "
                            f"{name}`)")
    if card_id is None:
        cards = store.exercise_cards().get(name, [])
        card_id = cards[0] if cards else None
    command = [sys.executable, "-m", "labs", "check", spec.name, str(path), "--json",
               "--seed", str(seed)]
    out = Checked(card_id=card_id)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s,
                              env={**os.environ, "PYTHONUNBUFFERED": "1"})
    except subprocess.TimeoutExpired:
        out.failure = f"the check ran past {timeout_s:g} s and was stopped"
        return out
    for line in done.stdout.splitlines():
        if not line.strip():
            continue
        try:
            event = neutralised(from_json(line))
        except ValueError:
            continue
        if isinstance(event, Result):
            out.summary = dict(event.summary)
        elif isinstance(event, Failed):
            out.failure = event.message
        else:
            out.events.append(event)
    if not out.summary and not out.failure:
        said = [x for x in done.stderr.splitlines() if x.strip()]
        out.failure = (said[-1].removeprefix("labs: error: ") if said
                       else f"the checker exited with status {done.returncode}")
        return out
    if out.failure:
        return out
    at = now_ms()
    start_of_day = at - 86_400_000 if day_start is None else day_start
    failed_today = sum(1 for a in store.exercise_attempts(name, since=start_of_day)
                       if a.failed or not a.total)
    with store.transaction():
        store.insert_exercise_attempt(ExerciseAttemptRow(
            uuid.uuid4().hex, name, card_id, at, int(out.summary.get("passed", 0)),
            int(out.summary.get("failed", 0)), int(out.summary.get("total", 0)),
            float(out.summary.get("seconds", 0.0)), str(path)))
    if card_id is not None:
        out.proposed = proposed_grade(out.passed, failed_today)
    return out


@dataclass(frozen=True)
class ExerciseListing:
    name: str
    title: str
    concept: str
    cards: tuple[str, ...]
    last: str  # the last attempt, in words ("" when none)


def listing(store: Reads) -> list[ExerciseListing]:
    """Each exercise, the cards it belongs to, and the learner's last result."""
    import time

    cards = store.exercise_cards()
    last: dict[str, ExerciseAttemptRow] = {}
    for attempt in store.exercise_attempts():
        last[attempt.exercise] = attempt
    out = []
    for name in sorted(EXERCISES):
        spec = EXERCISES[name]
        a = last.get(name)
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(a.at / 1000)) if a else ""
        text = f"{a.passed}/{a.total} passed, {when}" if a else ""
        out.append(ExerciseListing(name, spec.title, spec.concept, tuple(cards.get(name, [])),
                                   text))
    return out


def summary_json(checked: Checked) -> str:
    return json.dumps({"summary": checked.summary, "failure": checked.failure,
                       "proposed_grade": checked.proposed, "card_id": checked.card_id})
