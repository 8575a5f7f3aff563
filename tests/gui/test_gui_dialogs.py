"""Adapters manager, Settings and About; starting the app for a screenshot; the layering rule."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

from PySide6.QtGui import QImage
from PySide6.QtWidgets import QDialog, QFileDialog, QInputDialog, QLineEdit

from gui_helpers import SAMPLE_STORY


def _wait_idle(qtbot, dialog):
    qtbot.waitUntil(lambda: not dialog._busy, timeout=30_000)


def test_adapters_manager_renames_exports_deletes_and_imports(qtbot, session, memorized_story, monkeypatch,
                                                              tmp_path, dialogs):
    from lift_reader.gui.adapters_dialog import AdapterDetailsDialog, AdaptersDialog

    dialog = AdaptersDialog(session)
    qtbot.addWidget(dialog)
    changes = []
    dialog.adapters_changed.connect(lambda: changes.append(1))
    assert dialog.table.rowCount() == 1
    assert dialog.table.item(0, 0).text() == "Ledger v1" and dialog.table.item(0, 7).text() == "yes"
    dialog.table.selectRow(0)

    monkeypatch.setattr(QInputDialog, "exec", lambda self: (self.setTextValue("Ledger final"),
                                                           QDialog.DialogCode.Accepted)[1])
    dialog.rename()
    _wait_idle(qtbot, dialog)
    assert [a.name for a in session.library.list_adapters()] == ["Ledger final"]
    assert session.library.get_book(memorized_story.content_hash).active_adapter == "Ledger final"

    archive = tmp_path / "ledger.zip"
    dialog.select_name("Ledger final")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(archive), ""))
    dialog.export()
    _wait_idle(qtbot, dialog)
    assert archive.is_file() and archive.stat().st_size > 0
    assert dialogs["infos"].pop() == f"Exported “Ledger final” to {archive}"  # the reader is told where

    details = AdapterDetailsDialog(dialog.selected())
    qtbot.addWidget(details)
    assert details.plot.point_count > 0

    dialog.select_name("Ledger final")
    dialog.delete()
    _wait_idle(qtbot, dialog)
    assert dialogs["questions"] and session.library.list_adapters() == []
    assert dialog.table.rowCount() == 0

    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(archive), ""))
    dialog.import_archive()
    _wait_idle(qtbot, dialog)
    assert [a.name for a in session.library.list_adapters()] == ["Ledger final"]
    assert session.library.get_book(memorized_story.content_hash).active_adapter == "Ledger final"
    session.library.set_active_adapter(memorized_story.content_hash, None)
    dialog.select_name("Ledger final")
    dialog.activate()
    _wait_idle(qtbot, dialog)
    assert session.library.get_book(memorized_story.content_hash).active_adapter == "Ledger final"
    assert dialog.status.text() == "“Ledger final” now answers for its book"
    assert len(changes) >= 4


def test_importing_a_broken_archive_shows_one_readable_line(qtbot, session, monkeypatch, tmp_path, dialogs):
    from lift_reader.gui.adapters_dialog import AdaptersDialog

    dialog = AdaptersDialog(session)
    qtbot.addWidget(dialog)
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip at all")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(bad), ""))
    dialog.import_archive()
    _wait_idle(qtbot, dialog)
    message = dialogs["warnings"].pop()
    assert message.startswith("Importing") and "Traceback" not in message


def test_settings_dialog_saves_model_and_training_defaults(qtbot, prefs, tmp_path, dialogs):
    from lift_reader.gui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(prefs)
    qtbot.addWidget(dialog)
    dialog.kind.setCurrentIndex(dialog.kind.findData("folder"))
    dialog.location.setText(str(tmp_path))  # a folder without config.json: refused, with a reason
    dialog.accept()
    assert "config.json" in dialogs["warnings"].pop()
    (tmp_path / "config.json").write_text("{}")
    dialog.training.epochs.setValue(3)
    dialog.answer_tokens.setValue(300)
    dialog.device.setCurrentText("cpu")
    dialog.accept()
    assert prefs.model_ref == str(tmp_path) and prefs.device == "cpu"
    assert prefs.memorize_defaults().epochs == 3 and prefs.answer_tokens() == 300


def test_about_dialog_shows_hardware_and_copies_it(qtbot, session):
    from lift_reader.gui.about_dialog import AboutDialog

    dialog = AboutDialog(session)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: "torch" in dialog.system_info(), timeout=30_000)
    dialog.copy_system_info()
    from PySide6.QtGui import QGuiApplication

    assert "data folder" in QGuiApplication.clipboard().text()


def test_screenshot_mode_saves_the_window_with_the_book(qtbot, workspace, tmp_path, monkeypatch):
    from lift_reader.gui.app import run_app

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # run_app installs its own
    shot = tmp_path / "shot.png"
    root = logging.getLogger("lift_reader")
    handlers = list(root.handlers)
    try:
        assert run_app(open_path=str(SAMPLE_STORY), screenshot=str(shot), workspace=workspace) == 0
    finally:
        for handler in set(root.handlers) - set(handlers):
            root.removeHandler(handler)
            handler.close()
    image = QImage(str(shot))
    assert not image.isNull() and image.width() > 800
    assert workspace.library.list_books()[0].title.startswith("The Lighthouse")


def test_the_gui_does_not_import_torch():
    """Importing every gui module loads no model library.  `lint-imports` (pyproject.toml) sees that gui's own
    code never imports them; this sees that what gui imports (workers, core) keeps those imports lazy."""
    code = ("import pkgutil, sys, lift_reader.gui; "
            "[__import__(m.name) for m in pkgutil.walk_packages(lift_reader.gui.__path__, 'lift_reader.gui.')]; "
            "bad = [m for m in ('torch', 'transformers', 'peft', 'bitsandbytes') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_rename_shows_a_long_name_whole(qtbot):
    from lift_reader.gui.adapters_dialog import rename_dialog

    name = "The Lighthouse Keeper's Ledger · gemma-3-270m · 2024-05-01 14:32 · up to page 12"
    dialog = rename_dialog(None, name)
    qtbot.addWidget(dialog)
    dialog.show()
    field = dialog.findChild(QLineEdit)
    assert field.text() == name and field.width() > field.fontMetrics().horizontalAdvance(name)


def test_export_opens_in_documents_or_home_then_where_it_was_last_used(qtbot, session, memorized_story, prefs,
                                                                        monkeypatch, tmp_path, dialogs):
    from PySide6.QtCore import QStandardPaths

    from lift_reader.gui.adapters_dialog import AdaptersDialog

    dialog = AdaptersDialog(session, prefs)
    qtbot.addWidget(dialog)
    dialog.select_name("Ledger v1")
    offered = []

    def _save(_parent, _caption, start, _filter):
        offered.append(Path(start))
        return str(tmp_path / "exports" / "ledger.zip"), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", _save)
    (tmp_path / "exports").mkdir()
    dialog.export()
    _wait_idle(qtbot, dialog)
    documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    first = offered[0].parent
    assert first in (Path(documents), Path.home()) and first != Path.cwd() and offered[0].name == "Ledger v1.zip"
    assert dialogs["infos"] and "ledger.zip" in dialog.status.text()
    dialog.export()  # the next time: the folder used last
    _wait_idle(qtbot, dialog)
    assert offered[1].parent == tmp_path / "exports"


def test_about_lists_each_fact_once(qtbot, session):
    import platform

    from lift_reader.gui.about_dialog import AboutDialog

    dialog = AboutDialog(session)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: "torch" in dialog.system_info(), timeout=30_000)
    assert dialog.system_info().count(platform.python_version()) == 1
