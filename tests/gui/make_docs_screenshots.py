"""Regenerate the screenshots in docs/images (a developer script, not a test).

Run under a display (or Xvfb), each phase in its own data folder:

    LIFT_READER_HOME=$(mktemp -d) xvfb-run -s "-screen 0 1400x900x24" \\
        .venv/bin/python tests/gui/make_docs_screenshots.py reader docs/images/library-reader.png
    LIFT_READER_HOME=$(mktemp -d) LIFT_READER_TINY_MODEL=1 xvfb-run -s "-screen 0 1400x900x24" \\
        .venv/bin/python tests/gui/make_docs_screenshots.py memorize docs/images/memorize.png
    LIFT_READER_HOME=$(mktemp -d) xvfb-run -s "-screen 0 1400x900x24" \\
        .venv/bin/python tests/gui/make_docs_screenshots.py chat docs/images/chat.png [ADAPTER.zip]

reader: three books (TXT, PDF, EPUB) with the embedded model's session idle.
memorize: the sample story being memorized by the tiny model (LIFT_READER_TINY_MODEL=1).
chat: the embedded model answering questions about the sample story (LIFT+ICL with
an adapter imported from ADAPTER.zip, else ICL).
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer

from lift_reader.gui.app import SCREENSHOT_SIZE, create_app
from lift_reader.gui.main_window import MainWindow
from lift_reader.gui.preferences import Preferences
from lift_reader.resources import sample_questions, sample_story
from lift_reader.workers.session import Session

BOOKS = Path(__file__).resolve().parents[3] / "shared" / "data" / "books"


def wait_for(condition, timeout_s: float) -> bool:
    loop = QEventLoop()
    timer = QTimer(interval=100)
    timer.timeout.connect(lambda: loop.quit() if condition() else None)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    timer.start()
    loop.exec()
    timer.stop()
    return bool(condition())


def open_and_wait(window: MainWindow, path: Path) -> None:
    opened = []
    window.book_opened.connect(opened.append)
    window.open_path(path)
    assert wait_for(lambda: bool(opened), 120), f"{path} did not open"
    window.book_opened.disconnect(opened.append)


def settle(ms: int = 800) -> None:
    wait_for(lambda: False, ms / 1000)


def make_window(session: Session) -> MainWindow:
    window = MainWindow(session, Preferences())
    window.resize(*SCREENSHOT_SIZE)
    window.show()
    return window


def reader_shot(out: Path) -> None:
    session = Session()
    window = make_window(session)
    session.ensure_model()  # as the app does at start: the estimate shows once it is loaded
    for path in (sample_story(), BOOKS / "gutenberg-pg33283-calculus-made-easy.pdf",
                 BOOKS / "gutenberg-pg35-time-machine-epub3.epub"):
        open_and_wait(window, path)
    window.reader.go_to_page(13)
    window.reader.open_find()
    window.reader.find("Time Traveller")
    wait_for(lambda: "steps" in window.memorize_panel.estimate_label.text(), 300)
    settle(1500)
    window.grab().save(str(out))


def memorize_shot(out: Path) -> None:
    from lift_reader.core.memorize.settings import MemorizeSettings

    session = Session(tiny_model=True)
    window = make_window(session)
    open_and_wait(window, sample_story())
    record = window.record
    settings = MemorizeSettings(segment_length=64, epochs=2, learning_rate=3e-3)  # a visibly falling curve
    window.prefs.set_book_settings(record.content_hash, settings)
    window.show_record(record)
    window.memorize_panel.start_button.click()
    assert wait_for(lambda: window.memorize_panel.progress.value() >= 42, 600), "memorizing did not progress"
    window.grab().save(str(out))
    window.queue.pause(record.content_hash)
    wait_for(lambda: window.queue.active is None, 60)


def chat_shot(out: Path, adapter_zip: Path | None) -> None:
    from lift_reader.core.workspace import Workspace

    workspace = Workspace(progress=print)
    record = workspace.add_book(sample_story())
    if adapter_zip is not None:
        workspace.import_adapter(adapter_zip)  # becomes the story's active adapter
    session = Session(workspace)
    window = make_window(session)
    session.ensure_model()
    open_and_wait(window, sample_story())
    window.tabs.setCurrentWidget(window.chat_panel)
    panel = window.chat_panel
    for item in sample_questions()[:2]:
        panel.input.setPlainText(item["question"])
        panel.ask()
        assert wait_for(lambda: not panel.busy, 600), "no answer"
    window.reader.go_to_page(record.last_page)
    settle()
    window.grab().save(str(out))


def main(argv: list[str]) -> int:
    phase, out = argv[1], Path(argv[2])
    create_app()
    out.parent.mkdir(parents=True, exist_ok=True)
    if phase == "reader":
        reader_shot(out)
    elif phase == "memorize":
        memorize_shot(out)
    elif phase == "chat":
        chat_shot(out, Path(argv[3]) if len(argv) > 3 else None)
    else:
        raise SystemExit(f"unknown phase {phase!r}")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
