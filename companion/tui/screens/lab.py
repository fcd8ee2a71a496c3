"""Labs: the list of labs, and one lab with its parameter form, Run / Cancel,
live progress, curves, tables, heatmaps, a trace stepper and past runs.

A run is `companion.labrunner.LabRun`: the lab runs in its own process (torch
never enters this one), its events come back through a worker thread one
message at a time, and the run is recorded whatever its end. Leaving the
screen cancels a run still going; the learner is back where they came from
(the same card, when opened from one).
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.markdown import Markdown as RichMarkdown
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import (
    Button,
    DataTable,
    Input,
    Label,
    OptionList,
    ProgressBar,
    Select,
    Static,
    Switch,
    TabbedContent,
    TabPane,
)
from textual.widgets.option_list import Option

from companion.cardtext import shown
from companion.store import LabRunRow
from companion.tui import bindings
from companion.tui.format import local_time
from companion.tui.messages import LabEnded, LabEvent, MetricsLoaded, RunsLoaded
from companion.tui.screens.base import CompanionScreen
from companion.tui.widgets.footer import Footer
from labs.catalog import param_text
from labs.events import format_value

TAB_ORDER = ("setup", "output", "charts", "heatmaps", "trace", "runs")
MAX_NPROC = 64  # processes on one machine; more machines is torchrun's job (README)
DEVICES = [("auto (CUDA, then MPS, then CPU)", "auto"), ("cpu", "cpu"), ("cuda", "cuda"),
           ("mps", "mps")]


def device_text(run: LabRunRow) -> str:
    """'cpu', or 'cpu ×2' for a run in two data-parallel processes."""
    processes = (run.summary or {}).get("world_size", 1)
    device = run.device or ""
    return f"{device} ×{processes}" if isinstance(processes, int) and processes > 1 else device


EXERCISE_PREFIX = "exercise:"


class LabListScreen(CompanionScreen):
    SCREEN_TITLE = "Labs"
    KEYS_INTRO = ("↑↓ choose a lab or an exercise. Enter on a lab opens it: its parameters, "
                  "Run, and its past runs. Enter on an exercise opens your attempt in your "
                  "editor (its starter file the first time); check it from its card (c) or "
                  "with `companion exercise check NAME`.")

    BINDINGS = [*bindings.LABS]

    def compose(self) -> ComposeResult:
        from labs.catalog import EXERCISES, LABS

        self.names = sorted(LABS)
        options = [Option(Text.assemble((LABS[n].title, "bold"), f"  {n}"), id=n)
                   for n in self.names]
        options.append(Option(Text("Exercises: implement it yourself", style="dim italic"),
                              id="exercises-heading", disabled=True))
        options += [Option(Text.assemble((EXERCISES[n].title, "bold"), f"  {n}"),
                           id=f"{EXERCISE_PREFIX}{n}") for n in sorted(EXERCISES)]
        with Vertical(id="lab-list-box"):
            yield Static("Labs and exercises: pick one, Enter opens it", id="lab-list-title")
            yield OptionList(*options, id="lab-list")
            yield Static("", id="lab-list-explanation")
        yield Footer()

    def on_mount(self) -> None:
        options = self.query_one("#lab-list", OptionList)
        options.focus()
        if self.names:
            options.highlighted = 0
        self.app.labs_ready()  # the list reads without torch; opening one needs it

    @on(OptionList.OptionHighlighted, "#lab-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        from labs.catalog import EXERCISES, LABS

        key = str(event.option.id)
        explanation = self.query_one("#lab-list-explanation", Static)
        if key.startswith(EXERCISE_PREFIX):
            spec = EXERCISES[key.removeprefix(EXERCISE_PREFIX)]
            explanation.update(Text.assemble(
                f"{spec.title}: {spec.concept}.\n", ("Enter opens your attempt in your "
                                                      "editor.", "dim")))
        elif key in LABS:
            explanation.update(LABS[key].explanation)

    @on(OptionList.OptionSelected, "#lab-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        key = str(event.option.id)
        if key.startswith(EXERCISE_PREFIX):
            self.app.open_exercise(key.removeprefix(EXERCISE_PREFIX))
        else:
            self.app.open_lab(key)


class LabScreen(CompanionScreen):
    SCREEN_TITLE = "Lab"
    KEYS_INTRO = ("Set the parameters (each shows its default and limits) and press ctrl+r "
                  "to run. The lab runs in its own process: ctrl+x cancels it, and the app "
                  "stays responsive whatever the lab does. Output, Charts, Heatmaps and Trace "
                  "fill in as it runs; in Trace, ← and → step through the computation. Past "
                  "runs lists every run of this lab; Enter on one shows its curves.")

    BINDINGS = [*bindings.LAB]

    def __init__(self, name: str, params: dict[str, Any] | None = None,
                 card_id: str | None = None) -> None:
        super().__init__()
        from labs.catalog import get

        self.spec = get(name)
        self.initial = dict(params or {})
        self.card_id = card_id
        self.running = False
        self.token = 0
        self.current_run: Any = None
        self.plots: dict[str, Any] = {}
        self.replot_pending = False
        self.trace_steps: list[Any] = []
        self.runs: list[LabRunRow] = []

    # -- layout ------------------------------------------------------------

    def compose(self) -> ComposeResult:
        blink = self.app.cursor_blink
        title = Text.assemble(("Lab · ", "bold"), (self.spec.title, "bold"))
        if self.card_id:
            title.append(f"   from {self.card_id} · esc returns to it", style="dim")
        yield Static(title, id="lab-title")
        with Horizontal(id="lab-status"):
            yield Static("Ready: ctrl+r runs the lab", id="lab-state")
            yield ProgressBar(id="lab-progress", show_eta=False)
        with TabbedContent(id="lab-tabs", initial="setup"):
            with TabPane("Setup", id="setup"):
                with VerticalScroll(id="lab-form"):
                    yield Static(self.spec.explanation, id="lab-explanation")
                    for param in self.spec.params:
                        value = self.initial.get(param.name, param.default)
                        with Vertical(classes="field"):
                            with Horizontal(classes="field-row"):
                                yield Label(param.name, classes="field-label")
                                if param.kind == "bool":
                                    on_ = value if isinstance(value, bool) else \
                                        str(value).lower() in ("true", "1", "yes")
                                    yield Switch(on_, id=f"param-{param.name}")
                                    # in words too: a switch's colour alone says too little
                                    yield Static(param_text(on_), classes="switch-state",
                                                 id=f"state-{param.name}")
                                elif param.kind == "choice":
                                    yield Select([(c, c) for c in param.choices],
                                                 value=str(value), allow_blank=False,
                                                 id=f"param-{param.name}", compact=True)
                                else:
                                    field = Input(param_text(value), id=f"param-{param.name}",
                                                  compact=True)
                                    field.cursor_blink = blink
                                    yield field
                            limits = param.limits()
                            help_text = param.help + (f"  [{limits}]" if limits else "")
                            help_text += f"  default {param_text(param.default) or '(empty)'}"
                            yield Static(help_text, classes="field-help wide")
                            yield Static("", classes="field-error",
                                         id=f"error-{param.name}")
                    with Horizontal(classes="field-row", id="lab-run-options"):
                        yield Label("device", classes="field-label")
                        yield Select(DEVICES, value="auto", allow_blank=False, id="device",
                                     compact=True)
                    yield from self.number_field("seed", "seed", "0", blink)
                    if self.spec.distributed:
                        yield from self.number_field(
                            "nproc", "processes", "1", blink,
                            help="data-parallel processes: more than 1 trains with "
                                 "torch.distributed under torchrun (gloo on CPU, NCCL with a "
                                 f"GPU each)  [1..{MAX_NPROC}]  default 1")
                    with Horizontal(id="lab-buttons"):
                        yield Button("Run  ctrl+r", id="run", variant="primary")
                        yield Button("Cancel  ctrl+x", id="cancel", variant="error",
                                     disabled=True)
            with TabPane("Output", id="output"):
                yield VerticalScroll(id="lab-log")
            with TabPane("Charts", id="charts"):
                with VerticalScroll(id="lab-charts"):
                    yield Static("No curves yet.", classes="muted placeholder")
            with TabPane("Heatmaps", id="heatmaps"):
                with VerticalScroll(id="lab-heatmaps"):
                    yield Static("No heatmaps yet.", classes="muted placeholder")
            with TabPane("Trace", id="trace"):
                from companion.tui.widgets.stepper import TraceStepper

                yield TraceStepper(id="stepper")
            with TabPane("Past runs", id="runs"):
                table: DataTable[Any] = DataTable(id="runs-table", cursor_type="row")
                for column in ("When", "Status", "Device", "Took", "Parameters"):
                    table.add_column(column, key=column.lower())
                yield table
                yield Static("", id="run-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#lab-progress").display = False
        self.query_one("#cancel").display = False  # shown while a run goes
        for button in self.query(Button):
            button.can_focus = False
        first = self.query("#lab-form Input, #lab-form Select, #lab-form Switch").first()
        first.focus()
        self.load_runs(self.new_request(RunsLoaded))

    # -- the form ----------------------------------------------------------

    def raw_params(self) -> dict[str, str] | None:
        """The form as `name -> text`, or None after showing each bad field."""
        from labs.catalog import ParamError

        raw: dict[str, str] = {}
        ok = True
        for param in self.spec.params:
            widget = self.query_one(f"#param-{param.name}")
            error = self.query_one(f"#error-{param.name}", Static)
            error.update("")
            error.display = False
            widget.remove_class("-invalid")
            if isinstance(widget, Switch):
                text = "true" if widget.value else "false"
            elif isinstance(widget, Select):
                text = str(widget.value)
            else:
                text = self.query_one(f"#param-{param.name}", Input).value
            try:
                param.parse(text)
            except ParamError as exc:
                error.update(str(exc))
                error.display = True
                widget.add_class("-invalid")
                ok = False
            raw[param.name] = text
        return raw if ok else None

    @staticmethod
    def number_field(name: str, label: str, value: str, blink: bool,
                     help: str = "") -> ComposeResult:
        """A whole-number field of the run (not of the lab): label, box, help, error."""
        field = Input(value, id=name, type="integer", compact=True)
        field.cursor_blink = blink
        yield Horizontal(Label(label, classes="field-label"), field, classes="field-row")
        if help:
            yield Static(help, classes="field-help wide")
        yield Static("", classes="field-error", id=f"error-{name}")

    def seed(self) -> int | None:
        return self._whole_number("seed", "seed", 0, None)

    def nproc(self) -> int | None:
        """How many processes: 1 for a lab that runs in one."""
        if not self.spec.distributed:
            return 1
        return self._whole_number("nproc", "processes", 1, MAX_NPROC)

    def _whole_number(self, name: str, label: str, low: int, high: int | None) -> int | None:
        error = self.query_one(f"#error-{name}", Static)
        field = self.query_one(f"#{name}", Input)
        text = field.value.strip()
        try:
            value = int(text)
            if value < low or (high is not None and value > high):
                raise ValueError
        except ValueError:
            span = f"from {low} to {high}" if high is not None else f"{low} or more"
            error.update(f"{label}={text!r}: expected a whole number, {span}")
            error.display = True
            field.add_class("-invalid")
            return None
        error.display = False
        field.remove_class("-invalid")
        return value

    # -- running -----------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "run":
            return None if self.running else True
        if action == "cancel":
            return True if self.running else False  # hidden when there is nothing to stop
        return True

    def action_tab(self, delta: int) -> None:
        tabs = self.query_one(TabbedContent)
        index = TAB_ORDER.index(tabs.active) if tabs.active in TAB_ORDER else 0
        tabs.active = TAB_ORDER[(index + delta) % len(TAB_ORDER)]
        self.focus_tab_content(tabs.active)

    def focus_tab_content(self, tab: str) -> None:
        target = {"setup": "#lab-form", "output": "#lab-log", "charts": "#lab-charts",
                  "heatmaps": "#lab-heatmaps", "trace": "#stepper", "runs": "#runs-table"}[tab]
        widget = self.query_one(target)
        if tab == "setup":
            first = self.query("#lab-form Input, #lab-form Select, #lab-form Switch").first()
            first.focus()
        elif widget.can_focus:
            widget.focus()

    def action_run(self) -> None:
        if self.running:
            return
        raw = self.raw_params()
        seed = self.seed()
        nproc = self.nproc()
        if raw is None or seed is None or nproc is None:
            self.query_one(TabbedContent).active = "setup"
            self.notify("Fix the parameters in red first", severity="error", timeout=3)
            return
        device = str(self.query_one("#device", Select).value)
        self.token += 1
        self.clear_output()
        self.set_running(True)
        how = f"{nproc} processes on {device}" if nproc > 1 else device
        self.query_one("#lab-state", Static).update(f"Starting {self.spec.name} on {how}…")
        self.query_one(TabbedContent).active = "output"
        self.query_one("#lab-log").focus()
        self.run_lab(self.token, raw, device, seed, nproc)

    def set_running(self, running: bool) -> None:
        self.running = running
        self.query_one("#run", Button).disabled = running
        cancel = self.query_one("#cancel", Button)
        cancel.disabled = not running
        cancel.display = running  # as in the footer: no Cancel with nothing to stop
        bar = self.query_one("#lab-progress", ProgressBar)
        bar.display = running
        if running:
            bar.update(total=None, progress=0)
        self.refresh_bindings()

    @work(thread=True, exclusive=True, group="lab", exit_on_error=False)
    def run_lab(self, token: int, raw: dict[str, str], device: str, seed: int,
                nproc: int = 1) -> None:
        from labs.events import Failed

        try:
            run = self.app.lab_runner(self.store, lab=self.spec.name, params=raw,
                                      device=device, seed=seed, card_id=self.card_id,
                                      nproc=nproc)
        except Exception as exc:  # a parameter the catalog refuses
            self.post_message(LabEvent(token, Failed("bad-input", str(exc))))
            self.post_message(LabEnded(token))
            return
        self.current_run = run
        try:
            for event in run.events():
                self.post_message(LabEvent(token, event))
        except Exception as exc:  # the runner itself broke: say so, keep the app
            self.post_message(LabEvent(token, Failed("exception", f"{type(exc).__name__}: {exc}")))
        finally:
            self.current_run = None
            self.post_message(LabEnded(token))

    def action_cancel(self) -> None:
        run = self.current_run
        if run is not None:
            run.cancel()
            self.query_one("#lab-state", Static).update("Cancelling…")

    def on_lab_ended(self, message: LabEnded) -> None:
        if message.run_token != self.token:
            return
        self.set_running(False)
        self.load_runs(self.new_request(RunsLoaded))

    def on_lab_event(self, message: LabEvent) -> None:
        if message.run_token != self.token:
            return
        self.show_event(message.event)

    def show_event(self, event: Any) -> None:
        kind = event.type
        log = self.query_one("#lab-log", VerticalScroll)
        if kind == "started":
            params = ", ".join(f"{k}={format_value(v)}" for k, v in event.params.items())
            self.query_one("#lab-state", Static).update(
                f"Running on {event.device} · seed {event.seed} · ctrl+x cancels")
            log.mount(Static(Text.assemble(("device ", "dim"), event.device, ("  seed ", "dim"),
                                           str(event.seed), "\n", (params, "dim")),
                             classes="log-entry"))
        elif kind == "progress":
            bar = self.query_one("#lab-progress", ProgressBar)
            bar.update(total=event.total or None, progress=event.done)
            if event.label:
                self.query_one("#lab-state", Static).update(
                    f"{event.label} · ctrl+x cancels")
        elif kind == "metric":
            self.add_metric(event)
        elif kind == "table":
            from labs.render import table_renderable  # as `lab run` draws it

            log.mount(Static(table_renderable(event.title, event.columns, event.rows),
                             classes="log-entry"))
        elif kind == "text":
            log.mount(Static(RichMarkdown(event.markdown), classes="log-entry"))
        elif kind == "heatmap":
            from companion.tui.widgets.heatmap import Heatmap

            box = self.query_one("#lab-heatmaps", VerticalScroll)
            box.query(".placeholder").remove()
            box.mount(Heatmap(event))
        elif kind == "trace":
            from companion.tui.widgets.stepper import TraceStepper

            self.trace_steps.append(event)
            self.query_one("#stepper", TraceStepper).add_step(event)
        elif kind == "result":
            from labs.render import summary_renderable

            log.mount(Static(summary_renderable("Result", event.summary), classes="log-entry"))
            self.query_one("#lab-state", Static).update(Text("Finished: recorded in Past runs",
                                                             style="green"))
            if not self.plots:
                self.query_one("#lab-charts", VerticalScroll).mount(Static(
                    "This run drew no curves: see Output, Heatmaps and Trace.",
                    classes="muted placeholder"))
            heatmaps = self.query_one("#lab-heatmaps", VerticalScroll)
            if not heatmaps.children:  # a blank tab read as one still drawing
                heatmaps.mount(Static("This run drew no heatmaps: see Output and Charts.",
                                      classes="muted placeholder"))
            self.notify(f"{self.spec.name} finished", timeout=3)
        elif kind == "failed":
            log.mount(Static(Panel(event.message, title=f"failed: {event.kind}",
                                   title_align="left", border_style="red"),
                             classes="log-entry"))
            self.query_one("#lab-state", Static).update(
                Text(f"Failed ({event.kind}): recorded in Past runs", style="red"))
            self.notify(event.message, title=f"{self.spec.name} failed: {event.kind}",
                        severity="error", timeout=8)
        log.scroll_end(animate=False)

    def add_metric(self, event: Any) -> None:
        from companion.tui.widgets.plot import MetricChart

        plot = self.plots.get(event.chart)
        if plot is None:
            box = self.query_one("#lab-charts", VerticalScroll)
            box.query(".placeholder").remove()
            plot = MetricChart(event.chart, event.x_label, event.y_label)
            self.plots[event.chart] = plot
            box.mount(plot)
        plot.add_point(event.series, event.x, event.y)
        if not self.replot_pending:
            # Curves are redrawn at most ten times a second, however fast points come.
            self.replot_pending = True
            self.set_timer(0.1, self.replot)

    def replot(self) -> None:
        self.replot_pending = False
        for plot in self.plots.values():
            if plot.is_mounted:
                plot.replot()

    def clear_output(self) -> None:
        self.query_one("#lab-log", VerticalScroll).remove_children()
        self.plots.clear()
        charts = self.query_one("#lab-charts", VerticalScroll)
        charts.remove_children()
        heatmaps = self.query_one("#lab-heatmaps", VerticalScroll)
        heatmaps.remove_children()
        from companion.tui.widgets.stepper import TraceStepper

        self.trace_steps = []
        self.query_one("#stepper", TraceStepper).set_steps([])

    # -- past runs ---------------------------------------------------------

    @work(thread=True, exclusive=True, group="lab-runs", exit_on_error=False)
    def load_runs(self, request: int) -> None:
        from companion.labrunner import past_runs

        with self.reader() as store:
            runs = past_runs(store, lab=self.spec.name)
        self.reply(RunsLoaded(request, runs))

    @work(thread=True, exclusive=True, group="lab-metrics", exit_on_error=False)
    def load_metrics(self, request: int, run_id: int) -> None:
        from companion.labrunner import run_metrics

        with self.reader() as store:
            rows = run_metrics(store, run_id)
        self.reply(MetricsLoaded(request, run_id, rows))

    def on_runs_loaded(self, message: RunsLoaded) -> None:
        if self.is_latest(message):
            self.show_runs(message.runs)

    def on_metrics_loaded(self, message: MetricsLoaded) -> None:
        run_id, rows = message.run_id, message.rows
        if not self.is_latest(message) or self.running:
            return
        if not rows:  # nothing to redraw: keep what is on screen
            self.notify(f"Run #{run_id} drew no curves: its results are in its summary",
                        timeout=4)
            return
        from labs.events import Metric

        self.clear_output()
        for chart, series, x, y in rows:
            self.add_metric(Metric(chart, series, x, y))
        self.query_one("#lab-state", Static).update(f"Curves of run #{run_id}")
        self.query_one(TabbedContent).active = "charts"

    def show_runs(self, runs: list[LabRunRow]) -> None:
        from companion.labrunner import format_duration

        self.runs = runs
        table = self.query_one("#runs-table", DataTable)
        table.clear()
        for run in runs:
            status = run.status
            style = {"ok": "green", "running": "yellow"}.get(status, "red")
            mine = " ◆" if self.card_id and run.card_id == self.card_id else ""
            changed = {k: v for k, v in run.params.items()
                       if param_text(v) != param_text(self._default(k))}
            started = local_time(run.started_at, self.app.settings)
            params = ", ".join(f"{k}={format_value(v)}" for k, v in changed.items())
            table.add_row(started + mine, Text(status, style=style),
                          shown(device_text(run)), format_duration(run.started_at, run.ended_at),
                          shown(params or "defaults"), key=str(run.id))
        pane = self.query_one("#runs", TabPane)
        self.query_one(TabbedContent).get_tab(pane).label = f"Past runs ({len(runs)})"
        if runs:
            self.show_run_detail(runs[0])
        else:
            self.query_one("#run-detail", Static).update(
                Text("No runs yet: ctrl+r runs the lab.", style="dim"))

    def _default(self, name: str) -> Any:
        try:
            return self.spec.param(name).default
        except Exception:
            return None

    def show_run_detail(self, run: LabRunRow) -> None:
        started = local_time(run.started_at, self.app.settings)
        parts: list[Any] = [Text.assemble((f"Run #{run.id}", "bold"), "  ",
                                          started, "  ", device_text(run),
                                          f"  seed {run.seed}")]
        if run.card_id:
            parts.append(Text(f"from card {run.card_id}", style="dim"))
        if run.prediction:
            parts.append(Text(f"prediction: {run.prediction}", style="dim"))
        if run.error:
            parts.append(Text(run.error, style="red"))
        if run.summary:
            table = Table(show_header=False, box=None, pad_edge=False)
            table.add_column(style="dim")
            table.add_column()
            for key, value in run.summary.items():
                table.add_row(shown(key), shown(format_value(value)))
            parts.append(table)
        parts.append(Text("Enter redraws this run's curves, if it drew any", style="dim"))
        self.query_one("#run-detail", Static).update(Group(*parts))

    @on(Switch.Changed)
    def _switch_changed(self, event: Switch.Changed) -> None:
        name = str(event.switch.id).removeprefix("param-")
        for state in self.query(f"#state-{name}").results(Static):
            state.update(param_text(event.value))

    @on(DataTable.RowHighlighted, "#runs-table")
    def _run_highlighted(self, event: DataTable.RowHighlighted) -> None:
        for run in self.runs:
            if str(run.id) == event.row_key.value:
                self.show_run_detail(run)

    @on(DataTable.RowSelected, "#runs-table")
    def _run_selected(self, event: DataTable.RowSelected) -> None:
        if self.running:
            self.notify("A run is going: its curves are on screen", timeout=2)
            return
        self.load_metrics(self.new_request(MetricsLoaded), int(str(event.row_key.value)))

    # -- leaving -----------------------------------------------------------

    @on(Button.Pressed, "#run")
    def _run_pressed(self) -> None:
        self.action_run()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    def action_leave(self) -> None:
        if self.running:
            self.action_cancel()
            self.notify(f"{self.spec.name} cancelled: you left the lab", timeout=3)
        self.dismiss()

    def on_unmount(self) -> None:
        run = self.current_run
        if run is not None:
            run.cancel()

