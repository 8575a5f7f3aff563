"""The model lane: every job that uses the model runs here, one at a time.

Training and generation must never fight over the accelerator (or over the
weights: a LoRA adapter is being trained on the very model that answers).
A one-thread pool runs model jobs in the order they were submitted; the
Workspace's ``model_lock`` is the second line of defence for code outside
the GUI.  The lane says when it is busy and with what, for the status bar.

One exception to first come, first served: a question asked while a book
memorizes is handed to the run (``submit_between_steps``), which answers it
between two training steps and goes on (``core/memorize/step_breaks.py``).
"""

from __future__ import annotations

from typing import Any
from collections.abc import Callable

from PySide6.QtCore import QObject, QThreadPool, Signal

from lift_reader.core.memorize.step_breaks import StepBreaks
from lift_reader.workers.background import Worker, connect_callbacks


class ModelLane(QObject):
    """A FIFO of model jobs on a single thread."""

    busy_changed = Signal(bool)
    job_started = Signal(str)  # the label of the job now running

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._pool.setExpiryTimeout(-1)  # keep the one thread: torch caches per-thread state
        self._jobs: list[Worker] = []  # queued or running, oldest first

    @property
    def busy(self) -> bool:
        return bool(self._jobs)

    @property
    def jobs(self) -> list[Worker]:
        return list(self._jobs)

    def submit(self, fn: Callable[..., Any], *args: Any, label: str = "", on_yield=None, on_done=None,
               on_error=None, on_aborted=None, on_finished=None, owner: QObject | None = None,
               step_breaks: StepBreaks | None = None, **kwargs: Any) -> Worker:
        """Queue ``fn`` (a function or a generator function) behind the lane's other jobs.

        A training job given ``step_breaks`` gets them as a keyword and runs what
        ``submit_between_steps`` hands it between two of its steps.
        """
        if step_breaks is not None:
            kwargs["step_breaks"] = step_breaks
        worker = self._add(fn, args, label, (on_yield, on_done, on_error, on_aborted, on_finished), owner, kwargs)
        worker.step_breaks = step_breaks
        return worker.start_in(self._pool)

    def submit_between_steps(self, fn: Callable[..., Any], *args: Any, label: str = "", on_yield=None,
                             on_done=None, on_error=None, on_aborted=None, on_finished=None,
                             owner: QObject | None = None, **kwargs: Any) -> Worker:
        """Like ``submit``, for a short job (a question): a training run in the lane pauses for it at its next
        step boundary (``Worker.step_breaks``) instead of making it wait for the whole run."""
        worker = self._add(fn, args, label, (on_yield, on_done, on_error, on_aborted, on_finished), owner, kwargs)
        host = next((job for job in self._jobs if job.step_breaks is not None), None)
        if host is None:
            return worker.start_in(self._pool)
        if worker.start_between_steps(host.step_breaks, self._pool):
            # When it is done the run goes on: the status bar names the run again.
            worker.signals.finished.connect(lambda: self.job_started.emit(host.label))
        return worker

    def memorizing(self, content_hash: str) -> bool:
        """Whether a training job in the lane (queued or running) memorizes this book."""
        return any(job.step_breaks is not None and job.step_breaks.book_hash == content_hash for job in self._jobs)

    def withdraw(self, worker: Worker) -> bool:
        """Take a job out of the queue before it starts; it reports aborted and finished."""
        if worker in self._jobs and self._pool.tryTake(worker):
            worker.report_withdrawn()
            # Jobs handed to a run that never began wait their turn in the lane instead.
            for waiting in worker.step_breaks.close() if worker.step_breaks is not None else ():
                self._pool.start(waiting)
            return True
        return False

    def _add(self, fn, args, label, callbacks, owner, kwargs) -> Worker:
        worker = Worker(fn, *args, label=label, **kwargs)
        connect_callbacks(worker, *callbacks, owner=owner)
        worker.signals.started.connect(lambda: self.job_started.emit(worker.label))
        worker.signals.finished.connect(lambda: self._on_job_finished(worker))
        self._jobs.append(worker)
        if len(self._jobs) == 1:
            self.busy_changed.emit(True)
        return worker

    def stop_all(self) -> None:
        """Withdraw queued jobs and ask the running one to stop (shutdown)."""
        for worker in self.jobs:
            if not self.withdraw(worker):
                worker.quit()

    def wait(self, timeout_ms: int = -1) -> bool:
        """Block until the lane's thread is idle (shutdown and tests)."""
        return self._pool.waitForDone(timeout_ms)

    def _on_job_finished(self, worker: Worker) -> None:
        if worker in self._jobs:
            self._jobs.remove(worker)
            if not self._jobs:
                self.busy_changed.emit(False)
