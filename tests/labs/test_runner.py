"""The runner: bad input before anything runs, and every failure as one Failed event."""

from __future__ import annotations

import sys
import types

import pytest
import torch

from labs import catalog
from labs.catalog import LabSpec, Param, ParamError
from labs.events import Failed, Progress, Result, Started
from labs.runner import run_lab

FAKE_MODULE = "fake_lab_for_runner_tests"


@pytest.fixture
def fake_lab(monkeypatch):
    """Registers lab `fake` whose `run` does whatever the test puts in `behaviour`."""
    behaviour = {"run": lambda params, ctx: {"ok": params["n"]}}
    module = types.ModuleType(FAKE_MODULE)

    def run(params, ctx):
        ctx.progress(1, 2, "half way")
        return behaviour["run"](params, ctx)

    module.run = run
    monkeypatch.setitem(sys.modules, FAKE_MODULE, module)
    monkeypatch.setitem(catalog.LABS, "fake", LabSpec(
        name="fake", title="Fake", explanation="for tests", module=FAKE_MODULE,
        params=(Param("n", "int", 3, "a number", 0, 10),),
    ))
    return behaviour


def _run(**kw):
    events: list = []
    status = run_lab("fake", kw.pop("params", {}), device="cpu", seed=kw.pop("seed", 5),
                     emit=events.append)
    return status, events


def test_a_good_run_is_started_progress_result(fake_lab):
    status, events = _run(params={"n": "7"})
    assert status == 0
    assert [type(e) for e in events] == [Started, Progress, Result]
    assert events[0].params == {"n": 7} and events[0].device == "cpu" and events[0].seed == 5
    assert events[-1].summary == {"ok": 7}


def test_the_seed_is_set_before_the_lab_runs(fake_lab):
    fake_lab["run"] = lambda params, ctx: {"draw": torch.rand(1).item()}
    _, first = _run(seed=11)
    _, second = _run(seed=11)
    _, other = _run(seed=12)
    assert first[-1].summary == second[-1].summary != other[-1].summary


def test_bad_parameters_raise_before_any_event(fake_lab):
    events: list = []
    for raw in ({"n": "eleven"}, {"n": "11"}, {"m": "1"}):
        with pytest.raises(ParamError):
            run_lab("fake", raw, device="cpu", emit=events.append)
    with pytest.raises(ParamError, match="unknown lab 'nope'"):
        run_lab("nope", {}, emit=events.append)
    assert events == []


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_a_missing_device_is_bad_input(fake_lab):
    with pytest.raises(ParamError, match="--device cuda"):
        run_lab("fake", {}, device="cuda")


def test_an_exception_becomes_failed_with_type_message_and_place(fake_lab):
    def boom(params, ctx):
        raise ZeroDivisionError("the lab divided by zero")

    fake_lab["run"] = boom
    status, events = _run()
    assert status == 1
    assert isinstance(events[-1], Failed) and events[-1].kind == "exception"
    message = events[-1].message
    assert message.startswith("ZeroDivisionError: the lab divided by zero")
    assert "test_runner.py:" in message and "in boom" in message
    assert sum(isinstance(e, Failed | Result) for e in events) == 1


def test_torch_out_of_memory_becomes_failed_oom(fake_lab):
    def oom(params, ctx):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    fake_lab["run"] = oom
    status, events = _run()
    assert status == 1 and events[-1].kind == "oom"
    message = events[-1].message
    assert "fake" in message and "cpu" in message and "smaller" in message


def test_an_mps_out_of_memory_runtime_error_is_oom_too(fake_lab, monkeypatch):
    def oom(params, ctx):
        raise RuntimeError("MPS backend out of memory (MPS allocated: 8 GB)")

    fake_lab["run"] = oom
    events: list = []
    # Pretend the run is on a GPU so the advice names the CPU as a way out.
    monkeypatch.setattr("labs.context.resolve_device", lambda requested: "mps")
    status = run_lab("fake", {}, device="mps", emit=events.append)
    assert status == 1 and events[-1].kind == "oom"
    assert "on mps" in events[-1].message and "--device cpu" in events[-1].message


def test_ctrl_c_becomes_failed_cancelled(fake_lab):
    def interrupted(params, ctx):
        raise KeyboardInterrupt

    fake_lab["run"] = interrupted
    status, events = _run()
    assert status == 1 and events[-1].kind == "cancelled"


def test_a_lab_that_rejects_its_parameters_is_bad_input(fake_lab):
    def picky(params, ctx):
        raise ParamError("n must be even")

    fake_lab["run"] = picky
    status, events = _run()
    assert status == 2 and events[-1].kind == "exception"
    assert "n must be even" in events[-1].message


def test_a_summary_that_is_not_json_is_a_failed_run(fake_lab):
    from labs.events import to_json

    fake_lab["run"] = lambda params, ctx: {"tensor": object()}
    events: list = []
    status = run_lab("fake", {}, device="cpu", emit=lambda e: events.append(to_json(e)))
    assert status == 1 and '"kind":"exception"' in events[-1] and "TypeError" in events[-1]
