"""A matrix as coloured cells: attention patterns, saliency maps, loss surfaces.

The layout is `labs.render.heatmap`'s, the one `companion lab run` prints:
small matrices show their numbers on the colour, large ones are drawn as
blocks, and with NO_COLOR shade glyphs (░▒▓█) carry the picture. It is laid
out again for the widget's width whenever that changes.
"""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from labs.events import Heatmap as HeatmapEvent
from labs.render import Fitted, heatmap


class Heatmap(Widget):
    DEFAULT_CSS = """
    Heatmap { height: auto; width: 1fr; margin-bottom: 1; }
    """

    def __init__(self, event: HeatmapEvent, *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self.event = event
        self.title = event.title

    def render(self) -> Fitted:
        colour = not self.app.no_color
        return Fitted(lambda width: [self.laid_out(width, colour)])

    def laid_out(self, width: int, colour: bool) -> Text:
        text = heatmap(self.event, width, colour=colour)
        text.rstrip()  # no blank line under the scale: the margin keeps heatmaps apart
        return text
