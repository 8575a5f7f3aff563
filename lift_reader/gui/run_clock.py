"""Time left in a memorize run, from the speed measured once the run is under way.

The first step of a run pays for warming up (memory, caches, on a GPU kernel
choice, sometimes compiling), and the core's recent-steps window keeps that
step for a while: extrapolating it once said 34 minutes for a run estimated at
3.  So until a few steps after the first have been timed, the time left is the
estimate shown before Start, scaled to the part of the run left (unless the run
has already taken longer than that whole estimate: then it is plainly off, and
the panel says it is measuring).  After that it is the time per step over the
recent steps, the first one left out, times the steps left.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

WARMUP_STEPS = 1  # steps at the start of a run (or a resume) whose time is not extrapolated
MEASURED_STEPS = 3  # steps timed after those before the measured speed is trusted
RECENT_STEPS = 20  # the speed is measured over this many recent steps, so it follows a machine that slows down


@dataclass
class TimeLeft:
    seconds: float | None  # None: nothing to go on yet
    measured: bool  # from this run's own speed (else from the estimate)


class RunClock:
    """Follows one run's events (``observe``) and says how long is left (``time_left``)."""

    def __init__(self, estimate_s: float | None = None):
        self.estimate_s = estimate_s  # the whole run, as estimated before it started
        self._first: tuple[int, float] | None = None  # (step, elapsed seconds) of the run's first event
        self._recent: deque[tuple[int, float]] = deque(maxlen=RECENT_STEPS + 1)  # after the warm-up

    def observe(self, event) -> None:
        """Take in a core ``TrainEvent`` (start, step, checkpoint, ...)."""
        if self._first is None:
            self._first = (event.step, event.elapsed_s)
        past_warmup = event.step >= self._first[0] + WARMUP_STEPS
        if past_warmup and (not self._recent or event.step > self._recent[-1][0]):
            self._recent.append((event.step, event.elapsed_s))

    def time_left(self, event) -> TimeLeft:
        steps_left = max(0, event.total_steps - event.step)
        if len(self._recent) > MEASURED_STEPS:
            (old_step, old_elapsed), (new_step, new_elapsed) = self._recent[0], self._recent[-1]
            if new_elapsed > old_elapsed:
                return TimeLeft((new_elapsed - old_elapsed) / (new_step - old_step) * steps_left, True)
        run_so_far = event.elapsed_s - self._first[1] if self._first is not None else 0.0
        if self.estimate_s is not None and event.total_steps and run_so_far <= self.estimate_s:
            return TimeLeft(self.estimate_s * steps_left / event.total_steps, False)
        return TimeLeft(None, False)
