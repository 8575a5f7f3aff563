"""A bar at the top of the window, on start: "Resume memorizing “<title>”?" for a run that was stopped
(paused, or cut short by a quit, a logout or a crash) before the app last ended.

Not a dialog: the reader may want to read first, and a question at start-up would stand
between them and the book.  One run at a time; Resume or Not Now shows the next.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget


class ResumeNotice(QFrame):
    resume_requested = Signal(object)  # core.workspace.PausedRun

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._runs: list = []  # PausedRuns still to offer, the one shown first
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.resume_button = QPushButton("Resume", clicked=self._on_resume_clicked)
        self.dismiss_button = QPushButton("Not Now", clicked=self._on_dismiss_clicked,
                                          toolTip="Resume stays in the Memorize tab")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.resume_button)
        layout.addWidget(self.dismiss_button)
        self.hide()

    @property
    def offered(self):
        """The PausedRun shown, if any."""
        return self._runs[0] if self._runs else None

    def offer(self, runs: list) -> None:
        """Offer these paused runs, one after another."""
        self._runs = list(runs)
        self._show_first()

    def retain(self, content_hashes: set[str]) -> None:
        """Drop the offers of other books (resumed some other way, cancelled, finished)."""
        self._runs = [run for run in self._runs if run.record.content_hash in content_hashes]
        self._show_first()

    def _show_first(self) -> None:
        run = self.offered
        if run is not None:
            self.label.setText(f"Resume memorizing “{run.record.title}”? It stopped at {run.fraction:.0%} "
                               f"(step {run.step:,} of {run.total_steps:,}).")
        self.setVisible(run is not None)

    def _on_resume_clicked(self) -> None:
        run = self.offered
        if run is not None:
            self._runs.pop(0)
            self._show_first()
            self.resume_requested.emit(run)

    def _on_dismiss_clicked(self) -> None:
        if self._runs:
            self._runs.pop(0)
        self._show_first()
