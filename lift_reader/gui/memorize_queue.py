"""Books waiting to be memorized, first come first served, one at a time.

The queue hands one run at a time to the model lane, with ``StepBreaks``: a
question asked meanwhile is answered between two training steps, the run
paused for it (``ModelLane.submit_between_steps``), instead of waiting.  It
keeps each run's progress and loss curve for whichever panel shows it, and
turns Pause and Cancel into the core's one stop request: Pause keeps the
checkpoint for Resume, Cancel deletes it.  It also knows the paused runs
(``paused``, read from their checkpoints: also runs stopped before the app last
quit or was killed), after sweeping what a crash left when the app starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from lift_reader.core.memorize.settings import MemorizeSettings
from lift_reader.core.memorize.step_breaks import StepBreaks
from lift_reader.gui.run_clock import RunClock
from lift_reader.store.records import BookRecord
from lift_reader.workers import jobs
from lift_reader.workers.background import Worker
from lift_reader.workers.session import Session

if TYPE_CHECKING:  # for annotations only: the GUI gets these from workers, never imports the Workspace
    from lift_reader.core.workspace import PausedRun


@dataclass
class MemorizeRun:
    record: BookRecord
    settings: MemorizeSettings
    resume: bool
    worker: Worker | None = None  # set once handed to the lane
    last_event: object | None = None  # the latest core TrainEvent
    stopping: bool = False
    outcome: object | None = None  # the Workspace's MemorizeOutcome, once the run returned
    error: Exception | None = None
    discard: bool = False  # Cancel rather than Pause: forget the checkpoint once stopped
    clock: RunClock = field(default_factory=RunClock)  # time left, from the estimate then the measured speed

    @property
    def content_hash(self) -> str:
        return self.record.content_hash

    def describe(self) -> str:
        """The state as the library list shows it."""
        if self.worker is None:
            return "queued"
        if self.stopping:
            return "cancelling…" if self.discard else "pausing…"
        event = self.last_event
        if event is None or not event.total_steps:
            return "preparing to memorize…"
        if event.kind == "done":
            return "saving the adapter…"
        return f"memorizing {event.fraction:.0%}"


class MemorizeQueue(QObject):
    changed = Signal(str)  # content hash: queued, started, progressed, stopped
    event = Signal(str, object)  # content hash, TrainEvent
    done = Signal(str, object)  # content hash, MemorizeOutcome (its adapter is saved and active)
    stopped = Signal(str, bool)  # content hash, whether the checkpoint was discarded
    removed = Signal(str)  # content hash: taken out of the queue before it began (nothing trained, nothing saved)
    failed = Signal(str, object)  # content hash, exception
    paused_changed = Signal()  # ``paused`` was read again from the checkpoints

    def __init__(self, session: Session, parent: QObject | None = None):
        super().__init__(parent)
        self.session = session
        self._runs: dict[str, MemorizeRun] = {}  # insertion order is the queue order
        # Each book's loss curve in this session: kept across Pause and Resume.
        self._curves: dict[str, list[tuple[int, float]]] = {}
        # Stopped runs Resume can continue, by book (the newest when a book has several).
        self.paused: dict[str, PausedRun] = {}
        self.paused_known = False  # read at least once since the app started
        self._swept = False
        self._paused_asked = 0  # the latest request's number: an older answer arriving late is dropped
        session.model_ready.connect(self._on_model_ready)
        # Before any run of this start (the lane is first come, first served); no model needed.
        session.model_job(jobs.sweep_checkpoints, label="Sweeping old checkpoints", load_model=False, owner=self,
                          on_finished=self._on_swept)

    def run_for(self, content_hash: str) -> MemorizeRun | None:
        return self._runs.get(content_hash)

    def loss_curve(self, content_hash: str) -> list[tuple[int, float]]:
        return list(self._curves.get(content_hash, []))

    @property
    def runs(self) -> list[MemorizeRun]:
        return list(self._runs.values())

    @property
    def active(self) -> MemorizeRun | None:
        return next((run for run in self._runs.values() if run.worker is not None), None)

    def enqueue(self, record: BookRecord, settings: MemorizeSettings, *, resume: bool = False,
                estimate_s: float | None = None) -> MemorizeRun:
        """Queue a run; ``estimate_s`` (the whole run's estimated time) stands in for the time left until the
        run's own speed is measured."""
        if record.content_hash in self._runs:
            return self._runs[record.content_hash]
        run = MemorizeRun(record, settings, resume, clock=RunClock(estimate_s))
        self._runs[record.content_hash] = run
        paused = self.paused.get(record.content_hash)
        if not resume:
            self._curves.pop(record.content_hash, None)
        elif paused is not None and paused.settings.training_key() == settings.training_key():
            # The whole run so far, also when it was stopped before this start of the app.
            self._curves[record.content_hash] = list(paused.loss_curve)
        self.changed.emit(record.content_hash)
        self._start_next()
        return run

    def pause(self, content_hash: str) -> None:
        """Stop with a checkpoint (Resume continues it); a queued book just leaves the queue."""
        self._stop(content_hash, discard=False)

    def cancel(self, content_hash: str) -> None:
        """Stop and forget the progress."""
        self._stop(content_hash, discard=True)

    def _stop(self, content_hash: str, *, discard: bool) -> None:
        run = self._runs.get(content_hash)
        if run is None:
            return
        if run.worker is None:  # still waiting its turn: just leave the queue
            del self._runs[content_hash]
            self.removed.emit(content_hash)
            self.changed.emit(content_hash)
            return
        run.stopping, run.discard = True, run.discard or discard
        run.worker.quit()
        self.changed.emit(content_hash)

    def stop_all(self) -> None:
        for content_hash in list(self._runs):
            self.pause(content_hash)

    # --- the run in the lane ---------------------------------------------------------

    def _start_next(self) -> None:
        if self.active is not None:
            return
        run = next(iter(self._runs.values()), None)
        if run is None:
            return
        h = run.content_hash
        run.worker = self.session.model_job(
            jobs.memorize, run.record, run.settings, run.resume, label=f"Memorizing {run.record.title}", owner=self,
            step_breaks=StepBreaks(h),
            on_yield=lambda event: self._on_event(h, event),
            on_done=lambda outcome: self._on_run_returned(h, outcome),
            on_error=lambda err: self._on_run_failed(h, err),
            on_finished=lambda: self._on_run_finished(h),
        )
        self.changed.emit(h)

    def _on_event(self, content_hash: str, event) -> None:
        run = self._runs.get(content_hash)
        if run is None:
            return
        run.last_event = event
        run.clock.observe(event)
        if event.kind == "step" and event.loss is not None:
            curve = self._curves.setdefault(content_hash, [])
            while curve and curve[-1][0] >= event.step:  # resumed from an earlier checkpoint
                curve.pop()
            curve.append((event.step, event.loss))
        self.event.emit(content_hash, event)
        self.changed.emit(content_hash)

    def _on_run_returned(self, content_hash: str, outcome) -> None:
        run = self._runs.get(content_hash)
        if run is not None:
            run.outcome = outcome

    def _on_run_failed(self, content_hash: str, err: Exception) -> None:
        run = self._runs.get(content_hash)
        if run is not None:
            run.error = err

    def _on_run_finished(self, content_hash: str) -> None:
        """The run has left the lane: say how it ended (it is out of the queue by then)."""
        run = self._runs.pop(content_hash, None)
        if run is None:
            return
        finished = run.outcome is not None and run.outcome.finished
        if run.discard and run.error is None and not finished:
            self.discard(run.record, run.settings)  # reads the paused runs again once the checkpoint is gone
        else:
            # A pause leaves a checkpoint, a finished run none: the one read before is out of date, also for
            # the slots below (a finished book showed 'paused at').
            self.paused.pop(content_hash, None)
            if run.error is not None:
                self.failed.emit(content_hash, run.error)
            elif finished:
                self.done.emit(content_hash, run.outcome)
            else:  # paused, or withdrawn from the lane before it began
                self.stopped.emit(content_hash, False)
            self.refresh_paused()
        self.changed.emit(content_hash)
        self._start_next()

    def discard(self, record: BookRecord, settings: MemorizeSettings) -> None:
        """Forget a stopped run (Cancel): its checkpoint goes, then ``stopped(hash, True)``."""
        content_hash = record.content_hash
        self._curves.pop(content_hash, None)
        self.paused.pop(content_hash, None)
        self.paused_changed.emit()

        def _on_discarded() -> None:
            self.stopped.emit(content_hash, True)
            self.refresh_paused()

        self.session.model_job(jobs.discard_checkpoint, record, settings, owner=self,
                               label="Discarding a checkpoint", on_finished=_on_discarded)

    # --- paused runs -----------------------------------------------------------------

    def refresh_paused(self) -> None:
        """Read the paused runs again (once the start's sweep is done and the model is known)."""
        if self._swept and self.session.model_info is not None:
            self._paused_asked += 1
            asked = self._paused_asked
            self.session.book_job(jobs.paused_runs, self.session.model_info.fingerprint, owner=self,
                                  label="Looking for paused runs",
                                  on_done=lambda runs: self._on_paused_runs(asked, runs))

    def _on_swept(self) -> None:
        self._swept = True
        self.refresh_paused()

    def _on_model_ready(self, _info) -> None:
        self.refresh_paused()  # the checkpoints that belong to this base model

    def _on_paused_runs(self, asked: int, runs: list[PausedRun]) -> None:
        if asked != self._paused_asked:
            return  # a newer request is under way
        self.paused, self.paused_known = {}, True
        for paused in runs:  # the newest first: a book's latest run wins
            self.paused.setdefault(paused.record.content_hash, paused)
        self.paused_changed.emit()
