"""Deck trees with presets, studied in Anki and in companion: do the daily
limits decide the same?

`generate(seed)` makes one scenario: a random deck tree (up to three levels,
a few decks), random presets with small new and review limits (0-10, now and
then a roomy one) that some decks share, and cards in each deck: new ones,
reviews due today, reviews due later, and a learning card left over from an
earlier day. The reviews come from answered history: cards answered Easy
on one of the 50 days before (each on a day of its own, so each falls due on
a day of its own, long before today) or 2 days before (not due yet), so both
schedulers hold the same cards in the same states. Then two or three
studies: a deck with subdecks, one of its subdecks alone, sometimes another
deck, now and then the first deck again the next morning from a quarter of an
hour before the day's rollover, each answering up to 60 cards with random
ratings and a random time to think between them; some first raise the
deck's limits for the day (custom study's "increase today's new/review card
limit").

`anki_rows(scenarios)` has Anki (tests/anki_ref driver, "limits" mode) build
and study them; `compare(scenarios, rows)` has companion replay the same
(`run` does both), comparing at every step:

- the deck list: each deck's new, learning and review counts (Anki's
  `deck_due_tree`, companion's `overview()` of all decks) and the total;
- the study's counts (Anki's queue, `get_queued_cards`; companion's
  `counts()` of the deck studied);
- the next card: whether there is one and its kind (learning, review, new);
  a new or review card must be the very card Anki shows, a learning card one
  of those Anki's queue has due at that moment (Anki moves a requeued
  learning card behind the next one: not a limit's business).

Then both answer the card Anki showed, with the same rating at the same
moment, so the two collections never part.

What the generator leaves out, and why:
- Anki's default "new/review mix" spreads new cards among the reviews;
  companion shows reviews, then new cards. The Anki presets here show new
  cards after reviews, so the next card can be compared at all (the limits
  decide the same sets either way).
- Anki's default review order is "due date, then random", companion's "due
  date, then as stored": the same when no two reviews fall due on the same
  day, as here (each due card had its first answer on a day of its own, and
  the same first interval), so the next review is comparable card for card.
- Learning steps under a day only (companion's 1m 10m and 10m): Anki counts
  interday learning cards against the review limit; companion has none.
- One desired retention and one set of FSRS parameters for every preset: a
  preset's scheduling options are tests/test_anki_agreement.py's business,
  and equal first intervals keep the review order above comparable.
- At most 40 reviews due in a scenario (one a day in the 50 days before).
- One card per note, burying off: siblings are not the limits' business.

What it found in companion, since fixed: new cards in "deck" order came by
deck id, not down the deck list as Anki's "Deck" gather order takes them (so
under a shared parent limit another subdeck's cards came first); and a raise
of the new limit (custom study) added to the limit, where Anki takes it off
what was studied, which frees as many reviews when new cards spend the
review limit.
"""

from __future__ import annotations

import random
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from companion.scheduler import NEW, REVIEW
from companion.settings import Settings
from companion.store import Store

ZONE = "America/New_York"
ROLLOVER = 4
SECOND, MINUTE, HOUR, DAY = 1000, 60_000, 3_600_000, 86_400_000
FIRST_DAY = date(2024, 1, 8)
SETUP_DAYS = 50  # the history before today's studies
MAX_DUE = 40  # reviews due today, each first answered on a day of its own
# each scenario of a run (one Anki process) starts after the last one's days
DAYS_PER_SCENARIO = SETUP_DAYS + 2
WORDS = ("Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf", "Hotel", "India",
         "Juliet", "Kilo", "Lima", "Mike", "November", "Oscar", "Papa", "Quebec", "Romeo",
         "Sierra", "Tango", "Uniform", "Victor", "Whiskey", "Xray", "Yankee", "Zulu")
CHECKS = ("deck list", "study counts", "next card")


def settings_for(scenario: dict[str, Any]) -> Settings:
    presets = scenario["presets"]
    new, review = presets["default"]
    return Settings(
        timezone=ZONE, day_starts_at=ROLLOVER, fuzz=False, new_per_day=new,
        reviews_per_day=review,
        new_cards_ignore_review_limit=scenario["ignore_review_limit"],
        presets={name: {"new_per_day": n, "reviews_per_day": r}
                 for name, (n, r) in presets.items() if name != "default"},
        deck_presets={deck["id"]: deck["preset"] for deck in scenario["tree"]
                      if deck["preset"] != "default"})


