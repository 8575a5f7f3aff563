"""Questions between training steps: a memorize run pauses for them, then goes on by itself.

The app runs one model job at a time, so a question asked while a book
memorizes would wait for the whole run.  A run given ``StepBreaks`` takes
work handed to it from any thread and runs it in its own thread at the next
step boundary, on the model as it stands: in eval mode (no dropout), without
gradients, with torch's random generators forked (the next step's dropout
draws what it would have drawn), compiled layers running eagerly (a
question's ever-changing shapes would recompile them), then back in exactly
the modes it had.  Neither the weights nor the optimizer are touched, so a run
that paused for questions ends where an uninterrupted one does.

No torch here at import time: the GUI creates a run's ``StepBreaks``.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from typing import Protocol


class Runnable(Protocol):
    """A job waiting for the pause (the app's ``Worker``); ``run()`` must not raise."""

    def run(self) -> None: ...


@dataclass(frozen=True)
class TrainingPause:
    """Where a memorize run stands while it pauses for questions."""

    book_hash: str
    adapter: str  # the adapter in training, as the model names it
    step: int  # optimizer steps done
    total_steps: int
    trained_to_page: int | None  # the run memorizes the book up to this page (None: all of it)

    def adapter_for(self, book_hash: str, up_to_page: int | None = None) -> str | None:
        """The adapter that may answer about ``book_hash`` (read up to ``up_to_page``) now: the one in
        training, once it has taken a step, for its own book only, and not past a spoiler-safe page."""
        reads_past = up_to_page is not None and (self.trained_to_page is None or self.trained_to_page > up_to_page)
        if book_hash != self.book_hash or self.step == 0 or reads_past:
            return None
        return self.adapter

    def note(self, book_hash: str, up_to_page: int | None = None) -> str:
        """What an answer given in this pause tells the reader about the adapter it used."""
        if self.adapter_for(book_hash, up_to_page) is not None:
            return f"Answered with the adapter as it stands at step {self.step} of {self.total_steps}."
        return "Answered without an adapter: Memorize is still running."


class StepBreaks:
    """Work waiting for a memorize run's next step boundary (any thread may ``offer``)."""

    def __init__(self, book_hash: str = "") -> None:
        self.book_hash = book_hash  # the book the run memorizes (for the app to say so)
        self._lock = threading.Lock()
        self._waiting: list[Runnable] = []
        self._closed = False
        self.pause: TrainingPause | None = None  # set while waiting work runs (read in the training thread)

    def offer(self, job: Runnable) -> bool:
        """Queue ``job`` for the next step boundary; False once the run has ended (run it elsewhere)."""
        with self._lock:
            if self._closed:
                return False
            self._waiting.append(job)
            return True

    def close(self) -> list[Runnable]:
        """The run is over: refuse further offers; the jobs still waiting, for the caller to run or drop."""
        with self._lock:
            self._closed = True
            left, self._waiting = self._waiting, []
            return left

    def run_waiting(self, job) -> None:
        """At a step boundary of ``job`` (a ``MemorizeJob``): run what is waiting, the model paused."""
        with self._lock:
            waiting, self._waiting = self._waiting, []
        if not waiting:
            return
        lm = job.lm
        pause = TrainingPause(job.state.book_hash, job.adapter_name, job.state.step, job.total_steps,
                              job.settings.up_to_page)
        # The adapter's weights moved since any prompt was cached under its name.
        lm.weights_version += 1
        self.pause = pause
        try:
            with _model_paused(lm.model):
                for waiting_job in waiting:
                    waiting_job.run()
        finally:
            self.pause = None


@contextlib.contextmanager
def _model_paused(model):
    """Eval mode, no gradients, forked RNG, eager layers; every module's training flag restored after."""
    import torch

    modes = [(module, module.training) for module in model.modules()]
    device = next(model.parameters()).device
    devices = [device.index if device.index is not None else torch.cuda.current_device()] \
        if device.type == "cuda" else []
    model.eval()
    try:
        with torch.random.fork_rng(devices=devices), torch.no_grad(), torch.compiler.set_stance("force_eager"):
            yield
    finally:
        for module, training in modes:
            module.training = training
