"""Every key companion binds, in one table: scope -> its bindings, in the order
the footer and F1 show them.

The screens and widgets declare their keys from here (`BINDINGS =
[*bindings.STATS]`, a copy typed as Textual's BINDINGS; a test checks each
is one table exactly), and the keymap checker reads the same table, so
checking a learner's `[keymap]` at start-up sees every binding id without
importing a screen it may never open. An id is what settings.toml's `[keymap]` names
("stats.reload"): once shipped, it never changes.

Each screen's help and back keys are made by `help_binding` and
`back_binding` from the screen's prefix, so they read the same everywhere.
"""

from __future__ import annotations

from textual.binding import Binding

GRADE = Binding.Group("Grade")
TABS = Binding.Group("Tabs")


def help_binding(prefix: str, key: str = "question_mark") -> Binding:
    """`prefix.help`: the screen's key list. F1 (the app's) works everywhere;
    a screen with a text field uses F1 here too, as ? is typed into the field."""
    return Binding(key, "app.help", "Keys", key_display="?" if key == "question_mark" else "F1",
                   tooltip="Show every key of this screen", id=f"{prefix}.help")


def back_binding(prefix: str, description: str = "Back",
                 tooltip: str = "Back to the previous screen") -> Binding:
    """`prefix.leave`: escape runs the screen's `leave` action (back, as a rule)."""
    return Binding("escape", "leave", description, tooltip=tooltip, id=f"{prefix}.leave")


APP = [
    Binding("f1", "help", "Keys", key_display="F1", show=False,
            tooltip="Show every key of this screen", id="help"),
    Binding("ctrl+q", "quit", "Quit", show=False, priority=True,
            tooltip="Quit companion (answers are already saved)", id="quit"),
]

HOME = [
    Binding("space", "study_selected", "Study", tooltip="Study the highlighted deck",
            id="home.study"),
    Binding("s", "app.study", "Study all", show=False,
            tooltip="Study every deck's cards due today", id="home.study_all"),
    Binding("c", "custom_study", "Custom study", show=False,
            tooltip="Review ahead, forgotten cards or a tag, or raise today's limits",
            id="home.custom_study"),
    Binding("a", "add_card", "Add card", show=False,  # the hint line names it
            tooltip="Write a new card for the highlighted deck in your editor",
            id="home.add"),
    Binding("b", "app.browse", "Browse", tooltip="Search and inspect cards",
            id="home.browse"),
    Binding("t", "app.stats", "Stats", tooltip="Retention, forecast, reviews per day",
            id="home.stats"),
    Binding("r", "app.recall", "Free recall", show=False,  # F1 and the palette list it
            tooltip="Free recall: write what you remember of a section, see what you missed",
            id="home.recall"),
    Binding("l", "app.labs", "Labs", tooltip="The PyTorch labs", id="home.labs"),
    Binding("comma", "app.settings", "Settings", key_display=",",
            tooltip="Presets per deck, daily limits, day start, theme", id="home.settings"),
    Binding("q", "app.quit", "Quit", tooltip="Quit companion", id="home.quit"),
    help_binding("home"),
]

REVIEW = [
    Binding("space,enter", "reveal", "Show answer", tooltip="Reveal the answer",
            id="review.reveal"),
    Binding("space,enter", "grade_default", "Good", show=False,
            tooltip="On the answer side: grade Good (a typed answer: the grade its check "
                    "proposes)", id="review.good_default"),
    Binding("space,enter", "finish", "Home", show=False,
            tooltip="After the last card: back home", id="review.finish"),
    Binding("1", "grade(1)", "Again", group=GRADE, tooltip="Forgot: see it again soon",
            id="review.again"),
    Binding("2", "grade(2)", "Hard", group=GRADE, tooltip="Recalled with effort",
            id="review.hard"),
    Binding("3", "grade(3)", "Good", group=GRADE, tooltip="Recalled", id="review.good"),
    Binding("4", "grade(4)", "Easy", group=GRADE, tooltip="Recalled without effort",
            id="review.easy"),
    Binding("u", "undo", "Undo", tooltip="Take back the last answer, suspend or bury",
            id="review.undo"),
    Binding("s", "suspend", "Suspend", tooltip="Never show this card until unsuspended",
            id="review.suspend"),
    Binding("b", "bury", "Bury", tooltip="Hide this card until tomorrow",
            id="review.bury"),
    Binding("l", "lab", "Lab", tooltip="Open this card's lab; come back to this card",
            id="review.lab"),
    Binding("e", "edit", "Edit", show=False,
            tooltip="Edit this card in your editor (its history stays)", id="review.edit"),
    Binding("x", "exercise", "Exercise", show=False,
            tooltip="Open this card's exercise in your editor (its starter file the first time)",
            id="review.exercise"),
    Binding("c", "check_exercise", "Check", show=False,
            tooltip="Check your exercise against the reference; the result proposes the grade",
            id="review.check"),
    help_binding("review"),
    back_binding("review", "Home", "Stop studying (answers are saved)"),
    Binding("q", "leave", "Home", show=False, tooltip="Stop studying (answers are saved)",
            id="review.quit"),
]

