"""An Anki field's HTML as companion's Markdown (no Anki needed)."""

from __future__ import annotations

from companion.interop.anki_text import html_to_markdown as md


def test_anki_fields_become_markdown():
    assert md("<b>bold</b> and <i>it</i>") == "**bold** and *it*"
    assert md("a<br>b") == "a\\\nb"
    assert md("<div>a</div><div>b</div>") == "a\\\nb"
    assert md("a<br><br>b") == "a\n\nb"
    assert md("<ol><li>x</li><li>y</li></ol>") == "1. x\n2. y"
    assert md("&lt;tag&gt; &amp; &eacute;&nbsp;!") == "\\<tag> & é !"
    assert md(r"\(x^2 &lt; 1\) and \[\sum_i x_i\]") == r"$x^2 < 1$ and $$\sum_i x_i$$"
    assert md("costs $5, *not* bold") == "costs \\$5, \\*not\\* bold"
    assert md("Q: looks like a field<br>## and a heading") == (
        "Q\\: looks like a field\\\n\\## and a heading")
    assert md("<script>alert(1)</script>ok<style>p{}</style>") == "ok"
    assert md("{{c1::answer::hint}} <b>{{c2::two}}</b>") == "{{c1::answer::hint}} **{{c2::two}}**"
    assert md('<img src="a b.png">', lambda src: f"../media/{src}") == "![](../media/a%20b.png)"


def test_a_line_like_any_deck_field_reads_as_text():
    """Type: (typed answers) too: a field's `Type: yes` line is no typed card."""
    assert md("What is 2+2?<br>Type: yes") == "What is 2+2?\\\nType\\: yes"
    for name in ("Q", "A", "Cloze", "Predict", "Choices", "Reveal", "Type", "Extra",
                 "Source", "Tags", "Lab", "Diagram", "Labels"):
        assert md(f"x<br>{name}: y") == f"x\\\n{name}\\: y"


def test_a_pre_reads_as_a_fenced_block_its_text_as_it_is():
    """A drawing or code in <pre> keeps its columns: no escapes, no markup,
    no line read as a deck field; a fence longer than any backtick run in it."""
    field = ('See:<pre><code class="language-diagram">  ┌─┐\n  │[▒]│ # x\nQ: y\n'
             '  *a* ```b``` &lt;c&gt;<br>- d</code></pre>after')
    assert md(field) == ("See:\n\n````\n  ┌─┐\n  │[▒]│ # x\nQ: y\n  *a* ```b``` <c>\n- d\n````"
                         "\n\nafter")
    assert md("<pre>  </pre>x") == "x"
