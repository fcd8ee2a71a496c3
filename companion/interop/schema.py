"""The json export's declared schema, checked once at the boundary with msgspec
(imported only when a file is read): every field's type, every number's range
(what SQLite can hold, times a calendar can show), every text's length, and
no field the format doesn't have. What passes here, the store can take and
every later command can read."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import msgspec

from companion.interop import ImportError_

INT64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
# Milliseconds since 1970, up to the last moment of the year 9999.
MS = Annotated[int, msgspec.Meta(ge=0, le=253_402_300_799_999)]
FLAG = Annotated[int, msgspec.Meta(ge=0, le=1)]
ID = Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
TEXT = Annotated[str, msgspec.Meta(max_length=200_000)]
SHORT = Annotated[str, msgspec.Meta(max_length=2_000)]
DAY_MS = 86_400_000


class Deck(msgspec.Struct, forbid_unknown_fields=True):
    id: ID
    name: SHORT
    description: TEXT | None = None
    path: TEXT | None = None
    retired: FLAG = 0
    parent: ID | None = None  # format 3: the deck it is a subdeck of


class Card(msgspec.Struct, forbid_unknown_fields=True):
    id: ID
    deck_id: ID
    front: TEXT
    back: TEXT
    note_id: ID | None = None
    kind: Literal["basic", "cloze", "predict", "diagram"] | None = None
    ord: Annotated[int, msgspec.Meta(ge=0, le=999)] | None = None
    extra: TEXT | None = None
    source: TEXT | None = None
    tags: TEXT | None = None
    lab: SHORT | None = None
    lab_params: TEXT | None = None  # a JSON object of text, as the store keeps it
    choices: TEXT | None = None  # a JSON list of text
    reveal: SHORT | None = None
    position: INT64 | None = None
    line: INT64 | None = None
    retired: FLAG = 0
    suspended: FLAG = 0
    buried_until: MS | None = None
    added_at: MS | None = None
    type_answer: SHORT | None = None  # format 3: a typed card's answer


class Review(msgspec.Struct, forbid_unknown_fields=True):
    id: ID
    card_id: ID
    reviewed_at: MS
    rating: int
    duration_ms: Annotated[int, msgspec.Meta(ge=0, le=DAY_MS)] | None
    # what the scheduler decided then (format 2); absent: the importer's replay decides
    state_after: Annotated[int, msgspec.Meta(ge=0, le=3)] | None = None
    remaining_steps: Annotated[int, msgspec.Meta(ge=0, le=1000)] | None = None
    interval: Annotated[int, msgspec.Meta(ge=0, le=36500)] | None = None
    due: MS | None = None
    elapsed_days: Annotated[int, msgspec.Meta(ge=0, le=100_000)] | None = None


class EventState(msgspec.Struct, forbid_unknown_fields=True):
    """A set-state event's fields besides interval and due (scheduler.StateSet)."""

    state: Annotated[int, msgspec.Meta(ge=0, le=3)]
    remaining_steps: Annotated[int, msgspec.Meta(ge=0, le=1000)] = 0
    stability: Annotated[float, msgspec.Meta(gt=0, le=1e6)] | None = None
    difficulty: Annotated[float, msgspec.Meta(ge=1, le=10)] | None = None
    last_review: MS | None = None
    reps: Annotated[int, msgspec.Meta(ge=0, le=10_000_000)] = 0
    lapses: Annotated[int, msgspec.Meta(ge=0, le=10_000_000)] = 0


class CardEvent(msgspec.Struct, forbid_unknown_fields=True):
    id: ID
    card_id: ID
    at: MS
    kind: Literal["reschedule", "forget", "forget-counts", "set-state"]
    interval: Annotated[int, msgspec.Meta(ge=0, le=36500)] | None = None
    due: MS | None = None
    memory: EventState | None = None  # a set-state's (format 4)


class LabRun(msgspec.Struct, forbid_unknown_fields=True):
    lab: SHORT | None
    params: TEXT | None
    device: SHORT | None
    seed: INT64 | None
    card_id: ID | None
    started_at: MS | None
    ended_at: MS | None
    status: SHORT | None
    error: TEXT | None
    summary: TEXT | None
    prediction: TEXT | None
    metrics: list[tuple[SHORT | None, SHORT | None, float | None, float | None]]


class RecallAttempt(msgspec.Struct, forbid_unknown_fields=True):
    id: ID
    at: MS
    section: SHORT
    ideas: Annotated[int, msgspec.Meta(ge=0, le=100_000)]
    recalled: Annotated[int, msgspec.Meta(ge=0, le=100_000)]
    missed: list[ID]
    text: TEXT


class Document(msgspec.Struct):
    format: str
    version: int
    decks: list[Deck]
    cards: list[Card]
    reviews: list[Review]
    lab_runs: list[LabRun]
    card_events: list[CardEvent] = []
    recall_attempts: list[RecallAttempt] = []
    settings: dict[str, Any] | None = None
    app_version: SHORT | None = None
    exported_at: SHORT | None = None


_AT = re.compile(r" - at `\$\.?(.*)`$")
_BYTE = re.compile(r"\(byte (\d+)\)$")


