"""Answering one card beside Anki: 100,000 cards and 1,000,000 reviews each side.

Builds a headless Anki collection and a companion home with the same review
history (bench_review.py's generator, replayed with the same seed), then times
the unit the learner feels on each side: grade + commit + next card ready.

Prints, on this machine:
- Anki's v3 scheduler (Rust core, via the `anki` package), median and p95, as
  shipped (SQLite synchronous=FULL: an fsync per answer) and with
  synchronous=NORMAL (companion's setting: each answer still committed);
- companion's ReviewSession.answer + next_card, median and p95;
- the ratios companion / Anki;
- rebuilding every card's state from the log under new parameters and
  rescheduling (companion's catch_up) beside Anki's FSRS switch-on (memory
  states from the revlog + reschedule), as a ratio; and the first replay of a
  log without decisions (every review decided), against the same anchor.

The loops run interleaved in short rounds, so background load on a shared
machine lands on every side alike; compare the ratios, not the absolute figures
across runs or machines.

`anki` is a tool for this benchmark only, not a companion dependency:
    pip install anki

Run: python benchmarks/bench_anki.py [--cards 100000] [--reviews-per-card 10]
                                     [--answers 2000] [--ours-ms X] [--only rebuild]

`--only rebuild` stops after the rebuild ratio (no answer loops): the quick
iteration on rebuild_all.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DAY = 86_400_000
DAY_S = 86_400
ROUND = 100  # answers per side per round of the interleaved loop
ANKI_MAX_PER_DAY = 9_999


# -- Anki's side -------------------------------------------------------------

def build_anki(path: Path, cards: int, per_card: int, seed: int = 1):
    """A collection two years old: `cards` basic cards in 10 decks under "Bench",
    `per_card` reviews each, FSRS on, due dates set by FSRS from that history."""
    from anki.collection import AddNoteRequest, Collection
    from anki.decks import UpdateDeckConfigs, UpdateDeckConfigsMode

    path.parent.mkdir(parents=True, exist_ok=True)
    col = Collection(str(path))
    # Age the collection so that the two-year history falls after its creation:
    # review due dates are day numbers counted from `crt`.
    col.db.execute("UPDATE col SET crt = crt - ?", 730 * DAY_S)
    parent = col.decks.id("Bench")
    decks = [col.decks.id(f"Bench::Deck {d}") for d in range(10)]
    col.decks.select(parent)

    # Notes go through the backend (add_notes) so that Anki's own invariants
    # hold; 100,000 take a few seconds, unlike answering a million times.
    basic = col.models.by_name("Basic")
    for start in range(0, cards, 10_000):
        requests = []
        for i in range(start, min(cards, start + 10_000)):
            note = col.new_note(basic)
            note["Front"] = f"Question {i}?"
            note["Back"] = f"Answer {i}."
            note.tags = ["bench"]
            requests.append(AddNoteRequest(note=note, deck_id=decks[i % 10]))
        col.add_notes(requests)
    card_of = {}
    for cid, front in col.db.execute(
            "SELECT c.id, n.sfld FROM cards c JOIN notes n ON n.id = c.nid"):
        card_of[int(str(front)[len("Question "):-1])] = cid

    # The same history as bench_review.build: same seed, same draws in the same
    # order, so both sides hold identical ratings at the same days and times.
    rng = random.Random(seed)
    now = int(time.time() * 1000)
    today = col.sched.today
    revlog, card_rows = [], []
    for i in range(cards):
        t = now - 730 * DAY + rng.randint(0, 200) * DAY
        last_gap = lapses = 0
        for n in range(per_card):
            rating = rng.choices((1, 2, 3, 4), (10, 10, 70, 10))[0]
            taken = rng.randint(2000, 15000)
            gap = rng.randint(1, 50)
            # Revlog ids are the review's ms timestamp and must be unique; the
            # generator puts every review at the same time of day, so card i's
            # are shifted by i ms (under two minutes at 100,000 cards).
            rid = t + i
            # type 0 = learning (the first sight), 1 = review; FSRS reads ratings
            # and times, the interval columns are informational.
            revlog.append((rid, card_of[i], rating, gap if n else -600, last_gap,
                           2500, taken, 0 if n == 0 else 1))
            lapses += n > 0 and rating == 1
            last_gap = gap
            if n < per_card - 1:
                t += gap * DAY
        last_day = today - (now - t) // DAY
        card_rows.append((last_day + last_gap, last_gap, per_card, lapses, card_of[i]))

    def bulk() -> None:
        col.db.executemany(
            "INSERT INTO revlog(id, cid, usn, ease, ivl, lastIvl, factor, time, type) "
            "VALUES (?, ?, -1, ?, ?, ?, ?, ?, ?)", revlog)
        # Provisional review states; FSRS rescheduling below replaces due and ivl.
        col.db.executemany(
            "UPDATE cards SET type = 2, queue = 2, due = ?, ivl = ?, factor = 2500, "
            "reps = ?, lapses = ?, left = 0, mod = 0, usn = -1 WHERE id = ?", card_rows)

    # One transaction: outside one, every row is its own commit and fsync.
    col.db.transact(bulk)
    revlog.clear()  # a million tuples, not needed for the rest of the run
    card_rows.clear()

    # Turn FSRS on the way the deck options screen does: Anki computes every
    # card's memory state from its revlog and reschedules the review cards.
    # Daily limits are lifted, as bench_review does for companion, to 9,999:
    # Anki's ceiling (a larger value is refused and the default of 200 kept).
    current = col.decks.get_deck_configs_for_update(parent)
    config = current.all_config[0].config
    config.config.reviews_per_day = ANKI_MAX_PER_DAY
    config.config.new_per_day = ANKI_MAX_PER_DAY
    start = time.perf_counter()
    col.decks.update_deck_configs(UpdateDeckConfigs(
        target_deck_id=parent, configs=[config],
        mode=UpdateDeckConfigsMode.UPDATE_DECK_CONFIGS_MODE_APPLY_TO_CHILDREN,
        limits=current.current_deck.limits,
        new_cards_ignore_review_limit=current.new_cards_ignore_review_limit,
        apply_all_parent_limits=current.apply_all_parent_limits,
        card_state_customizer=current.card_state_customizer,
        fsrs=True, fsrs_reschedule=True, fsrs_health_check=False))
    fsrs_s = time.perf_counter() - start
    return col, fsrs_s


class AnkiLoop:
    """Anki's reviewer loop, minus the rendering: answer the shown card, then
    fetch the next one and start its timer (what build_answer reads)."""

    def __init__(self, col):
        from anki.cards import Card
        from anki.scheduler.v3 import CardAnswer

        self.col, self.Card = col, Card
        self.ratings = {1: CardAnswer.AGAIN, 2: CardAnswer.HARD,
                        3: CardAnswer.GOOD, 4: CardAnswer.EASY}
        # The first fetch builds the day's queue (every due card); later
        # fetches pop from it, so it is timed apart from the answers.
        start = time.perf_counter()
        self._fetch()
        self.first_fetch_ms = (time.perf_counter() - start) * 1000

    def _fetch(self) -> bool:
        queued = self.col.sched.get_queued_cards(fetch_limit=1)
        if not queued.cards:
            return False
        self.states = queued.cards[0].states
        self.card = self.Card(self.col, backend_card=queued.cards[0].card)
        self.card.start_timer()
        return True

    def step(self, rating: int) -> bool:
        sched = self.col.sched
        sched.answer_card(sched.build_answer(card=self.card, states=self.states,
                                             rating=self.ratings[rating]))
        return self._fetch()


# -- companion's side ----------------------------------------------------------

# A fitted parameter set (tests/test_replay_fast.py's): the rebuild's new parameters.
FITTED = [0.4, 0.9, 3.1, 15.7, 7.0, 0.5, 1.6, 0.01, 1.5, 0.12, 1.0, 1.9, 0.11, 0.29,
          2.2, 0.23, 2.9, 0.4, 0.6, 0.1, 0.3]

class CompanionLoop:
    """bench_review.py's loop: ReviewSession.answer (one transaction, committed)
    then next_card."""

    def __init__(self, home: Path, cards: int, per_card: int):
        sys.path.insert(0, str(HERE))
        os.environ["COMPANION_HOME"] = str(home)
        import bench_review

        from companion.replay import catch_up, note_schedule_settings, rebuild_all
        from companion.session import ReviewSession
        from companion.settings import Settings
        from companion.store import Store

        start = time.perf_counter()
        bench_review.build(home, cards, per_card)
        self.build_s = time.perf_counter() - start
        self.store = Store(home / "companion.db")
        start = time.perf_counter()
        rebuild_all(self.store, Settings())
        self.first_replay_s = time.perf_counter() - start
        note_schedule_settings(self.store, Settings())
        # What Anki's FSRS switch-on does, on a log that holds its decisions
        # (as every answer and every Anki import writes them): every memory
        # state recomputed under new parameters, every review card rescheduled.
        changed = {"parameters": FITTED, "reschedule_on_change": True}
        start = time.perf_counter()
        catch_up(self.store, Settings(**changed))
        self.rebuild_s = time.perf_counter() - start
        self.session = ReviewSession(
            self.store, Settings(reviews_per_day=10**5, new_per_day=10**5, **changed))
        self.card = self.session.next_card()

    def step(self, rating: int) -> bool:
        self.session.answer(self.card.id, rating, 5000)
        self.card = self.session.next_card()
        return self.card is not None


# -- the comparison -------------------------------------------------------------

def timed(loop, rating: int, out: list[float]) -> bool:
    start = time.perf_counter()
    more = loop.step(rating)
    out.append((time.perf_counter() - start) * 1000)
    return more


def summary(latencies: list[float]) -> tuple[float, float]:
    ordered = sorted(latencies)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.95)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=100_000)
    parser.add_argument("--reviews-per-card", type=int, default=10)
    parser.add_argument("--answers", type=int, default=2000)
    parser.add_argument("--ours-ms", type=float, default=None,
                        help="companion's median from bench_review.py; skips building "
                             "companion's side (the ratio is then across two runs)")
    parser.add_argument("--only", choices=("rebuild",), default=None,
                        help="rebuild: stop after the rebuild ratio, skip the answer loops")
    args = parser.parse_args()
    if args.only and args.ours_ms is not None:
        parser.error("--only rebuild builds companion's side: drop --ours-ms")
    if 2 * args.answers > ANKI_MAX_PER_DAY:
        # Both Anki loops draw on one collection's daily review limit.
        parser.error(f"--answers at most {ANKI_MAX_PER_DAY // 2} (Anki's daily limit)")

    try:
        # `anki` is a namespace package: import a module to know it is there.
        import anki.collection
        from anki.buildinfo import version as anki_version
    except ImportError:
        print("anki is not installed: pip install anki to compare "
              "(a benchmark-only tool, not a companion dependency)")
        return 0

    home = Path(tempfile.mkdtemp(prefix="companion-bench-anki-"))
    col = None
    try:
        total = args.cards * args.reviews_per_card
        print(f"anki {anki_version} ({Path(anki.collection.__file__).parent}); "
              f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}")
        print(f"building Anki: {args.cards:,} cards, {total:,} revlog rows ...", flush=True)
        start = time.perf_counter()
        col, fsrs_s = build_anki(home / "anki" / "collection.anki2",
                                 args.cards, args.reviews_per_card)
        print(f"  built in {time.perf_counter() - start:.1f} s, of which FSRS on "
              f"(memory states from the revlog + reschedule): {fsrs_s:.1f} s")
        anki_loop = AnkiLoop(col) if args.only is None else None
        if anki_loop is not None:
            print(f"  first fetch (builds the day's queue): {anki_loop.first_fetch_ms:.1f} ms")
        # Counted in SQL: the scheduler's counts stop at the daily limit.
        due = col.db.scalar("SELECT count() FROM cards WHERE queue = 2 AND due <= ?",
                            col.sched.today)
        print(f"  Anki cards due today: {due:,} review (the queue holds up to "
              f"{ANKI_MAX_PER_DAY:,}, the daily limit)")

        ours = None
        if args.ours_ms is None:
            print(f"building companion: {args.cards:,} cards, {total:,} reviews ...",
                  flush=True)
            (home / "companion").mkdir()
            ours = CompanionLoop(home / "companion", args.cards, args.reviews_per_card)
            due = ours.session.counts()
            print(f"  built in {ours.build_s:.1f} s")
            # The same log both ways: Anki's memory states from its revlog plus
            # its reschedule, against companion's replay of every review under
            # new parameters plus its reschedule.
            print(f"  companion's rebuild under new parameters + reschedule: "
                  f"{ours.rebuild_s:.1f} s")
            print(f"ratio rebuild / Anki's FSRS on: {ours.rebuild_s / fsrs_s:.1f}x "
                  f"(goal <= 2x)")
            # The first replay of a log without decisions (an import of a
            # foreign log): every review decided and its record written, a
            # step Anki has no counterpart for.
            print(f"  companion's first replay of the log without decisions: "
                  f"{ours.first_replay_s:.1f} s ({ours.first_replay_s / fsrs_s:.1f}x "
                  "Anki's FSRS on)")
            print(f"  companion cards due today: {due.review:,} review, "
                  f"{due.learning:,} learning, {due.new:,} new")
            mode, sync = ours.store.conn.execute("PRAGMA journal_mode").fetchone()[0], \
                ours.store.conn.execute("PRAGMA synchronous").fetchone()[0]
            print(f"  companion SQLite: journal_mode={mode}, synchronous={sync} "
                  "(1 = NORMAL, 2 = FULL)")
            if args.only == "rebuild":
                ours.store.close()
                return 0
        print(f"  Anki SQLite: journal_mode={col.db.scalar('PRAGMA journal_mode')}, "
              f"synchronous={col.db.scalar('PRAGMA synchronous')}, "
              f"locking_mode={col.db.scalar('PRAGMA locking_mode')}")

        # Anki commits each answer_card itself: it is one backend operation in
        # its own transaction, committed before the call returns (col.save() and
        # autosave are deprecated no-ops). Checked with anki 26.09.3: answers
        # survive os._exit() straight after, and strace shows one fsync per
        # answer at synchronous=FULL, none at NORMAL. So every loop below
        # includes a durable commit; they differ only in when SQLite fsyncs.
        sides = {"anki (synchronous=FULL, as shipped)": (anki_loop, "FULL"),
                 "anki (synchronous=NORMAL, as companion)": (anki_loop, "NORMAL")}
        if ours is not None:
            sides["companion"] = (ours, None)
        latencies = {name: [] for name in sides}
        # Both Anki variants answer from one collection: when it runs out of
        # due cards, both stop.
        live = {id(loop): True for loop, _ in sides.values()}
        rng = random.Random(2)  # bench_review's ratings
        print(f"answering {args.answers:,} cards per side, interleaved in rounds of "
              f"{ROUND} ...", flush=True)
        while any(live[id(loop)] and len(latencies[n]) < args.answers
                  for n, (loop, _) in sides.items()):
            ratings = [rng.choice((1, 3, 3, 3, 4)) for _ in range(ROUND)]
            for name, (loop, sync) in sides.items():
                if sync:
                    col.db.execute(f"PRAGMA synchronous = {sync}")
                for rating in ratings:
                    if not live[id(loop)] or len(latencies[name]) >= args.answers:
                        break
                    live[id(loop)] = timed(loop, rating, latencies[name])

        print("answer one card (grade + commit + next card ready):")
        results = {}
        for name, values in latencies.items():
            results[name] = summary(values)
            median, p95 = results[name]
            print(f"  {name:42s} {len(values):5,} answers: median {median:.3f} ms, "
                  f"p95 {p95:.3f} ms")
        if ours is None:
            results["companion"] = (args.ours_ms, None)
            print(f"  {'companion (--ours-ms, another run)':42s} median {args.ours_ms:.3f} ms")
        ours_median, ours_p95 = results["companion"]
        for name in sides:
            if name.startswith("anki"):
                median, p95 = results[name]
                line = f"ratio companion / {name}: median {ours_median / median:.2f}x"
                if ours is not None:
                    line += f", p95 {ours_p95 / p95:.2f}x"
                print(line)
        print(f"target: companion median <= 1 ms "
              f"({'met' if ours_median <= 1 else 'not met'})")
        if ours is not None:
            ours.store.close()
    finally:
        if col is not None:
            col.close()
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