def _local_ms(day: date, hour: int, minute: int = 0) -> int:
    return int(datetime(day.year, day.month, day.day, hour, minute,
                        tzinfo=ZoneInfo(ZONE)).timestamp() * 1000)


def generate(seed: int, number: int = 0, ignore_review_limit: bool | None = None
             ) -> dict[str, Any]:
    """Scenario `number` of a run (its days follow the previous scenario's)."""
    rng = random.Random(seed)
    today = FIRST_DAY + timedelta(days=number * DAYS_PER_SCENARIO + SETUP_DAYS + 1)
    names = rng.sample(WORDS, len(WORDS))
    used_ids: set[str] = set()

    def new_id() -> str:
        while True:  # ids unrelated to names, so "by id" and "by name" orders differ
            deck_id = rng.choice("abcdefghjkmnpqrstuvwxyz") + str(rng.randint(0, 99))
            if deck_id not in used_ids:
                used_ids.add(deck_id)
                return deck_id

    preset_names = ["default"] + [f"p{i}" for i in range(1, rng.randint(1, 4))]

    def limit() -> int:
        return rng.randint(0, 10) if rng.random() < 0.85 else rng.choice((20, 50))

    presets = {name: [limit(), limit()] for name in preset_names}
    tree: list[dict[str, Any]] = []

    def add(parent: dict[str, Any] | None, depth: int) -> None:
        deck = {"id": new_id(), "name": names.pop(), "parent": parent and parent["id"],
                "full": (f"{parent['full']}::" if parent else ""),
                "preset": rng.choice(preset_names), "depth": depth}
        deck["full"] += deck["name"]
        tree.append(deck)
        if depth < 2 and len(tree) < 8:
            for _ in range(rng.choice((0, 0, 1, 2, 2, 3))):
                add(deck, depth + 1)

    for _ in range(rng.randint(1, 3)):
        add(None, 0)
    # each deck's cards, in file order: new, due today, due later, learning
    kinds_of: list[list[str]] = []
    for deck in tree:
        size = rng.choice((0, rng.randint(1, 6), rng.randint(5, 30)))
        kinds = [rng.choices(("new", "due", "later", "learning"), (60, 30, 7, 3))[0]
                 for _ in range(size)]
        kinds_of.append(kinds)
    cards: list[int] = []  # deck index of each card, in the order Anki adds them
    kinds: list[str] = []
    for index, deck_kinds in enumerate(kinds_of):
        cards.extend([index] * len(deck_kinds))
        kinds.extend(deck_kinds)
    due = [card for card, kind in enumerate(kinds) if kind == "due"]
    for card in due[MAX_DUE:]:
        kinds[card] = "new"
    setup: list[list[int]] = []
    first_day, late = today - timedelta(days=SETUP_DAYS), _local_ms(today - timedelta(days=2), 10)
    for card, kind in enumerate(kinds):  # in the order added
        if kind == "due":
            day = first_day + timedelta(days=due.index(card))
            setup.append([card, _local_ms(day, 10), 4])
        elif kind == "learning":
            setup.append([card, _local_ms(first_day, 11) + card * SECOND, 1])
        elif kind == "later":
            setup.append([card, late + card * SECOND, 4])
    setup.sort(key=lambda row: row[1])
    if ignore_review_limit is None:
        ignore_review_limit = rng.random() < 0.5
    parents = [i for i, deck in enumerate(tree) if any(d["parent"] == deck["id"] for d in tree)]
    first = rng.choice(parents) if parents and rng.random() < 0.8 else rng.randrange(len(tree))
    studied = [first]
    below = [i for i, deck in enumerate(tree) if _is_under(tree, deck["id"], tree[first]["id"])]
    if below:
        studied.append(rng.choice(below))
    if rng.random() < 0.5:
        studied.append(rng.randrange(len(tree)))
    starts = [_local_ms(today, 9 + 4 * number_in_day) for number_in_day in range(len(studied))]
    if rng.random() < 0.3:  # the first deck again next morning, across the rollover
        studied.append(first)
        starts.append(_local_ms(today + timedelta(days=1), ROLLOVER - 1, 45))
    studies = []
    for deck, start in zip(studied, starts):
        answers, spent = [], 0
        for _ in range(rng.randint(10, 60)):
            pick = rng.random()
            think = (rng.randint(3, 30) if pick < 0.7 else rng.randint(30, 180) if pick < 0.95
                     else rng.randint(600, 900)) * SECOND
            spent += think
            if spent > 3.5 * HOUR:
                break
            answers.append([think, rng.choices((1, 2, 3, 4), (15, 10, 45, 30))[0]])
        study = {"deck": deck, "start_ms": start, "answers": answers}
        if rng.random() < 0.3:  # custom study: "increase today's limit"
            study["extend"] = rng.choice(([rng.randint(1, 5), 0], [0, rng.randint(1, 5)],
                                          [rng.randint(1, 5), rng.randint(1, 5)]))
        studies.append(study)
    return {"created_ms": _local_ms(first_day - timedelta(days=1), 9),
            "ignore_review_limit": ignore_review_limit, "presets": presets, "tree": tree,
            "decks": [[deck["full"], deck["preset"]] for deck in tree],
            "cards": cards, "kinds": kinds, "setup": setup, "studies": studies}


