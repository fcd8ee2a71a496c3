"""The app's side of a lab: a child process, its event stream, and the stored run."""

from __future__ import annotations

import json
import sys
import textwrap
import threading
import time

import pytest

from companion.labrunner import LabRun, past_runs, run_metrics
from labs.catalog import ParamError
from labs.events import Failed, Result, Started, TraceStep


class ScriptedRun(LabRun):
    """A LabRun whose child is a small script, to play the faults a real lab can hit."""

    def __init__(self, store, script: str, **kw):
        super().__init__(store, "transformer-trace", **kw)
        self.script = textwrap.dedent(script)

    def command(self) -> list[str]:
        prelude = ("import json, os, signal, sys, time\n"
                   "def emit(**e):\n    print(json.dumps(e), flush=True)\n"
                   "emit(type='started', lab='transformer-trace', params={}, device='cpu', "
                   "seed=0)\n")
        return [sys.executable, "-c", prelude + self.script]


def status_of(store, run_id):
    return store.conn.execute("SELECT status, error, summary, ended_at FROM lab_runs WHERE id = ?",
                              (run_id,)).fetchone()


def test_a_real_lab_runs_in_a_child_and_is_recorded(store):
    run = LabRun(store, "transformer-trace", {"norm": "pre"}, device="cpu", seed=3, card_id="c/1")
    events = list(run.events())
    assert isinstance(events[0], Started) and events[0].device == "cpu"
    assert any(isinstance(e, TraceStep) for e in events)
    assert isinstance(events[-1], Result) and events[-1] is run.outcome
    status, error, summary, ended = status_of(store, run.run_id)
    assert status == "ok" and error is None and ended
    assert json.loads(summary) == events[-1].summary
    [row] = past_runs(store, card_id="c/1")
    assert row.params["norm"] == "pre" and row.seed == 3 and row.status == "ok"


def test_metrics_are_stored_with_the_run(store):
    run = ScriptedRun(store, """
        for i in range(3):
            emit(type='metric', chart='loss', series='B=4', x=i, y=1.0 / (i + 1),
                 x_label='step', y_label='loss')
        emit(type='result', summary={'final': 0.33})
    """)
    list(run.events())
    assert run_metrics(store, run.run_id) == [("loss", "B=4", 0.0, 1.0), ("loss", "B=4", 1.0, 0.5),
                                              ("loss", "B=4", 2.0, 1.0 / 3)]


def test_a_crash_is_reported_and_recorded(store):
    run = ScriptedRun(store, "sys.stderr.write('segfault-ish trouble\\n'); os._exit(3)")
    last = list(run.events())[-1]
    assert isinstance(last, Failed) and last.kind == "crash"
    assert "exited with status 3" in last.message and "segfault-ish trouble" in last.message
    assert status_of(store, run.run_id)[0] == "crash"


def test_killed_by_the_system_says_so(store):
    run = ScriptedRun(store, "os.kill(os.getpid(), signal.SIGKILL)")
    last = list(run.events())[-1]
    assert last.kind == "crash" and "SIGKILL" in last.message and "memory" in last.message


def test_out_of_memory_reported_by_the_lab_is_recorded(store):
    run = ScriptedRun(store, "emit(type='failed', kind='oom', message='ran out of memory on cuda');"
                             "sys.exit(1)")
    last = list(run.events())[-1]
    assert last.kind == "oom"
    assert status_of(store, run.run_id)[:2] == ("oom", "ran out of memory on cuda")


def test_a_hang_past_the_time_limit_is_stopped(store):
    run = ScriptedRun(store, "time.sleep(60)", timeout_s=1)
    start = time.monotonic()
    last = list(run.events())[-1]
    assert last.kind == "timeout" and time.monotonic() - start < 15
    assert status_of(store, run.run_id)[0] == "timeout"


def test_cancel_stops_a_lab_promptly(store):
    run = ScriptedRun(store, """
        try:
            while True:
                emit(type='progress', done=1, total=10, label='working')
                time.sleep(0.05)
        except KeyboardInterrupt:
            emit(type='failed', kind='cancelled', message='stopped by Ctrl-C')
            sys.exit(1)
    """)
    events = run.events()
    next(events)  # started
    next(events)  # the first progress
    started = time.monotonic()
    threading.Timer(0.2, run.cancel).start()
    last = list(events)[-1]
    assert last.kind == "cancelled" and time.monotonic() - started < 5
    assert status_of(store, run.run_id)[0] == "cancelled"


def test_cancel_kills_a_lab_that_ignores_ctrl_c(store):
    run = ScriptedRun(store, "signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(60)")
    events = run.events()
    next(events)
    threading.Timer(0.2, run.cancel).start()
    start = time.monotonic()
    last = list(events)[-1]
    assert last.kind == "cancelled" and time.monotonic() - start < 10


def test_bad_parameters_fail_before_any_process(store):
    with pytest.raises(ParamError, match="unknown lab"):
        LabRun(store, "no-such-lab")
    with pytest.raises(ParamError, match="norm='sideways'"):
        LabRun(store, "transformer-trace", {"norm": "sideways"})
    with pytest.raises(ParamError, match="heads=3 must divide d_model=8"):  # checked together
        LabRun(store, "transformer-trace", {"heads": "3"})
    with pytest.raises(ParamError, match="unknown word 'elephant'"):
        LabRun(store, "transformer-trace", {"sentence": "the elephant sat"})
    assert store.conn.execute("SELECT count(*) FROM lab_runs").fetchone()[0] == 0


