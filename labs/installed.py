"""Whether the labs' extra is installed, and the one line that says how to add it.

The flashcards never touch torch: `pip install companion` gives the app,
review, stats, export, import and sync; labs and exercises need the `labs`
extra (torch, numpy, scikit-learn). Every lab entry point (`companion lab`,
`companion exercise start|check`, `python -m labs`, the app's Lab screen,
predict cards and a card's exercise) asks `missing()` first and shows `HINT`.
Never imports what it looks for.
"""

from __future__ import annotations

import functools
import importlib.util

MODULES = ("torch", "numpy", "sklearn")  # what the labs extra brings (sklearn: scikit-learn)

HINT = ("labs and exercises need the labs extra (torch, numpy, scikit-learn): "
        "pip install 'companion[labs]' (from a checkout: pip install '.[labs]'; "
        "pipx: pipx inject companion torch numpy scikit-learn)")


@functools.cache
def missing() -> str | None:
    """The first of the labs' modules that can't be imported, or None (looked
    up once a process: installing the extra takes a restart)."""
    for name in MODULES:
        try:
            if importlib.util.find_spec(name) is None:
                return name
        except (ImportError, ValueError):  # a blocked or broken module
            return name
    return None
