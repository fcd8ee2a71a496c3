"""Import hygiene, module by module, each in a fresh interpreter: the core of
companion imports neither Textual nor Rich nor anything heavy, and no face
(the CLI, the app) imports torch. Modules are discovered, so a new one is
checked without anyone listing it here."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import companion

# anki and zstandard: only when an Anki package is read (companion import FILE.apkg)
HEAVY = {"torch", "numpy", "sklearn", "matplotlib", "pandas", "anki", "zstandard"}
FACES = ("companion.cli", "companion.tui")


def modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(companion.__path__, "companion.")
                  if not m.name.endswith("__main__"))


def loaded_by(names: list[str]) -> dict[str, set[str]]:
    """module -> the top-level packages importing it loads (one process each, run together)."""
    code = "import importlib, sys; importlib.import_module(sys.argv[1]); " \
           "print(' '.join({m.split('.')[0] for m in sys.modules}))"
    procs = {name: subprocess.Popen([sys.executable, "-c", code, name], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True) for name in names}
    out = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"import {name} failed: {stderr[-500:]}"
        out[name] = set(stdout.split())
    return out


def test_the_core_imports_no_face_library_and_nothing_heavy():
    core = [m for m in modules() if not m.startswith(FACES)]
    assert {"companion.store", "companion.stats", "companion.session"} <= set(core)
    found = {name: packages & (HEAVY | {"textual", "rich"})
             for name, packages in loaded_by(core).items()}
    assert {name: bad for name, bad in found.items() if bad} == {}


def test_no_face_imports_torch():
    faces = [m for m in modules() if m.startswith(FACES)]
    assert {"companion.cli.commands", "companion.tui.app"} <= set(faces)
    found = {name: packages & HEAVY for name, packages in loaded_by(faces).items()}
    assert {name: bad for name, bad in found.items() if bad} == {}