def invalid(exc: msgspec.ValidationError) -> str:
    """msgspec's complaint as "field: what is wrong" (the field as a path)."""
    message = str(exc)
    at = _AT.search(message)
    field = at.group(1) if at else ""
    what = _AT.sub("", message)
    what = what[:1].lower() + what[1:]
    return f"{field + ': ' if field else ''}{what}"


def read_document(data: bytes, where: str, format_name: str, newest: int) -> dict[str, Any]:
    """The export in `data`, checked against the schema, as plain dicts; any
    problem is an ImportError_ naming the file and its line or field."""
    try:
        raw = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        message = str(exc)
        found = _BYTE.search(message)
        line = data[:int(found.group(1))].count(b"\n") + 1 if found else 1
        message = _BYTE.sub("", message).replace("JSON is malformed: ", "").strip()
        raise ImportError_(f"{where}:{line}: not valid JSON: {message}") from None
    except RecursionError:
        raise ImportError_(f"{where}: not valid JSON: nested too deeply") from None
    if not isinstance(raw, dict) or raw.get("format") != format_name:
        raise ImportError_(f"{where}: not a companion export (expected \"format\": "
                           f"\"{format_name}\")")
    version = raw.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ImportError_(f"{where}: no format version")
    if version > newest:
        raise ImportError_(f"{where}: written by a newer companion (format {version}; this "
                           f"one reads up to {newest}): upgrade companion")
    try:
        doc = msgspec.convert(raw, Document, strict=True)
    except msgspec.ValidationError as exc:
        raise ImportError_(f"{where}: {invalid(exc)}") from None
    _check_meaning(doc, where)
    return msgspec.to_builtins(doc)


def latest_allowed() -> int:
    """The latest time a record may carry: a day ahead of this clock (another
    machine's may be a little ahead), never further."""
    from companion.store import now_ms

    return now_ms() + DAY_MS


def card_problem(card: Card) -> str:
    """What a record of a card says that can't be (a schema can't say it); ''
    if nothing: the JSON held in its text fields, by the rule a review and
    doctor read them by."""
    from companion.session import decoded_fields

    return decoded_fields(card.lab_params, card.choices)[2]


def review_problem(review: Review, latest: int) -> str:
    """A rating 1-4, a time since the epoch and not from the future, a
    decision whole or absent; '' if all is well."""
    if review.rating not in (1, 2, 3, 4) or isinstance(review.rating, bool):
        return f"rating {review.rating!r} is not 1-4"
    if review.reviewed_at == 0:
        return "reviewed_at must be ms since the epoch"
    if review.reviewed_at > latest:
        return f"reviewed_at {review.reviewed_at} is in the future"
    decision = (review.state_after, review.remaining_steps, review.interval, review.due,
                review.elapsed_days)
    if any(v is None for v in decision) and any(v is not None for v in decision):
        return ("a decision needs all of state_after, remaining_steps, interval, due and "
                "elapsed_days, or none")
    return ""


def event_problem(event: CardEvent, latest: int) -> str:
    if event.at > latest:
        return f"at {event.at} is in the future"
    if event.at == 0:
        return "at must be ms since the epoch"
    if event.kind != "set-state":
        return f"a {event.kind} event has no memory" if event.memory is not None else ""
    if event.memory is None:
        return "a set-state event needs its memory"
    if event.memory.state and not event.due:  # a forget's due is 0: the card is new
        return ("a set-state event for a card not new needs its due date (ms since the "
                "epoch)")
    return ""


def _check_meaning(doc: Document, where: str) -> None:
    """What a schema can't say: ids unique, references that resolve, and each
    record's own sense (card_problem, review_problem, event_problem)."""

    def fail(message: str) -> None:
        raise ImportError_(f"{where}: {message}")

    def unique(items: list[Any], name: str) -> set[str]:
        seen: dict[str, int] = {}
        for i, item in enumerate(items):
            if item.id in seen:
                fail(f"{name}[{i}]: id {item.id!r} is already {name}[{seen[item.id]}]")
            seen[item.id] = i
        return set(seen)

    unique(doc.decks, "decks")
    card_ids = unique(doc.cards, "cards")
    unique(doc.reviews, "reviews")
    for i, card in enumerate(doc.cards):
        if problem := card_problem(card):
            fail(f"cards[{i}]: {problem}")
    latest = latest_allowed()
    for i, review in enumerate(doc.reviews):
        if problem := review_problem(review, latest):
            fail(f"reviews[{i}]: {problem}")
        if review.card_id not in card_ids:
            fail(f"reviews[{i}]: card {review.card_id!r} is not among the cards")
    unique(doc.recall_attempts, "recall_attempts")
    for i, attempt in enumerate(doc.recall_attempts):
        if attempt.recalled > attempt.ideas:
            fail(f"recall_attempts[{i}]: {attempt.recalled} ideas recalled of "
                 f"{attempt.ideas}")
    unique(doc.card_events, "card_events")
    for i, event in enumerate(doc.card_events):
        if event.card_id not in card_ids:
            fail(f"card_events[{i}]: card {event.card_id!r} is not among the cards")
        if problem := event_problem(event, latest):
            fail(f"card_events[{i}]: {problem}")
