"""Runs Anki's own scheduler (the `anki` package), with its clock moved by
libfaketime. Started by `tests.anki_ref.run_anki` and `run_anki_limits`, never
imported.

Reads a JSON job on stdin and writes JSON lines on stdout. Two modes:

- reviews (the default): {"dir", "clock_file", "start_ms", "config", "cards": n,
  "reviews": [[card index, ms, rating], ...] in time order}; one line per
  review: what Anki offered before the answer and what it stored after it.
- "limits": {"dir", "clock_file", "config", "scenarios": [...]}, each scenario
  a collection of its own (see `limits_main`); one line per step of each study:
  the deck list's counts, the study queue's counts and cards in order, and the
  card then answered.
"""

from __future__ import annotations

import json
import sys


def set_clock(path: str, ms: int) -> None:
    with open(path, "w") as f:
        f.write(f"{ms // 1000}.{ms % 1000:03d}\n")


def state_of(choice) -> dict:
    """A SchedulingState's next step: {"secs": n} or {"days": n}."""
    normal = (choice.normal if choice.HasField("normal")
              else choice.filtered.rescheduling.original_state)
    kind = normal.WhichOneof("kind")
    if kind == "review":
        return {"days": normal.review.scheduled_days, "kind": kind}
    if kind == "learning":
        return {"secs": normal.learning.scheduled_secs, "kind": kind}
    if kind == "relearning":
        return {"secs": normal.relearning.learning.scheduled_secs, "kind": kind,
                "review_days": normal.relearning.review.scheduled_days}
    return {"kind": kind}


def open_collection(path: str, config: dict):
    """A new collection with companion's day (rollover), FSRS on, no load
    balancer, and its default preset set up as `config` says."""
    from anki.collection import Collection
    from anki.config_pb2 import ConfigKey

    col = Collection(path)
    col.set_config("rollover", config["rollover"])
    col.set_config("fsrs", True)  # rslib BoolKey::Fsrs
    col.set_config_bool(ConfigKey.Bool.LOAD_BALANCER_ENABLED, False)
    conf = col.decks.config_dict_for_deck_id(1)
    configure(conf, config)
    col.decks.update_config(conf)
    return col


def configure(conf: dict, config: dict) -> None:
    conf["new"]["delays"] = config["learn_steps"]
    conf["lapse"]["delays"] = config["relearn_steps"]
    conf["new"]["perDay"] = 9999
    conf["rev"]["perDay"] = 9999
    conf["rev"]["maxIvl"] = config["maximum_interval"]
    conf["lapse"]["leechFails"] = config["leech_threshold"]
    conf["lapse"]["leechAction"] = 0 if config["leech_action"] == "suspend" else 1
    conf["desiredRetention"] = config["desired_retention"]
    conf["fsrsParams6"] = config["params"]
    conf["new"]["bury"] = conf["rev"]["bury"] = False


def main() -> None:
    job = json.load(sys.stdin)
    if job.get("mode") == "limits":
        limits_main(job)
    else:
        reviews_main(job)


def reviews_main(job: dict) -> None:
    clock, config = job["clock_file"], job["config"]
    set_clock(clock, job["start_ms"])
    from anki.scheduler_pb2 import CardAnswer

    col = open_collection(f"{job['dir']}/c.anki2", config)
    model = col.models.by_name("Basic")
    ids = []
    for i in range(job["cards"]):
        note = col.new_note(model)
        note["Front"], note["Back"] = f"q{i}", f"a{i}"
        col.add_note(note, 1)
        ids.append(note.card_ids()[0])
    ratings = {1: CardAnswer.AGAIN, 2: CardAnswer.HARD, 3: CardAnswer.GOOD, 4: CardAnswer.EASY}
    out = sys.stdout
    for index, ms, rating in job["reviews"]:
        set_clock(clock, ms)
        cid = ids[index]
        card = col.get_card(cid)
        card.start_timer()
        states = col._backend.get_scheduling_states(cid)
        buttons = [state_of(s) for s in (states.again, states.hard, states.good, states.easy)]
        col.sched.answer_card(col.sched.build_answer(card=card, states=states,
                                                     rating=ratings[rating]))
        card = col.get_card(cid)
        memory = card.memory_state
        revlog = col.db.first("SELECT id, ivl, lastIvl, type FROM revlog WHERE cid = ? "
                              "ORDER BY id DESC LIMIT 1", cid)
        out.write(json.dumps({
            "card": index, "type": card.type, "queue": card.queue, "due": card.due,
            "ivl": card.ivl, "left": card.left, "reps": card.reps, "lapses": card.lapses,
            "stability": memory.stability if memory else None,
            "difficulty": memory.difficulty if memory else None,
            "today": col.sched.today, "day_cutoff": col.sched.day_cutoff,
            "leech": "leech" in card.note().tags, "buttons": buttons,
            "revlog": {"id": revlog[0], "ivl": revlog[1], "lastIvl": revlog[2],
                       "type": revlog[3]},
        }) + "\n")
    out.flush()
    col.close()


QUEUE_KINDS = {0: "new", 1: "learning", 2: "review"}  # QueuedCards.Queue


