"""The review screen: a whole session by keys, undo, suspend, bury, the lab
from a card and back, and every answer stored before the next card shows."""

from __future__ import annotations

from textual.widgets import Button

from companion.tui.screens.home import HomeScreen
from companion.tui.screens.review import ReviewScreen

from .conftest import db_reviews, make_app, ready, run, settle, text_of


async def open_review(pilot, keys=("s",)):
    await ready(pilot)
    await pilot.press(*keys)
    await settle(pilot)
    assert isinstance(pilot.app.screen, ReviewScreen)
    return pilot.app.screen


@run
async def test_a_whole_session_by_keys_stores_each_answer_before_the_next_card(tui_home):
    app = make_app(tui_home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_review(pilot)
        seen = []
        answered = 0
        while screen.card is not None and answered < 20:
            card = screen.card
            seen.append(card.id)
            assert not screen.revealed
            await pilot.press("space")
            assert screen.revealed
            # The grade buttons show the interval each grade would give.
            label = str(app.screen.query_one("#grade-3", Button).label)
            assert label.startswith("3 Good · ") and label != "3 Good · "
            if card.id == "test/delta":  # math is shown as Unicode
                await settle(pilot)
                back = screen.query_one("#back").source
                assert "Δ" in back and "$" not in back
            await pilot.press("4")  # Easy: out of learning, so the queue shrinks
            answered += 1
            # Stored (committed) before the next card is on screen.
            assert len(db_reviews(tui_home)) == answered
            assert db_reviews(tui_home)[-1] == (card.id, 4)
        await settle(pilot)
        assert screen.finished and screen.card is None
        summary = str(screen.query_one("#summary-text").render())
        assert f"{answered} cards answered" in summary
        # Cloze siblings are buried, so gamma.c2 waits for tomorrow.
        assert "test/alpha" in seen and "test/gamma.c1" in seen and "test/gamma.c2" not in seen
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        assert app.screen.data.answered_today == answered


@run
async def test_grades_are_ignored_before_the_answer_is_shown(tui_home):
    app = make_app(tui_home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_review(pilot)
        first = screen.card.id
        await pilot.press("3")
        assert screen.card.id == first and db_reviews(tui_home) == []
        await pilot.press("enter", "enter")  # reveal, then Enter means Good
        assert db_reviews(tui_home) == [(first, 3)]


@run
async def test_undo_takes_back_the_answer_and_shows_the_card_again(tui_home):
    app = make_app(tui_home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_review(pilot)
        first = screen.card.id
        assert screen.card.lab == ""
        await pilot.press("l")  # no lab on this card: nothing opens
        assert app.screen is screen
        await pilot.press("space", "1")
        assert screen.card.id != first and len(db_reviews(tui_home)) == 1
        await pilot.press("u")
        await settle(pilot)
        assert db_reviews(tui_home) == []
        assert screen.card.id == first and not screen.revealed
        assert screen.session.card(first).memory.reps == 0
        await pilot.press("u")  # nothing left to undo: nothing changes
        assert screen.card.id == first


@run
async def test_suspend_and_bury_move_on_and_undo_brings_the_card_back(tui_home):
    app = make_app(tui_home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_review(pilot)
        first = screen.card.id
        await pilot.press("s")
        assert screen.card.id != first and screen.session.card(first).suspended
        second = screen.card.id
        await pilot.press("b")
        assert screen.card.id not in (first, second)
        assert screen.session.store.conn.execute(
            "SELECT buried_until FROM cards WHERE id = ?", (second,)).fetchone()[0] is not None
        await pilot.press("u")
        assert screen.card.id == second
        assert screen.session.store.conn.execute(
            "SELECT buried_until FROM cards WHERE id = ?", (second,)).fetchone()[0] is None
        await pilot.press("u")
        assert screen.card.id == first and not screen.session.card(first).suspended


@run
async def test_escape_goes_home_with_counts_updated(tui_home):
    app = make_app(tui_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        before = app.screen.data.total.new
        await pilot.press("s", "space", "3", "escape")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        assert app.screen.data.total.new == before - 1
        assert app.screen.data.total.learning == 1


@run
async def test_studying_one_deck_shows_only_its_cards(tui_home):
    app = make_app(tui_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        # Rows: All decks, Greek, Test deck (by name).
        await pilot.press("down", "enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ReviewScreen) and screen.deck_id == "greek"
        ids = []
        while screen.card is not None:
            ids.append(screen.card.id)
            await pilot.press("space", "4")
        assert ids == ["greek/epsilon", "greek/zeta"]


@run
async def test_open_the_cards_lab_and_come_back_to_the_same_card(tui_home):
    from companion.tui.screens.lab import LabScreen

    from .conftest import FakeRun

    app = make_app(tui_home, lab_runner=FakeRun)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_review(pilot, keys=("down", "down", "enter"))  # Test deck
        await pilot.press("space", "4")  # alpha
        assert screen.card.id == "test/beta" and screen.card.lab == "batch-size"
        await pilot.press("space", "l")
        await settle(pilot)
        lab = app.screen
        assert isinstance(lab, LabScreen) and lab.card_id == "test/beta"
        # the title names the card and how to go back to it, whole at 80 columns
        title = lab.query_one("#lab-title")
        assert "from test/beta · esc returns to it" in text_of(title)
        assert title.size.height * title.size.width >= len(text_of(title))
        assert lab.query_one("#param-batch_sizes").value == "16,256"  # the card's parameters
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen and screen.card.id == "test/beta" and screen.revealed
        await pilot.press("3")
        assert db_reviews(tui_home)[-1] == ("test/beta", 3)


@run
async def test_a_card_without_a_lab_says_so(tui_home):
    app = make_app(tui_home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_review(pilot)
        assert screen.card.lab == ""
        await pilot.press("l")
        assert app.screen is screen
        assert any(n.message == "This card has no lab" for n in app.said)


@run
async def test_a_failed_save_says_so_ends_the_session_and_keeps_earlier_answers(tui_home):
    from companion.store import StoreError

    app = make_app(tui_home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_review(pilot)
        await pilot.press("space", "4")
        assert len(db_reviews(tui_home)) == 1

        def disk_full(*args, **kwargs):
            raise StoreError("companion.db: could not save: database or disk is full")

        screen.session.answer = disk_full
        await pilot.press("space", "3")
        await settle(pilot)
        assert not isinstance(app.screen, ReviewScreen)  # the session stopped
        assert any("Could not save this answer" in str(n.message)
                   for n in app.said)
        assert len(db_reviews(tui_home)) == 1


@run
async def test_the_review_footer_shows_every_key_whole_in_80_columns(tui_home):
    """On both sides of a card every key of the footer, esc Home the last,
    ends before the command palette's key (spaced as on the other screens,
    the question side's ran under it: "esc Ho")."""
    from textual.widgets._footer import FooterKey

    app = make_app(tui_home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_review(pilot)
        for side in ("question", "answer"):
            await settle(pilot)
            keys = [k for k in screen.query(FooterKey) if not k.has_class("-command-palette")]
            palette = screen.query_one(FooterKey.__name__ + ".-command-palette")
            assert "escape" in [k.key for k in keys], side
            assert max(k.region.right for k in keys) <= palette.region.x, side
            await pilot.press("space")
