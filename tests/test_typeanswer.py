"""Typed answers compared as Anki compares them: the cases of Anki's own tests
(rslib/src/typeanswer.rs), and what a learner notices: an exact answer, a typo,
a missing or an extra character, and what counts as the same text."""

from __future__ import annotations

import io

from rich.console import Console

from companion.typeanswer import (
    BAD,
    GOOD,
    MISSING,
    Piece,
    compare_answer,
    comparison_lines,
    comparison_text,
    expected_text,
)


def good(text: str) -> Piece:
    return Piece(text, GOOD)


def bad(text: str) -> Piece:
    return Piece(text, BAD)


def missing(text: str) -> Piece:
    return Piece(text, MISSING)


# -- Anki's tests, typeanswer.rs ----------------------------------------------


def test_anki_tokens():
    c = compare_answer("¿Y ahora qué vamos a hacer?", "y ahora qe vamosa hacer")
    assert c.typed_pieces == (bad("y"), good(" ahora q"), bad("e"), good(" vamos"),
                              missing("-"), good("a hacer"), missing("-"))
    assert c.expected_pieces == (missing("¿Y"), good(" ahora q"), missing("ué"), good(" vamos"),
                                 missing(" "), good("a hacer"), missing("?"))
    assert c.proposed_rating == 1


def test_anki_html_and_media_becomes_markdown_marks():
    # Anki strips HTML and [sound:] tags from the expected side; a deck's
    # Markdown loses its marks the same way, and &nbsp; is a space.
    assert expected_text("<b>1</b> &nbsp;2") == "1 2"
    assert compare_answer("**1** &nbsp;2", "1  2").expected_pieces == (good("1 2"),)


def test_anki_missed_chars_only_shown_in_typed_when_after_good():
    assert compare_answer("1", "23").typed_pieces == (bad("23"),)
    assert compare_answer("12", "1").typed_pieces == (good("1"), missing("-"))


def test_anki_missed_chars_counted_correctly():
    assert compare_answer("нос", "нс").typed_pieces == (good("н"), missing("-"), good("с"))


def test_anki_handles_certain_unicode_as_expected():
    assert compare_answer("쓰다듬다", "스다뜸다").typed_pieces == (
        bad("스"), good("다"), bad("뜸"), good("다"))


def test_anki_does_not_fail_with_certain_unicode():
    c = compare_answer("Сущность должна быть ответственна только за одно дело",
                       "Single responsibility Сущность выполняет только одну задачу."
                       "Повод для изменения сущности только один.")
    assert not c.exact and c.typed_pieces and c.expected_pieces


def test_anki_tags_removed_and_correct_input_collapsed():
    assert expected_text("<div>123</div>") == "123"
    c = compare_answer("<div>123</div>", "123")
    assert c.exact and c.typed_pieces == (good("123"),) and c.proposed_rating == 3
    assert comparison_lines(c) == ["You typed: 123  (exact)"]


def test_anki_incorrect_input_is_not_collapsed():
    c = compare_answer("123", "1123")
    assert c.typed_pieces == (bad("1"), good("123"))
    assert c.expected_pieces == (good("123"),)


def test_anki_empty_input_shows_the_answer():
    c = compare_answer("<div>123</div>", "")
    assert c.typed_pieces == () and c.expected_pieces == (missing("123"),)
    assert comparison_lines(c) == ["Nothing typed. Answer: 123"]
    assert c.proposed_rating == 1


def test_anki_correct_input_keeps_its_brackets():
    # Anki escapes it for HTML; here it is code, kept as typed.
    c = compare_answer("`source <dir>/bin/activate`", "source <dir>/bin/activate")
    assert c.exact


# -- what a learner notices ---------------------------------------------------


def test_a_typo_a_missing_and_an_extra_character():
    typo = compare_answer("gradient", "gradiant")
    assert typo.typed_pieces == (good("gradi"), bad("a"), good("nt"))
    assert typo.expected_pieces == (good("gradi"), missing("e"), good("nt"))
    assert compare_answer("softmax", "sofmax").typed_pieces == (
        good("sof"), missing("-"), good("max"))
    assert compare_answer("softmax", "softmaxx").typed_pieces == (good("softmax"), bad("x"))
    assert all(not c.exact and c.proposed_rating == 1 for c in (typo,))


def test_case_counts_as_in_anki_spaces_and_unicode_forms_do_not():
    assert not compare_answer("Paris", "paris").exact
    assert compare_answer("Paris", "paris").typed_pieces == (bad("p"), good("aris"))
    # Line breaks in the answer, runs of spaces and spaces around: one space.
    assert compare_answer("layer\nnormalisation", "  layer   normalisation ").exact
    # é typed as e + combining acute (NFD) is é (NFC).
    assert compare_answer("café", "cafe\u0301").exact
    # ...but an accent left out is a wrong character, as in Anki.
    assert not compare_answer("café", "cafe").exact


def test_the_expected_side_reads_as_the_card_shows_it():
    assert expected_text("**Paris**, *France*") == "Paris, France"
    assert expected_text("`x_1` and snake_case and 2*3*4") == "x_1 and snake_case and 2*3*4"
    assert expected_text("[the paper](https://arxiv.org/abs/1706.03762)") == "the paper"
    assert expected_text("$\\sqrt{d_k}$") == "√(d_k)"
    assert expected_text("a\\*b ![figure](f.png)") == "a*b"
    assert compare_answer("$\\sqrt{d_k}$", "√(d_k)").exact


def test_pipe_lines_mark_differences_with_brackets():
    c = compare_answer("¿Y ahora qué vamos a hacer?", "y ahora qe vamosa hacer")
    assert comparison_lines(c) == [
        "You typed: [y] ahora q[e] vamos[-]a hacer[-]",
        "Answer:    [¿Y] ahora q[ué] vamos[ ]a hacer[?]",
        "[ ] marks what differs; [-] a character missing",
    ]


def test_terminal_marks_read_without_colour():
    c = compare_answer("gradient", "gradiant")
    text = comparison_text(c)
    out = io.StringIO()
    Console(file=out, force_terminal=True, no_color=True, width=60).print(text)
    printed = out.getvalue()
    assert "\x1b[9m" in printed or ";9m" in printed  # struck through: typed wrong
    assert "\x1b[4m" in printed or ";4m" in printed  # underlined: missed
    assert "38;" not in printed and "\x1b[3" not in printed.replace("\x1b[39m", "")
    assert text.plain.splitlines()[:2] == ["You typed: gradiant", "Answer:    gradient"]


def test_a_missed_combining_mark_is_shown_apart():
    # Anki's default (combining) comparison: Hebrew points left out are missing
    # characters, and each missed mark is drawn after a no-break space, so it
    # shows on its own rather than on the letter before it (isolate_leading_mark).
    c = compare_answer("שִׁנּוּן", "שנון")
    assert not c.exact
    assert c.typed_pieces == (good("ש"), missing("--"), good("נ"), missing("-"), good("ו"),
                              missing("-"), good("ן"))
    assert c.expected_pieces[1] == missing("\u05b4\u05c1")
    assert "ש\u00a0\u05b4\u05c1נ" in comparison_text(c).plain
