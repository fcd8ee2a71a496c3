"""Without the labs extra: torch, numpy and scikit-learn can't be imported (a
meta-path blocker in the child's sitecustomize, which blocks matplotlib too:
the base install has none of them), the flashcards work, and every lab entry
point says in one line how to add labs, exit status 2."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

from labs.installed import HINT

from .conftest import SMALL_DECK, write_deck
from .test_cli import run

BLOCKER = '''
import sys

class _NoLabs:
    """What a `pip install companion` without the labs extra can't import."""
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("torch", "numpy", "sklearn", "matplotlib"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, _NoLabs())
'''


@pytest.fixture
def no_labs(tmp_path):
    folder = tmp_path / "blocker"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(BLOCKER)
    path = os.pathsep.join(p for p in (str(folder), os.environ.get("PYTHONPATH")) if p)
    return {"PYTHONPATH": path}


def test_the_blocker_blocks(no_labs):
    probe = subprocess.run([sys.executable, "-c", "import torch"], capture_output=True,
                           text=True, env={**os.environ, **no_labs}, timeout=60)
    assert probe.returncode == 1 and "No module named 'torch'" in probe.stderr


def test_review_stats_export_import_and_sync_work_without_the_labs(tmp_path, no_labs):
    a, b = tmp_path / "a", tmp_path / "b"
    write_deck(a / "decks", "mine.md", SMALL_DECK, deck_id="mine")
    review = run(["review", "--plain", "--deck", "mine"], a, stdin="\n3\n\n4\nq\n",
                 env_extra=no_labs)
    assert review.returncode == 0, review.stderr
    assert sqlite3.connect(a / "companion.db").execute(
        "SELECT count(*) FROM reviews").fetchone() == (2,)
    stats = run(["stats"], a, env_extra=no_labs)
    assert stats.returncode == 0 and "2" in stats.stdout, stats.stderr
    for fmt in ("json", "csv", "apkg", "html"):
        out = tmp_path / f"x.{fmt}"
        done = run(["export", "--format", fmt, "-o", str(out)], a, env_extra=no_labs)
        assert done.returncode == 0 and out.stat().st_size > 0, (fmt, done.stderr)
    imported = run(["import", str(tmp_path / "x.json")], b, env_extra=no_labs)
    assert imported.returncode == 0 and "2 reviews" in imported.stdout, imported.stderr
    folder = tmp_path / "sync"
    folder.mkdir()
    for home in (a, b, a):
        synced = run(["sync", str(folder)], home, env_extra=no_labs)
        assert synced.returncode == 0, synced.stderr
    assert "Traceback" not in review.stderr + stats.stderr + imported.stderr


@pytest.mark.parametrize("args", [
    ["lab", "list"],
    ["lab", "run", "batch-size"],
    ["exercise", "list"],
    ["exercise", "start", "attention"],
    ["exercise", "check", "attention"],
])
def test_every_lab_entry_point_says_how_to_add_the_labs(tmp_path, no_labs, args):
    home = tmp_path / "home"
    result = run(args, home, env_extra=no_labs)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"companion: error: {HINT}"]
    assert "pipx inject companion" in HINT and "pip install 'companion[labs]'" in HINT
    assert not (home / "exercises").exists()  # nothing written that couldn't be checked


def test_python_m_labs_says_it_too(no_labs):
    result = subprocess.run([sys.executable, "-m", "labs", "list"], capture_output=True,
                            text=True, env={**os.environ, **no_labs}, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"python -m labs: {HINT}"]
