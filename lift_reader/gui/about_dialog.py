"""Help > About: versions, this machine (asked in a worker: it imports torch), paths, and the model's terms."""

from __future__ import annotations

import platform
import re
from pathlib import Path

import PySide6
from PySide6.QtCore import QUrl, qVersion
from PySide6.QtGui import QDesktopServices, QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QPushButton, QTextBrowser, QVBoxLayout, QWidget,
)

from lift_reader import __version__
from lift_reader.store.paths import data_home, logs_dir
from lift_reader.workers import jobs
from lift_reader.workers.session import Session

GEMMA_NOTICE = ("The embedded model, Gemma 3 270M, is provided under and subject to the Gemma Terms of Use "
                "(ai.google.dev/gemma/terms). LIFT Reader ships the terms with the model.")


class AboutDialog(QDialog):
    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("About LIFT Reader")
        self.resize(620, 560)
        heading = QLabel(f"<h2>LIFT Reader {__version__}</h2>"
                         "<p>A reading assistant that memorizes whole books into a local language model "
                         "(Long Input Fine-Tuning) and answers questions about them.</p>")
        heading.setWordWrap(True)
        self.info = QPlainTextEdit(readOnly=True)
        self.info.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))  # the columns line up
        self._rows: list[tuple[str, str]] = [
            ("LIFT Reader", __version__),
            ("Qt", qVersion()),
            ("PySide6", PySide6.__version__),
            ("python", platform.python_version()),
            ("data folder", str(data_home())),
            ("log folder", str(logs_dir())),
        ]
        if session.model_info is not None:
            self._rows.append(("model", f"{session.model_info.label} ({session.model_info.placement})"))
        self._rows.append(("hardware", "checking…"))
        self._show_rows()
        session.background(jobs.doctor_rows, label="Checking the hardware", owner=self,
                           on_done=self._on_hardware_rows, on_error=self._on_hardware_failed)

        notice = QLabel(GEMMA_NOTICE)
        notice.setWordWrap(True)
        self.terms_button = QPushButton("Gemma Terms of Use", clicked=self._on_terms_clicked)
        self.terms_button.setEnabled(self._terms_path() is not None)
        copy = QPushButton("Copy System Info", clicked=self.copy_system_info)
        logs = QPushButton("Open Log Folder",
                           clicked=lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(logs_dir()))))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, rejected=self.reject)
        for button in (copy, logs, self.terms_button):
            buttons.addButton(button, QDialogButtonBox.ButtonRole.ActionRole)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.info, 1)
        layout.addWidget(notice)
        layout.addWidget(buttons)

    def _show_rows(self) -> None:
        width = max(len(k) for k, _ in self._rows)
        self.info.setPlainText("\n".join(f"{k:>{width}}  {v}" for k, v in self._rows))

    def _on_hardware_rows(self, rows: list[tuple[str, str]]) -> None:
        shown = [r for r in self._rows if r[0] != "hardware"]
        # The doctor's rows start with facts this dialog already lists (python): each once.
        self._rows = shown + [r for r in rows if r[0] not in {label for label, _ in shown}]
        self._show_rows()

    def _on_hardware_failed(self, err: Exception) -> None:
        self._rows = [r for r in self._rows if r[0] != "hardware"] + [("hardware", f"unknown ({err})")]
        self._show_rows()

    def system_info(self) -> str:
        return self.info.toPlainText()

    def copy_system_info(self) -> None:
        QGuiApplication.clipboard().setText(self.system_info())

    @staticmethod
    def _terms_path():
        from lift_reader.core.model.model_source import embedded_terms_path

        return embedded_terms_path()

    def _on_terms_clicked(self) -> None:
        path = self._terms_path()
        if path is not None:
            TermsDialog(path, self).exec()


def terms_article(page: str) -> str:
    """The terms themselves, from their title on: the shipped file is a whole web page, menus and all."""
    match = re.search(r"<h1\b.*?</article>", page, re.DOTALL | re.IGNORECASE)
    return match.group(0) if match else page


class TermsDialog(QDialog):
    """The Gemma Terms of Use as shipped with the model package, shown in the app."""

    def __init__(self, path: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Gemma Terms of Use")
        self.resize(720, 640)
        self.view = QTextBrowser(openExternalLinks=True)
        self.view.setHtml(terms_article(path.read_text(encoding="utf-8", errors="replace")))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, rejected=self.reject)
        browser = buttons.addButton("Open in Browser", QDialogButtonBox.ButtonRole.ActionRole)
        browser.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))))
        layout = QVBoxLayout(self)
        layout.addWidget(self.view, 1)
        layout.addWidget(buttons)
