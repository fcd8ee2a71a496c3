"""One review log, three faces: `companion stats` (its table and its --json), the
app's Home and Stats screens, and the HTML report show the same figure for every
number they share, because they format one read model (companion.stats)."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from companion.scheduler import LearnerDay
from companion.settings import Settings, save
from companion.stats import PERIODS, percent, period_start

from ..test_html_report import Page
from .conftest import DAY, T0, make_app, ready, run, settle, text_of, wait_for


@pytest.fixture
def agreed_home(history_home, monkeypatch):
    """The forty-day history, the CLI's clock and settings set to the app's."""
    save(Settings(timezone="UTC", theme="textual-dark"), history_home / "settings.toml")
    monkeypatch.setattr("companion.stats.now_ms", lambda: T0)
    return history_home


def cli(args, capsys) -> str:
    from companion.cli import main

    capsys.readouterr()
    assert main(args) == 0
    return capsys.readouterr().out


def line_of(text: str, label: str) -> str:
    return next(line for line in text.splitlines() if re.search(rf"\b{label}\b", line))


@run
async def test_cli_app_and_report_show_the_same_numbers(agreed_home, capsys, tmp_path):
    data = json.loads(cli(["stats", "--json"], capsys))
    table = cli(["stats"], capsys)
    cli(["export", "--format", "html", "-o", str(tmp_path / "report.html")], capsys)
    page = Page((tmp_path / "report.html").read_text()).shown

    from companion.deck_sync import deck_dirs

    app = make_app(agreed_home, deck_dirs=deck_dirs())  # the decks the CLI sees
    async with app.run_test(size=(100, 40)) as pilot:
        await ready(pilot)
        home = text_of(app.screen.query_one("#home-summary"))
        await pilot.press("t")
        await settle(pilot)
        screen = app.screen
        await wait_for(pilot, lambda: screen.query_one("#forecast").values != [])
        retention = text_of(screen.query_one("#stats-retention"), width=120)
        groups = text_of(screen.query_one("#stats-groups"), width=120)
        forecast = screen.query_one("#forecast").values

    # The history makes every period different, so a face that counted one
    # more or one less day would show another figure.
    periods = data["retention"]
    assert [p["label"] for p in periods] == [label for label, _ in PERIODS]
    totals = [p["all"]["total"] for p in periods]
    assert totals == sorted(totals) and len(set(totals[1:4])) == 3 and totals[4] > 0
    for period in periods:
        every = period["all"]
        shown = "—" if every["rate"] is None else f"{every['rate']:.1%}"
        assert f"{shown} " in line_of(table, period["label"]) + " "
        assert line_of(table, period["label"]).rstrip("│ ").endswith(str(every["total"]))
        assert f"{every['passed']} / {every['total']}" in line_of(retention, period["label"])
        assert shown in line_of(retention, period["label"])
        assert f"{period['label']}{shown}{every['passed']}{every['total']}" in page

    assert forecast == data["forecast"]
    assert (f"Today {data['forecast'][0]} · tomorrow {data['forecast'][1]} · next 7 days "
            f"{sum(data['forecast'][:7])} · next 30 days {sum(data['forecast'])}.") in page

    assert f"streak: {data['streak']} day(s)" in table
    assert f"streak {data['streak']} days" in home
    assert f"{data['streak']}day streak" in page

    assert f"{data['studied']} of {data['cards']} cards studied" in retention
    assert f"{data['reviews']} answers in all" in retention
    assert f"{data['cards']} cards in" in home
    assert (f"{data['cards']}cards{data['studied']}studied{data['reviews']}answers"
            in page.replace("\n", ""))

    for deck in data["decks"]:
        rate = percent(deck["retention"]["rate"])
        row = line_of(groups, re.escape(deck["name"]))
        assert re.search(rf"{deck['cards']}\s+{deck['answers']}\s+{re.escape(rate)}\s+"
                         rf"{deck['retention']['total']}", row), row
        assert (f"{deck['name']}{deck['cards']}{deck['studied']}{deck['answers']}"
                f"{deck['lapses']}{rate}{deck['retention']['total']}") in page


def test_last_seven_days_are_today_and_the_six_before():
    """An answer exactly seven learner's days old is outside "Last 7 days"."""
    day = LearnerDay(Settings(timezone="UTC"))
    today = day.day_of(T0)
    start = period_start(day, today, 7)
    assert start == day.start_of(today - timedelta(days=6))
    assert day.day_of(T0 - 7 * DAY) < day.day_of(start) == today - timedelta(days=6)
    assert period_start(day, today, 1) == day.start_of(today)
    assert period_start(day, today, None) is None
