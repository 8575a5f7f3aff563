"""The status bar: messages, the model's name, and a busy indicator while the model works."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar

from lift_reader.workers.session import Session


class StatusArea(QObject):
    """A QObject child of the status bar, so its connections end with the window."""

    def __init__(self, bar: QStatusBar, session: Session):
        super().__init__(bar)
        self.bar = bar
        self.session = session
        self.job_label = QLabel()
        self.busy = QProgressBar(maximumWidth=120, maximumHeight=14, textVisible=False)
        self.busy.setRange(0, 0)  # an indeterminate "working" bar
        self.busy.hide()
        self.model_label = QLabel("Model: not loaded")
        bar.addPermanentWidget(self.job_label)
        bar.addPermanentWidget(self.busy)
        bar.addPermanentWidget(self.model_label)
        session.lane.busy_changed.connect(self._on_lane_busy_changed)
        session.lane.job_started.connect(self._on_job_started)
        session.model_message.connect(self.show_message)
        session.model_ready.connect(self._on_model_ready)
        session.model_failed.connect(self._on_model_failed)

    def show_message(self, text: str, timeout_ms: int = 0) -> None:
        self.bar.showMessage(text, timeout_ms)

    def _on_lane_busy_changed(self, busy: bool) -> None:
        self.busy.setVisible(busy)
        if not busy:
            self.job_label.clear()

    def _on_job_started(self, label: str) -> None:
        self.job_label.setText(f"{label}…")
        if label.startswith("Loading the model"):
            self.model_label.setText("Model: loading…")

    def _on_model_failed(self, _err) -> None:
        self.model_label.setText("Model: failed to load")

    def _on_model_ready(self, info) -> None:
        self.model_label.setText(f"Model: {info.label} ({info.placement})")
        self.model_label.setToolTip(f"fingerprint {info.fingerprint}")
        self.show_message("The model is ready.", 4000)
