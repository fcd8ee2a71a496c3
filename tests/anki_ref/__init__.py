"""Anki itself as the reference: its scheduler (the `anki` package, v3 with FSRS)
run over review histories in a child process whose clock libfaketime moves to
each review's time, so Anki's own code counts the days and picks the due dates.

`run_anki(config, histories)` returns, for each history, one dict per review
(see driver.py); `run_anki_limits(config, scenarios)` studies deck trees with
presets and returns what Anki's deck list and queue showed at each step.
`AVAILABLE` is False (and `MISSING` says why) without the `anki` package or
libfaketime; the tests then skip."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

LIBFAKETIME = next((p for p in ("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
                                "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
                                "/usr/lib/faketime/libfaketime.so.1") if Path(p).exists()), "")
MISSING = ("the anki package is not installed" if importlib.util.find_spec("anki") is None
           else "" if LIBFAKETIME else "libfaketime is not installed (apt-get install faketime)")
AVAILABLE = not MISSING
DRIVER = Path(__file__).with_name("driver.py")


def run_anki(config: dict[str, Any], histories: list[list[tuple[int, int]]],
             timezone: str, fuzz: bool = False) -> list[list[dict[str, Any]]]:
    """Each history is one new card's reviews: (UTC ms, rating 1-4) in time order."""
    reviews = sorted(((ms, index, rating) for index, history in enumerate(histories)
                      for ms, rating in history))
    start = min(ms for ms, _, _ in reviews) - 30 * 86_400_000
    job = {"start_ms": start, "config": config, "cards": len(histories),
           "reviews": [[index, ms, rating] for ms, index, rating in reviews]}
    out: list[list[dict[str, Any]]] = [[] for _ in histories]
    for row in _run_driver(job, start, timezone, fuzz):
        out[row["card"]].append(row)
    return out


def run_anki_limits(config: dict[str, Any], scenarios: list[dict[str, Any]],
                    timezone: str) -> list[dict[str, Any]]:
    """The driver's "limits" mode (driver.py `limits_main`): each scenario's
    decks, presets and cards built in a collection of its own, then studied;
    one dict per step of each study (the deck list's counts, the queue's
    counts and cards, the card answered)."""
    start = min(s["created_ms"] for s in scenarios)
    job = {"mode": "limits", "config": config, "scenarios": scenarios}
    return _run_driver(job, start, timezone, fuzz=False)


def _run_driver(job: dict[str, Any], start_ms: int, timezone: str,
                fuzz: bool) -> list[dict[str, Any]]:
    """driver.py over `job` in a child process whose clock libfaketime reads
    from a file the driver writes; its JSON lines, read back."""
    with tempfile.TemporaryDirectory(prefix="anki-ref-") as folder:
        clock = Path(folder) / "clock"
        clock.write_text(f"{start_ms // 1000}\n")
        job = {**job, "dir": folder, "clock_file": str(clock)}
        env = {**os.environ, "LD_PRELOAD": LIBFAKETIME, "FAKETIME_NO_CACHE": "1",
               "FAKETIME_TIMESTAMP_FILE": str(clock), "FAKETIME_FMT": "%s", "TZ": timezone}
        if not fuzz:
            env["ANKI_TEST_MODE"] = "1"  # Anki draws no fuzz in its test mode
        done = subprocess.run([sys.executable, str(DRIVER)], input=json.dumps(job), env=env,
                              capture_output=True, text=True, timeout=1800)
        if done.returncode != 0:
            raise RuntimeError(f"Anki's driver failed: {done.stderr[-3000:]}")
    return [json.loads(line) for line in done.stdout.splitlines()]


COLLECTION_DRIVER = Path(__file__).with_name("collection_driver.py")


def build_collection(folder: Path, timezone: str, start_ms: int, days: int = 40,
                     seed: int = 14) -> dict[str, Any]:
    """An Anki collection studied for `days` days by Anki's own scheduler, from
    `start_ms`, exported into `folder` (see collection_driver.py): returns the
    cards' states as Anki held them at each export."""
    folder.mkdir(parents=True, exist_ok=True)
    clock = folder / "clock"
    clock.write_text(f"{start_ms // 1000}\n")
    job = {"dir": str(folder), "clock_file": str(clock), "start_ms": start_ms, "days": days,
           "seed": seed}
    env = {**os.environ, "LD_PRELOAD": LIBFAKETIME, "FAKETIME_NO_CACHE": "1",
           "FAKETIME_TIMESTAMP_FILE": str(clock), "FAKETIME_FMT": "%s", "TZ": timezone}
    done = subprocess.run([sys.executable, str(COLLECTION_DRIVER)], input=json.dumps(job),
                          env=env, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"Anki's collection driver failed: {done.stderr[-3000:]}")
    return json.loads(done.stdout)


IMPORT_DRIVER = Path(__file__).with_name("import_driver.py")


def anki_import(package: Path, timezone: str, rollover: int = 4) -> dict[str, Any]:
    """What a fresh Anki collection holds after importing `package` with its
    scheduling and deck presets (see import_driver.py), under Anki's real clock."""
    with tempfile.TemporaryDirectory(prefix="anki-import-") as folder:
        job = {"dir": folder, "package": str(package), "rollover": rollover}
        done = subprocess.run([sys.executable, str(IMPORT_DRIVER)], input=json.dumps(job),
                              env={**os.environ, "TZ": timezone}, capture_output=True,
                              text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"Anki's import driver failed: {done.stderr[-3000:]}")
    return json.loads(done.stdout)
