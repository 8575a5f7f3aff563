"""One worker pattern for every background job (after superqt's GeneratorWorker).

A ``Worker`` is a ``QRunnable`` that calls a plain function or drives a
generator in a pool thread.  Its results cross to the GUI thread only through
the signals of a ``WorkerSignals`` QObject that lives in the GUI thread, so
every connected slot runs there::

    run_in_background(ws.add_book, path, on_done=self._on_book_added, on_error=self._on_failed)
    worker = run_generator(memorize_events, ws, record, settings, on_yield=self._on_event)
    worker.quit()   # sets the cancel flag; the generator stops at its next check

Why not superqt's worker itself: its ``quit()`` abandons the generator at the
next ``yield``, but a memorize run must see the flag, write its checkpoint and
release the model lock before it ends; and it always runs on Qt's global pool,
while model jobs need their own one-thread lane (``lane.py``).

Generator functions are called with a ``cancel`` keyword: a ``CancelFlag``,
which is ``core.cancel.CancelToken`` itself (``cancel()`` and ``cancelled``;
neither torch nor Qt), so it is handed to core as is.
"""

from __future__ import annotations

import inspect
import logging
import threading
from typing import Any
from collections.abc import Callable

from lift_reader.core.cancel import CancelToken
from lift_reader.core.memorize.step_breaks import StepBreaks
from PySide6.QtCore import QCoreApplication, QObject, QRunnable, QThreadPool, Signal
from shiboken6 import isValid

log = logging.getLogger(__name__)

_live: set[Worker] = set()  # started and not yet finished (the GUI thread's view)


# The same flag core loops check (core/cancel.py has neither torch nor Qt).
CancelFlag = CancelToken


class WorkerSignals(QObject):
    """What a worker reports; ``finished`` always comes last, exactly once."""

    started = Signal()
    yielded = Signal(object)  # each item a generator yields
    returned = Signal(object)  # the return value, also after a stop request
    errored = Signal(object)  # the exception (its traceback is in the log)
    aborted = Signal()  # a stop was requested (sent before ``returned``)
    finished = Signal()


class Worker(QRunnable):
    """Runs ``fn(*args, **kwargs)`` in a pool thread; drives it if it is a generator function."""

    def __init__(self, fn: Callable[..., Any], *args: Any, label: str = "", **kwargs: Any):
        super().__init__()
        # Python keeps the runnable alive (``_live``); Qt must not delete it under us.
        self.setAutoDelete(False)
        self.label = label or getattr(fn, "__name__", "job")
        self.cancel_flag = CancelFlag()
        self.is_generator = inspect.isgeneratorfunction(fn)
        if self.is_generator:
            kwargs["cancel"] = self.cancel_flag
        self._fn, self._args, self._kwargs = fn, args, kwargs
        # Parented to the application so that the QObject is deleted in the GUI
        # thread (deleteLater after ``finished``), never by a pool thread.
        self.signals = WorkerSignals(QCoreApplication.instance())
        self._done = threading.Event()
        # A training job's: jobs handed to it run between two of its steps (``start_between_steps``).
        self.step_breaks: StepBreaks | None = None
        self.between_steps = False  # handed to such a run: it runs at the run's next step boundary

    # --- called from the GUI thread --------------------------------------------

    def quit(self) -> None:
        """Ask the job to stop; a generator sees it at its next check of ``cancel``."""
        self.cancel_flag.cancel()

    @property
    def cancelled(self) -> bool:
        return self.cancel_flag.cancelled

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the job's thread is done with it (teardown and shutdown only)."""
        return self._done.wait(timeout_s)

    def start_in(self, pool: QThreadPool) -> Worker:
        self._track()
        pool.start(self)
        return self

    def start_between_steps(self, breaks: StepBreaks, pool: QThreadPool) -> bool:
        """Hand the job to a training run's ``breaks``: it runs between two steps, in the run's thread, the
        run paused.  Once that run has ended, ``pool`` runs it instead.  Whether the run took it."""
        self._track()
        if breaks.offer(self):
            self.between_steps = True
            return True
        pool.start(self)
        return False

    def _track(self) -> None:
        # Connected last, so it runs after every other ``finished`` slot: the
        # signals object must outlive their queued calls.
        self.signals.finished.connect(self._on_finished)
        _live.add(self)

    def report_withdrawn(self) -> None:
        """Finish a job that a pool dropped before it ran (see ``ModelLane.withdraw``)."""
        self.cancel_flag.cancel()
        self._done.set()
        self.signals.aborted.emit()
        self.signals.finished.emit()

    def _on_finished(self) -> None:
        _live.discard(self)
        self.signals.deleteLater()

    # --- called in the pool thread ---------------------------------------------

    def run(self) -> None:
        signals = self.signals
        try:
            signals.started.emit()
            result = self._fn(*self._args, **self._kwargs)
            if self.is_generator:
                result = self._drive(result)
            if self.cancel_flag.cancelled:
                signals.aborted.emit()
            # Also after a stop: a memorize run returns what it did (its outcome says
            # whether it finished; a stop request can come just after the last step).
            signals.returned.emit(result)
        except Exception as err:  # every failure reaches the GUI as a signal, never as a dead thread
            log.exception("background job %r failed", self.label)
            signals.errored.emit(err)
        finally:
            self._done.set()
            signals.finished.emit()

    def _drive(self, gen) -> Any:
        try:
            while True:
                try:
                    item = next(gen)
                except StopIteration as stop:
                    return stop.value
                self.signals.yielded.emit(item)
        finally:
            gen.close()  # runs the generator's finally blocks (locks, partial saves) now


