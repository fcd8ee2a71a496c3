"""Run a lab in a child process and read its event stream; record every run.

The lab runs as `python -m labs run NAME --json`, so torch lives in the child:
a crash, an out-of-memory error or Ctrl-C there can't take the app down, and
the app never imports torch. Whatever happens, `events()` ends with exactly one
`Result` or `Failed`, and the run is stored with its status.

With `nproc` > 1 the child is torchrun (`python -m torch.distributed.run
--standalone --nproc-per-node N -m labs run ...`, the same interpreter), which
starts N lab processes that train data-parallel; only rank 0 writes events, so
the stream reads the same. torchrun exits 1 whatever its processes exited with,
so bad input is recognised by the `labs: error:` line they print on stderr.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import deque
from typing import Iterator

from companion.cardtext import neutralise_all
from companion.store import LabRunRow, MetricPoint, Reads, Store, now_ms, process_started
from labs.catalog import LABS, ParamError
from labs.catalog import get as get_spec
from labs.events import Event, Failed, Metric, Result, Started, from_json

CANCEL_GRACE_S = 3.0  # after Ctrl-C, how long the lab may take to say it stopped


def neutralised(event: Event) -> Event:
    """A lab's event with every text in it passed through the terminal-safety
    wall: what the child process writes (its messages quote parameters, which a
    deck chose) reaches the app and `companion lab run` only this way."""
    import dataclasses

    changes = {f.name: neutralise_all(getattr(event, f.name))
               for f in dataclasses.fields(event) if f.name != "type"}
    return dataclasses.replace(event, **changes)


class LabRun:
    def __init__(self, store: Store, lab: str, params: dict[str, str] | None = None,
                 device: str = "auto", seed: int = 0, card_id: str | None = None,
                 timeout_s: float | None = None, prediction: str | None = None,
                 nproc: int = 1):
        """Bad input (unknown lab, bad parameter) raises labs.catalog.ParamError here,
        before any process starts."""
        self.spec = get_spec(lab)
        self.raw_params = dict(params or {})
        self.params = self.spec.resolve(self.raw_params)
        if not isinstance(nproc, int) or isinstance(nproc, bool) or nproc < 1:
            raise ParamError(f"--nproc {nproc!r}: expected a whole number >= 1")
        if nproc > 1 and not self.spec.distributed:
            able = ", ".join(name for name, s in LABS.items() if s.distributed)
            raise ParamError(f"--nproc {nproc}: {lab} runs in one process "
                             f"(data-parallel labs: {able})")
        self.nproc = nproc
        self.device = device
        self.seed = seed
        self.card_id = card_id
        self.timeout_s = timeout_s
        self.prediction = prediction
        self._store_path = store.path
        self._process: subprocess.Popen[str] | None = None
        self._cancelled = threading.Event()
        self._timed_out = threading.Event()
        self._stderr: deque[str] = deque(maxlen=40)
        self._stderr_thread: threading.Thread | None = None
        self._said_bad_input: str | None = None  # the last `labs: error:` line on stderr
        self.run_id: int | None = None
        self.outcome: Result | Failed | None = None

    def command(self) -> list[str]:
        labs = [sys.executable, "-m", "labs"]
        if self.nproc > 1:
            labs = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                    "--nproc-per-node", str(self.nproc), "-m", "labs"]
        cmd = [*labs, "run", self.spec.name, "--json",
               "--device", self.device, "--seed", str(self.seed)]
        for name, value in self.raw_params.items():
            cmd += ["--param", f"{name}={value}"]
        return cmd

    def events(self) -> Iterator[Event]:
        """Start the lab and yield its events as they come; blocks while it runs."""
        store = Store(self._store_path)  # its own connection: this runs in a worker thread
        try:
            yield from self._run(store)
        finally:
            store.close()

    def _run(self, store: Store) -> Iterator[Event]:
        with store.transaction():
            self.run_id = store.insert_lab_run(self.spec.name, self.params, self.device,
                                               self.seed, self.card_id, now_ms(),
                                               self.prediction, os.getpid(),
                                               process_started(os.getpid()))
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if self.nproc > 1:
            # torchrun would set 1 (and print a banner about it); share the cores instead.
            env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // self.nproc)))
        try:
            self._process = subprocess.Popen(
                self.command(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                env=env, start_new_session=True)
        except OSError as exc:
            yield self._finish(store, Failed("exception", f"cannot start the lab: {exc}"))
            return
        self._stderr_thread = threading.Thread(target=self._drain_stderr, daemon=True)
        self._stderr_thread.start()
        if self.timeout_s:
            threading.Thread(target=self._watchdog, daemon=True).start()
        metrics: list[MetricPoint] = []
        outcome: Result | Failed | None = None
        assert self._process.stdout is not None
        lines = iter(self._process.stdout)
        while True:
            try:
                line = next(lines)
            except StopIteration:
                break
            except KeyboardInterrupt:  # Ctrl-C here stops the lab, not the caller
                self.cancel()
                continue
            if not line.strip():
                continue
            try:
                event = neutralised(from_json(line))
            except ValueError as exc:
                self._stderr.append(f"unreadable event: {exc}")
                continue
            if isinstance(event, Started):
                self.device = event.device
            if isinstance(event, Metric):
                metrics.append(MetricPoint(event.chart, event.series, event.x, event.y))
                if len(metrics) >= 500:
                    self._save_metrics(store, metrics)
            if isinstance(event, Result | Failed):
                outcome = event
                continue  # yielded once the run is recorded
            yield event
        code = self._process.wait()
        self._stderr_thread.join(timeout=2)  # its last lines may say why the lab stopped
        self._save_metrics(store, metrics)
        said_bad_input = code == 2 or self._said_bad_input is not None
        if self._timed_out.is_set():
            outcome = Failed("timeout", f"{self.spec.name} ran past its time limit of "
                             f"{self.timeout_s:g} s and was stopped")
        elif self._cancelled.is_set() and not isinstance(outcome, Result):
            outcome = Failed("cancelled", f"{self.spec.name} was cancelled")
        elif said_bad_input and isinstance(outcome, Failed):
            outcome = Failed("bad-input", outcome.message)  # the lab refused its parameters
        elif outcome is None and said_bad_input:
            # The lab refused its input before running (a device that isn't there).
            said = self._said_bad_input or next(
                (line for line in reversed(self._stderr) if line.strip()), "bad input")
            outcome = Failed("bad-input", said.removeprefix("labs: error: "))
        elif outcome is None:
            outcome = Failed("crash", self._crash_message(code))
        elif isinstance(outcome, Failed) and self.nproc > 1:
            # Rank 0 often fails only because another process did first (a collective
            # whose peer is gone); that one's own reason is on stderr.
            others = [line for line in self._stderr if line.startswith("labs: rank ")]
            if others:
                outcome = Failed(outcome.kind, f"{outcome.message} [{others[0]}]")
        yield self._finish(store, outcome)

    def _crash_message(self, code: int) -> str:
        if code < 0:
            try:
                how = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"killed by signal {-code}"
            if code == -signal.SIGKILL:
                how += " (often the system running out of memory; try smaller parameters)"
        else:
            how = f"exited with status {code}"
        lines = [line.strip() for line in self._stderr if line.strip()]
        # Under torchrun the last lines are its own report; the labs' own lines say more.
        own = [line for line in lines if line.startswith("labs: ")]
        tail = " | ".join(own[-2:] if own else lines[-3:])
        return f"{self.spec.name} {how} before reporting a result" + (f": {tail}" if tail else "")

    def _finish(self, store: Store, outcome: Result | Failed) -> Result | Failed:
        safe = neutralised(outcome)  # a crash's message quotes the child's stderr
        assert isinstance(safe, Result | Failed)  # replace() keeps the event's type
        outcome = safe
        status = "ok" if isinstance(outcome, Result) else outcome.kind
        error = None if isinstance(outcome, Result) else outcome.message
        summary = outcome.summary if isinstance(outcome, Result) else None
        assert self.run_id is not None
        with store.transaction():
            store.finish_lab_run(self.run_id, now_ms(), status, error, summary, self.device)
        self.outcome = outcome
        return outcome

    def _save_metrics(self, store: Store, metrics: list[MetricPoint]) -> None:
        if metrics:
            assert self.run_id is not None
            with store.transaction():
                store.insert_lab_metrics(self.run_id, metrics)
            metrics.clear()

    def _drain_stderr(self) -> None:
        assert self._process is not None and self._process.stderr is not None
        for line in self._process.stderr:
            line = line.rstrip("\n")
            self._stderr.append(line)
            if line.startswith("labs: error: "):
                self._said_bad_input = line

    def _watchdog(self) -> None:
        assert self._process is not None and self.timeout_s
        try:
            self._process.wait(timeout=self.timeout_s)
        except subprocess.TimeoutExpired:
            self._timed_out.set()
            self._kill()

    def cancel(self) -> None:
        """Ask the lab to stop (Ctrl-C), then kill it if it doesn't within a few seconds."""
        self._cancelled.set()
        process = self._process
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGINT)
        except ProcessLookupError:
            return
        threading.Thread(target=self._kill_after_grace, daemon=True).start()

    def _kill_after_grace(self) -> None:
        assert self._process is not None
        try:
            self._process.wait(timeout=CANCEL_GRACE_S)
        except subprocess.TimeoutExpired:
            self._kill()

    def _kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            try:
                os.killpg(self._process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def past_runs(store: Reads, lab: str | None = None, card_id: str | None = None,
              limit: int = 50) -> list[LabRunRow]:
    """The newest runs first (of one lab, from one card), parameters and summary decoded."""
    return store.lab_runs(lab, card_id, limit)


def run_metrics(store: Reads, run_id: int) -> list[MetricPoint]:
    return store.lab_metrics(run_id)


def format_duration(started_at: int, ended_at: int | None) -> str:
    if not ended_at:
        return "running"
    return f"{(ended_at - started_at) / 1000:.1f} s"


__all__ = ["LabRun", "LabRunRow", "past_runs", "run_metrics", "format_duration"]
