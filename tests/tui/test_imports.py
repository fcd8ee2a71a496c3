"""The UI process never imports torch, and start-up imports only what Home needs."""

from __future__ import annotations

import json
import subprocess
import sys


def modules_after(code: str) -> set[str]:
    code += "\nimport sys\nprint('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_the_app_and_every_screen_import_without_torch():
    loaded = modules_after(
        "import companion.tui.app\n"
        "from companion.tui.screens import browse, help, home, lab, review, settings, stats\n"
        "from companion.tui.widgets import barchart, calendar, heatmap, plot, stepper\n"
        "import companion.labrunner, companion.progress, companion.stats, companion.search\n")
    assert "companion.tui.screens.lab" in loaded and "labs.catalog" in loaded
    heavy = {m for m in loaded if m.split(".")[0] in ("torch", "numpy", "sklearn", "pandas")}
    assert heavy == set()


def test_starting_the_app_loads_no_other_screen():
    loaded = modules_after("import companion.tui.app")
    assert not {m for m in loaded if m.startswith("companion.tui.screens.")
                and m != "companion.tui.screens"}
    assert "textual_plotext" not in loaded and "companion.labrunner" not in loaded


def test_the_full_screen_start_loads_no_click():
    # `companion` alone opens the app without the command line's click group.
    loaded = modules_after("import companion.cli, companion.tui.app")
    assert "click" not in loaded and "companion.cli.commands" not in loaded


def test_the_image_library_waits_for_a_card_with_an_image():
    # textual-image (and Pillow) load when a card with an image is drawn, not before.
    loaded = modules_after("import companion.tui.app\n"
                           "from companion.tui.screens import review, browse\n"
                           "import companion.cardimages, companion.typeanswer\n")
    assert not {m for m in loaded if m.split(".")[0] in ("textual_image", "PIL")}


def test_checking_a_keymap_imports_no_screen_and_still_knows_every_id():
    # The app checks the learner's [keymap] at start-up, before any screen but
    # Home is open: ids of screens not imported yet must be known all the same.
    code = ("import json, sys\n"
            "from companion.tui.keymap import check_keymap\n"
            "good, problems = check_keymap({'stats.reload': 'f5', 'trace.next': 'right,j',\n"
            "                               'lab.run': 'ctrl+g', 'help': 'f2',\n"
            "                               'stats.relaod': 'x', 'nothing.here': 'y'})\n"
            "screens = [m for m in sys.modules if m.startswith('companion.tui.screens.')\n"
            "           or m == 'companion.tui.widgets.stepper']\n"
            "print(json.dumps([good, problems, screens]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    good, problems, screens = json.loads(out.stdout)
    assert good == {"stats.reload": "f5", "trace.next": "right,j", "lab.run": "ctrl+g",
                    "help": "f2"}
    assert len(problems) == 2
    assert any("'stats.relaod' is not a key id (did you mean stats.reload?)" in p
               for p in problems)
    assert any("'nothing.here' is not a key id" in p for p in problems)
    assert screens == []


def test_the_app_uses_no_private_textual_name():
    # Textual's private names change without notice between releases.
    import ast
    from pathlib import Path

    import companion

    found = []
    for path in Path(companion.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("textual"):
                module_parts = (node.module or "").split(".")
                names = [alias.name for alias in node.names]
                if any(part.startswith("_") for part in module_parts + names):
                    found.append(f"{path.name}:{node.lineno}")
    assert found == []
