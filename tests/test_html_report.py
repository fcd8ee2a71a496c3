"""The HTML report: self-contained, the same numbers as `progress`, user text escaped."""

from __future__ import annotations

import html
import json
import math
import re
import subprocess
import sys
import uuid
from datetime import datetime, timezone
from html.parser import HTMLParser

import pytest
from hypothesis import given
from hypothesis import strategies as st

from companion import progress
from companion.deck_sync import sync_decks
from companion.interop.html_report import write_html
from companion.replay import rebuild_all
from companion.scheduler import LearnerDay
from companion.settings import Settings

from .conftest import write_deck

DAY = 86_400_000
MINUTE = 60_000
T0 = int(datetime(2025, 3, 3, 15, tzinfo=timezone.utc).timestamp() * 1000)
NOW = T0 + 20 * DAY

HOSTILE_DECK = """
## evil
Q: <script>alert(1)</script> & is $x<y$ true?
A: It </td></tr></table> stays <b>text</b>.
Tags: x<y&z plain

## calm
Q: What is calm?
A: Quiet.
Tags: plain

## gaps
Cloze: {{c1::One}} and {{c2::two}}.
"""


class Page(HTMLParser):
    """What a browser would see: the tags it opens and the text it shows."""

    def __init__(self, text: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    @property
    def shown(self) -> str:
        return "".join(self.text)


def answer(store, card_id: str, log: list[tuple[int, int]]) -> None:
    with store.transaction() as conn:
        conn.executemany(
            "INSERT INTO reviews(id, card_id, reviewed_at, rating, duration_ms) "
            "VALUES (?, ?, ?, ?, 5000)",
            [(uuid.uuid4().hex, card_id, at, rating) for at, rating in log])


@pytest.fixture
def settings() -> Settings:
    return Settings(timezone="UTC")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """A deck full of markup, a card that lapsed, and two lab runs."""
    from companion.store import Store

    tmp_path = tmp_path_factory.mktemp("hostile")
    settings = Settings(timezone="UTC")
    store = Store(tmp_path / "companion.db")
    folder = tmp_path / "decks"
    write_deck(folder, "evil.md", HOSTILE_DECK, deck_id="evil",
               deck_name="<b>Bold</b> & <i>deck</i>")
    report = sync_decks(store, [folder])
    assert not report.errors
    learn = [(T0, 3), (T0 + 10 * MINUTE, 3)]  # learned today, in review from tomorrow
    answer(store, "evil/evil", learn + [(T0 + 3 * DAY, 1), (T0 + 3 * DAY + 10 * MINUTE, 3),
                                        (T0 + 5 * DAY, 3)])
    answer(store, "evil/calm", [(t + MINUTE, r) for t, r in learn] + [(T0 + 4 * DAY, 3)])
    answer(store, "evil/gaps.c1", [(t + 2 * MINUTE, r) for t, r in learn]
           + [(T0 + 4 * DAY, 3), (T0 + 9 * DAY, 2)])
    rebuild_all(store, settings)
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO lab_runs(id, lab, params, device, seed, started_at, ended_at, status, "
            "summary, prediction) VALUES (1, 'batch-size', ?, 'cpu', 0, ?, ?, 'ok', ?, ?)",
            (json.dumps({"batch_sizes": "16,256"}), T0, T0 + 12_000,
             json.dumps({"final_test_accuracy": {"16": 0.951, "256": 0.9},
                         "note": "<script>steal()</script>"}),
             "<img src=x onerror=alert(2)>"))
        conn.executemany(
            "INSERT INTO lab_metrics(run_id, chart, series, x, y) VALUES (1, ?, ?, ?, ?)",
            [("test accuracy", f"bs={b}", x, x / (10 + x)) for b in (16, 256) for x in range(10)])
        conn.execute(
            "INSERT INTO lab_runs(id, lab, params, device, seed, started_at, ended_at, status, "
            "error) VALUES (2, 'input-gradient', '{}', 'cpu', 0, ?, ?, 'exception', ?)",
            (T0 + DAY, T0 + DAY + 500, "ValueError: <bad> input"))
    path = tmp_path / "report.html"
    write_html(store, settings, path, now=NOW)
    yield store, path.read_text(encoding="utf-8")
    store.close()


def build(store, settings, tmp_path) -> str:
    path = tmp_path / "report.html"
    write_html(store, settings, path, now=NOW)
    return path.read_text(encoding="utf-8")


def test_script_in_a_card_stays_text(hostile):
    _, page_text = hostile
    page = Page(page_text)
    opened = {tag for tag, _ in page.tags}
    assert "script" not in opened and "b" not in opened and "i" not in opened
    assert "<script" not in page_text.lower()
    # The browser shows each piece of markup as the characters the learner wrote.
    shown = page.shown
    assert "<script>alert(1)</script> & is x<y true?" in shown  # math read as Unicode
    assert "<b>Bold</b> & <i>deck</i>" in shown
    assert "x<y&z" in shown
    assert "<script>steal()</script>" in shown
    assert "your prediction: <img src=x onerror=alert(2)>" in shown
    assert "ValueError: <bad> input" in shown
    # ...and no attribute anywhere came from user text.
    assert not [attrs for _, attrs in page.tags if "onerror" in attrs]


def test_the_report_is_one_self_contained_file(hostile):
    _, page_text = hostile
    page = Page(page_text)
    charts = [attrs["aria-label"] for tag, attrs in page.tags if tag == "svg"]
    # retention, forecast, heatmap, and the batch-size run's one chart
    assert charts == ["True retention per week, last 26 weeks",
                      "Due in the next 30 days (today includes overdue)",
                      "Answers per day, 18 Mar 2024 to 23 Mar 2025", "test accuracy"]
    assert not [t for t, a in page.tags if t in ("img", "link", "script", "iframe", "object",
                                                    "foreignobject", "use", "image")]
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page_text)
    ids = {attrs.get("id") for _, attrs in page.tags}
    assert {"retention", "forecast", "calendar", "decks", "tags", "hardest", "labs"} <= ids


