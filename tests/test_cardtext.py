from __future__ import annotations

from rich.console import Console
from rich.markdown import Markdown

from companion.cardtext import math_to_unicode


def test_math_reads_as_unicode_and_code_and_money_stay():
    text = r"Loss $\frac{1}{N}\sum_{i=1}^{N}(y_i-\hat{y}_i)^2$, `$x$` costs \$5; $\sqrt{d_k}$"
    assert math_to_unicode(text) == "Loss 1/N∑_i=1^N(y_i-ŷ_i)^2, `$x$` costs $5; √(d_k)"
    assert math_to_unicode("it costs $5 and $10 today") == "it costs $5 and $10 today"


def test_math_in_markdown_shows_as_written():
    console = Console(width=80, record=True, color_system=None)
    console.print(Markdown(math_to_unicode(r"At $w^*$ the slope $a*b*c$ and $y_i$ is **zero**.",
                                           markdown=True)))
    shown = console.export_text().strip()
    assert shown == "At w^* the slope a*b*c and y_i is zero."


def test_norm_bars_read_as_bars_hugging_what_they_enclose():
    assert math_to_unicode(r"$\lVert x \rVert = \rho$") == "‖x‖ = ρ"
    assert math_to_unicode(r"$(1/N)\lVert Xw + b - y \rVert^2$") == "(1/N)‖Xw + b - y‖^2"
    assert math_to_unicode(r"$\|g\|^2$") == "‖g‖^2"  # pylatexenc alone drops \|
    assert math_to_unicode(r"$\lvert a \rvert$") == "|a|"
