"""A shared deck is a stranger's input: each of these is a `file:line` error from
`decks check`, found in bounded time, and never breaks the store or a later
command."""

from __future__ import annotations

import time

import pytest

from companion.decks import MAX_CLOZE_NUMBER, MAX_GAPS_PER_NOTE, parse_deck

HEAD = "---\nid: evil\nname: Evil\n---\n\n"


def errors_of(tmp_path, text: str | bytes, name: str = "evil.md") -> list[str]:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    started = time.perf_counter()
    deck, errors = parse_deck(path)
    assert time.perf_counter() - started < 5, "parsing took too long"
    return [str(e) for e in errors]


def test_a_cloze_number_too_large_for_sqlite_is_an_error(tmp_path):
    errors = errors_of(tmp_path, HEAD + "## big\nCloze: {{c99999999999999999999999::x}}\n")
    assert len(errors) == 1 and ":7: " in errors[0] and f"c1 to c{MAX_CLOZE_NUMBER}" in errors[0]


def test_too_many_gaps_in_one_note_is_an_error(tmp_path):
    gaps = "\n".join(f"{{{{c{i}::w{i}}}}}" for i in range(1, 3001))  # a gap a line
    errors = errors_of(tmp_path, HEAD + f"## many\nCloze: {gaps}\n")
    assert len(errors) == 1 and f"more than {MAX_GAPS_PER_NOTE} gaps" in errors[0]


@pytest.mark.parametrize("line", [
    "## " + " " * 100_000 + "x",  # a heading that made the old regex quadratic
    "Q: " + "a" * 100_000,
])
def test_an_over_long_line_is_an_error_found_quickly(tmp_path, line):
    errors = errors_of(tmp_path, HEAD + "## ok\nQ: q\nA: a\n" + line + "\n")
    assert [e.split(": ", 1)[1] for e in errors] == [
        f"line is {len(line):,} characters long; the most is 20,000"]
    assert ":9: " in errors[0]


def test_a_yaml_alias_bomb_in_the_front_matter_is_refused(tmp_path):
    bomb = ["---", "a: &a [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        bomb.append(f"{chr(97 + i)}: &{chr(97 + i)} [" + ", ".join(["*" + chr(96 + i)] * 9) + "]")
    bomb += ["id: evil", "name: Evil", "---", "## x", "Q: q", "A: a", ""]
    errors = errors_of(tmp_path, "\n".join(bomb))
    assert any("aliases" in e for e in errors), errors


def test_deeply_nested_front_matter_is_an_error(tmp_path):
    errors = errors_of(tmp_path, "---\nid: [" + "[" * 5000 + "]" * 5001 + "\n---\n")
    assert errors and all("Traceback" not in e for e in errors)
    assert any("front matter" in e for e in errors), errors


def test_a_byte_order_mark_is_not_missing_front_matter(tmp_path):
    errors = errors_of(tmp_path, b"\xef\xbb\xbf" + (HEAD + "## x\nQ: q\nA: a\n").encode())
    assert errors == []


def test_an_empty_front_matter_is_reported_not_ignored(tmp_path):
    errors = errors_of(tmp_path, "---\n---\n")
    assert any("no id key" in e for e in errors) and any("no name key" in e for e in errors)


def test_form_feed_and_line_separator_keep_line_numbers(tmp_path):
    text = HEAD + "## a\nQ: one\x0cstill one\u2028and still\nA: a\n## b\nQ: q\n"
    errors = errors_of(tmp_path, text)
    assert len(errors) == 1 and ":9: " in errors[0] and "no A:" in errors[0]


def test_a_list_is_not_a_deck_name(tmp_path):
    errors = errors_of(tmp_path, "---\nid: evil\nname: [a, b]\n---\n## x\nQ: q\nA: a\n")
    assert any(":3: deck name must be text" in e for e in errors), errors


def test_the_store_takes_what_decks_check_accepts(tmp_path):
    """A deck at the limits syncs, and every later read works."""
    from companion.deck_sync import sync_decks
    from companion.store import Store

    gaps = " ".join(f"{{{{c{i}::w{i}}}}}" for i in range(MAX_CLOZE_NUMBER - 99,
                                                         MAX_CLOZE_NUMBER + 1))
    folder = tmp_path / "decks"
    folder.mkdir()
    (folder / "edge.md").write_text(HEAD + f"## edge\nCloze: {gaps}\n", encoding="utf-8")
    assert errors_of(folder, (folder / "edge.md").read_text(), "edge.md") == []
    store = Store(tmp_path / "c.db")
    report = sync_decks(store, [folder])
    assert report.errors == [] and report.added == MAX_GAPS_PER_NOTE
    assert store.live_card_totals() == (MAX_GAPS_PER_NOTE, 0)


@pytest.mark.parametrize("kind", ["pipe", "device"])
def test_a_deck_file_that_is_a_pipe_or_a_device_is_an_error_not_a_wait(tmp_path, kind):
    """x.md as a named pipe in the decks folder (opening it waited for a
    writer: every start hung) or a link to /dev/zero (read for ever)."""
    import os

    path = tmp_path / "evil.md"
    if kind == "pipe":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    started = time.perf_counter()
    deck, errors = parse_deck(path)
    assert time.perf_counter() - started < 5
    assert deck is None
    assert [str(e) for e in errors] == [f"{path}:0: cannot read: not a regular file (a {kind})"]
