"""Builds an Anki collection with Anki's own scheduler and exports it, its clock
moved by libfaketime. Started by `tests.anki_ref.build_collection`, never imported.

Reads a JSON job on stdin: {"dir", "clock_file", "start_ms", "days", "seed"}.
Writes into "dir": collection.apkg (Anki 2.1.50+ format, with scheduling, deck
presets and media), legacy.apkg (collection.anki21 and a JSON media map),
collection.colpkg, and after more days and an edited note, updated.apkg; on
stdout one JSON object: each card's state as Anki holds it at each export."""

from __future__ import annotations

import json
import random
import sys

DAY_MS = 86_400_000
PNG = bytes.fromhex(  # a 1x1 PNG
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082")


def set_clock(path: str, ms: int) -> None:
    with open(path, "w") as f:
        f.write(f"{ms // 1000}.{ms % 1000:03d}\n")


def card_states(col) -> list[dict]:
    today = col.sched.today
    out = []
    for cid in col.find_cards(""):
        card = col.get_card(cid)
        note = card.note()
        memory = card.memory_state
        out.append({
            "cid": cid, "guid": note.guid, "ord": card.ord, "notetype": note.note_type()["name"],
            "deck": col.decks.name(card.odid or card.did), "type": card.type,
            "queue": card.queue, "due": card.due, "odue": card.odue, "ivl": card.ivl,
            "left": card.left, "reps": card.reps, "lapses": card.lapses,
            "stability": memory.stability if memory else None,
            "difficulty": memory.difficulty if memory else None,
            # review and day-learning cards: days from today; else as stored
            "due_days": card.due - today if card.queue in (2, 3) or (
                card.type == 2 and card.queue < 0) else None,
            "revlog": col.db.scalar("SELECT count() FROM revlog WHERE cid = ?", cid),
            "fields": list(note.fields), "tags": list(note.tags),
        })
    return out


def main() -> None:
    job = json.load(sys.stdin)
    clock, folder = job["clock_file"], job["dir"]
    now = job["start_ms"]
    set_clock(clock, now)
    from anki.collection import Collection, ExportAnkiPackageOptions
    from anki.config_pb2 import ConfigKey
    from anki.scheduler_pb2 import CardAnswer

    rng = random.Random(job["seed"])
    col = Collection(f"{folder}/c.anki2")
    col.set_config("rollover", 4)
    col.set_config("fsrs", True)
    col.set_config_bool(ConfigKey.Bool.LOAD_BALANCER_ENABLED, False)

    default = col.decks.config_dict_for_deck_id(1)
    default["new"]["perDay"] = 1
    default["rev"]["perDay"] = 100
    default["new"]["bury"] = default["rev"]["bury"] = True
    col.decks.update_config(default)
    fast = col.decks.add_config("Fast & loose", clone_from=default)
    fast["new"]["delays"] = [2.0, 20.0, 120.0]
    fast["lapse"]["delays"] = [5.0, 30.0]
    fast["new"]["perDay"] = 1
    fast["rev"]["perDay"] = 50
    fast["rev"]["maxIvl"] = 180
    fast["lapse"]["leechFails"] = 4
    fast["lapse"]["leechAction"] = 1  # tag only
    fast["desiredRetention"] = 0.85
    fast["fsrsParams6"] = [0.3, 1.3, 2.5, 9.0, 6.6, 0.6, 2.8, 0.01, 1.5, 0.15, 1.0, 1.8,
                           0.09, 0.3, 1.8, 0.3, 2.2, 0.5, 0.2, 0.1, 0.2]
    col.decks.update_config(fast)

    spanish = col.decks.id("Spanish")
    verbs = col.decks.id("Spanish::Verbs")
    maths = col.decks.id("Maths & more")
    col.decks.set_config_id_for_deck_dict(col.decks.get(verbs), fast["id"])

    image = col.media.write_data("tiny dot.png", PNG)
    basic = col.models.by_name("Basic")
    reversed_ = col.models.by_name("Basic (and reversed card)")
    cloze = col.models.by_name("Cloze")

    def add(model, deck, fields, tags=()):
        note = col.new_note(model)
        for name, value in fields.items():
            note[name] = value
        note.tags = list(tags)
        col.add_note(note, deck)
        return note

    add(basic, spanish, {"Front": "<b>hola</b>", "Back": "hello<br>hi"}, ["lang::es"])
    add(basic, spanish, {"Front": "What is <i>perro</i>?",
                         "Back": "<ul><li>dog</li><li>hound</li></ul>"}, ["lang::es", "animals"])
    add(basic, spanish, {"Front": "gato &amp; rat&oacute;n",
                         "Back": f'cat &amp; mouse <img src="{image}">'}, ["lang::es"])
    for i in range(40):
        add(basic, spanish, {"Front": f"word {i} &lt;es&gt;", "Back": f"answer {i}&nbsp;!"},
            ["lang::es"])
    for i in range(10):
        add(reversed_, verbs, {"Front": f"verb {i}", "Back": f"<div>meaning {i}</div>"},
            ["lang::es::verbs"])
    add(cloze, maths, {"Text": r"Euler: {{c1::\(e^{i\pi}+1=0\)::identity}} and "
                               r"{{c2::\[\int_0^1 x\,dx = \tfrac12\]}}",
                       "Back Extra": "<i>famous</i>"}, ["maths"])
    for i in range(8):
        add(cloze, maths, {"Text": f"{{{{c1::{i}}}}} plus {{{{c2::one::a number}}}} is "
                                   f"{{{{c3::{i + 1}}}}}", "Back Extra": ""}, ["maths", "sums"])

    ratings = [CardAnswer.AGAIN, CardAnswer.HARD, CardAnswer.GOOD, CardAnswer.EASY]
    weights = [0.15, 0.1, 0.65, 0.1]

    def study(days: int, last_day_budget: int = 400) -> None:
        """Each day from 9:00 (local to UTC-5), every top deck in turn, until
        nothing is due; the last day stops after `last_day_budget` answers."""
        nonlocal now
        for day in range(days):
            now = (now // DAY_MS + 1) * DAY_MS + 14 * 3_600_000 + rng.randint(0, 3_600_000)
            budget = last_day_budget if day == days - 1 else 400
            for deck in (verbs, spanish, maths):
                col.decks.select(deck)
                budget -= study_deck(budget)

    def study_deck(budget: int) -> int:
        nonlocal now
        answered, waited = 0, 0
        while answered < budget and waited < 20:
            set_clock(clock, now)
            queued = col.sched.get_queued_cards(fetch_limit=1)
            if not queued.cards:
                # learning cards due later today: wait for them
                if not col.db.scalar("SELECT count() FROM cards WHERE queue = 1 AND due < ?",
                                     col.sched.day_cutoff):
                    break
                now += 7 * 60_000
                waited += 1
                continue
            card = col.get_card(queued.cards[0].card.id)
            card.start_timer()
            rating = rng.choices(ratings, weights)[0]
            col.sched.answer_card(col.sched.build_answer(card=card, states=queued.cards[0].states,
                                                         rating=rating))
            answered += 1
            now += rng.randint(3_000, 40_000)
        return answered

    study(job["days"], last_day_budget=9)
    # suspend, bury, reset and reschedule some cards, as a learner does
    now += 60_000
    set_clock(clock, now)
    col.sched.today  # unburies yesterday's cards now, not after the burying below
    reviewed = col.find_cards("is:review -is:learn")
    col.sched.suspend_cards(reviewed[:3])
    col.sched.bury_cards(reviewed[3:5], manual=True)
    col.sched.schedule_cards_as_new(reviewed[5:6], restore_position=True, reset_counts=False)
    col.sched.set_due_date(reviewed[6:7], "5")
    col.sched.suspend_cards(col.find_cards("is:new")[:2])
    # and leave a card in learning and two in relearning, mid-step
    for cid, rating in ((reviewed[8], CardAnswer.AGAIN), (reviewed[9], CardAnswer.AGAIN),
                        (col.find_cards("is:new -is:suspended")[0], CardAnswer.GOOD)):
        card = col.get_card(cid)
        card.start_timer()
        col.sched.answer_card(col.sched.build_answer(
            card=card, states=col._backend.get_scheduling_states(cid), rating=rating))
        now += 20_000
        set_clock(clock, now)
    # and two histories the log no longer replays to: the first answers of two
    # cards gone from the revlog (as with a history from before FSRS, which
    # Anki starts from the card's SM-2 state), and the faster preset's
    # parameters changed without recomputing its cards' memory states
    for cid in reviewed[10:12]:
        first = col.db.list("SELECT id FROM revlog WHERE cid = ? ORDER BY id LIMIT 2", cid)
        col.db.execute(f"DELETE FROM revlog WHERE id IN ({', '.join(map(str, first))})")
    fast = col.decks.get_config(fast["id"])
    fast["fsrsParams6"] = [*fast["fsrsParams6"][:8], 1.7, *fast["fsrsParams6"][9:]]
    col.decks.update_config(fast)
    before = card_states(col)
    today = col.sched.today

    options = ExportAnkiPackageOptions(with_scheduling=True, with_deck_configs=True,
                                       with_media=True, legacy=False)
    col.export_anki_package(out_path=f"{folder}/collection.apkg", options=options,
                            limit=None)
    options.legacy = True
    col.export_anki_package(out_path=f"{folder}/legacy.apkg", options=options,
                            limit=None)
    exported_at = now

    # an edited note and more days of study, for the re-import
    note = col.get_note(col.find_notes('"front:<b>hola</b>"')[0])
    note["Back"] = "hello, edited"
    col.update_note(note)
    col.sched.unsuspend_cards(reviewed[:3])
    study(4, last_day_budget=5)
    now += 60_000
    set_clock(clock, now)
    after = card_states(col)
    options.legacy = False
    col.export_anki_package(out_path=f"{folder}/updated.apkg", options=options,
                            limit=None)
    updated_today = col.sched.today
    col.export_collection_package(f"{folder}/collection.colpkg", include_media=True,
                                  legacy=False)
    json.dump({"cards": before, "today": today, "exported_at": exported_at,
               "updated": after, "updated_today": updated_today, "updated_at": now},
              sys.stdout)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