def limits_main(job: dict) -> None:
    """Each scenario: {"created_ms", "ignore_review_limit", "presets": {name:
    [new per day, reviews per day]} ("default" is deck options preset 1),
    "decks": [[full name "A::B", preset], ...] parents first, "cards": [deck
    index, ...] in the order added, "setup": [[card, ms, rating], ...] answered
    card by card (no queue), "studies": [{"deck", "start_ms", "answers":
    [[ms to think, rating], ...]}]}. A study selects its deck and, at each
    step, writes what the deck list and the queue show, then answers the
    queue's first card once the learner has thought (the clock moves), and
    looks again at that moment: so Anki's learning cutoff, which moves only
    with an answer, is the time of every look."""
    clock, config = job["clock_file"], job["config"]
    from anki.collection import Card  # anki.cards first is a circular import
    from anki.scheduler_pb2 import CardAnswer, CustomStudyRequest

    ratings = {1: CardAnswer.AGAIN, 2: CardAnswer.HARD, 3: CardAnswer.GOOD, 4: CardAnswer.EASY}
    out = sys.stdout
    for number, scenario in enumerate(job["scenarios"]):
        set_clock(clock, scenario["created_ms"])
        col = open_collection(f"{job['dir']}/limits{number}.anki2", config)
        col.set_config("newCardsIgnoreReviewLimit", scenario["ignore_review_limit"])
        default = col.decks.config_dict_for_deck_id(1)
        # companion draws reviews, then new cards: so new cards after reviews
        # (tests/anki_ref/trees.py says why)
        default["newMix"] = 1  # ReviewMix.AFTER_REVIEWS
        col.decks.update_config(default)
        conf_ids = {}
        for name, (new, review) in scenario["presets"].items():
            conf = default if name == "default" else col.decks.add_config(name, default)
            conf["new"]["perDay"], conf["rev"]["perDay"] = new, review
            col.decks.update_config(conf)
            conf_ids[name] = conf["id"]
        deck_ids = []
        for name, preset in scenario["decks"]:
            deck = col.decks.get(col.decks.id(name))
            deck["conf"] = conf_ids[preset]
            col.decks.save(deck)
            deck_ids.append(deck["id"])
        index_of_deck = {did: i for i, did in enumerate(deck_ids)}
        model = col.models.by_name("Basic")
        cards = []
        for i, deck in enumerate(scenario["cards"]):
            note = col.new_note(model)
            note["Front"], note["Back"] = f"q{i}", f"a{i}"
            col.add_note(note, deck_ids[deck])
            cards.append(note.card_ids()[0])
        index_of_card = {cid: i for i, cid in enumerate(cards)}
        for index, ms, rating in scenario["setup"]:
            set_clock(clock, ms)
            card = col.get_card(cards[index])
            card.start_timer()
            states = col._backend.get_scheduling_states(card.id)
            col.sched.answer_card(col.sched.build_answer(card=card, states=states,
                                                         rating=ratings[rating]))
        for study_number, study in enumerate(scenario["studies"]):
            now = study["start_ms"]
            set_clock(clock, now)
            did = deck_ids[study["deck"]]
            new_delta, review_delta = study.get("extend", (0, 0))
            for value in ({"new_limit_delta": new_delta} if new_delta else {},
                          {"review_limit_delta": review_delta} if review_delta else {}):
                if value:  # Custom study's "increase today's new/review card limit"
                    col.sched.custom_study(CustomStudyRequest(deck_id=did, **value))
            col.decks.set_current(1)  # another deck first: the queue is built afresh
            col.decks.set_current(did)
            for step in range(len(study["answers"]) + 1):
                tree = col.sched.deck_due_tree()
                counts: dict[int, list[int]] = {}
                stack = list(tree.children)
                while stack:
                    node = stack.pop()
                    if node.deck_id in index_of_deck:
                        counts[index_of_deck[node.deck_id]] = [
                            node.new_count, node.learn_count, node.review_count]
                    stack.extend(node.children)
                queued = col.sched.get_queued_cards(fetch_limit=100_000)
                row = {"scenario": number, "study": study_number, "step": step, "now": now,
                       "tree": counts,
                       "all": [tree.new_count, tree.learn_count, tree.review_count],
                       "counts": [queued.new_count, queued.learning_count,
                                  queued.review_count],
                       "queue": [[index_of_card[q.card.id], QUEUE_KINDS[q.queue]]
                                 for q in queued.cards],
                       "answer": None}
                if step < len(study["answers"]) and queued.cards:
                    think, rating = study["answers"][step]
                    first = queued.cards[0]
                    now += think
                    set_clock(clock, now)
                    card = Card(col, backend_card=first.card)
                    card.start_timer()
                    states = col._backend.get_scheduling_states(card.id)
                    col.sched.answer_card(col.sched.build_answer(
                        card=card, states=states, rating=ratings[rating]))
                    row["answer"] = [index_of_card[card.id], rating]
                out.write(json.dumps(row) + "\n")
                if row["answer"] is None:
                    break
        col.close()
    out.flush()


if __name__ == "__main__":
    main()