BROWSE = [
    Binding("slash", "focus_search", "Search", key_display="/", priority=True,
            tooltip="Type a search", id="browse.search"),
    Binding("s", "toggle_suspend", "Suspend",
            tooltip="Suspend the card, or bring a suspended card back",
            id="browse.suspend"),
    Binding("l", "lab", "Lab", tooltip="Open the card's lab", id="browse.lab"),
    Binding("x", "exercise", "Exercise", show=False,
            tooltip="Open the card's exercise in your editor (the starter the first time)",
            id="browse.exercise"),
    Binding("e", "edit", "Edit", tooltip="Edit the card in your editor (its history stays)",
            id="browse.edit"),
    Binding("a", "add_card", "Add", show=False,
            tooltip="Write a new card for this card's deck in your editor", id="browse.add"),
    Binding("f", "forget", "Forget",
            tooltip="Put the card back to new; its history stays (Anki's Forget)",
            id="browse.forget"),
    Binding("r", "reschedule", "Reschedule", show=False,  # F1 and the palette list it
            tooltip="Move a review card's due date to what the current settings give",
            id="browse.reschedule"),
    help_binding("browse", "f1"),
    Binding("down", "focus_table", "Results", show=False,
            tooltip="From the search box: to the results", id="browse.results"),
    back_binding("browse"),
]

STATS = [
    Binding("r", "reload", "Refresh", tooltip="Recompute from the review log",
            id="stats.reload"),
    help_binding("stats"),
    back_binding("stats"),
]

SETTINGS = [
    Binding("ctrl+s", "save", "Save", tooltip="Check and save the settings",
            id="settings.save"),
    Binding("ctrl+n", "new_preset", "New preset",
            tooltip="A new preset, a copy of the one shown (Anki's Clone)",
            id="settings.new_preset"),
    Binding("ctrl+r", "rename_preset", "Rename preset", show=False,
            tooltip="Give the preset shown another name", id="settings.rename_preset"),
    Binding("f8", "delete_preset", "Delete preset", key_display="F8",
            tooltip="Delete the preset shown; its decks go back to default",
            id="settings.delete_preset"),
    help_binding("settings", "f1"),
    back_binding("settings", tooltip="Back without saving"),
]

PRESET_NAME = [  # the dialog asking a preset's name
    Binding("escape", "cancel", "Cancel", tooltip="Back to the settings; no preset is made",
            id="preset_name.cancel"),
    help_binding("preset_name", "f1"),  # a modal screen: the app's own F1 doesn't reach it
]

ASK = [  # a dialog asking a few lines: a new deck, a file to import
    Binding("escape", "cancel", "Cancel", tooltip="Back; nothing is done", id="ask.cancel"),
    help_binding("ask", "f1"),  # a modal screen: the app's own F1 doesn't reach it
]

CONFIRM = [  # the dialog asking "delete this preset?" or "forget this card?"
    Binding("escape", "cancel", "Keep", tooltip="Back; nothing is changed",
            id="confirm.cancel"),
    help_binding("confirm", "f1"),
]

LABS = [
    help_binding("labs"),
    back_binding("labs"),
]

LAB = [
    Binding("ctrl+r", "run", "Run", tooltip="Run the lab with these parameters",
            id="lab.run"),
    Binding("ctrl+x", "cancel", "Cancel", tooltip="Stop the running lab",
            id="lab.cancel"),
    Binding("left_square_bracket", "tab(-1)", "Tab", key_display="[", group=TABS,
            tooltip="The tab to the left", id="lab.tab_left"),
    Binding("right_square_bracket", "tab(1)", "Tab", key_display="]", group=TABS,
            tooltip="The tab to the right", id="lab.tab_right"),
    help_binding("lab", "f1"),
    back_binding("lab", tooltip="Back (to the card, when opened from one)"),
]

CUSTOM = [
    Binding("ctrl+s", "start", "Start", tooltip="Check the choices and start studying",
            id="custom.start"),
    Binding("escape", "cancel", "Cancel", tooltip="Back home; nothing is changed",
            id="custom.cancel"),
    help_binding("custom", "f1"),  # a modal screen: the app's own F1 doesn't reach it
]

RECALL = [
    Binding("ctrl+s", "check", "Check", tooltip="See which of the section's ideas you named; "
            "the attempt is stored", id="recall.check"),
    Binding("ctrl+t", "study_missed", "Study missed",
            tooltip="Study the cards of the ideas you missed now (custom study)",
            id="recall.study_missed"),
    Binding("ctrl+n", "again", "Try again", show=False,
            tooltip="A new attempt at the same section, from an empty page", id="recall.retry"),
    help_binding("recall", "f1"),  # ? is typed into the text
    back_binding("recall"),
]

HELP = [
    Binding("escape,question_mark,f1,q", "close", "Close", tooltip="Close the key list",
            id="help.close"),
]

# A typed answer's or a prediction's box in a review (review.AnswerBox).
ANSWER_BOX = [
    Binding("escape", "screen.leave", "Leave the box",
            tooltip="Out of the box, so the review's keys work; Tab goes back",
            id="answer_box.leave"),
]

TRACE = [
    Binding("right,n", "step(1)", "Next step", tooltip="The next step of the trace",
            id="trace.next"),
    Binding("left,p", "step(-1)", "Previous step", tooltip="The step before",
            id="trace.previous"),
    Binding("home", "jump(0)", "First step", show=False, tooltip="Back to the first step",
            id="trace.first"),
    Binding("end", "jump(-1)", "Last step", show=False, tooltip="To the last step",
            id="trace.last"),
]

# scope -> bindings: the app's keys answer on every screen; each other scope is
# one screen's (or the trace stepper's), the keys that can clash with each other.
SCOPES: dict[str, list[Binding]] = {
    "app": APP, "home": HOME, "review": REVIEW, "browse": BROWSE, "stats": STATS,
    "settings": SETTINGS, "preset_name": PRESET_NAME, "confirm": CONFIRM, "ask": ASK,
    "custom": CUSTOM, "recall": RECALL,
    "labs": LABS, "lab": LAB, "help": HELP, "trace": TRACE, "answer_box": ANSWER_BOX,
}


def by_id() -> dict[str, Binding]:
    """Every binding companion declares, by its id."""
    return {binding.id: binding for scope in SCOPES.values() for binding in scope
            if binding.id is not None}
