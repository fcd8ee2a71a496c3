"""Card text: Markdown with its `$...$` math as Unicode, drawn in one widget.

Rich's Markdown renderer in a single Static, rather than Textual's Markdown
widget: that one mounts a widget per block on every update, which alone took
the grade key to the next card past 50 ms; this redraws in one pass.
"""

from __future__ import annotations

from rich.markdown import Markdown
from textual.widgets import Static

from companion.cardtext import math_to_unicode, neutralise


class CardText(Static):
    DEFAULT_CSS = """
    CardText { height: auto; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", id=id, classes=classes)
        self.source = ""  # the Markdown shown, math already converted

    def show(self, text: str) -> None:
        # A shared deck's text reaches the terminal only through the neutraliser.
        self.source = math_to_unicode(neutralise(text), markdown=True) if text else ""
        self.update(Markdown(self.source, code_theme="ansi_dark", hyperlinks=True)
                    if self.source else "")
