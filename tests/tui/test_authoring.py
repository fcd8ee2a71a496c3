"""Adding and editing cards in the app: `a` writes a new card in the editor,
`e` edits the card under review and shows it edited, and a deck file changed
while the app runs is loaded without a restart."""

from __future__ import annotations

from companion.tui.screens.review import ReviewScreen

from ..conftest import write_deck
from ..test_authoring import editor
from .conftest import SECOND_DECK, make_app, ready, run, settle, text_of, wait_for


@run
async def test_a_on_home_adds_a_card_to_the_highlighted_deck(tui_home, monkeypatch, tmp_path):
    for name, value in editor(tmp_path, """
        text = text.replace("Q:\\nA:", "Q: What is eta?\\nA: The seventh letter.")
    """).items():
        monkeypatch.setenv(name, value)
    app = make_app(tui_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        before = {d.id: d.counts.new for d in app.screen.data.decks}
        table = app.screen.query_one("#decks")
        greek_row = table.get_row_index("greek")
        table.move_cursor(row=greek_row)
        await pilot.press("a")
        await settle(pilot)
        assert "Q: What is eta?" in (tui_home / "decks" / "greek.md").read_text()
        await wait_for(pilot, lambda: {d.id: d.counts.new for d in app.screen.data.decks}
                       .get("greek") == before["greek"] + 1)
        assert any(n.message.startswith("Added greek/what-is-eta-") for n in app.said)


@run
async def test_e_in_review_edits_the_card_and_shows_it_edited(tui_home, monkeypatch, tmp_path):
    for name, value in editor(tmp_path, """
        lines = text.split("\\n")
        at = next(i for i in range(line - 1, len(lines)) if lines[i].startswith("Q:"))
        lines[at] = lines[at] + " (edited)"
        text = "\\n".join(lines)
    """).items():
        monkeypatch.setenv(name, value)
    app = make_app(tui_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("s")  # study all
        await settle(pilot)
        review = app.screen
        assert isinstance(review, ReviewScreen) and review.card.id == "greek/epsilon"
        await pilot.press("e")
        await settle(pilot)
        assert review.card.id == "greek/epsilon"
        assert "What is epsilon? (edited)" in text_of(review.query_one("#front"))
        assert "Q: What is epsilon? (edited)" in (tui_home / "decks" / "greek.md").read_text()


@run
async def test_an_edit_that_breaks_the_card_says_where(tui_home, monkeypatch, tmp_path):
    for name, value in editor(tmp_path, """
        lines = text.split("\\n")
        at = next(i for i in range(line - 1, len(lines)) if lines[i].startswith("A:"))
        lines[at] = "A:"
        text = "\\n".join(lines)
    """).items():
        monkeypatch.setenv(name, value)
    app = make_app(tui_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("s")
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        said = [n for n in app.said if n.title == "The edited card doesn't read"]
        assert said and f"{tui_home / 'decks' / 'greek.md'}:" in said[0].message
        assert "empty A: field" in said[0].message
        (retired,) = app.store.conn.execute(
            "SELECT retired FROM cards WHERE id = 'greek/epsilon'").fetchone()
        assert retired == 0  # its history waits for the fix


@run
async def test_e_that_changes_nothing_says_so_and_leaves_no_copy(tui_home, monkeypatch,
                                                                 tmp_path):
    """An edit left as it was is not "Saved": a shipped card's note copied
    into the edits file for it is taken out again."""
    for name, value in editor(tmp_path, "pass").items():
        monkeypatch.setenv(name, value)
    shipped, mine = tmp_path / "shipped", tmp_path / "mine"
    write_deck(shipped, "ship.md", SECOND_DECK, deck_id="ship", deck_name="Shipped")
    mine.mkdir()
    app = make_app(tui_home, deck_dirs=[shipped, mine])
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("s")
        await settle(pilot)
        review = app.screen
        assert isinstance(review, ReviewScreen) and review.card.id == "ship/epsilon"
        await pilot.press("e")
        await settle(pilot)
        messages = [n.message for n in app.said]
        assert "Nothing changed: ship/epsilon is as it was" in messages
        assert not any(m.startswith("Saved") for m in messages)
        assert list(mine.iterdir()) == []


@run
async def test_a_deck_file_changed_while_the_app_runs_is_loaded(tui_home):
    app = make_app(tui_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        path = tui_home / "decks" / "greek.md"
        path.write_text(path.read_text() + "\n## eta\nQ: What is eta?\nA: The seventh.\n")
        app.watch_decks()  # what the timer does every few seconds
        await settle(pilot)
        assert app.store.card_row("greek/eta") is not None
        await wait_for(pilot, lambda: any("1 card(s) added" in n.message for n in app.said))
        app.watch_decks()  # nothing changed since: nothing said again
        await settle(pilot)
        assert sum("card(s) added" in n.message for n in app.said) == 1


async def palette(pilot, command: str) -> None:
    await pilot.press("ctrl+p")
    await settle(pilot)
    await pilot.press(*command)
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)


@run
async def test_new_deck_from_the_palette_checks_then_creates(tui_home):
    from textual.widgets import Input, Static

    from companion.tui.screens.ask import AskScreen

    app = make_app(tui_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await palette(pilot, "New deck")
        dialog = app.screen
        assert isinstance(dialog, AskScreen)
        box = dialog.query_one("#ask-box").region  # in the middle, as the other dialogs
        assert abs(box.x - (80 - box.right)) <= 1 and abs(box.y - (24 - box.bottom)) <= 1
        dialog.query_one("#ask-id", Input).value = "Bad Id"
        dialog.query_one("#ask-name", Input).value = "Rays"
        dialog.action_ok()
        await settle(pilot)
        assert app.screen is dialog  # refused, in one line under the fields
        assert "a deck id is lowercase" in text_of(dialog.query_one("#ask-error", Static))
        dialog.query_one("#ask-id", Input).value = "rays"
        dialog.action_ok()
        await settle(pilot)
        assert not isinstance(app.screen, AskScreen)
        assert (tui_home / "decks" / "rays.md").read_text().startswith("---\nid: rays\n")
        await wait_for(pilot, lambda: any(d.id == "rays" for d in app.screen.data.decks))


@run
async def test_import_from_the_palette_runs_the_import_and_says_what_came(tui_home, tmp_path):
    from textual.widgets import Input, Static

    log = tmp_path / "revlog.csv"
    log.write_text("card_id,review_time,review_rating,review_duration\n"
                   "1001,1772600000000,3,4000\n1001,1772800000000,3,3000\n")
    app = make_app(tui_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await palette(pilot, "Import a file")
        dialog = app.screen
        dialog.query_one("#ask-path", Input).value = str(tmp_path / "nope.csv")
        dialog.action_ok()
        await settle(pilot)
        assert "no such file" in text_of(dialog.query_one("#ask-error", Static))
        dialog.query_one("#ask-path", Input).value = str(log)
        dialog.action_ok()
        await settle(pilot)
        await wait_for(pilot, lambda: any(n.message.startswith("Imported revlog.csv")
                                          for n in app.said))
        assert app.store.conn.execute("SELECT count(*) FROM reviews").fetchone()[0] == 2


@run
async def test_sync_now_without_a_folder_says_how_to_set_one(tui_home):
    app = make_app(tui_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await palette(pilot, "Sync now")
        assert any("set sync_dir" in n.message for n in app.said)
