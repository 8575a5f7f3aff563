"""Drive the real app as a new reader would (a developer script, not a test).

Under a display (or Xvfb) with the embedded model: open the sample story,
click Memorize > Start with the default settings, wait for the end, ask a
question about the middle of the story in the chat, and save screenshots:

    LIFT_READER_HOME=$(mktemp -d) xvfb-run -s "-screen 0 1400x900x24" \\
        .venv/bin/python tests/gui/try_as_a_reader.py OUT_DIR
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from lift_reader.gui.app import create_app
from lift_reader.resources import sample_story
from lift_reader.workers.session import Session

sys.path.insert(0, str(Path(__file__).parent))
from make_docs_screenshots import make_window, open_and_wait, settle, wait_for  # noqa: E402

QUESTION = "What was the name of the schooner that was wrecked in 1860?"


def main(out_dir: Path) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    app = create_app()
    session = Session()
    window = make_window(session)
    session.ensure_model()
    open_and_wait(window, sample_story())
    panel = window.memorize_panel
    assert wait_for(lambda: panel.start_button.isEnabled(), 600), "Start never became clickable"
    started = time.monotonic()
    QTest.mouseClick(panel.start_button, Qt.LeftButton)
    wait_for(lambda: False, 60)
    window.grab().save(str(out_dir / "1-memorizing.png"))
    book_hash = panel.record.content_hash
    done = wait_for(lambda: session.library.active_adapter(book_hash) is not None, 3600)
    print(f"memorize finished={done} after {time.monotonic() - started:.0f} s")
    window.grab().save(str(out_dir / "2-memorized.png"))
    window.tabs.setCurrentWidget(window.chat_panel)
    chat = window.chat_panel
    chat.input.setPlainText(QUESTION)
    QTest.mouseClick(chat.ask_button, Qt.LeftButton)
    asked = time.monotonic()
    wait_for(lambda: chat.busy, 30)
    answered = wait_for(lambda: not chat.busy, 600)
    print(f"answered={answered} after {time.monotonic() - asked:.0f} s: {chat.transcript.last_answer().text!r}")
    settle(1000)
    window.grab().save(str(out_dir / "3-chat.png"))
    window.close()
    app.quit()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1])))
