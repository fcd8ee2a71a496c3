"""companion's scheduler and Anki's on the same histories, review by review."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from companion.scheduler import LearnerDay, Memory, MemoryModel
from companion.settings import Settings, parse_step

FIELDS = ("state", "steps left", "interval", "due", "stability", "difficulty", "lapses",
          "leech", "buttons")


@dataclass
class Agreement:
    reviews: int = 0
    identical: int = 0
    # field -> how many reviews differ in it
    by_field: dict[str, int] = field(default_factory=dict)
    # (history, review, field, companion's, Anki's) for the first differences
    examples: list[tuple[int, int, str, Any, Any]] = field(default_factory=list)
    # reviews where Anki still used the day it had cached before a daylight-saving
    # change (its day_cutoff differs from a fresh computation), and the reviews
    # after them in the same history, which start from a different state
    stale_day: int = 0
    # a history's first difference anywhere else: what the test must not have
    unexplained: list[tuple[int, int, list[str]]] = field(default_factory=list)

    @property
    def share(self) -> float:
        return self.identical / self.reviews if self.reviews else 1.0


def anki_config(settings: Settings) -> dict[str, Any]:
    import fsrs_rs_python

    def minutes(steps: list[str]) -> list[float]:
        return [parse_step(s).total_seconds() / 60 for s in steps]

    return {"params": list(settings.parameters or fsrs_rs_python.DEFAULT_PARAMETERS),
            "desired_retention": settings.desired_retention,
            "learn_steps": minutes(settings.learning_steps),
            "relearn_steps": minutes(settings.relearning_steps),
            "rollover": settings.day_starts_at, "maximum_interval": settings.maximum_interval,
            "leech_threshold": settings.leech_threshold, "leech_action": settings.leech_action}


def _choice(anki: dict[str, Any]) -> tuple[int, int] | None:
    if "days" in anki:
        return (0, anki["days"])
    if "secs" in anki:
        return (anki["secs"], 0)
    return None


def compare(settings: Settings, histories: list[list[tuple[int, int]]],
            anki: list[list[dict[str, Any]]], keep: int = 20) -> Agreement:
    model, day = MemoryModel(settings), LearnerDay(settings)
    report = Agreement()
    for h, (history, theirs) in enumerate(zip(histories, anki)):
        memory, leeched, diverged = Memory(), False, False
        for r, ((at, rating), them) in enumerate(zip(history, theirs)):
            # Anki caches its day (rslib scheduler_info) until the cached rollover
            # passes, so after a UTC offset change it can keep the day it had
            stale = model.day.timing(at).next_day_at != them["day_cutoff"]
            buttons = model.choices(f"c{h}", memory, at)
            outcome = model.answer(f"c{h}", memory, rating, at)
            memory, leeched = outcome.memory, leeched or outcome.leech
            if them["due"] > 1_000_000_000:  # a learning step: a time in seconds
                due: Any = memory.due // 1000 if memory.due else None
                their_due = them["due"]
            else:  # a day: compare how many days ahead of the review's day
                due = (day.day_of(memory.due) - day.day_of(at)).days if memory.due else None
                their_due = them["due"] - them["today"]
            ours = {
                "state": memory.state, "steps left": memory.remaining_steps,
                "interval": memory.interval, "due": due,
                "stability": memory.stability, "difficulty": memory.difficulty,
                "lapses": memory.lapses, "leech": leeched,
                "buttons": [(c.secs, 0) if c.state in (1, 3) else (0, c.days)
                            for c in buttons.values()],
            }
            anki_view = {
                "state": them["type"], "steps left": them["left"] % 1000,
                "interval": them["ivl"], "due": their_due,
                "stability": them["stability"], "difficulty": them["difficulty"],
                "lapses": them["lapses"], "leech": them["leech"],
                "buttons": [_choice(b) for b in them["buttons"]],
            }
            report.reviews += 1
            wrong = [name for name in FIELDS if not _same(name, ours[name], anki_view[name])]
            if not wrong:
                report.identical += 1
            elif stale or diverged:
                report.stale_day += 1
            else:
                report.unexplained.append((h, r, wrong))
            diverged = diverged or bool(wrong)
            for name in wrong:
                report.by_field[name] = report.by_field.get(name, 0) + 1
                if len(report.examples) < keep:
                    report.examples.append((h, r, name, ours[name], anki_view[name]))
    return report


def _same(name: str, ours: Any, theirs: Any) -> bool:
    if name in ("stability", "difficulty") and ours is not None and theirs is not None:
        # Anki stores stability to 4 decimals and difficulty to 3 (float32)
        return abs(ours - theirs) <= (5e-5 if name == "stability" else 5e-4) * 1.001
    return bool(ours == theirs)


@dataclass
class FuzzCheck:
    checked: int = 0
    stale_day: int = 0
    # (history, review, what, companion's range, Anki's draw) outside the range
    outside: list[tuple[int, int, str, tuple[int, int], int]] = field(default_factory=list)
    # companion's review range (lower, upper) -> the days Anki drew in it
    draws: dict[tuple[int, int], list[int]] = field(default_factory=dict)


def fuzz_check(settings: Settings, histories: list[list[tuple[int, int]]],
               anki: list[list[dict[str, Any]]]) -> FuzzCheck:
    """With fuzz on in both, the draws differ, so each review starts from Anki's
    own state before it; companion's range for the answer given (the lowest and
    the highest fuzz draw) must hold the day, or the learning step, Anki drew."""
    from companion.scheduler import REVIEW

    model = MemoryModel(settings)
    check = FuzzCheck()
    for h, (history, theirs) in enumerate(zip(histories, anki)):
        memory = Memory()
        for r, ((at, rating), them) in enumerate(zip(history, theirs)):
            timing = model.day.timing(at)
            states = model.next_states(memory, timing.fsrs_days_elapsed(memory.last_review))
            low = model._next(memory, rating, states, 0.0)
            high = model._next(memory, rating, states, 1.0 - 2 ** -30)
            if timing.next_day_at != them["day_cutoff"]:
                check.stale_day += 1  # Anki's cached day (see compare): another start
            elif low.state == REVIEW and them["type"] == REVIEW:
                span = (low.days, high.days)
                check.draws.setdefault(span, []).append(them["ivl"])
                check.checked += 1
                if not low.days <= them["ivl"] <= high.days:
                    check.outside.append((h, r, "days", span, them["ivl"]))
            elif them["queue"] == 1 and low.secs == high.secs:  # a step inside the day
                secs = them["due"] - at // 1000
                span = (low.secs, low.secs + min(low.secs // 4, 300))
                check.checked += 1
                if not span[0] <= secs <= max(span[0], span[1] - 1):
                    check.outside.append((h, r, "secs", span, secs))
            memory = Memory(state=them["type"], remaining_steps=them["left"] % 1000,
                            stability=them["stability"], difficulty=them["difficulty"],
                            last_review=at, reps=r + 1, lapses=them["lapses"],
                            interval=them["ivl"])
    return check
