"""Time left in a memorize run, from the speed measured once the run is under way.

The first step of a run pays for warming up (memory, caches, on a GPU kernel
choice, sometimes compiling), and the core's recent-steps window keeps that
step for a while: extrapolating it once said 34 minutes for a run estimated at
3.  So until a few steps after the first have been timed, the time left is the
estimate shown before Start, scaled to the part of the run left; after that it
is the measured time per step since the first, times the steps left.
"""

from __future__ import annotations

from dataclasses import dataclass

WARMUP_STEPS = 1  # steps at the start of a run (or a resume) whose time is not extrapolated
MEASURED_STEPS = 3  # steps timed after those before the measured speed is trusted


@dataclass
class TimeLeft:
    seconds: float | None  # None: nothing to go on yet
    measured: bool  # from this run's own speed (else from the estimate)


class RunClock:
    """Follows one run's events (``observe``) and says how long is left (``time_left``)."""

    def __init__(self, estimate_s: float | None = None):
        self.estimate_s = estimate_s  # the whole run, as estimated before it started
        self._first_step: int | None = None
        self._mark: tuple[int, float] | None = None  # (step, elapsed seconds) where timing began

    def observe(self, event) -> None:
        """Take in a core ``TrainEvent`` (start, step, checkpoint, ...)."""
        if self._first_step is None:
            self._first_step = event.step
        if self._mark is None and event.step >= self._first_step + WARMUP_STEPS:
            self._mark = (event.step, event.elapsed_s)

    def time_left(self, event) -> TimeLeft:
        steps_left = max(0, event.total_steps - event.step)
        if self._mark is not None:
            mark_step, mark_elapsed = self._mark
            timed = event.step - mark_step
            if timed >= MEASURED_STEPS and event.elapsed_s > mark_elapsed:
                return TimeLeft((event.elapsed_s - mark_elapsed) / timed * steps_left, True)
        if self.estimate_s is not None and event.total_steps:
            return TimeLeft(self.estimate_s * steps_left / event.total_steps, False)
        return TimeLeft(None, False)
