"""What a learner installs: the wheel carries the decks; the app never imports torch."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_carries_the_shipped_decks(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("companion-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {p.name for p in (ROOT / "decks").glob("*.md")}
    assert shipped and {f"companion/shipped_decks/{n}" for n in shipped} <= set(names)
    assert "labs/catalog.py" in names and "companion/cli/commands.py" in names


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys, json\n"
                          "print(json.dumps(sorted(sys.modules)))"],
                         check=True, capture_output=True, text=True, cwd=ROOT)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_the_app_and_its_deck_checks_never_import_torch():
    loaded = _modules_after(
        "import companion.cli, companion.session, companion.decks, companion.deck_sync\n"
        "from companion.decks import load_decks, deck_files\n"
        "from companion.deck_sync import deck_dirs\n"
        "load_decks(deck_files(deck_dirs()))")
    for heavy in ("torch", "numpy", "sklearn", "matplotlib", "pandas"):
        assert heavy not in loaded, heavy
