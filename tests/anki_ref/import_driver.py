"""Imports a package into a fresh Anki collection with its scheduling, as
Anki's "Import any learning progress" does. Started by
`tests.anki_ref.anki_import`, never imported.

Reads a JSON job on stdin: {"dir", "package", "rollover"}; writes one JSON
object on stdout: each card's state as Anki holds it after the import (see
collection_driver.card_states), each deck's preset, and Anki's day."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from collection_driver import card_states  # noqa: E402


def main() -> None:
    job = json.load(sys.stdin)
    from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest

    col = Collection(f"{job['dir']}/target.anki2")
    col.set_config("rollover", job["rollover"])
    col.set_config("fsrs", True)
    col.import_anki_package(ImportAnkiPackageRequest(
        package_path=job["package"],
        options=ImportAnkiPackageOptions(with_scheduling=True, with_deck_configs=True)))
    presets = {}
    for deck in col.decks.all():
        if not deck.get("dyn"):
            conf = col.decks.config_dict_for_deck_id(deck["id"])
            presets[deck["name"]] = {
                "name": conf["name"], "desired_retention": conf.get("desiredRetention"),
                "params": conf.get("fsrsParams6"), "learn": conf["new"]["delays"],
                "relearn": conf["lapse"]["delays"], "new_per_day": conf["new"]["perDay"],
                "reviews_per_day": conf["rev"]["perDay"], "max_ivl": conf["rev"]["maxIvl"],
                "leech": conf["lapse"]["leechFails"], "leech_action": conf["lapse"]["leechAction"]}
    json.dump({"cards": card_states(col), "today": col.sched.today, "presets": presets,
               "revlog": col.db.scalar("SELECT count() FROM revlog")}, sys.stdout)
    col.close()


if __name__ == "__main__":
    main()
