"""Property-based: whatever a deck, a settings file or an import holds, the answer
is a clear `file:line: message` (or the setting's name), never a traceback."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from companion.decks import parse_deck
from companion.interop import ImportError_, import_file
from companion.settings import Settings, SettingsError, load

FIELDS = ["Q: ", "A: ", "Cloze: ", "Predict: ", "Reveal: ", "Choices: ", "Lab: ", "Tags: ",
          "Source: ", "Extra: ", "## ", "---", "```", "{{c1::", "}}", "::", "$", "\\frac{", "}",
          "batch-size", "lr=", "x", "card-1", "\n", " ", "é", "\t"]
deck_text = st.lists(st.one_of(st.sampled_from(FIELDS), st.text(max_size=8)), max_size=60).map(
    "".join)
FUZZ = hsettings(max_examples=150, deadline=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(body=deck_text, with_header=st.booleans())
def test_any_deck_text_parses_or_says_where(tmp_path, body, with_header):
    path = tmp_path / "fuzz.md"
    path.write_text(("---\nid: fuzz\nname: Fuzz\n---\n" if with_header else "") + body,
                    encoding="utf-8")
    deck, errors = parse_deck(path)
    lines = max(1, len(path.read_text(encoding="utf-8").splitlines()))
    for error in errors:
        assert error.path == path and 1 <= error.line <= lines, str(error)
        assert re.match(rf"^{re.escape(str(path))}:\d+: \S", str(error))
    if deck is not None:
        for card in deck.cards:
            assert card.id.startswith("fuzz/") and card.front.strip()


@FUZZ
@given(text=st.text(max_size=200))
def test_any_settings_file_loads_or_names_the_problem(tmp_path, text):
    path = tmp_path / "settings.toml"
    path.write_text(text, encoding="utf-8")
    try:
        loaded = load(path)
    except SettingsError as exc:
        assert str(exc).startswith(str(path))
    else:
        loaded.validate()


csv_cell = st.one_of(
    st.integers(-5, 2_000_000_000_000).map(str),
    st.sampled_from(["", "1", "4", "5", "x y", "2026-01-01T00:00:00Z", "nan", "1e3", '"', ","]),
    st.text(max_size=5))


@FUZZ
@given(header=st.sampled_from(["card_id,review_time,review_rating,review_duration",
                               "card_id,review_time", "a,b,c", ""]),
       rows=st.lists(st.lists(csv_cell, min_size=1, max_size=5), max_size=6))
def test_any_csv_imports_or_says_where(tmp_path, store, header, rows):
    path = tmp_path / "log.csv"
    path.write_text(header + "\n" + "\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    before = store.conn.execute("SELECT count(*) FROM reviews").fetchone()[0]
    try:
        import_file(store, Settings(), path)
    except ImportError_ as exc:
        assert re.match(rf"^{re.escape(str(path))}(:\d+)?: \S", str(exc)), str(exc)
        assert store.conn.execute("SELECT count(*) FROM reviews").fetchone()[0] == before


@FUZZ
@given(text=st.one_of(st.text(max_size=300), st.sampled_from([
    '{"format": "companion-export", "version": 1}',
    '{"format": "companion-export", "version": 1, "decks": [], "cards": [], "reviews": [{}], '
    '"lab_runs": []}',
    '{"format": "companion-export", "version": "1"}', "[]", "null"])))
def test_any_json_imports_or_says_where(tmp_path, store, text):
    path = tmp_path / "export.json"
    path.write_text(text, encoding="utf-8")
    try:
        import_file(store, Settings(), path)
    except ImportError_ as exc:
        assert str(exc).startswith(str(path)), str(exc)
