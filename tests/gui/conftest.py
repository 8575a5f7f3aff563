"""GUI fixtures: a Workspace on the tiny model, a session, a main window, and strict dialogs.

Every test gets private QSettings, and any error dialog a test did not expect
fails it.  Teardown waits for every worker: no test leaves a thread running.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from gui_helpers import SAMPLE_STORY
from lift_reader.workers.background import live_workers, wait_for_workers



@pytest.fixture(autouse=True)
def private_qsettings(tmp_path, qapp):
    """QSettings() in the app writes under the test's folder, never the user's."""
    folder = tmp_path / "qsettings"
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(folder))
    qapp.setOrganizationName("LIFT Reader tests")
    qapp.setApplicationName("LIFT Reader tests")
    return folder


@pytest.fixture(autouse=True)
def dialogs(monkeypatch):
    """Modal dialogs would block a test: record them instead; unexpected warnings fail it."""
    seen = {"warnings": [], "questions": [], "infos": []}
    answers = {"question": QMessageBox.StandardButton.Yes}

    def _warning(_parent, _title, text, *args, **kwargs):
        seen["warnings"].append(text)
        return QMessageBox.StandardButton.Ok

    def _question(_parent, _title, text, *args, **kwargs):
        seen["questions"].append(text)
        return answers["question"]

    def _information(_parent, _title, text, *args, **kwargs):
        seen["infos"].append(text)
        return QMessageBox.StandardButton.Ok

    monkeypatch.setattr(QMessageBox, "warning", _warning)
    monkeypatch.setattr(QMessageBox, "critical", _warning)
    monkeypatch.setattr(QMessageBox, "question", _question)
    monkeypatch.setattr(QMessageBox, "information", _information)
    seen["answers"] = answers
    yield seen
    assert not seen["warnings"], f"unexpected error dialogs: {seen['warnings']}"


@pytest.fixture
def prefs(private_qsettings):
    from lift_reader.gui.preferences import Preferences

    preferences = Preferences(QSettings(str(private_qsettings / "prefs.ini"), QSettings.Format.IniFormat))
    preferences.set_answer_tokens(24)  # the tiny model rambles on: keep answers short and tests quick
    return preferences


@pytest.fixture
def workspace(tiny_lm, lift_home):
    from lift_reader.core.workspace import Workspace
    from lift_reader.store.library import Library

    ws = Workspace(Library(), progress=lambda _message: None)
    ws.use_model(tiny_lm)
    yield ws
    ws.library.close()


@pytest.fixture
def session(qtbot, workspace):
    from lift_reader.workers.session import Session

    s = Session(workspace)
    yield s
    s.lane.stop_all()
    assert wait_for_workers(60, cancel=True), "a worker was still running after 60 s"
    assert s.shutdown(60_000)
    qtbot.waitUntil(lambda: not live_workers(), timeout=5000)  # their last signals delivered


@pytest.fixture
def window(qtbot, session, prefs):
    from lift_reader.gui.main_window import MainWindow

    win = MainWindow(session, prefs)
    qtbot.addWidget(win)
    win.resize(1300, 820)
    win.show()
    return win


@pytest.fixture
def sample_pdf(tmp_path) -> Path:
    """A three-page PDF with an outline, made with pymupdf."""
    import pymupdf

    path = tmp_path / "harbour-notes.pdf"
    doc = pymupdf.open()
    chapters = ["The Harbour", "The Lantern Room", "The Storm"]
    for number, title in enumerate(chapters, start=1):
        page = doc.new_page()
        body = (f"Chapter {number}: {title}\n\n"
                + f"The keeper wrote about the {title.lower()} in her ledger every evening. " * 12
                + ("\n\nThe brass lantern was polished with vinegar." if number == 2 else ""))
        page.insert_textbox(pymupdf.Rect(72, 72, 523, 770), body, fontsize=11)
    doc.set_toc([[1, title, n] for n, title in enumerate(chapters, start=1)])
    doc.set_metadata({"title": "Harbour Notes", "author": "A. Keeper"})
    doc.save(path)
    doc.close()
    return path


def pytest_collection_modifyitems(items):
    # The offscreen platform (no display) says what it cannot do (size hints, raise, grabs): not our warnings.
    offscreen_limits = pytest.mark.qt_log_ignore(r"This plugin does not support (propagateSizeHints|raise|grabbing)")
    for item in items:
        if "tests/gui/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(offscreen_limits)


@pytest.fixture
def short_story(tmp_path) -> Path:
    """A book of its own: the sample story's opening (about a page), memorized whole in as few steps as the
    sample's first page (about 20 of 64 tokens on the tiny model).  For tests that check the adapter a run
    leaves active: one memorized only up to a page is not made active (issue 15), unless it is the last."""
    paragraphs = SAMPLE_STORY.read_text(encoding="utf-8").split("\n\n")
    kept: list[str] = []
    while paragraphs and sum(map(len, kept)) < 2400:
        kept.append(paragraphs.pop(0))
    path = tmp_path / "ledger-opening.txt"
    path.write_text("\n\n".join(kept) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def memorized_story(workspace):
    """The sample story with a tiny adapter over the whole book (its active adapter), trained in the test's
    thread before any window exists; 8 segments a step keep it to about 20 steps."""
    from lift_reader.core.memorize.settings import MemorizeSettings

    record = workspace.add_book(SAMPLE_STORY)
    settings = MemorizeSettings(segment_length=64, stride=64, micro_batch_size=8, epochs=1, checkpoint_every=1000)
    for _event in workspace.memorize(record, settings, adapter_name="Ledger v1"):
        pass
    return workspace.library.get_book(record.content_hash)
