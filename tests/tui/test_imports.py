"""The UI process never imports torch, and start-up imports only what Home needs."""

from __future__ import annotations

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