def test_numbers_are_progress_numbers(hostile, settings):
    store, page_text = hostile
    page = Page(page_text).shown
    reviews = store.reviews()
    day = LearnerDay(settings)
    everything = progress.true_retention(reviews, day)
    # evil: Again on day 3 then Good on day 5; calm: Good; gaps.c1: Good, Hard.
    assert (everything.passed, everything.total) == (4, 5)
    assert "All time80.0%45" in page
    forecast = progress.forecast(store.due_times(), day, NOW, 30)
    assert f"next 30 days {sum(forecast)}." in page
    # Per deck and per tag: cards, studied, answers, lapses, retention, counted.
    assert "<b>Bold</b> & <i>deck</i>4312180.0%5" in page
    assert "plain228166.7%3" in page  # evil (1 of 2) and calm (1 of 1) carry "plain"
    assert "x<y&z115150.0%2" in page
    # The hardest cards: the one that lapsed, no other.
    hardest = page[page.index("Hardest cards"):page.index("\nLabs\n")]
    assert "evil/evil" in hardest and "evil/calm" not in hardest and "gaps" not in hardest


def test_a_failed_lab_run_is_marked_and_drawn_only_when_it_has_curves(hostile):
    _, page_text = hostile
    assert '<span class="failed">exception</span>' in page_text
    assert "batch-size, run 1" in page_text and "input-gradient, run 2" not in page_text
    assert "final_test_accuracy.16: 0.951" in Page(page_text).shown


def test_an_empty_collection_still_makes_a_report(store, settings, tmp_path):
    page_text = build(store, settings, tmp_path)
    shown = Page(page_text).shown
    assert "No reviews yet." in shown and "No lab runs yet." in shown and "No decks." in shown
    assert "All time—00" in shown


def chart(page_text: str, label: str) -> str:
    """One chart's SVG, found by its label."""
    found = re.search(rf'<svg [^>]*aria-label="{re.escape(html.escape(label))}".*?</svg>',
                      page_text, re.S)
    assert found, label
    return found.group(0)


def tips(page_text: str, label: str) -> list[str]:
    """The hover texts (SVG <title>s) of one chart's marks, in drawing order."""
    return [html.unescape(t) for t in re.findall(r"<title>(.*?)</title>",
                                                 chart(page_text, label))][1:]


