"""The worker pattern and the model lane, on plain functions (no model)."""

from __future__ import annotations

import threading
import time

import pytest

from lift_reader.workers.background import run_generator, run_in_background, wait_for_workers
from lift_reader.workers.lane import ModelLane


def _add(a, b):
    assert threading.current_thread() is not threading.main_thread()
    return a + b


def _count(n, *, cancel):
    for i in range(n):
        if cancel.cancelled:
            return "stopped"
        yield i
        time.sleep(0.005)
    return "done"


def _fail():
    raise ValueError("broken on purpose")


def test_run_in_background_returns_in_gui_thread(qtbot):
    results, finished = [], []
    run_in_background(_add, 2, 3, on_done=results.append, on_finished=lambda: finished.append(True))
    qtbot.waitUntil(lambda: bool(finished), timeout=5000)
    assert results == [5]


def test_generator_yields_then_returns(qtbot):
    items, returned, finished = [], [], []
    run_generator(_count, 5, on_yield=items.append, on_done=returned.append, on_finished=lambda: finished.append(1))
    qtbot.waitUntil(lambda: bool(finished), timeout=5000)
    assert items == [0, 1, 2, 3, 4] and returned == ["done"]


def test_quit_stops_a_generator_at_its_next_check(qtbot):
    items, returned, aborted, finished = [], [], [], []
    worker = run_generator(_count, 10_000, on_yield=items.append, on_done=returned.append,
                           on_aborted=lambda: aborted.append(True), on_finished=lambda: finished.append(1))
    qtbot.waitUntil(lambda: len(items) >= 3, timeout=5000)
    worker.quit()
    qtbot.waitUntil(lambda: bool(finished), timeout=5000)
    assert aborted == [True] and returned == ["stopped"] and len(items) < 10_000


def test_errors_arrive_as_signals(qtbot, caplog):
    errors, finished = [], []
    run_in_background(_fail, on_error=errors.append, on_finished=lambda: finished.append(1))
    qtbot.waitUntil(lambda: bool(finished), timeout=5000)
    assert isinstance(errors[0], ValueError)
    assert "broken on purpose" in caplog.text  # the traceback goes to the log


def test_lane_runs_one_job_at_a_time_in_order(qtbot):
    lane = ModelLane()
    spans: list[tuple[str, float, float]] = []

    def job(name):
        start = time.perf_counter()
        time.sleep(0.05)
        spans.append((name, start, time.perf_counter()))

    busy = []
    lane.busy_changed.connect(busy.append)
    for name in "abc":
        lane.submit(job, name)
    qtbot.waitUntil(lambda: busy == [True, False], timeout=5000)
    assert [s[0] for s in spans] == ["a", "b", "c"]
    assert all(spans[i][2] <= spans[i + 1][1] for i in range(2)), "lane jobs overlapped"


def test_withdrawn_lane_job_reports_aborted_and_never_runs(qtbot):
    lane = ModelLane()
    gate = threading.Event()
    ran = []
    lane.submit(gate.wait, 5)
    queued = lane.submit(lambda: ran.append(True))
    aborted = []
    queued.signals.aborted.connect(lambda: aborted.append(True))
    assert lane.withdraw(queued)
    gate.set()
    qtbot.waitUntil(lambda: not lane.busy, timeout=5000)
    assert aborted == [True] and ran == []
    assert wait_for_workers(5)


@pytest.mark.parametrize("fn", [_add])
def test_run_generator_refuses_plain_functions(fn):
    with pytest.raises(TypeError):
        run_generator(fn, 1, 2)
