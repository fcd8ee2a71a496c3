"""`python -m labs` as the app and a person use it: in a subprocess, as they would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from labs.events import Metric, Result, Started, Table, from_json

ROOT = Path(__file__).resolve().parents[2]


def labs(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100"}
    return subprocess.run([sys.executable, "-m", "labs", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=timeout)


@pytest.mark.parametrize("args", [["list"], ["list", "--json"]])
def test_list_does_not_import_torch(args):
    code = (
        "import runpy, sys\n"
        f"sys.argv = ['labs', *{args!r}]\n"
        "try:\n    runpy.run_module('labs', run_name='__main__')\n"
        "except SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "heavy = sorted(m for m in ('torch', 'numpy', 'sklearn') if m in sys.modules)\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "HEAVY []" in done.stderr
    assert "batch-size" in done.stdout


def test_list_json_describes_every_lab_and_parameter():
    done = labs("list", "--json")
    assert done.returncode == 0
    specs = {s["name"]: s for s in json.loads(done.stdout)}
    assert {"batch-size", "input-gradient", "transformer-trace"} <= set(specs)
    params = {p["name"]: p for p in specs["batch-size"]["params"]}
    assert params["batch_sizes"]["kind"] == "int_list" and 1257 in params["batch_sizes"]["default"]


def test_run_json_prints_only_events_ending_in_a_result():
    done = labs("run", "batch-size", "--json", "--device", "cpu", "--seed", "2",
                "--param", "batch_sizes=16,256", "--param", "examples=600",
                "-p", "noise_draws=2", "-p", "hidden=8")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    events = [from_json(line) for line in lines]  # every line is an event, nothing else
    assert isinstance(events[0], Started) and events[0].seed == 2
    assert events[0].params["batch_sizes"] == [16, 256]
    assert isinstance(events[-1], Result)
    assert sum(isinstance(e, Result) for e in events) == 1
    assert any(isinstance(e, Metric) for e in events) and any(isinstance(e, Table) for e in events)
    assert set(events[-1].summary["final_test_accuracy"]) == {"16", "256"}


def test_run_without_json_draws_tables_charts_and_summary():
    done = labs("run", "batch-size", "--device", "cpu", "-p", "batch_sizes=32,1257",
                "-p", "examples=400", "-p", "noise_draws=2", "-p", "hidden=8")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "The partial last batch" in out and "Summary" in out
    assert "test accuracy vs steps" in out and "B=32" in out
    assert any(0x2800 <= ord(ch) <= 0x28FF for ch in out)  # a braille chart was drawn


@pytest.mark.parametrize("args, says", [
    (["run", "batch-size", "--param", "lr=fast"], "lr='fast': expected a number"),
    (["run", "batch-size", "--param", "batch_sizes=0"], "must be at least 1"),
    (["run", "batch-size", "--param", "colour=red"], "has no parameter 'colour'"),
    (["run", "batch-size", "--param", "lr"], "expected name=value"),
    (["run", "no-such-lab"], "unknown lab 'no-such-lab'"),
    (["run", "batch-size", "--device", "tpu"], "argument --device: invalid choice"),
    (["run", "batch-size", "--seed", "-3"], "--seed"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_is_one_line_on_stderr_and_status_2(args, says):
    done = labs(*args)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("labs: error: ") and says in lines[0]


def test_a_device_that_is_not_there_is_bad_input():
    pytest.importorskip("torch")
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    done = labs("run", "batch-size", "--json", "--device", "cuda")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [
        "labs: error: --device cuda: no CUDA GPU is visible to PyTorch (try --device cpu)"
    ]


def test_a_parameter_the_lab_itself_rejects_is_status_2_with_a_failed_event(tmp_path):
    missing = tmp_path / "cifar-10-python.tar.gz"  # only the lab can find out it isn't there
    done = labs("run", "batch-size", "--json", "--device", "cpu", "-p", "dataset=cifar10",
                "-p", f"cifar_path={missing}")
    assert done.returncode == 2
    last = from_json(done.stdout.splitlines()[-1])
    assert last.kind == "exception" and str(missing) in last.message
    assert done.stderr.splitlines()[-1].startswith("labs: error: bad parameter: cifar_path")


def test_parameters_the_catalog_rejects_stop_before_any_event():
    done = labs("run", "batch-size", "--json", "--device", "cpu", "-p", "noise_batches=8")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [
        "labs: error: noise_batches=8: expected two sizes B_small,B_big with B_small < B_big"]


def test_sigint_ends_a_run_with_a_cancelled_event():
    import signal

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "labs", "run", "batch-size", "--json", "--device", "cpu",
         "-p", "examples=10000000"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env,
        start_new_session=True)
    try:
        assert process.stdout is not None
        for line in process.stdout:  # wait until training is under way
            if isinstance(from_json(line), Metric):
                break
        os.killpg(process.pid, signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    last = from_json(rest.splitlines()[-1])
    assert process.returncode == 1
    assert last.kind == "cancelled" and "batch-size" in last.message
