"""A SIGTERM (logout, shutdown, kill) while memorizing pauses the run with a checkpoint, and the next start resumes."""

from __future__ import annotations

import os
import signal

from gui_helpers import open_book, SAMPLE_STORY
from lift_reader.core.memorize.settings import MemorizeSettings
from lift_reader.gui.stop_signals import STOP_SIGNALS, install_stop_signals

TINY_RUN = MemorizeSettings(segment_length=64, stride=64, epochs=1, up_to_page=1, learning_rate=5e-3,
                            checkpoint_every=1000, checkpoint_minutes=0, warmup_ratio=0.0)


def _waiting_after_step(memorize, step: int):
    """``memorize`` whose run, once ``step`` is reported, waits until it is asked to stop before going on.

    The run cannot get ahead of the GUI (the tiny model takes a few milliseconds a step): it pauses at
    exactly ``step``, however busy the machine.
    """

    def waiting(*args, cancel, **kwargs):
        for event in memorize(*args, cancel=cancel, **kwargs):
            yield event
            if event.kind == "step" and event.step == step:
                assert cancel.wait(30), f"the run was not asked to stop within 30 s of step {step}"

    return waiting


def test_sigterm_while_memorizing_pauses_with_a_checkpoint_and_resume_is_offered(qtbot, qapp, window, prefs,
                                                                                  session, dialogs, monkeypatch):
    from lift_reader.gui.main_window import MainWindow

    record = open_book(qtbot, window, SAMPLE_STORY)
    prefs.set_book_settings(record.content_hash, TINY_RUN)
    with qtbot.waitSignal(window.book_opened, timeout=10_000):
        window.show_record(record)
    queue = window.queue
    workspace = session.workspace()
    monkeypatch.setattr(workspace, "memorize", _waiting_after_step(workspace.memorize, 3))
    before = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    wake = install_stop_signals(window, qapp)
    steps: list[int] = []

    def _on_event(_hash, event):
        if event.kind == "step":
            steps.append(event.step)
            if event.step == 3:
                os.kill(os.getpid(), signal.SIGTERM)  # at a chosen step, as a logout would

    queue.event.connect(_on_event)
    try:
        with qtbot.waitSignal(queue.stopped, timeout=60_000) as stopped:
            window.memorize_panel.start_button.click()
    finally:
        wake.stop()
        for sig, handler in before.items():
            signal.signal(sig, handler)
    assert stopped.args == [record.content_hash, False]  # paused, not cancelled
    assert not dialogs["questions"]  # a logout cannot wait for an answer
    assert not window.isVisible()
    # No step since the last periodic checkpoint is lost (with checkpoint_every 1000 there was none).
    assert session.workspace().has_checkpoint(record, window.memorize_panel.settings())
    assert steps[-1] == 3
    assert [run.step for run in session.workspace().paused_runs()] == [3]

    reopened = MainWindow(session, prefs)  # the next start of the app
    qtbot.addWidget(reopened)
    reopened.show_record(record)
    qtbot.waitUntil(reopened.memorize_panel.resume_button.isEnabled, timeout=10_000)
