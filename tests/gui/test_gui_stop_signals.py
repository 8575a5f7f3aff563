"""A SIGTERM (logout, shutdown, kill) while memorizing pauses the run with a checkpoint, and the next start resumes."""

from __future__ import annotations

import os
import signal

from gui_helpers import open_book, SAMPLE_STORY
from lift_reader.core.settings import MemorizeSettings
from lift_reader.gui.stop_signals import STOP_SIGNALS, install_stop_signals

TINY_RUN = MemorizeSettings(segment_length=64, stride=64, epochs=1, up_to_page=1, learning_rate=5e-3,
                            checkpoint_every=1000, checkpoint_minutes=0, warmup_ratio=0.0)


def test_sigterm_while_memorizing_pauses_with_a_checkpoint_and_resume_is_offered(qtbot, qapp, window, prefs,
                                                                                  session, dialogs):
    from lift_reader.gui.main_window import MainWindow

    record = open_book(qtbot, window, SAMPLE_STORY)
    prefs.set_book_settings(record.content_hash, TINY_RUN)
    with qtbot.waitSignal(window.book_opened, timeout=10_000):
        window.show_record(record)
    queue = window.queue
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
    assert 3 <= steps[-1] <= 4

    reopened = MainWindow(session, prefs)  # the next start of the app
    qtbot.addWidget(reopened)
    reopened.show_record(record)
    qtbot.waitUntil(reopened.memorize_panel.resume_button.isEnabled, timeout=10_000)
