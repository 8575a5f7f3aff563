"""The Memorize tab: the book, an estimate and Start first; then a live view of the run; the
training settings folded away under "Advanced" (the app's recipe suits a first run).

The panel shows one book (the one in the reader); runs themselves belong to
the ``MemorizeQueue``, so switching books, or queueing several, never stops
one.  Pause keeps a checkpoint that Resume continues, also after a restart,
with the settings saved in it (the queue reads the paused runs from their
checkpoints); a paused book shows where it stopped and its loss curve so far.
"Only up to the current page" memorizes the book as far as the reader
has read (spoiler-safe), following the page open in the reader.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox, QHBoxLayout, QLabel, QMessageBox, QProgressBar, QPushButton, QVBoxLayout, QWidget,
)

from lift_reader.core.memorize.settings import MemorizeSettings
from lift_reader.errors import BadInputError
from lift_reader.gui.collapsible import Collapsible
from lift_reader.gui.errors import show_error
from lift_reader.gui.loss_plot import LossPlot
from lift_reader.gui.memorize_queue import MemorizeQueue
from lift_reader.gui.preferences import Preferences
from lift_reader.gui.training_form import TrainingForm
from lift_reader.store.adapters import read_meta
from lift_reader.store.records import BookRecord
from lift_reader.core.formatting import format_duration
from lift_reader.workers import jobs
from lift_reader.workers.background import Worker
from lift_reader.workers.session import Session


def estimate_summary(estimate) -> str:
    """The estimate in two plain lines (its full wording goes in the tooltip)."""
    took = f"about {format_duration(estimate.seconds)}" if estimate.seconds >= 60 else "under a minute"
    return (f"Takes {took} and up to "
            f"{estimate.peak_memory_bytes / 2**30:.1f} GiB of memory.\n"
            f"{estimate.book_tokens:,} tokens of the book, {estimate.steps:,} training steps.")


def time_left_text(left) -> str:
    if left.seconds is None:
        return "measuring the speed…"
    return f"about {format_duration(left.seconds)} left" + ("" if left.measured else " (estimated)")


class MemorizePanel(QWidget):
    def __init__(self, session: Session, queue: MemorizeQueue, prefs: Preferences, parent: QWidget | None = None):
        super().__init__(parent)
        self.session, self.queue, self.prefs = session, queue, prefs
        self.record: BookRecord | None = None
        self._estimate_job: Worker | None = None
        self._estimate_again = False
        self.estimate = None  # the MemorizeEstimate shown, made for the settings in _estimate_settings
        self._estimate_settings: MemorizeSettings | None = None
        self._estimate_timer = QTimer(self, singleShot=True, interval=400, timeout=self._request_estimate)

        self.title = QLabel("No book open")
        self.title.setWordWrap(True)
        self.title.setStyleSheet("font-weight: 600")
        self.form = TrainingForm()
        self.form.changed.connect(self._estimate_timer.start)
        # Expert knobs: the app's recipe is what measured best, so they stay folded until asked for.
        self.advanced = Collapsible("Advanced: epochs, segment length, learning rate, LoRA rank…", self.form,
                                    expanded=prefs.memorize_advanced_open())
        self.advanced.expanded_changed.connect(prefs.set_memorize_advanced_open)
        self.reading_page = 1  # the page open in the reader (the main window keeps it up to date)
        self.up_to_page_box = QCheckBox(toolTip="Train only on the book up to the end of the page open in the "
                                                "reader: the adapter cannot give away what comes later")
        self.up_to_page_box.toggled.connect(self._estimate_timer.start)
        self.estimate_label = QLabel()
        self.estimate_label.setWordWrap(True)
        self.estimate_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.start_button = QPushButton("Start", clicked=self._on_start_clicked)
        self.pause_button = QPushButton("Pause", clicked=self._on_pause_clicked,
                                        toolTip="Stop and keep a checkpoint: Resume continues from it")
        self.resume_button = QPushButton("Resume", clicked=self._on_resume_clicked)
        self.cancel_button = QPushButton("Cancel", clicked=self._on_cancel_clicked,
                                         toolTip="Stop and forget this run's progress")
        buttons = QHBoxLayout()
        for button in (self.start_button, self.pause_button, self.resume_button, self.cancel_button):
            buttons.addWidget(button)

        self.progress = QProgressBar(textVisible=True)
        self.progress.setFormat("")
        self.stats_label = QLabel()
        self.stats_label.setWordWrap(True)
        self.plot = LossPlot()
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.up_to_page_box)
        layout.addWidget(self.estimate_label)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.stats_label)
        layout.addWidget(self.advanced)
        layout.addWidget(self.plot, 1)

        queue.changed.connect(self._on_queue_changed)
        queue.event.connect(self._on_train_event)
        queue.stopped.connect(self._on_run_stopped)
        queue.removed.connect(self._on_run_removed)
        queue.paused_changed.connect(self._on_paused_changed)
        session.model_ready.connect(self._on_model_ready)
        self.set_reading_page(1)
        self.show_book(None)

    # --- which book ------------------------------------------------------------------

    def show_book(self, record: BookRecord | None) -> None:
        self.record = record
        self.estimate = self._estimate_settings = None  # another book's: a new one is asked for below
        self.plot.clear_curve()
        self.progress.setValue(0)
        self.progress.setFormat("not memorized yet" if record is not None else "")
        self.stats_label.clear()
        if record is None:
            self.title.setText("Open a book to memorize it.")
            self._update_buttons()
            return
        self.title.setText(record.title + (f" · {record.author}" if record.author else ""))
        self._show_settings(self._settings_for(record))
        run = self.queue.run_for(record.content_hash)
        self.plot.set_curve(self.queue.loss_curve(record.content_hash))
        if run is not None:
            if run.last_event is not None:
                self._show_progress(run.last_event)
        elif self.paused is not None:
            self._show_paused(self.paused)
        elif record.active_adapter:
            self._show_saved_adapter(record)
        self._update_buttons()

    def set_reading_page(self, page: int) -> None:
        self.reading_page = max(1, page)
        self.up_to_page_box.setText(f"Only up to the current page ({self.reading_page})")
        if self.up_to_page_box.isChecked():
            self._estimate_timer.start()

    def _show_settings(self, settings: MemorizeSettings) -> None:
        """Show ``settings`` (a page limit in them checks "only up to the current page")."""
        self.up_to_page_box.blockSignals(True)
        self.up_to_page_box.setChecked(settings.up_to_page is not None)
        self.up_to_page_box.blockSignals(False)
        self.form.set_settings(settings)

    def settings(self) -> MemorizeSettings:
        """The settings to start with: the form's, up to the current page when that is checked."""
        return replace(self.form.settings(), up_to_page=self.reading_page if self.up_to_page_box.isChecked() else None)

    def _settings_for(self, record: BookRecord):
        device = self.session.model_info.device if self.session.model_info else "cpu"
        return self.prefs.book_settings(record.content_hash) or self.prefs.memorize_defaults(device)

    def _show_saved_adapter(self, record: BookRecord) -> None:
        adapter = self.session.library.active_adapter(record.content_hash)
        if adapter is None:
            return
        try:
            self.plot.set_curve(read_meta(adapter.path).loss_curve)
        except Exception:  # a damaged adapter folder must not break the panel; the adapters dialog says more
            self.plot.clear_curve()
        loss = f", final loss {adapter.final_loss:.3f}" if adapter.final_loss is not None else ""
        self.stats_label.setText(f"Memorized as “{adapter.name}” in {adapter.steps:,} steps{loss}.")
        self.progress.setValue(100)
        self.progress.setFormat("memorized")

    def _on_model_ready(self, _info) -> None:
        if self.record is not None and self.queue.run_for(self.record.content_hash) is None:
            self._show_settings(self._settings_for(self.record))

    # --- a paused run ------------------------------------------------------------------

    @property
    def paused(self):
        """The book's paused run (core.workspace.PausedRun) that Resume continues, if any."""
        return self.queue.paused.get(self.record.content_hash) if self.record is not None else None

    @property
    def has_checkpoint(self) -> bool:
        return self.paused is not None

    def _show_paused(self, paused) -> None:
        """Where the paused run stopped, with its loss curve so far (also after a restart)."""
        self.plot.set_curve(list(paused.loss_curve))
        self.plot.set_total_steps(paused.total_steps)
        self.progress.setValue(round(paused.fraction * 100))
        self.progress.setFormat(f"paused at %p%  ·  step {paused.step:,} / {paused.total_steps:,}")
        self.stats_label.setText(f"Paused at step {paused.step:,} of {paused.total_steps:,}: "
                                 "Resume continues from there.")

    def _on_paused_changed(self) -> None:
        if self.record is None or self.queue.run_for(self.record.content_hash) is not None:
            return
        if self.paused is not None:
            self._show_settings(self.paused.settings)  # what Resume continues with
            self._show_paused(self.paused)
        self._update_buttons()

    # --- estimate ----------------------------------------------------------------------

    def _request_estimate(self) -> None:
        if self.record is None or self.queue.run_for(self.record.content_hash) is not None:
            return
        try:
            settings = self.settings()
        except BadInputError as err:
            self.estimate_label.setText(str(err))
            return
        if self.session.model_info is None:
            # Selecting a book never loads the model by itself; model_ready asks again.
            self.estimate_label.setText("The estimate appears once the model has loaded.")
            return
        if self._estimate_job is not None:
            self._estimate_again = True  # one estimate at a time; the latest settings win
            return
        waiting = " (waiting for the model)" if self.session.lane.busy else ""
        self.estimate_label.setText(f"Estimating…{waiting}")
        record = self.record
        self._estimate_job = self.session.model_job(
            jobs.estimate, record, settings, label="Estimating", owner=self,
            on_done=lambda estimate: self._on_estimate_ready(record.content_hash, settings, estimate),
            on_error=lambda err: self.estimate_label.setText(f"No estimate: {err}"),
            on_finished=self._on_estimate_finished)

    def _on_estimate_ready(self, content_hash: str, settings: MemorizeSettings, estimate) -> None:
        if self.record is not None and self.record.content_hash == content_hash:
            self.estimate, self._estimate_settings = estimate, settings
            self.estimate_label.setText(estimate_summary(estimate))
            self.estimate_label.setToolTip("\n".join(estimate.lines()))

    def _on_estimate_finished(self) -> None:
        self._estimate_job = None
        if self._estimate_again:
            self._estimate_again = False
            self._request_estimate()

    # --- buttons ---------------------------------------------------------------------

    def _update_buttons(self) -> None:
        run = self.queue.run_for(self.record.content_hash) if self.record else None
        idle = self.record is not None and run is None
        self.start_button.setEnabled(idle)
        self.start_button.setText("Start Over" if idle and self.has_checkpoint else "Start")
        self.resume_button.setEnabled(idle and self.has_checkpoint)
        self.pause_button.setEnabled(run is not None and not run.stopping)
        self.cancel_button.setEnabled((run is not None and not (run.stopping and run.discard))
                                      or (idle and self.has_checkpoint))
        self.form.setEnabled(idle)
        self.up_to_page_box.setEnabled(idle)

    def _on_start_clicked(self) -> None:
        if self.record is None:
            return
        try:
            settings = self.settings()
        except BadInputError as err:
            show_error(self, err, "Cannot start memorizing")
            return
        if self.has_checkpoint and QMessageBox.question(
                self, "Start over?", "This book has a paused run. Start over and lose its progress?") \
                != QMessageBox.StandardButton.Yes:
            return
        self._enqueue(settings, resume=False)

    def _on_resume_clicked(self) -> None:
        if self.paused is not None:
            self.resume(self.paused)

    def resume(self, paused) -> None:
        """Continue a paused run of the book shown, with the settings saved in its checkpoint."""
        if self.record is None or self.record.content_hash != paused.record.content_hash:
            return
        self._show_settings(paused.settings)
        self._enqueue(paused.settings, resume=True)

    def _enqueue(self, settings, *, resume: bool) -> None:
        self.prefs.set_book_settings(self.record.content_hash, settings)
        self.stats_label.setText("Waiting for the model…" if self.session.lane.busy else "Preparing…")
        # The estimate stands in for the time left until the run has measured its own speed.
        matches = self.estimate is not None and self._estimate_settings == settings
        self.queue.enqueue(self.record, settings, resume=resume, estimate_s=self.estimate.seconds if matches else None)
        self.plot.set_curve(self.queue.loss_curve(self.record.content_hash))  # a resumed run's so far, else none

    def _on_pause_clicked(self) -> None:
        if self.record is not None:
            self.queue.pause(self.record.content_hash)

    def _on_cancel_clicked(self) -> None:
        if self.record is None:
            return
        if self.queue.run_for(self.record.content_hash) is not None:
            self.queue.cancel(self.record.content_hash)
            return
        if self.paused is not None:  # a paused run: forget its checkpoint
            self.queue.discard(self.record, self.paused.settings)

    # --- the run ---------------------------------------------------------------------

    def _on_queue_changed(self, content_hash: str) -> None:
        if self.record is not None and content_hash == self.record.content_hash:
            self._update_buttons()

    def _on_train_event(self, content_hash: str, event) -> None:
        if self.record is None or content_hash != self.record.content_hash:
            return
        if event.kind == "step" and event.loss is not None:
            self.plot.add_point(event.step, event.loss)
        self._show_progress(event)

    def _show_progress(self, event) -> None:
        if event.kind == "stage":  # the study stage's reading pass, before the first training step
            self.progress.setValue(round(100 * event.stage_done / max(1, event.stage_total)))
            self.progress.setFormat(f"%p%  ·  {event.message}")
            self.stats_label.setText(f"{event.message}\nthen {event.total_steps:,} training steps")
            return
        self.progress.setValue(round(event.fraction * 100))
        self.progress.setFormat(f"%p%  ·  step {event.step:,} / {event.total_steps:,}")
        self.plot.set_total_steps(event.total_steps)
        timing = [f"{event.tokens_per_s:,.0f} tokens/s", f"elapsed {format_duration(event.elapsed_s)}"]
        run = self.queue.run_for(self.record.content_hash)
        if run is not None and event.kind in ("start", "step", "checkpoint"):
            timing.append(time_left_text(run.clock.time_left(event)))
        training = [f"epoch {event.epoch:.1f}"]
        if event.loss is not None:
            training.append(f"loss {event.loss:.3f}")
        if event.kind == "cancelled":
            training.append("stopped")
        self.stats_label.setText("  ·  ".join(timing) + "\n" + "  ·  ".join(training))

    def _on_run_stopped(self, content_hash: str, discarded: bool) -> None:
        if self.record is not None and content_hash == self.record.content_hash:
            if discarded:  # the progress is gone: show the book as it is now
                self.show_book(self.record)
            # A pause says where it stopped once its checkpoint is read (_on_paused_changed).
            self.stats_label.setText("Cancelled." if discarded else "Paused.")
            self._update_buttons()

    def _on_run_removed(self, content_hash: str) -> None:
        if self.record is not None and content_hash == self.record.content_hash:
            self.stats_label.setText("Removed from the queue.")
            self._update_buttons()