def test_the_charts_draw_the_report_numbers(hostile, settings):
    store, page_text = hostile
    day = LearnerDay(settings)
    forecast = progress.forecast(store.due_times(), day, NOW, 30)
    bars = tips(page_text, "Due in the next 30 days (today includes overdue)")
    assert [int(b.rsplit(": ", 1)[1]) for b in bars] == forecast
    assert bars[0] == f"23 Mar: {forecast[0]}"
    days = tips(page_text, "Answers per day, 18 Mar 2024 to 23 Mar 2025")
    # The 12 answers fell on days 0 (6 of them), 3, 4 (3), 5 and 9.
    busy = [d for d in days if not d.endswith(": 0 answers")]
    assert busy == ["2025-03-03: 6 answers", "2025-03-06: 2 answers",
                    "2025-03-07: 2 answers", "2025-03-08: 1 answer", "2025-03-12: 1 answer"]
    assert len(days) == 371
    weeks = tips(page_text, "True retention per week, last 26 weeks")
    # The week of day 0: day 3's Again, day 4's two Goods, day 5's Good; then day 9's Hard.
    assert weeks == ["week of 03 Mar 2025: 75.0% passed", "week of 10 Mar 2025: 100.0% passed"]
    curve = tips(page_text, "test accuracy")
    assert curve[:2] == ["bs=16 at 0: 0", "bs=16 at 1: 0.09091"] and len(curve) == 20


def test_a_run_whose_chart_names_hold_markup_or_math_still_makes_the_report(store, settings,
                                                                             tmp_path):
    """A run's chart or series name (from a stranger's export) is text, never
    markup or mathtext, and a value that isn't finite leaves a gap."""
    with store.transaction() as conn:
        conn.execute("INSERT INTO lab_runs(id, lab, params, device, seed, started_at, ended_at, "
                     "status, summary) VALUES (1, 'batch-size', '{}', 'cpu', 0, ?, ?, 'ok', '{}')",
                     (NOW - 60_000, NOW))
        conn.executemany("INSERT INTO lab_metrics(run_id, chart, series, x, y) "
                         "VALUES (1, ?, ?, ?, ?)",
                         [("loss $\\frac{1$ </svg><script>x()</script>", "B=<b>2</b>", x,
                           1 / (1 + x) if x != 1 else float("inf")) for x in range(4)])
    page_text = build(store, settings, tmp_path)
    page = Page(page_text)
    assert "batch-size, run 1" in page.shown
    assert "loss $\\frac{1$ </svg><script>x()</script>" in page.shown
    assert "B=<b>2</b>" in page.shown
    assert not [t for t, _ in page.tags if t in ("script", "b")]
    name = "loss $\\frac{1$ </svg><script>x()</script>"
    # The infinite point at x=1 breaks the line: x=0 stands alone, 2 and 3 are joined.
    lines = re.findall(r'<polyline points="([^"]*)"', chart(page_text, name))
    assert [len(points.split()) for points in lines] == [2]
    dots = tips(page_text, name)
    assert dots == ["B=<b>2</b> at 0: 1", "B=<b>2</b> at 2: 0.3333", "B=<b>2</b> at 3: 0.25"]


def test_importing_the_report_module_leaves_matplotlib_out():
    code = ("import sys, companion.interop.html_report, companion.interop.apkg, "
            "companion.optimize; "
            "print([m for m in ('matplotlib', 'genanki', 'fsrs_rs_python', 'torch') "
            "if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@given(st.floats(-1e9, 1e9), st.floats(-1e9, 1e9), st.booleans())
def test_axis_ticks_cover_the_values_in_round_even_steps(low, high, whole):
    from companion.interop.svg_chart import nice_ticks

    if whole:
        low, high = abs(low), abs(high)
    ticks = nice_ticks(low, high, whole=whole)
    assert 2 <= len(ticks) <= 12
    step = ticks[1] - ticks[0]
    # what float arithmetic at the values' magnitude can't tell apart
    slack = 4 * math.ulp(max(abs(low), abs(high), abs(ticks[-1]))) + 1e-9 * step
    assert ticks[0] <= min(low, high) + slack + 1e-6 * step
    assert ticks[-1] >= max(low, high) - slack - 1e-6 * step
    steps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert max(steps) - min(steps) <= 2 * slack
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert any(abs(mantissa - m) <= m * (slack / step) + 1e-9 for m in (1, 2, 2.5, 5, 10))
    if whole:
        assert float(step).is_integer()
