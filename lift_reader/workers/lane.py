"""The model lane: every job that uses the model runs here, one at a time.

Training and generation must never fight over the accelerator (or over the
weights: a LoRA adapter is being trained on the very model that answers).
A one-thread pool runs model jobs in the order they were submitted; the
Workspace's ``model_lock`` is the second line of defence for code outside
the GUI.  The lane says when it is busy and with what, for the status bar.
"""

from __future__ import annotations

from typing import Any
from collections.abc import Callable

from PySide6.QtCore import QObject, QThreadPool, Signal

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
               **kwargs: Any) -> Worker:
        """Queue ``fn`` (a function or a generator function) behind the lane's other jobs."""
        worker = Worker(fn, *args, label=label, **kwargs)
        connect_callbacks(worker, on_yield, on_done, on_error, on_aborted, on_finished, owner=owner)
        worker.signals.started.connect(lambda: self.job_started.emit(worker.label))
        worker.signals.finished.connect(lambda: self._on_job_finished(worker))
        self._jobs.append(worker)
        if len(self._jobs) == 1:
            self.busy_changed.emit(True)
        return worker.start_in(self._pool)

    def withdraw(self, worker: Worker) -> bool:
        """Take a job out of the queue before it starts; it reports aborted and finished."""
        if worker in self._jobs and self._pool.tryTake(worker):
            worker.report_withdrawn()
            return True
        return False

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