def _is_under(tree: list[dict[str, Any]], deck_id: str, ancestor: str) -> bool:
    parents = {deck["id"]: deck["parent"] for deck in tree}
    parent = parents[deck_id]
    while parent is not None:
        if parent == ancestor:
            return True
        parent = parents[parent]
    return False


@dataclass
class Report:
    scenarios: int = 0
    steps: int = 0
    checks: Counter[str] = field(default_factory=Counter)
    agreed: Counter[str] = field(default_factory=Counter)
    # (scenario, study, step, check, companion's, Anki's), the first ones; for
    # the deck list, the decks (by index, -1 for all decks) whose counts
    # differ, as [new, learning, review]
    differences: list[tuple[int, int, int, str, Any, Any]] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)  # the next cards compared
    limited: int = 0  # steps where a limit held a due card back somewhere
    # steps where a parent's limit held back cards its subdeck's own would allow
    parent_capped: int = 0

    @property
    def total(self) -> int:
        return sum(self.checks.values())

    @property
    def share(self) -> float:
        return sum(self.agreed.values()) / self.total if self.total else 1.0

    def add(self, other: "Report") -> None:
        self.scenarios += other.scenarios
        self.steps += other.steps
        self.checks.update(other.checks)
        self.agreed.update(other.agreed)
        self.differences.extend(other.differences)
        self.kinds.update(other.kinds)
        self.limited += other.limited
        self.parent_capped += other.parent_capped

    def summary(self) -> str:
        parts = ", ".join(f"{name} {self.agreed[name]}/{self.checks[name]}" for name in CHECKS)
        return (f"{self.scenarios} deck trees, {self.steps} steps: agreement "
                f"{self.share:.2%} ({parts}); next cards compared {dict(self.kinds)}; "
                f"steps where a limit held cards back {self.limited}, where a parent's "
                f"limit held back a subdeck's {self.parent_capped}")


def _kind(state: int) -> str:
    return "new" if state == NEW else "review" if state == REVIEW else "learning"


def write_decks(folder: Path, scenario: dict[str, Any]) -> None:
    from tests.conftest import write_deck

    for index, deck in enumerate(scenario["tree"]):
        body = "".join(f"## c{card}\nQ: q{card}\nA: a{card}\n\n"
                       for card, at in enumerate(scenario["cards"]) if at == index)
        write_deck(folder, f"{deck['id']}.md", body, deck_id=deck["id"],
                   deck_name=deck["name"], parent=deck["parent"])


