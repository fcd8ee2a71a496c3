"""Runs Anki's own scheduler (the `anki` package) over review histories, with its
clock moved by libfaketime. Started by `tests.anki_ref.run_anki`, never imported.

Reads a JSON job on stdin: {"dir", "clock_file", "start_ms", "config", "cards": n,
"reviews": [[card index, ms, rating], ...] in time order}; writes JSON lines on
stdout, one per review: what Anki offered before the answer and what it stored
after it."""

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


def main() -> None:
    job = json.load(sys.stdin)
    clock, config = job["clock_file"], job["config"]
    set_clock(clock, job["start_ms"])
    from anki.collection import Collection
    from anki.config_pb2 import ConfigKey
    from anki.scheduler_pb2 import CardAnswer

    col = Collection(f"{job['dir']}/c.anki2")
    col.set_config("rollover", config["rollover"])
    col.set_config("fsrs", True)  # rslib BoolKey::Fsrs
    col.set_config_bool(ConfigKey.Bool.LOAD_BALANCER_ENABLED, False)
    conf = col.decks.config_dict_for_deck_id(1)
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
    col.decks.update_config(conf)
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


if __name__ == "__main__":
    main()
