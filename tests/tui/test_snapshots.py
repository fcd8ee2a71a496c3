"""Every screen at 80×24 (and Browse wide), drawn from a frozen clock and a
fixed history. Update on purpose with `pytest tests/tui --snapshot-update`
and look at the SVGs in __snapshots__ before committing them."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import FakeRun, demo_lab, make_app, ready, settle, wait_for

pytest.importorskip("pytest_textual_snapshot")

# Shown on the Settings screen; never written by these tests.
SETTINGS = Path("/home/learner/.local/share/companion/settings.toml")


@pytest.fixture
def demo(monkeypatch):
    from labs import catalog

    monkeypatch.setitem(catalog.LABS, "demo", demo_lab())


def app_for(home, **kwargs):
    return make_app(home, settings_path=SETTINGS, lab_runner=FakeRun, **kwargs)


def after(*keys, then=None):
    async def run_before(pilot):
        await ready(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        if then is not None:
            await then(pilot)
        await settle(pilot)
        # Toasts come and go on their own timers: keep them out of the picture.
        pilot.app.clear_notifications()
        await settle(pilot)

    return run_before


def test_home(snap_compare, history_home):
    assert snap_compare(app_for(history_home), run_before=after())


def test_home_first_start(snap_compare, tui_home):
    assert snap_compare(app_for(tui_home), run_before=after())


def test_review_question(snap_compare, tui_home):
    assert snap_compare(app_for(tui_home), run_before=after("s"))


def test_review_answer(snap_compare, tui_home):
    assert snap_compare(app_for(tui_home), run_before=after("s", "space", "4", "space"))


def test_review_summary(snap_compare, tui_home):
    keys = ("down", "enter", "space", "3", "space", "1")
    assert snap_compare(app_for(tui_home), run_before=after(*keys))


def test_review_keys(snap_compare, tui_home):
    assert snap_compare(app_for(tui_home), run_before=after("s", "question_mark"))


def test_browse(snap_compare, history_home):
    async def pick(pilot):
        await pilot.press("down", "down", "down")
        await settle(pilot)
        await wait_for(pilot, lambda: pilot.app.screen.detail is not None
                       and pilot.app.screen.detail.card.id == "test/alpha")

    assert snap_compare(app_for(history_home), run_before=after("b", then=pick))


def test_browse_wide(snap_compare, history_home):
    async def pick(pilot):
        await pilot.press("down", "down", "down", "down")
        await settle(pilot)
        await wait_for(pilot, lambda: pilot.app.screen.detail is not None
                       and pilot.app.screen.detail.card.id == "test/beta")

    assert snap_compare(app_for(history_home), terminal_size=(150, 32),
                        run_before=after("b", then=pick))


def test_stats(snap_compare, history_home):
    assert snap_compare(app_for(history_home), terminal_size=(80, 40), run_before=after("t"))


def test_free_recall_results(snap_compare, tui_home):
    from .test_recall import keyed

    async def write_and_check(pilot):
        await pilot.press(*"mini-batches and the noise scale")
        await pilot.press("ctrl+s")

    assert snap_compare(app_for(keyed(tui_home)), run_before=after("r", then=write_and_check))


def test_settings_with_an_error(snap_compare, tui_home):
    async def bad(pilot):
        pilot.app.screen.query_one("#desired_retention").value = "0.5"
        await pilot.press("ctrl+s")

    assert snap_compare(app_for(tui_home), run_before=after("comma", then=bad))


def _with_exam():
    from companion.settings import Settings

    return Settings(timezone="UTC", theme="textual-dark",
                    presets={"exam": {"desired_retention": 0.95, "learning_steps": ["5m"]}},
                    deck_presets={"greek": "exam"})


def test_settings_presets_whole(snap_compare, tui_home):
    # the whole form at once: a named preset, the decks, the switches of every deck
    async def show_exam(pilot):
        pilot.app.screen.query_one("#preset").value = "exam"

    assert snap_compare(app_for(tui_home, settings=_with_exam()), terminal_size=(120, 66),
                        run_before=after("comma", then=show_exam))


def test_settings_new_preset_refused(snap_compare, tui_home):
    async def duplicate(pilot):
        await pilot.press("ctrl+n")
        await settle(pilot)
        await pilot.press(*"exam", "enter")

    assert snap_compare(app_for(tui_home, settings=_with_exam()),
                        run_before=after("comma", then=duplicate))


def test_lab_setup(snap_compare, tui_home, demo):
    async def open_lab(pilot):
        pilot.app.open_lab("demo", {"batch_sizes": "16,256,1024"}, card_id="test/beta")

    assert snap_compare(app_for(tui_home), run_before=after(then=open_lab))


def _run_then(tab, *keys):
    async def go(pilot):
        pilot.app.open_lab("demo")
        await settle(pilot)
        await pilot.press("ctrl+r")
        screen = pilot.app.screen
        await wait_for(pilot, lambda: not screen.running and screen.runs)
        screen.query_one("#lab-tabs").active = tab  # the keys for tabs are tested elsewhere
        screen.focus_tab_content(tab)
        await settle(pilot)
        for key in keys:
            await pilot.press(key)

    return go


def test_lab_charts(snap_compare, tui_home, demo):
    assert snap_compare(app_for(tui_home), run_before=after(then=_run_then("charts")))


def test_lab_trace(snap_compare, tui_home, demo):
    assert snap_compare(app_for(tui_home), run_before=after(then=_run_then("trace", "right")))


def test_lab_heatmaps(snap_compare, tui_home, demo):
    # laid out by labs.render as `companion lab run` prints it: the numbers on their colours
    assert snap_compare(app_for(tui_home), run_before=after(then=_run_then("heatmaps")))