def replay(scenario: dict[str, Any], anki_rows: list[dict[str, Any]], number: int = 0,
           keep: int = 20) -> Report:
    """companion over the scenario, step by step against Anki's rows."""
    from companion.deck_sync import sync_decks
    from companion.session import LEARN_AHEAD_MS, Queue, ReviewSession

    report = Report(scenarios=1)
    settings = settings_for(scenario)
    tree = scenario["tree"]
    card_ids = [f"{tree[deck]['id']}/c{card}" for card, deck in enumerate(scenario["cards"])]
    index_of = {card_id: i for i, card_id in enumerate(card_ids)}
    with tempfile.TemporaryDirectory(prefix="limits-") as folder:
        decks = Path(folder) / "decks"
        decks.mkdir()
        write_decks(decks, scenario)
        store = Store(Path(folder) / "companion.db")
        try:
            sync = sync_decks(store, [decks])
            assert sync.errors == [], sync.errors
            anyhow = ReviewSession(store, settings)
            for card, ms, rating in scenario["setup"]:
                anyhow.answer(card_ids[card], rating, now=ms)

            def check(row: dict[str, Any], name: str, ours: Any, theirs: Any) -> None:
                report.checks[name] += 1
                if ours == theirs:
                    report.agreed[name] += 1
                elif len(report.differences) < keep:
                    report.differences.append((number, row["study"], row["step"], name, ours,
                                               theirs))

            for row in anki_rows:
                report.steps += 1
                now = row["now"]
                study = scenario["studies"][row["study"]]
                deck_id = tree[study["deck"]]["id"]
                if row["step"] == 0 and "extend" in study:
                    new, review = study["extend"]
                    ReviewSession(store, settings, deck_id=deck_id).extend_today(
                        new, review, now=now)
                everything = Queue(store, settings, clock=lambda: now)
                by_deck, total = everything.overview(now)
                ours = {i: [by_deck[d["id"]].new, by_deck[d["id"]].learning,
                            by_deck[d["id"]].review] for i, d in enumerate(tree)}
                theirs = {int(i): counts for i, counts in row["tree"].items()}
                ours[-1] = [total.new, total.learning, total.review]
                theirs[-1] = row["all"]
                differ = {i for i in ours if ours[i] != theirs.get(i)}  # only those shown
                check(row, "deck list", {i: ours[i] for i in differ},
                      {i: theirs.get(i) for i in differ})
                queue = Queue(store, settings, deck_id=deck_id, clock=lambda: now)
                counts = queue.counts(now)
                check(row, "study counts", [counts.new, counts.learning, counts.review],
                      row["counts"])
                raw = {r.deck_id: r for r in queue._raw_counts(now)}
                if sum(r.new + r.review for r in raw.values()) > counts.new + counts.review:
                    report.limited += 1
                limits = queue.day_limits(now)
                if any(d in raw and (raw[d].new > limits.room[d].new < limits.remaining[d].new
                                     or raw[d].review > limits.room[d].review
                                     < limits.remaining[d].review) for d in limits.scope):
                    report.parent_capped += 1
                card = queue.next_card(now)
                ours_next = None if card is None else (_kind(card.memory.state),
                                                       index_of[card.id])
                theirs_next = None if not row["queue"] else tuple(row["queue"][0][::-1])
                if ours_next is not None and theirs_next is not None \
                        and ours_next[0] == theirs_next[0] == "learning":
                    # a learning card due in both: any of Anki's due ones
                    due_in_anki = {c for c, kind in row["queue"] if kind == "learning"}
                    mine = store.card_row(card_ids[theirs_next[1]])
                    if ours_next[1] in due_in_anki and mine is not None \
                            and mine.due is not None and mine.due <= now + LEARN_AHEAD_MS:
                        ours_next = theirs_next
                report.kinds[theirs_next[0] if theirs_next else "none"] += 1
                check(row, "next card", ours_next, theirs_next)
                if row["answer"] is not None:
                    card_index, rating = row["answer"]
                    think = study["answers"][row["step"]][0]
                    ReviewSession(store, settings, deck_id=deck_id).answer(
                        card_ids[card_index], rating, now=now + think)
        finally:
            store.close()
    return report


def anki_config() -> dict[str, Any]:
    from tests.anki_ref.compare import anki_config as config_of

    return config_of(Settings(timezone=ZONE, day_starts_at=ROLLOVER, fuzz=False))


def anki_rows(scenarios: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Anki's steps of each scenario, the scenarios run in one Anki process."""
    from tests.anki_ref import run_anki_limits

    rows: list[list[dict[str, Any]]] = [[] for _ in scenarios]
    for row in run_anki_limits(anki_config(), scenarios, ZONE):
        rows[row["scenario"]].append(row)
    return rows


def compare(scenarios: list[dict[str, Any]], rows: list[list[dict[str, Any]]],
            keep: int = 20) -> Report:
    report = Report()
    for number, (scenario, theirs) in enumerate(zip(scenarios, rows)):
        report.add(replay(scenario, theirs, number, keep))
    return report


def run(scenarios: list[dict[str, Any]], keep: int = 20) -> Report:
    return compare(scenarios, anki_rows(scenarios), keep)
