"""The app's handle on its data and its model, shared by every window part.

The library (SQLite, no torch) is there at once, so the window can list books
the moment it appears.  The Workspace, which imports torch, is created in a
worker thread on first use; the model loads in the model lane, in the
background, and ``model_ready`` says when.  Tests pass a Workspace that
already holds a tiny model.

The session also holds the app's state that several views show: the current
book (``set_current_book``, the one place it changes) and when the library
changed (``library_updated``).  The window's parts follow the two signals,
``current_book_changed`` and ``library_changed``, instead of being handed the
book one by one.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any
from collections.abc import Callable

from PySide6.QtCore import QObject, QThreadPool, Signal

from lift_reader.store.library import Library
from lift_reader.store.records import BookRecord
from lift_reader.workers.background import Worker, run_in_background
from lift_reader.workers.lane import ModelLane
from lift_reader.workers.model_info import ModelInfo, tiny_model

if TYPE_CHECKING:
    from lift_reader.core.workspace import Workspace


class Session(QObject):
    """Library now; Workspace and model when ready; the lanes jobs run in."""

    model_message = Signal(str)  # progress while the model loads ("Converting ...")
    model_ready = Signal(object)  # ModelInfo
    model_failed = Signal(object)  # the exception
    library_changed = Signal()  # books added or removed, adapters saved, renamed or removed
    current_book_changed = Signal(object)  # BookRecord | None: the book shown, fresh from the library

    def __init__(self, workspace: Workspace | None = None, *, model_ref: str | None = None,
                 device: str = "auto", precision: str = "auto", tiny_model: bool = False,
                 parent: QObject | None = None):
        super().__init__(parent)
        self._workspace = workspace
        self._workspace_lock = threading.Lock()
        self._model_args = dict(model_ref=model_ref, device=device, precision=precision)
        self._tiny_model = tiny_model and workspace is None
        self.library = workspace.library if workspace is not None else Library()
        self.lane = ModelLane(self)
        # Books, covers, exports: short jobs beside the model lane.
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(3)
        self.model_info: ModelInfo | None = None
        self._model_job: Worker | None = None
        self.current_book: BookRecord | None = None  # set by set_current_book only

    # --- the Workspace (worker threads only: it imports torch) -----------------

    def workspace(self) -> Workspace:
        with self._workspace_lock:
            if self._workspace is None:
                from lift_reader.core.workspace import Workspace

                self._workspace = Workspace(self.library, progress=self.model_message.emit, **self._model_args)
                if self._tiny_model:
                    self._workspace.use_model(tiny_model())
            return self._workspace

    # --- the current book ----------------------------------------------------------

    def set_current_book(self, record: BookRecord | None) -> None:
        """The one place the current book is set: read fresh from the library (last page, active adapter) and
        announced, also when it is the same book again (its views show it anew)."""
        if record is not None:
            record = self.library.get_book(record.content_hash) or record
        self.current_book = record
        self.current_book_changed.emit(record)

    def library_updated(self, content_hash: str | None = None) -> None:
        """Books or adapters changed in the library: say so, and read the current book again if it is the one
        that changed (``content_hash``; None: any may have) and is still in the library."""
        self.library_changed.emit()
        current = self.current_book
        if current is not None and content_hash in (None, current.content_hash):
            if self.library.get_book(current.content_hash) is not None:
                self.set_current_book(current)

    def remove_book(self, content_hash: str) -> None:
        """Remove a book from the library (its file and adapters stay); the current book if it was that one."""
        self.library.remove_book(content_hash)
        if self.current_book is not None and self.current_book.content_hash == content_hash:
            self.set_current_book(None)
        self.library_updated(content_hash)

    # --- the model ---------------------------------------------------------------

    @property
    def model_loading(self) -> bool:
        return self._model_job is not None

    def ensure_model(self) -> None:
        """Start loading the model in the lane, unless it is loaded or loading."""
        if self.model_info is None and self._model_job is None:
            self._model_job = self.lane.submit(self._load_model, label="Loading the model",
                                               on_done=self._on_model_loaded, on_error=self._on_model_failed)

    def _load_model(self) -> ModelInfo:
        """In the model lane: the first call of ``workspace()`` loads the model."""
        return ModelInfo.of(self.workspace().lm)

    def _on_model_loaded(self, info: ModelInfo) -> None:
        self._model_job = None
        self.model_info = info
        self.model_ready.emit(info)

    def _on_model_failed(self, err: Exception) -> None:
        self._model_job = None
        self.model_failed.emit(err)

    # --- running jobs -------------------------------------------------------------

    def model_job(self, fn: Callable[..., Any], *args: Any, label: str = "", load_model: bool = True,
                  between_steps: bool = False, **callbacks: Any) -> Worker:
        """Run a job in the model lane, after the model has loaded (unless ``load_model`` is off:
        jobs that only change adapters the model may hold, such as a rename).  A ``between_steps`` job
        (a question) runs at a memorize run's next step boundary if one is in the lane."""
        if load_model:
            self.ensure_model()
        submit = self.lane.submit_between_steps if between_steps else self.lane.submit
        return submit(fn, self, *args, label=label, **callbacks)

    def book_job(self, fn: Callable[..., Any], *args: Any, label: str = "", **callbacks: Any) -> Worker:
        """Run a job that needs the Workspace but not the model (books, adapter files)."""
        return run_in_background(fn, self, *args, pool=self.pool, label=label, **callbacks)

    def background(self, fn: Callable[..., Any], *args: Any, label: str = "", **callbacks: Any) -> Worker:
        """Run a plain function (no Workspace) beside the model lane."""
        return run_in_background(fn, *args, pool=self.pool, label=label, **callbacks)

    def shutdown(self, timeout_ms: int = 60_000) -> bool:
        """Stop model jobs (a memorize run saves its checkpoint) and wait for every thread."""
        self.lane.stop_all()
        lane_idle = self.lane.wait(timeout_ms)
        return self.pool.waitForDone(timeout_ms) and lane_idle