def _general_pool() -> QThreadPool:
    return QThreadPool.globalInstance()


def _guarded(owner: QObject, slot: Callable[..., Any]) -> Callable[..., Any]:
    """``slot``, skipped once ``owner`` is gone (a closed dialog must not hear of its job)."""

    def call(*args: Any) -> Any:
        if isValid(owner):
            return slot(*args)
        return None

    return call


def connect_callbacks(worker: Worker, on_yield=None, on_done=None, on_error=None, on_aborted=None,
                      on_finished=None, owner: QObject | None = None) -> None:
    """Connect the callbacks given; with ``owner``, they stop once that QObject is deleted."""
    for signal, slot in ((worker.signals.yielded, on_yield), (worker.signals.returned, on_done),
                         (worker.signals.errored, on_error), (worker.signals.aborted, on_aborted),
                         (worker.signals.finished, on_finished)):
        if slot is not None:
            signal.connect(_guarded(owner, slot) if owner is not None else slot)


def run_in_background(fn: Callable[..., Any], *args: Any, on_done=None, on_error=None, on_finished=None,
                      owner: QObject | None = None, pool: QThreadPool | None = None, label: str = "",
                      **kwargs: Any) -> Worker:
    """Call ``fn(*args, **kwargs)`` off the GUI thread; ``on_done(result)`` runs in the GUI thread."""
    worker = Worker(fn, *args, label=label, **kwargs)
    connect_callbacks(worker, on_done=on_done, on_error=on_error, on_finished=on_finished, owner=owner)
    return worker.start_in(pool or _general_pool())


def run_generator(gen_fn: Callable[..., Any], *args: Any, on_yield=None, on_done=None, on_error=None,
                  on_aborted=None, on_finished=None, owner: QObject | None = None,
                  pool: QThreadPool | None = None, label: str = "", **kwargs: Any) -> Worker:
    """Drive ``gen_fn(*args, cancel=flag, **kwargs)`` off the GUI thread, one ``on_yield`` per item."""
    if not inspect.isgeneratorfunction(gen_fn):
        raise TypeError(f"{gen_fn!r} is not a generator function")
    worker = Worker(gen_fn, *args, label=label, **kwargs)
    connect_callbacks(worker, on_yield, on_done, on_error, on_aborted, on_finished, owner=owner)
    return worker.start_in(pool or _general_pool())


def live_workers() -> list[Worker]:
    """Workers started and not yet reported finished (for tests and shutdown)."""
    return list(_live)


def wait_for_workers(timeout_s: float = 30.0, *, cancel: bool = False) -> bool:
    """Block until every live worker's thread is done (optionally asking them to stop first).

    Their queued signals are still delivered afterwards, when the event loop runs.
    """
    workers = live_workers()
    if cancel:
        for worker in workers:
            worker.quit()
    return all(worker.wait(timeout_s) for worker in workers)