def test_a_parameter_the_lab_itself_refuses_is_bad_input(store):
    # A CIFAR-10 tarball that isn't there can only be found out by the lab itself.
    run = LabRun(store, "batch-size", {"dataset": "cifar10",
                                       "cifar_path": "/nonexistent/cifar-10-python.tar.gz"},
                 device="cpu")
    last = list(run.events())[-1]
    assert last.kind == "bad-input" and "cifar-10-python.tar.gz: no such file" in last.message


def test_several_processes_run_under_torchrun_with_the_same_interpreter(store):
    run = LabRun(store, "batch-size", {"examples": "300"}, device="cpu", nproc=3)
    cmd = run.command()
    assert cmd[:7] == [sys.executable, "-m", "torch.distributed.run", "--standalone",
                       "--nproc-per-node", "3", "-m"]
    assert cmd[7:10] == ["labs", "run", "batch-size"] and "examples=300" in cmd
    assert LabRun(store, "batch-size").command()[1:4] == ["-m", "labs", "run"]


def test_only_a_data_parallel_lab_takes_several_processes(store):
    with pytest.raises(ParamError, match="transformer-trace runs in one process"):
        LabRun(store, "transformer-trace", nproc=2)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ParamError, match="--nproc"):
            LabRun(store, "batch-size", nproc=bad)
    assert store.conn.execute("SELECT count(*) FROM lab_runs").fetchone()[0] == 0


def test_bad_input_is_recognised_by_its_line_when_torchrun_exits_1(store):
    # torchrun exits 1 whatever its processes exit with; `labs: error:` still says why.
    run = ScriptedRun(store, """
        emit(type='failed', kind='exception', message='bad parameter: noise_batches=64,32')
        sys.stderr.write('labs: error: bad parameter: noise_batches=64,32\\n'); sys.exit(1)
    """)
    last = list(run.events())[-1]
    assert last.kind == "bad-input" and "noise_batches" in last.message


def test_another_process_s_reason_joins_rank_0_s_failure(store):
    run = ScriptedRun(store, """
        sys.stderr.write('labs: rank 1: exception: RuntimeError: injected\\n')
        emit(type='failed', kind='exception', message='RuntimeError: Connection closed by peer')
        sys.exit(1)
    """)
    run.nproc = 2  # as if under torchrun; the script stands in for it
    last = list(run.events())[-1]
    assert last.kind == "exception"
    assert "Connection closed by peer" in last.message and "rank 1" in last.message


def test_what_a_lab_writes_reaches_no_face_with_a_control_in_it(store):
    """Text in a lab's events and in its stderr is neutralised before the app or
    `companion lab run` sees it (a parameter a deck chose can be quoted there)."""
    run = ScriptedRun(store, """
        emit(type='text', markdown='t\\x1b]0;x\\x07 body \\x1b[2J')
        emit(type='table', title='x', columns=['a\\x9b'], rows=[['\\x1b]52;c;eA==\\x07', 1]])
        sys.stderr.write('trouble \\x1b[31mred\\n'); os._exit(3)
    """)
    events = list(run.events())
    text = json.dumps([e.__dict__ for e in events], ensure_ascii=False)
    assert not any(c in text for c in "\x1b\x07\x9b"), text
    assert "␛]0;x␇" in text and "␛[2J" in text and "trouble ␛[31mred" in text
    assert "\x1b" not in status_of(store, run.run_id)[1]


def test_runs_left_running_by_a_dead_process_are_marked_interrupted(store):
    import os
    import subprocess

    from companion.store import process_started

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    me = os.getpid()
    ids = {}
    with store.transaction():
        for name, pid, started in [("mine", me, process_started(me)), ("dead", dead.pid, "1"),
                                   ("reused", me, "not my start"), ("old", None, None)]:
            ids[name] = store.insert_lab_run("batch-size", {}, "cpu", 0, None, 1000, None,
                                             pid, started)
    assert store.mark_abandoned_runs() == 3
    assert status_of(store, ids["mine"])[0] == "running"
    for name in ("dead", "reused", "old"):
        status, error, _, ended = status_of(store, ids[name])
        assert status == "interrupted" and "ended before the lab did" in error and ended
    assert store.mark_abandoned_runs() == 0


def test_a_killed_lab_run_command_leaves_a_run_the_next_start_marks_interrupted(tmp_path):
    import os
    import signal
    import sqlite3
    import subprocess

    home = tmp_path / "home"
    env = {**os.environ, "COMPANION_HOME": str(home)}
    cmd = [sys.executable, "-m", "companion.cli"]
    proc = subprocess.Popen([*cmd, "lab", "run", "batch-size", "--device", "cpu", "--json"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        proc.stdout.readline()  # the started event: the run is recorded
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the lab's own process, too
        except ProcessLookupError:
            pass
    db = sqlite3.connect(home / "companion.db")
    assert db.execute("SELECT status FROM lab_runs").fetchall() == [("running",)]
    db.close()
    assert subprocess.run([*cmd, "due"], env=env, capture_output=True).returncode == 0
    db = sqlite3.connect(home / "companion.db")
    assert db.execute("SELECT status FROM lab_runs").fetchall() == [("interrupted",)]
    db.close()
